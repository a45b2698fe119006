{#
    Business date of a UTC `timestamp` (without time zone) in
    var('business_timezone'). Written so the session time zone never matters:
    the naive value is first declared UTC, then converted to local wall time.
#}
{% macro to_business_date(ts_utc) -%}
    {{ return(adapter.dispatch('to_business_date', 'userops')(ts_utc)) }}
{%- endmacro %}

{% macro default__to_business_date(ts_utc) -%}
    cast(timezone('{{ var("business_timezone") }}', timezone('UTC', {{ ts_utc }})) as date)
{%- endmacro %}

{% macro postgres__to_business_date(ts_utc) -%}
    cast((({{ ts_utc }}) at time zone 'UTC') at time zone '{{ var("business_timezone") }}' as date)
{%- endmacro %}


{#
    A `timestamp with time zone` expressed as a naive UTC `timestamp`,
    independent of the session time zone.
#}
{% macro timestamptz_to_utc(expr) -%}
    {{ return(adapter.dispatch('timestamptz_to_utc', 'userops')(expr)) }}
{%- endmacro %}

{% macro default__timestamptz_to_utc(expr) -%}
    timezone('UTC', {{ expr }})
{%- endmacro %}

{% macro postgres__timestamptz_to_utc(expr) -%}
    (({{ expr }}) at time zone 'UTC')
{%- endmacro %}

{# Spark: timestamps are instants shown in the session zone (UTC, profiles.yml). #}
{% macro spark__to_business_date(ts_utc) -%}
    to_date(from_utc_timestamp({{ ts_utc }}, '{{ var("business_timezone") }}'))
{%- endmacro %}

{% macro spark__timestamptz_to_utc(expr) -%}
    cast({{ expr }} as timestamp)
{%- endmacro %}
