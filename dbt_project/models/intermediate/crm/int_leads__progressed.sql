{{ config(materialized='table') }}

{#- How far each lead got along the funnel (SPEC §2) as of D, with the date it
    reached each dated stage. Stages are gated: a lead reaches a stage only if it
    reached the previous one, so funnel counts can never grow. Follow-ups and
    contracts of a duplicate count for its company's surviving lead. The tiered
    stage is added by lead_funnel from lead_scores (every cleaned lead is tiered). -#}

with

resolved_leads as (

    select
        lead_id,
        source_channel,
        created_date,
        owner_rep_id,
        has_valid_contact,
        is_surviving,
        surviving_lead_id
    from {{ ref('int_leads__resolved') }}

),

followups as (

    select
        lead_id,
        occurred_date
    from {{ ref('stg_crm__followups') }}
    where occurred_date <= {{ marts_value_as_of_date() }}

),

contracts as (

    select
        surviving_lead_id,
        signed_date,
        is_conversion,
        is_signing
    from {{ ref('int_contracts__classified') }}
    where surviving_lead_id is not null

),

company_followups as (

    select
        resolved_leads.surviving_lead_id,
        min(followups.occurred_date) as first_followup_date
    from followups
    inner join resolved_leads
        on followups.lead_id = resolved_leads.lead_id
    group by resolved_leads.surviving_lead_id

),

company_contracts as (

    select
        surviving_lead_id,
        min(case when is_conversion then signed_date end) as converted_date,
        min(case when is_signing then signed_date end) as signed_date
    from contracts
    group by surviving_lead_id

),

facts as (

    select
        resolved_leads.lead_id,
        resolved_leads.source_channel,
        resolved_leads.created_date,
        resolved_leads.is_surviving,
        resolved_leads.has_valid_contact,
        resolved_leads.owner_rep_id,
        case when resolved_leads.is_surviving then company_followups.first_followup_date end
            as first_followup_date,
        case when resolved_leads.is_surviving then company_contracts.converted_date end
            as converted_date,
        case when resolved_leads.is_surviving then company_contracts.signed_date end
            as signed_date
    from resolved_leads
    left join company_followups
        on resolved_leads.lead_id = company_followups.surviving_lead_id
    left join company_contracts
        on resolved_leads.lead_id = company_contracts.surviving_lead_id

),

gated as (

    select
        *,
        is_surviving and has_valid_contact as is_cleaned
    from facts

),

gated_assigned as (

    select
        *,
        is_cleaned and owner_rep_id is not null as is_assigned
    from gated

),

gated_followed_up as (

    select
        *,
        is_assigned and first_followup_date is not null as is_followed_up
    from gated_assigned

),

gated_converted as (

    select
        *,
        is_followed_up and converted_date is not null as is_converted
    from gated_followed_up

),

final as (

    select
        lead_id,
        source_channel,
        created_date,
        {{ marts_value_week_start('created_date') }} as created_week,
        is_surviving,
        has_valid_contact,
        owner_rep_id,
        first_followup_date,
        converted_date,
        signed_date,
        is_cleaned,
        is_assigned,
        is_followed_up,
        is_converted,
        is_converted and signed_date is not null as is_signed,
        case
            when is_converted and signed_date is not null then 'signed'
            when is_converted then 'converted'
            when is_followed_up then 'followed_up'
            when is_assigned then 'assigned'
            when is_cleaned then 'cleaned'
            else 'registered'
        end as furthest_stage
    from gated_converted

)

select * from final
