{{
    config(
        materialized='incremental',
        unique_key='activity_date',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns'
    )
}}

{#-
    Incremental runs recompute the last `activity_lookback_days` business days up to
    as_of_date (late events land in them); every recomputed day needs 30 earlier days
    of activity: 29 for rolling MAU, 30 for the calendar month of a 31st.
-#}
{%- set lookback_days = var('activity_lookback_days') | int -%}

with

events as (

    select
        user_id,
        event_type,
        occurred_date
    from {{ ref('stg_events__events') }}

),

active_events as (

    select
        user_id,
        occurred_date as activity_date
    from events
    where
        event_type in ({{ "'" ~ var('active_event_types') | join("', '") ~ "'" }})
        and occurred_date <= {{ as_of_date() }}

),

first_activity as (

    select min(activity_date) as first_activity_date
    from active_events

),

spine as (

    select date_day as activity_date
    from (
        {{ date_spine(
            "(select first_activity_date from first_activity)",
            as_of_date()
        ) }}
    ) as spine_days
    {% if is_incremental() -%}
    where date_day > {{ as_of_date() }} - {{ lookback_days }}
    {%- endif %}

),

user_days as (

    select distinct
        user_id,
        activity_date
    from active_events
    {% if is_incremental() -%}
    where activity_date > {{ as_of_date() }} - {{ lookback_days + 30 }}
    {%- endif %}

),

calendar as (

    select
        activity_date,
        cast({{ dbt.date_trunc('week', 'activity_date') }} as date) as week_start_date,
        cast({{ dbt.date_trunc('month', 'activity_date') }} as date) as month_start_date
    from spine

),

trailing_activity as (

    select
        calendar.activity_date,
        calendar.week_start_date,
        calendar.month_start_date,
        user_days.user_id,
        user_days.activity_date as active_date
    from calendar
    left join user_days
        on
            calendar.activity_date >= user_days.activity_date
            and calendar.activity_date - 30 <= user_days.activity_date

),

counts as (

    select
        activity_date,
        week_start_date,
        month_start_date,
        count(distinct case when active_date = activity_date then user_id end) as dau,
        count(distinct case when active_date >= activity_date - 6 then user_id end) as wau,
        count(distinct case when active_date >= activity_date - 29 then user_id end) as mau,
        count(distinct case when active_date >= week_start_date then user_id end)
            as wau_calendar_week,
        count(distinct case when active_date >= month_start_date then user_id end)
            as mau_calendar_month
    from trailing_activity
    group by activity_date, week_start_date, month_start_date

),

final as (

    select
        activity_date,
        week_start_date,
        month_start_date,
        cast(dau as bigint) as dau,
        cast(wau as bigint) as wau,
        cast(mau as bigint) as mau,
        cast(
            case when mau > 0 then cast(dau as numeric(18, 6)) / mau end
            as numeric(9, 6)
        ) as stickiness,
        cast(wau_calendar_week as bigint) as wau_calendar_week,
        cast(mau_calendar_month as bigint) as mau_calendar_month,
        {{ as_of_date() }} as as_of_date
    from counts

)

select * from final
