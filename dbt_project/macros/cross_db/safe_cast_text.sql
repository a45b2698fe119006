{#
    Cast text to `type`, giving NULL instead of an error for a value that does not
    fit. (Not named `safe_cast`: a project macro of that name would replace dbt's
    global `safe_cast`, which dbt's own unit-test fixtures call with other types.)
    Raw CRM columns are text exactly as received, so one bad value must never fail
    the build (docs/contracts.md).

    DuckDB has `try_cast`. PostgreSQL 15 has neither `try_cast` nor
    `pg_input_is_valid` (16+), so the cast is guarded without plpgsql: a strict
    pattern per type family, plus a calendar check for dates (Feb 30 matches any
    pattern). CASE branches are nested because PostgreSQL evaluates a THEN only
    when its WHEN holds, but gives no order guarantee inside one AND.

    Supported type families: timestamp, timestamptz, date, smallint/integer/bigint,
    numeric(p, s)/decimal(p, s), boolean, varchar/text. Callers that want the same
    answer on both engines first normalise the text with the macros in
    macros/cleaning/ (which apply the same strict patterns on both engines).
#}
{% macro safe_cast_text(expr, type) -%}
    {{ return(adapter.dispatch('safe_cast_text', 'userops')(expr, type)) }}
{%- endmacro %}

{% macro default__safe_cast_text(expr, type) -%}
    try_cast({{ expr }} as {{ type }})
{%- endmacro %}

{% macro postgres__safe_cast_text(expr, type) -%}
    {%- set t = type | lower | replace(' ', '') -%}
    {%- if t in ('timestamp', 'timestamptz', 'date') -%}
        {%- set pattern = userops.timestamp_text_pattern(with_offset=(t == 'timestamptz')) -%}
        case when ({{ expr }}) ~ '{{ pattern }}' then
            case when extract(month from make_date(
                        cast(substr({{ expr }}, 1, 4) as integer),
                        cast(substr({{ expr }}, 6, 2) as integer),
                        1
                    ) + (cast(substr({{ expr }}, 9, 2) as integer) - 1))
                    = cast(substr({{ expr }}, 6, 2) as integer)
                then cast({{ expr }} as {{ type }})
            end
        end
    {%- elif t in ('smallint', 'integer', 'int', 'int4', 'bigint', 'int8') -%}
        {%- set digits = {'smallint': 4, 'integer': 9, 'int': 9, 'int4': 9}.get(t, 18) -%}
        case when ({{ expr }}) ~ '^[+-]?[0-9]{1,{{ digits }}}$' then cast({{ expr }} as {{ type }}) end
    {%- elif t.startswith('numeric') or t.startswith('decimal') -%}
        {%- set ps = t.split('(')[1].rstrip(')').split(',') if '(' in t else ['38', '0'] -%}
        {%- set int_digits = (ps[0] | int) - ((ps[1] | int) if ps | length > 1 else 0) -%}
        case when ({{ expr }}) ~ '^[+-]?[0-9]{1,{{ int_digits }}}([.][0-9]*)?$'
            then cast({{ expr }} as {{ type }})
        end
    {%- elif t == 'boolean' -%}
        case when lower({{ expr }}) in ('true', 'false', 't', 'f', '1', '0', 'yes', 'no', 'y', 'n', 'on', 'off')
            then cast(lower({{ expr }}) as boolean)
        end
    {%- elif t in ('varchar', 'text') or t.startswith('varchar(') -%}
        cast({{ expr }} as {{ type }})
    {%- else -%}
        {{ exceptions.raise_compiler_error("safe_cast_text: unsupported type on postgres: " ~ type) }}
    {%- endif -%}
{%- endmacro %}


{#
    The one accepted text shape of a timestamp: `YYYY-MM-DD[ HH:MM[:SS[.ffffff]]]`,
    optionally followed by a UTC offset (`+08:00`, `+0800`, `+08`). Ranges of month,
    day, hour, minute and second are checked here; days beyond the month's end are
    caught by safe_cast_text.
#}
{% macro timestamp_text_pattern(with_offset=false) -%}
    {%- set date_part = '[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])' -%}
    {%- set time_part = '( ([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]{1,6})?)?)?' -%}
    {%- set offset_part = '([+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)?' if with_offset else '' -%}
    {{- '^' ~ date_part ~ time_part ~ offset_part ~ '$' -}}
{%- endmacro %}

{#
    Spark (ANSI mode off, as dbt-spark sets it): try_cast gives NULL for a bad value.
    Spark has one timestamp type, an instant shown in the session's zone (UTC here), so
    timestamptz and timestamp both become `timestamp`.
#}
{% macro spark__safe_cast_text(expr, type) -%}
    try_cast({{ expr }} as {{ userops.spark_type(type) }})
{%- endmacro %}
