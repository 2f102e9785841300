{#- int_channel_removal_effects_solved eliminates var `markov_max_states` transient states
    ((start) and one per channel); a chain with more would be solved only in part. -#}
select
    count(*) + 1 as transient_states,
    {{ var('markov_max_states') }} as markov_max_states
from {{ ref('int_channel_removal_effects_solved') }}
having count(*) + 1 > {{ var('markov_max_states') }}
