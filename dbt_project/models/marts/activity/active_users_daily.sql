{{
    config(
        materialized='incremental',
        unique_key='activity_date',
        incremental_strategy=day_overwrite_strategy(),
        partition_by=day_partitions('month_start_date'),
        on_schema_change='append_new_columns'
    )
}}

{#-
    Per-day semantics (ADR 0006): the row of day d counts the activity known by the
    end of day least(d + H, D_max), H = var('activity_lookback_days') and D_max the
    latest business date run so far; that day is the row's as_of_date. A row is
    final once d + H has run, and a value never depends on which dates ran, or in
    which order: a run for D recomputes exactly the rows whose stored as_of_date is
    behind least(d + H, D) (its own recent days, days a gap left unfilled), and a
    backfill of an older date, whose knowledge is behind every row, changes nothing.
    On Spark the table is partitioned by month (a day per partition would make tiny
    files) and a run rewrites the whole months of the rows it recomputes; the other
    days of those months come out as stored, their knowledge date being the same.
-#}
{%- set horizon = var('activity_lookback_days') | int -%}

with

user_days as (

    select
        user_id,
        activity_date,
        active_known_date
    from {{ ref('int_users__daily_activity') }}
    where
        is_active
        and user_id is not null
        and activity_date <= {{ as_of_date() }}

),

first_activity as (

    select min(activity_date) as first_activity_date
    from user_days

),

spine as (

    select
        date_day as activity_date,
        least(
            {{ marts_activity_add_days('date_day', horizon) }}, {{ as_of_date() }}
        ) as knowledge_date
    from (
        {{ date_spine(
            "(select first_activity_date from first_activity)",
            as_of_date()
        ) }}
    ) as spine_days

),

stale_days as (

    select
        spine.activity_date,
        spine.knowledge_date
    from spine
    {% if is_incremental() -%}
    left join {{ this }} as stored
        on spine.activity_date = stored.activity_date
    where stored.as_of_date is null or stored.as_of_date < spine.knowledge_date
    {%- endif %}

),

days_to_compute as (

    {% if is_incremental() and target.type == 'spark' -%}
    select
        spine.activity_date,
        spine.knowledge_date
    from spine
    where
        cast({{ dbt.date_trunc('month', 'spine.activity_date') }} as date) in (
            select cast({{ dbt.date_trunc('month', 'stale_days.activity_date') }} as date)
            from stale_days
        )
    {%- else -%}
        select * from stale_days
    {%- endif %}

),

calendar as (

    select
        activity_date,
        knowledge_date,
        cast({{ dbt.date_trunc('week', 'activity_date') }} as date) as week_start_date,
        cast({{ dbt.date_trunc('month', 'activity_date') }} as date) as month_start_date
    from days_to_compute

),

user_windows as (

    -- each user's latest active day in the 31 days up to d (30 back: the calendar
    -- month of a 31st), as known at the row's knowledge date. An equi-join on
    -- d - days_back: a hash join on every engine, where a range join made
    -- PostgreSQL compare every calendar day with every user day.
    select
        calendar.activity_date,
        user_days.user_id,
        max(user_days.activity_date) as last_active_date
    from calendar
    cross join {{ integer_series(0, 30, 'window_days', 'days_back') }}
    inner join user_days
        on
            user_days.activity_date
            = {{ marts_activity_add_days('calendar.activity_date', '-window_days.days_back') }}
            and calendar.knowledge_date >= user_days.active_known_date
    group by calendar.activity_date, user_days.user_id

),

counts as (

    -- "active on some day >= t" is "latest active day >= t": plain counts, no
    -- count(distinct) per window
    select
        calendar.activity_date,
        calendar.knowledge_date,
        calendar.week_start_date,
        calendar.month_start_date,
        count(
            case when user_windows.last_active_date = calendar.activity_date then 1 end
        ) as dau,
        count(
            case
                when
                    user_windows.last_active_date
                    >= {{ marts_activity_add_days('calendar.activity_date', -6) }}
                    then 1
            end
        ) as wau,
        count(
            case
                when
                    user_windows.last_active_date
                    >= {{ marts_activity_add_days('calendar.activity_date', -29) }}
                    then 1
            end
        ) as mau,
        count(
            case when user_windows.last_active_date >= calendar.week_start_date then 1 end
        ) as wau_calendar_week,
        count(
            case when user_windows.last_active_date >= calendar.month_start_date then 1 end
        ) as mau_calendar_month
    from calendar
    left join user_windows
        on calendar.activity_date = user_windows.activity_date
    group by
        calendar.activity_date,
        calendar.knowledge_date,
        calendar.week_start_date,
        calendar.month_start_date

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
        cast(knowledge_date as date) as as_of_date
    from counts

)

select * from final
