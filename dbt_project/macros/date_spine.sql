{#
    One row per date from `start_date` to `end_date`, both included (no rows when
    start > end or either is null), column `date_day`. A subquery to select from:

        select date_day from ({{ date_spine("cast('2024-01-01' as date)", as_of_date()) }}) as spine

    The arguments are SQL expressions (a scalar subquery works). Our own, since
    dbt_utils cannot be installed here; `generate_series(int, int)` with a
    correlated argument and `date + integer` behave the same on DuckDB and
    PostgreSQL; Spark builds the days with `sequence`.
#}
{% macro date_spine(start_date, end_date) -%}
    {{ return(adapter.dispatch('date_spine', 'userops')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__date_spine(start_date, end_date) -%}
    select cast(spine_bounds.start_date + cast(day_offsets.day_offset as integer) as date) as date_day
    from (
        select
            cast({{ start_date }} as date) as start_date,
            cast({{ end_date }} as date) as end_date
    ) as spine_bounds
    cross join
        generate_series(0, spine_bounds.end_date - spine_bounds.start_date) as day_offsets (day_offset)
{%- endmacro %}

{% macro spark__date_spine(start_date, end_date) -%}
    select explode(
        case
            when spine_bounds.start_date <= spine_bounds.end_date
                then sequence(spine_bounds.start_date, spine_bounds.end_date, interval 1 day)
        end
    ) as date_day
    from (
        select
            cast({{ start_date }} as date) as start_date,
            cast({{ end_date }} as date) as end_date
    ) as spine_bounds
{%- endmacro %}


{#
    The integers `start` .. `stop` (both included; SQL expressions) as a relation
    `alias` with one column `column`, to join with:

        cross join {{ integer_series(0, 30, 'window_days', 'days_back') }}
#}
{% macro integer_series(start, stop, alias, column) -%}
    {{ return(adapter.dispatch('integer_series', 'userops')(start, stop, alias, column)) }}
{%- endmacro %}

{% macro default__integer_series(start, stop, alias, column) -%}
    generate_series({{ start }}, {{ stop }}) as {{ alias }} ({{ column }})
{%- endmacro %}

{% macro spark__integer_series(start, stop, alias, column) -%}
    (select cast(id as integer) as {{ column }} from range({{ start }}, ({{ stop }}) + 1)) as {{ alias }}
{%- endmacro %}
