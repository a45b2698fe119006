{#- MetricFlow's time spine (dbt 1.11 `time_spine:` config in _metrics__models.yml):
    one row per calendar date of a fixed range that covers every business date the
    warehouse can hold. It depends on no data and no as-of var, so every run builds
    the same table (about 15,000 rows). Plain SQL through the project's own
    date_spine macro, so it runs unchanged on DuckDB and PostgreSQL. -#}
{%- set spine_start = '2000-01-01' -%}
{%- set spine_end = '2040-12-31' -%}

with

days as (

    {{ date_spine("cast('" ~ spine_start ~ "' as date)", "cast('" ~ spine_end ~ "' as date)") }}

),

final as (

    select cast(date_day as date) as date_day
    from days

)

select * from final
