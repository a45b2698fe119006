with

source as (

    select * from {{ source('raw', 'crm__contracts') }}

),

cleaned as (

    select
        {{ clean_id('contract_id') }} as contract_id,
        {{ clean_id('lead_id') }} as lead_id,
        {{ clean_id('user_id') }} as user_id,
        {{ clean_enum('plan') }} as plan,
        {{ parse_amount('amount') }} as amount_cny,
        {{ parse_timestamp_utc('signed_at') }} as signed_at,
        {{ parse_timestamp_utc('starts_at') }} as starts_at,
        {{ parse_timestamp_utc('ends_at') }} as ends_at,
        {{ clean_enum('status') }} as contract_status,
        {{ parse_timestamp_utc('updated_at') }} as updated_at,
        _batch_id,
        _loaded_at,
        {{ row_fingerprint([
            'contract_id', 'lead_id', 'user_id', 'plan', 'amount', 'signed_at',
            'starts_at', 'ends_at', 'status', 'updated_at',
        ]) }} as row_fingerprint
    from source

),

versions_as_of as (

    select
        *,
        row_number() over (
            partition by contract_id
            order by updated_at desc, _loaded_at desc, _batch_id desc, row_fingerprint asc
        ) as version_rank
    from cleaned
    where
        contract_id is not null
        and updated_at < {{ as_of_end_utc() }}

),

final as (

    select
        contract_id,
        lead_id,
        user_id,
        plan,
        amount_cny,
        signed_at,
        {{ to_business_date('signed_at') }} as signed_date,
        starts_at,
        ends_at,
        contract_status,
        updated_at
    from versions_as_of
    where version_rank = 1

)

select * from final
