{#- Restated as of the latest business date run (ADR 0006): a run for an older date
    skips this model (tag latest_only), so a backfill never rewinds it. -#}
{{ config(tags=['latest_only']) }}

{#- Weeks after the signup week reported per cohort: k = 0 .. retention_max_weeks. -#}
{%- set max_weeks = var('retention_max_weeks') | int -%}

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

cohort_members as (

    select
        user_id,
        {{ marts_activity_week_start('signup_date') }} as cohort_week
    from lifespans

),

active_weeks as (

    select distinct
        user_id,
        {{ marts_activity_week_start('activity_date') }} as activity_week
    from daily_activity

),

last_active_weeks as (

    select
        user_id,
        max(activity_week) as last_active_week
    from active_weeks
    group by user_id

),

week_numbers as (

    {% for k in range(max_weeks + 1) -%}
        select {{ k }} as week_number
        {% if not loop.last %}union all
        {% endif -%}
    {% endfor %}

),

member_weeks as (

    select
        cohort_members.user_id,
        cohort_members.cohort_week,
        week_numbers.week_number,
        {{ marts_activity_add_days('cohort_members.cohort_week', '7 * week_numbers.week_number') }}
            as week_start
    from cohort_members
    cross join week_numbers

),

started_member_weeks as (

    select
        user_id,
        cohort_week,
        week_number,
        week_start
    from member_weeks
    where week_start <= {{ marts_activity_as_of_date() }}

),

member_flags as (

    -- week 0 is the signup week: signing up puts the user in the cohort, so every
    -- member counts as retained there even when 'signup' is not an active event type
    select
        started_member_weeks.cohort_week,
        started_member_weeks.week_number,
        started_member_weeks.week_start,
        case
            when started_member_weeks.week_number = 0 or active_weeks.user_id is not null then 1
            else 0
        end as is_retained_on,
        case
            when started_member_weeks.week_number = 0
                or last_active_weeks.last_active_week >= started_member_weeks.week_start
                then 1
            else 0
        end as is_retained_on_or_after
    from started_member_weeks
    left join active_weeks
        on
            started_member_weeks.user_id = active_weeks.user_id
            and started_member_weeks.week_start = active_weeks.activity_week
    left join last_active_weeks
        on started_member_weeks.user_id = last_active_weeks.user_id

),

cohort_weeks as (

    select
        cohort_week,
        week_number,
        week_start,
        count(*) as cohort_size,
        sum(is_retained_on) as retained_on_users,
        sum(is_retained_on_or_after) as retained_on_or_after_users
    from member_flags
    group by cohort_week, week_number, week_start

),

final as (

    select
        {{ marts_activity_as_of_date() }} as as_of_date,
        cohort_week,
        cast(week_number as integer) as week_number,
        week_start,
        {{ marts_activity_add_days('week_start', 6) }} as week_end,
        {{ marts_activity_add_days('week_start', 6) }} <= {{ marts_activity_as_of_date() }}
            as is_week_complete,
        cast(cohort_size as integer) as cohort_size,
        cast(retained_on_users as integer) as retained_on_users,
        cast(retained_on_or_after_users as integer) as retained_on_or_after_users,
        {{ marts_activity_ratio('retained_on_users', 'cohort_size') }} as retention_on_rate,
        {{ marts_activity_ratio('retained_on_or_after_users', 'cohort_size') }}
            as retention_on_or_after_rate
    from cohort_weeks

)

select * from final
