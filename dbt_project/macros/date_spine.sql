{#
    One row per date from `start_date` to `end_date`, both included (no rows when
    start > end or either is null), column `date_day`. A subquery to select from:

        select date_day from ({{ date_spine("cast('2024-01-01' as date)", as_of_date()) }}) as spine

    The arguments are SQL expressions (a scalar subquery works). Our own, since
    dbt_utils cannot be installed here; `generate_series(int, int)` with a
    correlated argument and `date + integer` behave the same on DuckDB and
    PostgreSQL.
#}
{% macro date_spine(start_date, end_date) -%}
    select cast(spine_bounds.start_date + cast(day_offsets.day_offset as integer) as date) as date_day
    from (
        select
            cast({{ start_date }} as date) as start_date,
            cast({{ end_date }} as date) as end_date
    ) as spine_bounds
    cross join
        generate_series(0, spine_bounds.end_date - spine_bounds.start_date) as day_offsets (day_offset)
{%- endmacro %}
