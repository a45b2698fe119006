{#
    Type names the engines spell differently, for casts in model SQL (`cast(x as
    {{ userops.string_type() }})`). The other types the models use (integer, bigint,
    boolean, date, timestamp, numeric(p, s)) have one name on DuckDB, PostgreSQL and
    Spark.
#}
{% macro string_type() -%}
    {{ return(adapter.dispatch('string_type', 'userops')()) }}
{%- endmacro %}

{% macro default__string_type() -%}varchar{%- endmacro %}

{% macro spark__string_type() -%}string{%- endmacro %}

{% macro double_type() -%}
    {{ return(adapter.dispatch('double_type', 'userops')()) }}
{%- endmacro %}

{% macro default__double_type() -%}double precision{%- endmacro %}

{% macro spark__double_type() -%}double{%- endmacro %}
