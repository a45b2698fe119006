-- Retention counts nest: retained_on <= retained_on_or_after <= cohort_size for each
-- cohort week, "on or after" never grows with k (a later week has fewer later weeks),
-- the cohort size is the same in every week; N-day: retained <= eligible <= cohort.
-- Returns the offending rows.

with

cohorts as (

    select
        cohort_week,
        week_number,
        cohort_size,
        retained_on_users,
        retained_on_or_after_users,
        lag(retained_on_or_after_users) over (
            partition by cohort_week order by week_number
        ) as previous_on_or_after_users,
        min(cohort_size) over (partition by cohort_week) as min_cohort_size,
        max(cohort_size) over (partition by cohort_week) as max_cohort_size
    from {{ ref('retention_cohorts') }}

),

cohort_failures as (

    select
        'retention_cohorts' as model_name,
        cohort_week,
        week_number as period_number
    from cohorts
    where
        retained_on_users < 0
        or retained_on_users > retained_on_or_after_users
        or retained_on_or_after_users > cohort_size
        or retained_on_or_after_users > coalesce(previous_on_or_after_users, cohort_size)
        or min_cohort_size <> max_cohort_size

),

n_day_failures as (

    select
        'retention_n_day' as model_name,
        cohort_week,
        n_day as period_number
    from {{ ref('retention_n_day') }}
    where
        retained_users < 0
        or retained_users > eligible_users
        or eligible_users > cohort_size

),

failures as (

    select * from cohort_failures
    union all
    select * from n_day_failures

)

select * from failures
