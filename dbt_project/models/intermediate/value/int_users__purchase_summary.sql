{{ config(
    materialized='incremental',
    incremental_strategy=day_overwrite_strategy(),
    unique_key='as_of_date',
    partition_by=day_partitions('as_of_date'),
    on_schema_change='append_new_columns',
    full_refresh=false,
    post_hook=["{{ pg_day_index('as_of_date') }}", "{{ pg_analyze() }}"],
) }}

{#- What the value model (userops.predict.value, BG/NBD + Gamma-Gamma) reads, one
    snapshot per business date run (ADR 0006: delete+insert on as_of_date), so a
    prediction for any date, built in any order or while catching up, reads exactly
    what that date knew. Per paying user, from the paid orders of the last
    var('value_lookback_days') days up to D, a day with orders counting once (their
    sum): frequency = days with a purchase - 1, recency = last - first purchase day,
    age = D - first purchase day, monetary = mean spend of the repeat days. -#}

{%- set lookback = var('value_lookback_days') | int -%}
{%- if lookback < 1 -%}
    {{ exceptions.raise_compiler_error("var('value_lookback_days') must be >= 1, got: " ~ lookback) }}
{%- endif -%}

with

paid_days as (

    select
        user_id,
        paid_date,
        sum(amount_cny) as day_amount_cny
    from {{ ref('int_orders__paid') }}
    where
        paid_date between {{ marts_value_as_of_date(1 - lookback) }}
        and {{ marts_value_as_of_date() }}
    group by user_id, paid_date

),

ranked as (

    select
        *,
        min(paid_date) over (partition by user_id) as first_paid_date
    from paid_days

),

summary as (

    select
        user_id,
        min(paid_date) as first_paid_date,
        max(paid_date) as last_paid_date,
        count(*) as paid_days,
        avg(case when paid_date > first_paid_date then day_amount_cny end) as repeat_mean_cny
    from ranked
    group by user_id

),

final as (

    select
        {{ marts_value_as_of_date() }} as as_of_date,
        cast(user_id as {{ string_type() }}) as user_id,
        cast(first_paid_date as date) as first_paid_date,
        cast(last_paid_date as date) as last_paid_date,
        cast(paid_days - 1 as integer) as frequency,
        {{ marts_value_days_between('first_paid_date', 'last_paid_date') }} as recency_days,
        {{ marts_value_days_between('first_paid_date', marts_value_as_of_date()) }} as age_days,
        cast(coalesce(repeat_mean_cny, 0) as {{ double_type() }}) as monetary_value_cny
    from summary

)

select * from final
