-- The marts count the same users as int_users__lifespans: retention cohorts add up
-- to the users with a signup date, user_activity has one row per user, and with
-- "new" = first active period every user ever active is new exactly once per grain.
-- Returns one row per disagreeing figure. Compares with D's lifespans, so it runs
-- only when D is the latest date (tag latest_only, ADR 0006).

{{ config(tags=['latest_only']) }}

with

lifespans as (

    select
        count(*) as user_count,
        count(signup_date) as users_with_signup_date,
        count(first_active_date) as users_ever_active
    from {{ ref('int_users__lifespans') }}

),

cohort_sizes as (

    select sum(cohort_size) as cohort_members
    from {{ ref('retention_cohorts') }}
    where week_number = 0

),

user_rows as (

    select count(*) as user_rows
    from {{ ref('user_activity') }}

),

new_users as (

    select
        period_grain,
        sum(new_users) as new_users
    from {{ ref('growth_accounting') }}
    group by period_grain

),

failures as (

    select
        'retention_cohorts' as figure,
        coalesce(cohort_sizes.cohort_members, 0) as mart_value,
        lifespans.users_with_signup_date as expected_value
    from lifespans
    cross join cohort_sizes
    where coalesce(cohort_sizes.cohort_members, 0) <> lifespans.users_with_signup_date

    union all

    select
        'user_activity' as figure,
        user_rows.user_rows as mart_value,
        lifespans.user_count as expected_value
    from lifespans
    cross join user_rows
    where user_rows.user_rows <> lifespans.user_count

    {% if var('growth_new_basis') == 'first_active' -%}
        union all

        select
            'growth_accounting.' || new_users.period_grain as figure,
            new_users.new_users as mart_value,
            lifespans.users_ever_active as expected_value
        from lifespans
        cross join new_users
        where new_users.new_users <> lifespans.users_ever_active
    {%- endif %}

)

select * from failures
