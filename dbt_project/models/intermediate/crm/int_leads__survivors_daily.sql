{{ config(
    materialized='incremental',
    incremental_strategy=day_overwrite_strategy(),
    unique_key='as_of_date',
    partition_by=day_partitions('as_of_date'),
    on_schema_change='append_new_columns',
    full_refresh=false,
    post_hook=["{{ pg_day_index('as_of_date') }}", "{{ pg_analyze() }}"],
) }}

{#- Which surviving lead (company) each followed-up lead counts on, as of D, one
    snapshot per business date run (ADR 0006: delete+insert on as_of_date). The
    predicted models built after the predict steps read it for their own date:
    int_leads__resolved holds only the latest date built, and a night that catches
    up builds those models for the missed dates after it. Only leads with a follow-up
    up to D: the rows that can carry a note. -#}

with

followed_up as (

    select distinct lead_id
    from {{ ref('stg_crm__followups') }}
    where lead_id is not null

),

final as (

    select
        {{ marts_value_as_of_date() }} as as_of_date,
        cast(leads.lead_id as {{ string_type() }}) as lead_id,
        cast(leads.surviving_lead_id as {{ string_type() }}) as surviving_lead_id
    from {{ ref('int_leads__resolved') }} as leads
    inner join followed_up
        on leads.lead_id = followed_up.lead_id

)

select * from final
