-- Growth accounting adds up (SPEC §2), per row and from one period to the next:
--   new + returning + resurrecting = active in every period, and
--   with "new" = first active period, every user active in p - 1 is either
--   returning or dormant in p: returning(p) + dormant(p) = active(p - 1).
-- Returns the offending periods.

with

growth as (

    select
        period_grain,
        period_start,
        active_users,
        new_users,
        returning_users,
        resurrecting_users,
        dormant_users,
        lag(active_users) over (
            partition by period_grain order by period_start
        ) as previous_active_users
    from {{ ref('growth_accounting') }}

),

failures as (

    select
        period_grain,
        period_start,
        active_users,
        new_users,
        returning_users,
        resurrecting_users,
        dormant_users,
        previous_active_users
    from growth
    where
        new_users + returning_users + resurrecting_users <> active_users
        or least(active_users, new_users, returning_users, resurrecting_users, dormant_users) < 0
        {% if var('growth_new_basis') == 'first_active' -%}
            or returning_users + dormant_users <> coalesce(previous_active_users, 0)
        {%- endif %}

)

select * from failures
