{#
    Regular-expression predicate, true when `expr` matches `pattern` anywhere
    (anchor with ^...$ for a full match). Patterns must stay within the syntax both
    engines share (RE2 on DuckDB, ARE on PostgreSQL): character classes, {m,n},
    alternation, groups, POSIX [[:space:]].
#}
{% macro regex_like(expr, pattern) -%}
    {{ return(adapter.dispatch('regex_like', 'userops')(expr, pattern)) }}
{%- endmacro %}

{% macro default__regex_like(expr, pattern) -%}
    regexp_matches({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro postgres__regex_like(expr, pattern) -%}
    ({{ expr }} ~ '{{ pattern }}')
{%- endmacro %}
