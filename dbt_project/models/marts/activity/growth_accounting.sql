{#- Restated as of the latest business date run (ADR 0006): a run for an older date
    skips this model (tag latest_only), so a backfill never rewinds it. -#}
{{ config(tags=['latest_only']) }}

{#- "new" = first active period (default) or signup period; never "first seen in a window". -#}
{%- set new_basis = var('growth_new_basis') -%}
{%- if new_basis not in ('first_active', 'signup') -%}
    {{ exceptions.raise_compiler_error(
        "var('growth_new_basis') must be 'first_active' or 'signup', got " ~ new_basis
    ) }}
{%- endif -%}

with

daily_activity as (

    select
        user_id,
        activity_date
    from {{ ref('int_users__daily_activity') }}
    where is_active

),

lifespans as (

    select
        user_id,
        {{ 'first_active_date' if new_basis == 'first_active' else 'signup_date' }}
            as new_basis_date
    from {{ ref('int_users__lifespans') }}

),

grains as (

    select
        'day' as period_grain,
        1 as period_days,
        {{ marts_activity_as_of_date() }} as last_period_start

    union all

    select
        'week' as period_grain,
        7 as period_days,
        {{ marts_activity_week_start(marts_activity_as_of_date()) }} as last_period_start

),

user_periods as (

    select distinct
        grains.period_grain,
        grains.period_days,
        daily_activity.user_id,
        {{ marts_activity_period_start('daily_activity.activity_date', 'grains.period_grain') }}
            as period_start
    from daily_activity
    cross join grains

),

new_periods as (

    select
        grains.period_grain,
        lifespans.user_id,
        {{ marts_activity_period_start('lifespans.new_basis_date', 'grains.period_grain') }}
            as new_period_start
    from lifespans
    cross join grains

),

sequenced as (

    select
        period_grain,
        user_id,
        period_start,
        {{ marts_activity_add_days('period_start', '-period_days') }} as previous_period_start,
        {{ marts_activity_add_days('period_start', 'period_days') }} as next_period_start,
        lag(period_start) over (
            partition by period_grain, user_id order by period_start
        ) as previous_active_period,
        lead(period_start) over (
            partition by period_grain, user_id order by period_start
        ) as next_active_period
    from user_periods

),

active_statuses as (

    -- a user active in p is new, returning or resurrecting (exactly one of them)
    select
        sequenced.period_grain,
        sequenced.period_start,
        case
            when sequenced.period_start = new_periods.new_period_start then 'new'
            when sequenced.previous_active_period = sequenced.previous_period_start
                then 'returning'
            else 'resurrecting'
        end as growth_status
    from sequenced
    left join new_periods
        on
            sequenced.period_grain = new_periods.period_grain
            and sequenced.user_id = new_periods.user_id

),

dormant_statuses as (

    -- dormant once, in the period right after the last period of each active streak
    select
        sequenced.period_grain,
        sequenced.next_period_start as period_start,
        'dormant' as growth_status
    from sequenced
    inner join grains
        on sequenced.period_grain = grains.period_grain
    where
        (
            sequenced.next_active_period is null
            or sequenced.next_active_period > sequenced.next_period_start
        )
        and sequenced.next_period_start <= grains.last_period_start

),

statuses as (

    select
        period_grain,
        period_start,
        growth_status
    from active_statuses

    union all

    select
        period_grain,
        period_start,
        growth_status
    from dormant_statuses

),

counts as (

    select
        period_grain,
        period_start,
        sum(case when growth_status <> 'dormant' then 1 else 0 end) as active_users,
        sum(case when growth_status = 'new' then 1 else 0 end) as new_users,
        sum(case when growth_status = 'returning' then 1 else 0 end) as returning_users,
        sum(case when growth_status = 'resurrecting' then 1 else 0 end) as resurrecting_users,
        sum(case when growth_status = 'dormant' then 1 else 0 end) as dormant_users
    from statuses
    group by period_grain, period_start

),

days as (

    -- every day from the first one with an active user up to D
    {{ date_spine('(select min(activity_date) from daily_activity)', marts_activity_as_of_date()) }}

),

spine as (

    select distinct
        grains.period_grain,
        grains.period_days,
        {{ marts_activity_period_start('days.date_day', 'grains.period_grain') }} as period_start
    from days
    cross join grains

),

final as (

    select
        {{ marts_activity_as_of_date() }} as as_of_date,
        cast(spine.period_grain as {{ string_type() }}) as period_grain,
        spine.period_start,
        {{ marts_activity_add_days('spine.period_start', 'spine.period_days - 1') }} as period_end,
        {{ marts_activity_add_days('spine.period_start', 'spine.period_days - 1') }}
        <= {{ marts_activity_as_of_date() }} as is_period_complete,
        cast(coalesce(counts.active_users, 0) as integer) as active_users,
        cast(coalesce(counts.new_users, 0) as integer) as new_users,
        cast(coalesce(counts.returning_users, 0) as integer) as returning_users,
        cast(coalesce(counts.resurrecting_users, 0) as integer) as resurrecting_users,
        cast(coalesce(counts.dormant_users, 0) as integer) as dormant_users
    from spine
    left join counts
        on
            spine.period_grain = counts.period_grain
            and spine.period_start = counts.period_start

)

select * from final
