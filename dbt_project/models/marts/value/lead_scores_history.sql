{#- History of lead_scores (ADR 0006): one snapshot per business date run, as of
    that date; a run replaces only its own date (incremental, delete+insert on
    as_of_date; config in _history__models.yml). marts.lead_scores is the latest snapshot. -#}
{#- Lead score and 271 tier (SPEC §2). The score is a sum of integer points, so
    it is exact and identical on both engines; the scoring is documented in
    _value__models.yml. Tiers split the cleaned leads (surviving, with a usable
    contact: the ones sales can work) 20 / 70 / 10 by score, best first, ties to
    the lower lead_id; each tier boundary is rounded up (ceil), so a single lead
    is an A. -#}


with

leads as (

    select
        lead_id,
        resolved_user_id,
        industry,
        company_size
    from {{ ref('int_leads__resolved') }}
    where is_surviving

),

progress as (

    select
        lead_id,
        is_cleaned,
        furthest_stage
    from {{ ref('int_leads__progressed') }}

),

lifecycle as (

    select
        user_id,
        active_days_30d
    from {{ ref('int_users__lifecycle_evaluated') }}

),

rfm as (

    select
        user_id,
        rfm_segment
    from {{ ref('user_rfm_history') }}
    where as_of_date = {{ marts_value_as_of_date() }}

),

industry_points as (

    select
        industry,
        points
    from {{ ref('industry_points') }}

),

features as (

    select
        leads.lead_id,
        leads.resolved_user_id as user_id,
        progress.is_cleaned,
        {{ marts_value_size_band('leads.company_size') }} as size_band,
        lower(leads.industry) as industry_key,
        coalesce(lifecycle.active_days_30d, 0) as active_days_30d,
        progress.furthest_stage,
        rfm.rfm_segment,
        industry_points.points as listed_industry_points
    from leads
    inner join progress
        on leads.lead_id = progress.lead_id
    left join lifecycle
        on leads.resolved_user_id = lifecycle.user_id
    left join rfm
        on leads.resolved_user_id = rfm.user_id
    left join industry_points
        on lower(leads.industry) = industry_points.industry

),

points as (

    select
        *,
        {{ marts_value_points_from_var('size_band', 'lead_score_size_points') }}
            as size_points,
        coalesce(listed_industry_points, {{ var('lead_score_industry_default_points') | int }})
            as industry_points,
        least(
            active_days_30d * {{ var('lead_score_activity_points_per_day') | int }},
            {{ var('lead_score_activity_points_cap') | int }}
        ) as activity_points,
        {{ marts_value_points_from_var('furthest_stage', 'lead_score_stage_points') }}
            as stage_points,
        {{ marts_value_points_from_var('rfm_segment', 'lead_score_rfm_points') }}
            as rfm_points
    from features

),

scored as (

    select
        *,
        size_points + industry_points + activity_points + stage_points + rfm_points
            as lead_score
    from points

),

ranked as (

    select
        lead_id,
        row_number() over (order by lead_score desc, lead_id asc) as score_rank,
        count(*) over () as ranked_leads
    from scored
    where is_cleaned

),

tiered as (

    select
        lead_id,
        score_rank,
        {{ marts_value_lead_tier('score_rank', 'ranked_leads') }} as lead_tier
    from ranked

),

final as (

    select
        {{ marts_value_as_of_date() }} as as_of_date,
        cast(scored.lead_id as {{ string_type() }}) as lead_id,
        cast(scored.user_id as {{ string_type() }}) as user_id,
        cast(scored.is_cleaned as boolean) as is_cleaned,
        cast(scored.size_band as {{ string_type() }}) as size_band,
        cast(scored.industry_key as {{ string_type() }}) as industry_key,
        cast(scored.active_days_30d as integer) as active_days_30d,
        cast(scored.furthest_stage as {{ string_type() }}) as furthest_stage,
        cast(scored.rfm_segment as {{ string_type() }}) as rfm_segment,
        cast(scored.size_points as integer) as size_points,
        cast(scored.industry_points as integer) as industry_points,
        cast(scored.activity_points as integer) as activity_points,
        cast(scored.stage_points as integer) as stage_points,
        cast(scored.rfm_points as integer) as rfm_points,
        cast(scored.lead_score as integer) as lead_score,
        cast(tiered.score_rank as integer) as score_rank,
        cast(tiered.lead_tier as {{ string_type() }}) as lead_tier
    from scored
    left join tiered
        on scored.lead_id = tiered.lead_id

)

select * from final
