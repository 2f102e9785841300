{#- Record → person, resolved once (contracts §5.3): one row per source record the identity
    step knows, with the person of a record that carries an anchor (identity_record_persons)
    and whether the record belongs to an erased person (identity_suppressed_records). Every
    model that needs a record's person, or must leave out an erased person's records, joins
    this model on (source, stream, record_id) — `same_record` — and keeps rows where
    `is_suppressed` is not true; none reads the identity source directly. -#}

with

record_persons as (
    select
        source,
        stream,
        record_id,
        person_id
    from {{ source('identity', 'identity_record_persons') }}
),

suppressed_records as (
    select distinct
        source,
        stream,
        record_id
    from {{ source('identity', 'identity_suppressed_records') }}
),

final as (
    select
        coalesce(record_persons.source, suppressed_records.source) as source,
        coalesce(record_persons.stream, suppressed_records.stream) as stream,
        coalesce(record_persons.record_id, suppressed_records.record_id) as record_id,
        record_persons.person_id,
        suppressed_records.record_id is not null as is_suppressed
    from record_persons
    full outer join suppressed_records
        on {{ same_record('record_persons', 'suppressed_records') }}
)

select * from final
