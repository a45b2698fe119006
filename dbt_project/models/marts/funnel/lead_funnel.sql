{#- Restated as of the latest business date run (ADR 0006): a run for an older date
    skips this model (tag latest_only), so a backfill never rewinds it. -#}
{{ config(tags=['latest_only']) }}

{#- Lead funnel (SPEC §2) per created week x source channel x stage. Each stage
    requires the previous one (int_leads__progressed gates them; tiered is
    gated here on cleaned), so counts never grow along the funnel. Stages with
    no timestamp of their own in the CRM (cleaned, tiered, assigned) are dated
    at the lead's created_date; followed_up, converted and signed are dated by
    the first follow-up, the first paid contract and the signing contract. -#}

with

progress as (

    select
        lead_id,
        created_week,
        created_date,
        is_cleaned,
        is_assigned,
        is_followed_up,
        is_converted,
        is_signed,
        first_followup_date,
        converted_date,
        signed_date,
        coalesce(source_channel, 'unknown') as source_channel
    from {{ ref('int_leads__progressed') }}

),

scores as (

    select
        lead_id,
        lead_tier
    from {{ ref('lead_scores_history') }}
    where as_of_date = {{ marts_value_as_of_date() }}

),

stages as (

    select
        code,
        label_zh,
        stage_order
    from {{ ref('funnel_stages') }}

),

lead_stages as (

    select
        progress.*,
        progress.is_cleaned and scores.lead_tier is not null as is_tiered
    from progress
    left join scores
        on progress.lead_id = scores.lead_id

),

reached as (

    -- one row per lead and stage reached, with the days since the previous stage
    select
        source_channel,
        created_week,
        'registered' as funnel_stage,
        cast(null as integer) as days_from_previous
    from lead_stages
    union all
    select
        source_channel,
        created_week,
        'cleaned' as funnel_stage,
        0 as days_from_previous
    from lead_stages
    where is_cleaned
    union all
    select
        source_channel,
        created_week,
        'tiered' as funnel_stage,
        0 as days_from_previous
    from lead_stages
    where is_tiered
    union all
    select
        source_channel,
        created_week,
        'assigned' as funnel_stage,
        0 as days_from_previous
    from lead_stages
    where is_tiered and is_assigned
    union all
    select
        source_channel,
        created_week,
        'followed_up' as funnel_stage,
        {{ marts_value_days_between('created_date', 'first_followup_date') }} as days_from_previous
    from lead_stages
    where is_tiered and is_followed_up
    union all
    select
        source_channel,
        created_week,
        'converted' as funnel_stage,
        {{ marts_value_days_between('first_followup_date', 'converted_date') }}
            as days_from_previous
    from lead_stages
    where is_tiered and is_converted
    union all
    select
        source_channel,
        created_week,
        'signed' as funnel_stage,
        {{ marts_value_days_between('converted_date', 'signed_date') }} as days_from_previous
    from lead_stages
    where is_tiered and is_signed

),

counted as (

    select
        created_week,
        source_channel,
        funnel_stage,
        count(*) as lead_count,
        {{ marts_value_median('days_from_previous') }} as median_days_from_previous
    from reached
    group by created_week, source_channel, funnel_stage

),

cohorts as (

    select distinct
        created_week,
        source_channel
    from lead_stages

),

grid as (

    -- every stage of every (week, channel) cohort, zero when nobody reached it
    select
        cohorts.created_week,
        cohorts.source_channel,
        stages.code as funnel_stage,
        stages.label_zh as funnel_stage_label_zh,
        stages.stage_order,
        counted.median_days_from_previous,
        coalesce(counted.lead_count, 0) as lead_count
    from cohorts
    cross join stages
    left join counted
        on
            cohorts.created_week = counted.created_week
            and cohorts.source_channel = counted.source_channel
            and stages.code = counted.funnel_stage

),

with_rates as (

    select
        *,
        lag(lead_count) over (
            partition by created_week, source_channel order by stage_order
        ) as previous_stage_count,
        max(case when stage_order = 1 then lead_count end) over (
            partition by created_week, source_channel
        ) as registered_count
    from grid

),

final as (

    select
        {{ marts_value_as_of_date() }} as as_of_date,
        created_week,
        cast(source_channel as {{ string_type() }}) as source_channel,
        cast(funnel_stage as {{ string_type() }}) as funnel_stage,
        cast(funnel_stage_label_zh as {{ string_type() }}) as funnel_stage_label_zh,
        cast(stage_order as integer) as stage_order,
        cast(lead_count as integer) as lead_count,
        cast(
            cast(lead_count as {{ double_type() }}) / nullif(previous_stage_count, 0)
            as {{ double_type() }}
        ) as conversion_rate_from_previous,
        cast(
            cast(lead_count as {{ double_type() }}) / nullif(registered_count, 0)
            as {{ double_type() }}
        ) as conversion_rate_from_registered,
        cast(
            case when stage_order > 1 then median_days_from_previous end as {{ double_type() }}
        ) as median_days_from_previous
    from with_rates

)

select * from final
