{{ config(materialized='table') }}

with

daily_activity as (

    select
        user_id,
        activity_date,
        signup_count,
        is_active
    from {{ ref('int_users__daily_activity') }}

),

spans as (

    select
        user_id,
        cast(sum(case when is_active then 1 else 0 end) as integer) as active_days_total,
        min(case when signup_count > 0 then activity_date end) as signup_event_date,
        min(case when is_active then activity_date end) as first_active_date,
        max(case when is_active then activity_date end) as last_active_date
    from daily_activity
    group by user_id

),

signup_dates as (

    select
        user_id,
        first_active_date,
        last_active_date,
        active_days_total,
        -- SPEC §2: the signup event's day; without one, the first active day
        coalesce(signup_event_date, first_active_date) as signup_date,
        signup_event_date is not null as has_signup_event
    from spans

),

final as (

    select
        user_id,
        signup_date,
        has_signup_event,
        first_active_date,
        last_active_date,
        active_days_total
    from signup_dates

)

select * from final
