{#- Restated as of the latest business date run (ADR 0006): a run for an older date
    skips this model (tag latest_only), so a backfill never rewinds it. -#}
{{ config(tags=['latest_only']) }}

{#- Days after signup reported per cohort (SPEC §2: 1, 7, 30). -#}
{%- set n_days = var('retention_n_days') -%}

with

lifespans as (

    select
        user_id,
        signup_date
    from {{ ref('int_users__lifespans') }}
    where signup_date is not null

),

daily_activity as (

    select
        user_id,
        activity_date
    from {{ ref('int_users__daily_activity') }}
    where is_active

),

n_days as (

    {% for n in n_days -%}
        select {{ n | int }} as n_day
        {% if not loop.last %}union all
        {% endif -%}
    {% endfor %}

),

member_targets as (

    select
        lifespans.user_id,
        {{ marts_activity_week_start('lifespans.signup_date') }} as cohort_week,
        n_days.n_day,
        {{ marts_activity_add_days('lifespans.signup_date', 'n_days.n_day') }} as target_date
    from lifespans
    cross join n_days

),

member_flags as (

    -- eligible once day N after signup has happened by D; retained when active that
    -- very day (daily_activity holds no date after D, so retained implies eligible)
    select
        member_targets.cohort_week,
        member_targets.n_day,
        case
            when member_targets.target_date <= {{ marts_activity_as_of_date() }} then 1 else 0
        end as is_eligible,
        case when daily_activity.user_id is not null then 1 else 0 end as is_retained
    from member_targets
    left join daily_activity
        on
            member_targets.user_id = daily_activity.user_id
            and member_targets.target_date = daily_activity.activity_date

),

cohort_days as (

    select
        cohort_week,
        n_day,
        count(*) as cohort_size,
        sum(is_eligible) as eligible_users,
        sum(is_retained) as retained_users
    from member_flags
    group by cohort_week, n_day

),

final as (

    select
        {{ marts_activity_as_of_date() }} as as_of_date,
        cohort_week,
        cast(n_day as integer) as n_day,
        cast(cohort_size as integer) as cohort_size,
        cast(eligible_users as integer) as eligible_users,
        cast(retained_users as integer) as retained_users,
        case
            when eligible_users > 0
                then {{ marts_activity_ratio('retained_users', 'eligible_users') }}
        end as retention_rate
    from cohort_days

)

select * from final
