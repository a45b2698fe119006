{#- Weekly stage transitions counted from the history table. Only history up to
    D is read: a backfill of an earlier date must not see later nights. -#}

with

history as (

    select
        as_of_date,
        user_id,
        previous_stage,
        lifecycle_stage,
        is_stage_changed
    from {{ ref('user_lifecycle_daily') }}
    where as_of_date <= {{ marts_value_as_of_date() }}

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

final as (

    select
        {{ marts_value_as_of_date() }} as as_of_date,
        weekly.week_start,
        cast(weekly.from_stage as varchar) as from_stage,
        cast(from_stages.label_zh as varchar) as from_stage_label_zh,
        cast(weekly.to_stage as varchar) as to_stage,
        cast(to_stages.label_zh as varchar) as to_stage_label_zh,
        cast(weekly.transition_count as integer) as transition_count,
        cast(weekly.user_count as integer) as user_count,
        cast(weeks_covered.history_days as integer) as history_days
    from weekly
    inner join weeks_covered
        on weekly.week_start = weeks_covered.week_start
    left join stages as from_stages
        on weekly.from_stage = from_stages.code
    left join stages as to_stages
        on weekly.to_stage = to_stages.code

)

select * from final
