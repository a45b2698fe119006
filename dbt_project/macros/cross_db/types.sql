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

{#
    dbt's `cast` on Spark, with the type names of the YAML contracts (written for
    DuckDB and PostgreSQL: varchar, double precision...) in Spark's words. dbt checks a
    contract by comparing the model's column types with those of
    `select cast(null as <data_type>) ...`, so this is what makes the contracts hold on
    Spark (ADR 0011); unit-test fixtures are cast through it too.
#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ userops.spark_type(type) }})
{%- endmacro %}

{# A type name of the DuckDB/PostgreSQL models in Spark's words. #}
{% macro spark_type(type) -%}
    {%- set t = type | lower | trim -%}
    {%- set mapped = {'timestamptz': 'timestamp', 'varchar': 'string', 'text': 'string',
                      'double precision': 'double', 'integer': 'int'}.get(t, t) -%}
    {{- 'string' if mapped.startswith('varchar(') else mapped -}}
{%- endmacro %}
