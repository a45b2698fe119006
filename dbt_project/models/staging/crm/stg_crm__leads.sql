{#- Each lead's latest version as of D, picked from the versions cleaned once in
    stg_crm__lead_versions (ADR 0007): the table is rebuilt each run, for any D, but
    the cleaning follows the newly loaded rows. -#}

with

versions as (

    select * from {{ ref('stg_crm__lead_versions') }}

),

versions_as_of as (

    select
        *,
        row_number() over (
            partition by lead_id
            order by updated_at desc, _loaded_at desc, _batch_id desc, row_fingerprint asc
        ) as version_rank
    from versions
    where updated_at < {{ as_of_end_utc() }}

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
