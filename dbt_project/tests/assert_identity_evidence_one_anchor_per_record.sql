-- contracts §5.2: exactly one anchor per record of the identity evidence.
select
    source,
    stream,
    record_id,
    sum(case when is_anchor then 1 else 0 end) as anchors
from {{ ref('int_identity_evidence') }}
group by source, stream, record_id
having sum(case when is_anchor then 1 else 0 end) <> 1
