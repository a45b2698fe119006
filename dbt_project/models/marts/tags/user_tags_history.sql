{#- History of user_tags (ADR 0006): one snapshot per business date run, as of
    that date; a run replaces only its own date (incremental, delete+insert on
    as_of_date; config in _history__models.yml). marts.user_tags is the latest snapshot. -#}
{#- 打标签 (SPEC §2): the users mart unpivoted into user -> tag -> value, the
    shape BI and list filters use ("all dormant A-tier manufacturing users").
    A tag whose value is unknown (null) is left out rather than stored as null. -#}

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
] -%}

with

users as (

    select
        as_of_date,
        user_id,
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

tagged as (

    {% for tag, expression in tags -%}
        select
            as_of_date,
            user_id,
            '{{ tag }}' as tag,
            cast({{ expression }} as varchar) as tag_value
        from with_risk
        where {{ expression }} is not null
        {% if not loop.last %}union all
        {% endif -%}
    {% endfor %}

),

final as (

    select
        as_of_date,
        cast(user_id as varchar) as user_id,
        cast(tag as varchar) as tag,
        cast(tag_value as varchar) as tag_value
    from tagged

)

select * from final
