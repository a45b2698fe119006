{#
    Date arithmetic (and one ratio) for the activity marts, portable across DuckDB
    and PostgreSQL.

    dbt.dateadd returns a timestamp on both engines and dbt.date_trunc on a date
    returns a timestamp with time zone on PostgreSQL, so every helper here casts
    back to `date`: comparisons and joins then stay date = date, whatever the
    session time zone.
#}

{#- D shifted by `offset_days` (a Jinja integer) as a date literal: window bounds
    are computed at compile time from run_var('as_of_date'), never from the clock. -#}
{% macro marts_activity_as_of_date(offset_days=0) -%}
    {%- set as_of = modules.datetime.date.fromisoformat(run_var('as_of_date')) -%}
    {%- set day = as_of + modules.datetime.timedelta(days=offset_days) -%}
    cast('{{ day.isoformat() }}' as date)
{%- endmacro %}

{#- `date_expr` plus `days` (an SQL integer expression) as a date. -#}
{% macro marts_activity_add_days(date_expr, days) -%}
    cast({{ dbt.dateadd('day', days, date_expr) }} as date)
{%- endmacro %}

{#- Monday of the ISO week holding `date_expr` (the start of a cohort or growth week). -#}
{% macro marts_activity_week_start(date_expr) -%}
    cast({{ dbt.date_trunc('week', 'cast(' ~ date_expr ~ ' as timestamp)') }} as date)
{%- endmacro %}

{#- Start of the period holding `date_expr`, for `grain_expr` an SQL expression
    worth 'day' (the date itself) or 'week' (its Monday). -#}
{% macro marts_activity_period_start(date_expr, grain_expr) -%}
    case
        when {{ grain_expr }} = 'day' then {{ date_expr }}
        when {{ grain_expr }} = 'week' then {{ marts_activity_week_start(date_expr) }}
    end
{%- endmacro %}

{#- Days from `start_date` to `end_date` as an integer (end - start). -#}
{% macro marts_activity_days_between(start_date, end_date) -%}
    cast({{ dbt.datediff(start_date, end_date, 'day') }} as integer)
{%- endmacro %}

{#- `numerator` / `denominator` as numeric(9,6): decimal division on both engines
    (never integer division), rounded the same way. The caller guards zero. -#}
{% macro marts_activity_ratio(numerator, denominator) -%}
    cast(cast({{ numerator }} as numeric(18, 6)) / {{ denominator }} as numeric(9, 6))
{%- endmacro %}
