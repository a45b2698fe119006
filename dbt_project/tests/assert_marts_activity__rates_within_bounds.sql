-- Every retention rate is a share in [0, 1] and equals its counts' ratio (to the
-- 6 decimals stored). Returns the offending rows.

with

rates as (

    select
        'retention_cohorts.on' as rate_name,
        cohort_week,
        week_number as period_number,
        retention_on_rate as rate,
        retained_on_users as numerator,
        cohort_size as denominator
    from {{ ref('retention_cohorts') }}

    union all

    select
        'retention_cohorts.on_or_after' as rate_name,
        cohort_week,
        week_number as period_number,
        retention_on_or_after_rate as rate,
        retained_on_or_after_users as numerator,
        cohort_size as denominator
    from {{ ref('retention_cohorts') }}

    union all

    select
        'retention_n_day' as rate_name,
        cohort_week,
        n_day as period_number,
        retention_rate as rate,
        retained_users as numerator,
        eligible_users as denominator
    from {{ ref('retention_n_day') }}

),

failures as (

    select *
    from rates
    where
        (denominator = 0 and rate is not null)
        or (
            denominator > 0
            and (
                rate is null
                or rate < 0
                or rate > 1
                or abs(rate - cast(numerator as numeric(18, 6)) / denominator) > 0.000001
            )
        )

)

select * from failures
