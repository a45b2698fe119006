{#- History of user_tags (ADR 0006): one snapshot per business date run, as of
    that date; a run replaces only its own date (incremental, delete+insert on
    as_of_date; config in _history__models.yml). marts.user_tags is the latest snapshot. -#}
{#- 打标签 (SPEC §2): the users mart unpivoted into user -> tag -> value, the
    shape BI and list filters use ("all dormant A-tier manufacturing users").
    A tag whose value is unknown (null) is left out rather than stored as null. The
    value model's bands (user_value_history of D) and the company's top need theme
    (lead_need_themes_history of D) come from the predict steps: user_tags is built in
    the second pass (tag predicted). -#}

{%- set tags = [
    ('lifecycle_stage', 'lifecycle_stage'),
    ('rfm_segment', 'rfm_segment'),
    ('lead_tier', 'lead_tier'),
    ('industry', 'industry'),
    ('size_band', 'size_band'),
    ('province', 'province'),
    ('city', 'city'),
    ('source_channel', 'source_channel'),
    ('contract_plan', 'contract_plan'),
    ('is_paying', "case when is_paying then 'true' else 'false' end"),
    ('churn_risk', 'churn_risk'),
    ('predicted_value_band', 'predicted_value_band'),
    ('churn_probability_band', 'churn_probability_band'),
    ('need_theme', 'need_theme'),
] -%}

with

users as (

    select
        as_of_date,
        user_id,
        lead_id,
        lifecycle_stage,
        rfm_segment,
        lead_tier,
        industry,
        size_band,
        province,
        city,
        source_channel,
        contract_plan,
        is_paying,
        days_since_last_active,
        tenure_days
    from {{ ref('users_history') }}
    where as_of_date = {{ marts_value_as_of_date() }}

),

with_risk as (

    -- churn risk: high when dormant/churned or inactive for churn_risk_high_days,
    -- medium when inactive for churn_risk_medium_days, else low (a never-active
    -- user counts as inactive since signup)
    select
        *,
        case
            when lifecycle_stage in ('dormant', 'churned') then 'high'
            when coalesce(days_since_last_active, tenure_days)
                >= {{ var('churn_risk_high_days') | int }} then 'high'
            when coalesce(days_since_last_active, tenure_days)
                >= {{ var('churn_risk_medium_days') | int }} then 'medium'
            else 'low'
        end as churn_risk
    from users

),

with_predictions as (

    select
        with_risk.*,
        predicted.predicted_value_band,
        predicted.churn_probability_band,
        needs.top_theme_id as need_theme
    from with_risk
    left join {{ source('predictions', 'user_value_history') }} as predicted
        on
            with_risk.user_id = predicted.user_id
            and predicted.as_of_date = {{ marts_value_as_of_date() }}
    left join {{ ref('lead_need_themes_history') }} as needs
        on
            with_risk.lead_id = needs.lead_id
            and needs.as_of_date = {{ marts_value_as_of_date() }}

),

tagged as (

    {% for tag, expression in tags -%}
        select
            as_of_date,
            user_id,
            '{{ tag }}' as tag,
            cast({{ expression }} as {{ string_type() }}) as tag_value
        from with_predictions
        where {{ expression }} is not null
        {% if not loop.last %}union all
        {% endif -%}
    {% endfor %}

),

final as (

    select
        as_of_date,
        cast(user_id as {{ string_type() }}) as user_id,
        cast(tag as {{ string_type() }}) as tag,
        cast(tag_value as {{ string_type() }}) as tag_value
    from tagged

)

select * from final
