-- fct_attribution: the credits of every order and attribution model sum to 1.
select
    order_id,
    attribution_model,
    sum(credit) as total_credit
from {{ ref('fct_attribution') }}
group by order_id, attribution_model
having abs(sum(credit) - 1) > 1e-9
