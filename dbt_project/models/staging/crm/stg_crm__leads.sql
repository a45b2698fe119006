with

source as (

    select * from {{ source('raw', 'crm__leads') }}

),

cleaned as (

    select
        {{ clean_id('lead_id') }} as lead_id,
        {{ clean_text('company_name') }} as company_name,
        {{ normalize_company_name('company_name') }} as company_name_normalized,
        {{ clean_text('contact_name') }} as contact_name,
        {{ normalize_phone('phone') }} as phone,
        {{ clean_email('email') }} as email,
        {{ clean_text('industry') }} as industry,
        {{ parse_integer('company_size') }} as company_size,
        {{ clean_text('province') }} as province,
        {{ clean_text('city') }} as city,
        {{ clean_enum('source_channel') }} as source_channel,
        {{ clean_id('user_id') }} as user_id,
        {{ clean_enum('status') }} as lead_status,
        {{ clean_id('owner_rep_id') }} as owner_rep_id,
        {{ parse_timestamp_utc('created_at') }} as created_at,
        {{ parse_timestamp_utc('updated_at') }} as updated_at,
        {{ parse_boolean('is_deleted') }} as is_deleted,
        _batch_id,
        _loaded_at,
        {{ row_fingerprint([
            'lead_id', 'company_name', 'contact_name', 'phone', 'email', 'industry',
            'company_size', 'province', 'city', 'source_channel', 'user_id', 'status',
            'owner_rep_id', 'created_at', 'updated_at', 'is_deleted',
        ]) }} as row_fingerprint
    from source

),

versions_as_of as (

    select
        *,
        row_number() over (
            partition by lead_id
            order by updated_at desc, _loaded_at desc, _batch_id desc, row_fingerprint asc
        ) as version_rank
    from cleaned
    where
        lead_id is not null
        and updated_at < {{ as_of_end_utc() }}

),

final as (

    select
        lead_id,
        company_name,
        company_name_normalized,
        contact_name,
        phone,
        email,
        industry,
        company_size,
        province,
        city,
        source_channel,
        user_id,
        lead_status,
        owner_rep_id,
        created_at,
        {{ to_business_date('created_at') }} as created_date,
        updated_at,
        coalesce(is_deleted, false) as is_deleted
    from versions_as_of
    where version_rank = 1

)

select * from final
