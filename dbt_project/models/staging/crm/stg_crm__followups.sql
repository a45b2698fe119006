with

source as (

    select * from {{ source('raw', 'crm__followups') }}

),

cleaned as (

    select
        {{ clean_id('followup_id') }} as followup_id,
        {{ clean_id('lead_id') }} as lead_id,
        {{ clean_id('rep_id') }} as rep_id,
        {{ clean_enum('channel') }} as channel,
        {{ clean_enum('outcome') }} as outcome,
        {{ clean_text('note') }} as note,
        {{ parse_timestamp_utc('next_followup_at') }} as next_followup_at,
        {{ parse_timestamp_utc('occurred_at') }} as occurred_at,
        {{ parse_timestamp_utc('updated_at') }} as updated_at,
        _batch_id,
        _loaded_at,
        {{ row_fingerprint([
            'followup_id', 'lead_id', 'rep_id', 'channel', 'outcome', 'note',
            'next_followup_at', 'occurred_at', 'updated_at',
        ]) }} as row_fingerprint
    from source

),

versions_as_of as (

    select
        *,
        row_number() over (
            partition by followup_id
            order by updated_at desc, _loaded_at desc, _batch_id desc, row_fingerprint asc
        ) as version_rank
    from cleaned
    where
        followup_id is not null
        and updated_at < {{ as_of_end_utc() }}

),

final as (

    select
        followup_id,
        lead_id,
        rep_id,
        channel,
        outcome,
        note,
        next_followup_at,
        occurred_at,
        {{ to_business_date('occurred_at') }} as occurred_date,
        updated_at
    from versions_as_of
    where version_rank = 1

)

select * from final
