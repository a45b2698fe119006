{#- The daily history of lifecycle stages: one row per user and business day d from
    the first day the user was known up to D, each "as known at the end of d"
    (ADR 0006): only events received by the end of d count, so a row is immutable
    once written and the same whichever run wrote it. previous_stage is the stage
    of d-1 evaluated with the same knowledge (d's), exactly as
    int_users__lifecycle_evaluated does for D.

    A run for D (re)computes the days [start, D], start = the first day missing
    from the table (a skipped night, a gap, an empty table), else D itself; days
    after D that later runs wrote are left alone, so running dates in any order,
    with gaps, gives the same table. full_refresh=false: a stray --full-refresh
    must not drop history (a full rebuild is `userops backfill` from the start).

    Running aggregates, not range joins: each fact becomes a few dated deltas (the
    day it becomes visible, the day it leaves the activity window) and a day's
    state is the running max/min/sum of the deltas up to that day; deltas before
    `start` are folded into `start`, so the cost is facts + users x computed days. -#}

{{ config(
    materialized='incremental',
    incremental_strategy=day_overwrite_strategy(),
    unique_key='as_of_date',
    partition_by=day_partitions('as_of_date'),
    on_schema_change='fail',
    full_refresh=false,
    post_hook=["{{ pg_day_index('as_of_date') }}", "{{ pg_analyze() }}"],
) }}

{%- set window_days = var('lifecycle_active_window_days') | int %}

with

facts as (

    select
        user_id,
        activity_date,
        is_active,
        signup_count,
        known_date,
        active_known_date,
        signup_known_date
    from {{ ref('int_users__daily_activity') }}
    where activity_date <= {{ marts_value_as_of_date() }}

),

first_known as (

    -- the first day any user was known (the earliest first-seen delta below)
    select min(greatest(activity_date, known_date)) as first_day
    from facts

),

present_days as (

    -- the days already written (none on a first build)
    {% if is_incremental() -%}
        select distinct as_of_date
        from {{ this }}
        where as_of_date <= {{ marts_value_as_of_date() }}
    {%- else -%}
        select cast(null as date) as as_of_date
        where false
    {%- endif %}

),

expected_days as (

    select date_day
    from (
        {{ date_spine("(select first_day from first_known)", marts_value_as_of_date()) }}
    ) as spine_days

),

first_missing as (

    select min(expected_days.date_day) as first_missing_day
    from expected_days
    left join present_days
        on expected_days.date_day = present_days.as_of_date
    where present_days.as_of_date is null

),

bounds as (

    -- the first missing day (every day on a first build), else D itself
    select
        coalesce(
            (select first_missing_day from first_missing), {{ marts_value_as_of_date() }}
        ) as start_day

),

days_computed as (

    select date_day as as_of_date
    from (
        {{ date_spine("(select start_day from bounds)", marts_value_as_of_date()) }}
    ) as spine_days

),

fact_days as (

    -- the days each fact's deltas (below) fall on; null when a fact has none
    select
        facts.user_id,
        facts.activity_date,
        greatest(facts.activity_date, facts.known_date) as seen_day,
        case
            when facts.is_active
                then greatest(facts.activity_date, facts.active_known_date)
        end as active_day,
        case
            when facts.is_active
                then greatest(
                        {{ marts_value_add_days('facts.activity_date', 1) }},
                        facts.active_known_date
                    )
        end as active_day_d1,
        {{ marts_value_add_days('facts.activity_date', window_days) }} as leaves_day,
        {{ marts_value_add_days('facts.activity_date', window_days + 1) }} as leaves_day_d1,
        case
            when facts.signup_count > 0
                then greatest(facts.activity_date, facts.signup_known_date)
        end as signup_day
    from facts

),

folded_history as (

    -- every delta dated before the first computed day, summed per user in one pass
    -- over the facts and dated that day: what `deltas` gives for those facts,
    -- without building a row per delta for the whole history each night
    select
        fact_days.user_id,
        bounds.start_day as delta_date,
        {%- for suffix, name in [('', 'window_d'), ('_d1', 'window_d1')] %}
            sum(case when fact_days.active_day{{ suffix }} < bounds.start_day then 1 else 0 end)
            - sum(
                case
                    when
                        fact_days.active_day{{ suffix }} < fact_days.leaves_day{{ suffix }}
                        and fact_days.leaves_day{{ suffix }} < bounds.start_day
                        then 1
                    else 0
                end
            ) as {{ name }},
        {%- endfor %}
        min(fact_days.activity_date) as first_seen,
        min(case when fact_days.active_day < bounds.start_day then fact_days.activity_date end)
            as first_active,
        min(case when fact_days.signup_day < bounds.start_day then fact_days.activity_date end)
            as signup_event,
        max(case when fact_days.active_day < bounds.start_day then fact_days.activity_date end)
            as last_active_d,
        max(
            case when fact_days.active_day_d1 < bounds.start_day then fact_days.activity_date end
        ) as last_active_d1
    from fact_days
    cross join bounds
    -- a fact's first-seen delta is its earliest one
    where fact_days.seen_day < bounds.start_day
    group by fact_days.user_id, bounds.start_day

),

recent_facts as (

    -- the facts with a delta on or after the first computed day: the last
    -- W + 1 days, and older days first known (or first active) since
    select facts.*  -- noqa: AM04
    from facts
    cross join bounds
    where
        facts.activity_date
        >= {{ marts_value_add_days('bounds.start_day', -(window_days + 1)) }}
        or facts.known_date >= bounds.start_day
        or facts.active_known_date >= bounds.start_day
        or facts.signup_known_date >= bounds.start_day

),

deltas as (

    -- any event: the user is known from then on (first day seen)
    select
        user_id,
        greatest(activity_date, known_date) as delta_date,
        activity_date as first_seen,
        cast(null as date) as first_active,
        cast(null as date) as signup_event,
        cast(null as date) as last_active_d,
        cast(null as date) as last_active_d1,
        0 as window_d,
        0 as window_d1
    from recent_facts
    union all
    -- an active day, evaluated at d with d's knowledge: last active, window entry
    select
        user_id,
        greatest(activity_date, active_known_date) as delta_date,
        cast(null as date) as first_seen,
        activity_date as first_active,
        cast(null as date) as signup_event,
        activity_date as last_active_d,
        cast(null as date) as last_active_d1,
        1 as window_d,
        0 as window_d1
    from recent_facts
    where
        is_active
    union all
    -- ... and its exit from the window of d, W days later
    select
        user_id,
        {{ marts_value_add_days('activity_date', window_days) }} as delta_date,
        cast(null as date) as first_seen,
        cast(null as date) as first_active,
        cast(null as date) as signup_event,
        cast(null as date) as last_active_d,
        cast(null as date) as last_active_d1,
        -1 as window_d,
        0 as window_d1
    from recent_facts
    where
        is_active
        and greatest(activity_date, active_known_date)
        < {{ marts_value_add_days('activity_date', window_days) }}
    union all
    -- the same day evaluated at d-1 with d's knowledge (previous_stage)
    select
        user_id,
        greatest({{ marts_value_add_days('activity_date', 1) }}, active_known_date) as delta_date,
        cast(null as date) as first_seen,
        cast(null as date) as first_active,
        cast(null as date) as signup_event,
        cast(null as date) as last_active_d,
        activity_date as last_active_d1,
        0 as window_d,
        1 as window_d1
    from recent_facts
    where
        is_active
    union all
    -- ... and its exit from the window of d-1
    select
        user_id,
        {{ marts_value_add_days('activity_date', window_days + 1) }} as delta_date,
        cast(null as date) as first_seen,
        cast(null as date) as first_active,
        cast(null as date) as signup_event,
        cast(null as date) as last_active_d,
        cast(null as date) as last_active_d1,
        0 as window_d,
        -1 as window_d1
    from recent_facts
    where
        is_active
        and greatest({{ marts_value_add_days('activity_date', 1) }}, active_known_date)
        < {{ marts_value_add_days('activity_date', window_days + 1) }}
    union all
    -- a signup event: the signup date from then on
    select
        user_id,
        greatest(activity_date, signup_known_date) as delta_date,
        cast(null as date) as first_seen,
        cast(null as date) as first_active,
        activity_date as signup_event,
        cast(null as date) as last_active_d,
        cast(null as date) as last_active_d1,
        0 as window_d,
        0 as window_d1
    from recent_facts
    where
        signup_count > 0

),

folded as (

    select
        user_id,
        delta_date,
        min(first_seen) as first_seen,
        min(first_active) as first_active,
        min(signup_event) as signup_event,
        max(last_active_d) as last_active_d,
        max(last_active_d1) as last_active_d1,
        sum(window_d) as window_d,
        sum(window_d1) as window_d1
    from (
        select
            user_id,
            delta_date,
            first_seen,
            first_active,
            signup_event,
            last_active_d,
            last_active_d1,
            window_d,
            window_d1
        from folded_history
        union all
        select
            deltas.user_id,
            deltas.delta_date,
            deltas.first_seen,
            deltas.first_active,
            deltas.signup_event,
            deltas.last_active_d,
            deltas.last_active_d1,
            deltas.window_d,
            deltas.window_d1
        from deltas
        cross join bounds
        where
            deltas.delta_date >= bounds.start_day
            and deltas.delta_date <= {{ marts_value_as_of_date() }}
    ) as both_parts
    group by user_id, delta_date

),

known_users as (

    select
        user_id,
        min(delta_date) as first_day
    from folded
    where first_seen is not null
    group by user_id

),

user_days as (

    select
        known_users.user_id,
        days_computed.as_of_date
    from known_users
    inner join days_computed
        on known_users.first_day <= days_computed.as_of_date

),

running as (

    select
        user_days.user_id,
        user_days.as_of_date,
        min(folded.first_seen) over w as first_seen,
        min(folded.first_active) over w as first_active,
        min(folded.signup_event) over w as signup_event,
        max(folded.last_active_d) over w as last_active_d,
        max(folded.last_active_d1) over w as last_active_d1,
        sum(coalesce(folded.window_d, 0)) over w as active_days_d,
        sum(coalesce(folded.window_d1, 0)) over w as active_days_d1
    from user_days
    left join folded
        on
            user_days.user_id = folded.user_id
            and user_days.as_of_date = folded.delta_date
    window w as (
        partition by user_days.user_id
        order by user_days.as_of_date
        rows between unbounded preceding and current row
    )

),

measured as (

    -- signup date per SPEC §2 (signup event, else first active day), else first day
    -- seen; a never-active user counts as inactive since signup
    select
        user_id,
        as_of_date,
        signup_date,
        last_active_d,
        active_days_d,
        {{ marts_value_days_between('signup_date', 'as_of_date') }} as tenure_d,
        {{ marts_value_days_between('last_active_d', 'as_of_date') }} as days_since_d,
        {{ marts_value_days_between('coalesce(last_active_d, signup_date)', 'as_of_date') }}
            as inactive_d,
        signup_date < as_of_date as existed_d1,
        {{ marts_value_days_between('signup_date', 'as_of_date') }} - 1 as tenure_d1,
        {{ marts_value_days_between('coalesce(last_active_d1, signup_date)', 'as_of_date') }} - 1
            as inactive_d1,
        active_days_d1
    from (
        select
            *,
            coalesce(signup_event, first_active, first_seen) as signup_date
        from running
    ) as with_signup

),

staged as (

    select
        *,
        {{ marts_value_lifecycle_stage('tenure_d', 'inactive_d', 'active_days_d') }}
            as lifecycle_stage,
        case
            when existed_d1
                then {{ marts_value_lifecycle_stage('tenure_d1', 'inactive_d1', 'active_days_d1') }}
        end as previous_stage
    from measured

),

final as (

    select
        cast(as_of_date as date) as as_of_date,
        cast(user_id as {{ string_type() }}) as user_id,
        cast(signup_date as date) as signup_date,
        cast(last_active_d as date) as last_active_date,
        cast(tenure_d as integer) as tenure_days,
        cast(days_since_d as integer) as days_since_last_active,
        cast(active_days_d as integer) as active_days_30d,
        cast(lifecycle_stage as {{ string_type() }}) as lifecycle_stage,
        cast(previous_stage as {{ string_type() }}) as previous_stage,
        cast(coalesce(previous_stage <> lifecycle_stage, false) as boolean) as is_stage_changed
    from staged

)

select * from final
