{#- Period grains and their length in days. -#}
{%- set grains = [('day', 1), ('week', 7)] -%}
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

integers as (

    {{ marts_activity_integers() }}

),

{% for grain, step in grains %}
{%- set last_period = marts_activity_period_start(marts_activity_as_of_date(), grain) %}
{{ grain }}_user_periods as (

    select distinct
        user_id,
        {{ marts_activity_period_start('activity_date', grain) }} as period_start
    from daily_activity

),

{{ grain }}_sequenced as (

    select
        user_id,
        period_start,
        lag(period_start) over (
            partition by user_id order by period_start
        ) as previous_active_period,
        lead(period_start) over (
            partition by user_id order by period_start
        ) as next_active_period
    from {{ grain }}_user_periods

),

{{ grain }}_statuses as (

    -- a user active in p is new, returning or resurrecting (exactly one)
    select
        {{ grain }}_sequenced.period_start,
        case
            when
                {{ grain }}_sequenced.period_start
                = {{ marts_activity_period_start('lifespans.new_basis_date', grain) }}
                then 'new'
            when
                {{ grain }}_sequenced.previous_active_period
                = {{ marts_activity_add_days(grain ~ '_sequenced.period_start', -step) }}
                then 'returning'
            else 'resurrecting'
        end as growth_status
    from {{ grain }}_sequenced
    left join lifespans
        on {{ grain }}_sequenced.user_id = lifespans.user_id

    union all

    -- ... and dormant in the period right after the last period of each active streak
    select
        {{ marts_activity_add_days('period_start', step) }} as period_start,
        'dormant' as growth_status
    from {{ grain }}_sequenced
    where
        (
            next_active_period is null
            or next_active_period > {{ marts_activity_add_days('period_start', step) }}
        )
        and {{ marts_activity_add_days('period_start', step) }} <= {{ last_period }}

),

{{ grain }}_counts as (

    select
        period_start,
        sum(case when growth_status <> 'dormant' then 1 else 0 end) as active_users,
        sum(case when growth_status = 'new' then 1 else 0 end) as new_users,
        sum(case when growth_status = 'returning' then 1 else 0 end) as returning_users,
        sum(case when growth_status = 'resurrecting' then 1 else 0 end) as resurrecting_users,
        sum(case when growth_status = 'dormant' then 1 else 0 end) as dormant_users
    from {{ grain }}_statuses
    group by period_start

),

{{ grain }}_spine as (

    -- every period from the first one with an active user up to the one holding D
    select
        {{ marts_activity_add_days('bounds.first_period', step ~ ' * integers.n') }}
            as period_start
    from integers
    cross join (
        select min(period_start) as first_period
        from {{ grain }}_user_periods
    ) as bounds
    where
        integers.n * {{ step }}
        <= {{ marts_activity_days_between('bounds.first_period', last_period) }}

),

{{ grain }}_periods as (

    select
        '{{ grain }}' as period_grain,
        {{ grain }}_spine.period_start,
        {{ marts_activity_add_days(grain ~ '_spine.period_start', step - 1) }} as period_end,
        coalesce({{ grain }}_counts.active_users, 0) as active_users,
        coalesce({{ grain }}_counts.new_users, 0) as new_users,
        coalesce({{ grain }}_counts.returning_users, 0) as returning_users,
        coalesce({{ grain }}_counts.resurrecting_users, 0) as resurrecting_users,
        coalesce({{ grain }}_counts.dormant_users, 0) as dormant_users
    from {{ grain }}_spine
    left join {{ grain }}_counts
        on {{ grain }}_spine.period_start = {{ grain }}_counts.period_start

),

{% endfor %}
periods as (

    {% for grain, _ in grains -%}
    select * from {{ grain }}_periods
    {% if not loop.last %}union all
    {% endif -%}
    {% endfor %}

),

final as (

    select
        {{ marts_activity_as_of_date() }} as as_of_date,
        cast(period_grain as varchar) as period_grain,
        period_start,
        period_end,
        period_end <= {{ marts_activity_as_of_date() }} as is_period_complete,
        cast(active_users as integer) as active_users,
        cast(new_users as integer) as new_users,
        cast(returning_users as integer) as returning_users,
        cast(resurrecting_users as integer) as resurrecting_users,
        cast(dormant_users as integer) as dormant_users
    from periods

)

select * from final
