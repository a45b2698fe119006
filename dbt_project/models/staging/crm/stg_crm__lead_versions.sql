{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        unique_key=['source_lead_id', 'source_updated_at'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[
            {'columns': ['source_lead_id', 'source_updated_at']},
            {'columns': ['_loaded_at']},
        ] if target.type == 'postgres' else [],
    )
}}

{#- Every CRM lead version landed so far, cleaned and typed once (ADR 0007): a run
    cleans only raw rows loaded after the newest version stored (`_loaded_at`; the
    loader keeps it increasing). The loader replaces a raw row with the same raw
    (lead_id, updated_at) on a reload, and so does this table (delete+insert on the
    raw key), so it mirrors raw.crm__leads row for row, whatever order days were
    loaded in. Rows without a usable id or update time are left out: no as-of day can
    pick them. stg_crm__leads picks each lead's version as of D from here. -#}

with

source as (

    select * from {{ source('raw', 'crm__leads') }}
    {% if is_incremental() -%}
    where _loaded_at > (select coalesce(max(_loaded_at), cast('1900-01-01' as timestamp)) from {{ this }})
    {%- endif %}

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
        lead_id as source_lead_id,
        updated_at as source_updated_at,
        _batch_id,
        _loaded_at,
        {{ row_fingerprint([
            'lead_id', 'company_name', 'contact_name', 'phone', 'email', 'industry',
            'company_size', 'province', 'city', 'source_channel', 'user_id', 'status',
            'owner_rep_id', 'created_at', 'updated_at', 'is_deleted',
        ]) }} as row_fingerprint
    from source

)

select * from cleaned
where lead_id is not null and updated_at is not null
