{#
    Use a model's custom schema as-is (`staging`, `intermediate`, `marts`) instead of
    dbt's default `<target_schema>_<custom>`: BI tools and the other components read
    these schema names directly, on DuckDB and PostgreSQL alike.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
