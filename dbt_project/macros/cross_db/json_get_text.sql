{#
    Text value of a top-level key of a JSON column (null when absent), e.g.
    `json_get_text('properties', 'path')`. Numbers come back as their JSON text.
#}
{% macro json_get_text(json_column, key) -%}
    {{ return(adapter.dispatch('json_get_text', 'userops')(json_column, key)) }}
{%- endmacro %}

{% macro default__json_get_text(json_column, key) -%}
    json_extract_string({{ json_column }}, '$.{{ key }}')
{%- endmacro %}

{% macro postgres__json_get_text(json_column, key) -%}
    ({{ json_column }}::jsonb ->> '{{ key }}')
{%- endmacro %}

{% macro spark__json_get_text(json_column, key) -%}
    get_json_object({{ json_column }}, '$.{{ key }}')
{%- endmacro %}
