-- Week 0 is the signup week: every cohort member counts as retained there, so both
-- rates are exactly 1. Returns the cohorts where that does not hold.

with

week_zero as (

    select
        cohort_week,
        cohort_size,
        retained_on_users,
        retained_on_or_after_users,
        retention_on_rate,
        retention_on_or_after_rate
    from {{ ref('retention_cohorts') }}
    where week_number = 0

),

failures as (

    select *
    from week_zero
    where
        retained_on_users <> cohort_size
        or retained_on_or_after_users <> cohort_size
        or retention_on_rate <> 1
        or retention_on_or_after_rate <> 1

)

select * from failures
