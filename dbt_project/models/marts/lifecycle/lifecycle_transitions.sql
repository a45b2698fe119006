{#- Weekly stage transitions counted from the whole history table (ADR 0006:
    "restated from immutable per-day rows"): every day of user_lifecycle_daily is
    fixed once written, so this mart depends only on which days exist, never on
    the order they ran in, and a backfill of an older date does not rewind it.
    as_of_date is the latest day of the history. -#}

with

history as (

    select
        as_of_date,
        user_id,
        previous_stage,
        lifecycle_stage,
        is_stage_changed
    from {{ ref('user_lifecycle_daily') }}

),

stages as (

    select
        code,
        label_zh
    from {{ ref('lifecycle_stages') }}

),

weeks_covered as (

    select
        {{ marts_value_week_start('as_of_date') }} as week_start,
        count(distinct as_of_date) as history_days
    from history
    group by {{ marts_value_week_start('as_of_date') }}

),

changes as (

    select
        {{ marts_value_week_start('as_of_date') }} as week_start,
        previous_stage as from_stage,
        lifecycle_stage as to_stage,
        user_id
    from history
    where is_stage_changed

),

weekly as (

    select
        week_start,
        from_stage,
        to_stage,
        count(*) as transition_count,
        count(distinct user_id) as user_count
    from changes
    group by week_start, from_stage, to_stage

),

latest as (

    select max(as_of_date) as as_of_date
    from history

),

final as (

    select
        latest.as_of_date,
        weekly.week_start,
        cast(weekly.from_stage as {{ string_type() }}) as from_stage,
        cast(from_stages.label_zh as {{ string_type() }}) as from_stage_label_zh,
        cast(weekly.to_stage as {{ string_type() }}) as to_stage,
        cast(to_stages.label_zh as {{ string_type() }}) as to_stage_label_zh,
        cast(weekly.transition_count as integer) as transition_count,
        cast(weekly.user_count as integer) as user_count,
        cast(weeks_covered.history_days as integer) as history_days
    from weekly
    cross join latest
    inner join weeks_covered
        on weekly.week_start = weeks_covered.week_start
    left join stages as from_stages
        on weekly.from_stage = from_stages.code
    left join stages as to_stages
        on weekly.to_stage = to_stages.code

)

select * from final
