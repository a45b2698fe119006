{#
    Date helpers of the value area (RFM, lifecycle, funnel), portable across DuckDB
    and PostgreSQL. dbt.dateadd returns a timestamp on both engines and
    dbt.date_trunc of a date is timezone-dependent on PostgreSQL, so every helper
    casts back to `date`: comparisons stay date = date whatever the session zone.
#}

{#- D shifted by `offset_days` (a Jinja integer) as a date literal, computed at
    compile time from run_var('as_of_date'): never the wall clock. -#}
{% macro marts_value_as_of_date(offset_days=0) -%}
    {%- set as_of = modules.datetime.date.fromisoformat(run_var('as_of_date')) -%}
    {%- set day = as_of + modules.datetime.timedelta(days=offset_days | int) -%}
    cast('{{ day.isoformat() }}' as date)
{%- endmacro %}

{#- `date_expr` plus `days` (an SQL integer expression) as a date. -#}
{% macro marts_value_add_days(date_expr, days) -%}
    cast({{ dbt.dateadd('day', days, date_expr) }} as date)
{%- endmacro %}

{#- Days from `start_date` to `end_date` (end - start) as an integer. -#}
{% macro marts_value_days_between(start_date, end_date) -%}
    cast({{ dbt.datediff(start_date, end_date, 'day') }} as integer)
{%- endmacro %}

{#- Monday of the ISO week holding `date_expr`. -#}
{% macro marts_value_week_start(date_expr) -%}
    cast({{ dbt.date_trunc('week', 'cast(' ~ date_expr ~ ' as timestamp)') }} as date)
{%- endmacro %}
