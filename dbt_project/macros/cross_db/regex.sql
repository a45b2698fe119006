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

{% macro spark__regex_like(expr, pattern) -%}
    ({{ expr }} rlike '{{ userops.java_regex(pattern) }}')
{%- endmacro %}


{#
    Replace what `pattern` matches in `expr` by `replacement` (`\1` refers to a group):
    every match when `global` (the 'g' flag of DuckDB and PostgreSQL), else the first
    one. Spark always replaces every match, so a non-global pattern must be anchored
    (^ or $), where the two agree.
#}
{% macro regex_replace(expr, pattern, replacement, global=true) -%}
    {{ return(adapter.dispatch('regex_replace', 'userops')(expr, pattern, replacement, global)) }}
{%- endmacro %}

{% macro default__regex_replace(expr, pattern, replacement, global) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}'{{ ", 'g'" if global else "" }})
{%- endmacro %}

{% macro spark__regex_replace(expr, pattern, replacement, global) -%}
    {%- if not global and not (pattern.startswith('^') or pattern.endswith('$')) -%}
        {{ exceptions.raise_compiler_error("regex_replace: a non-global pattern must be anchored on spark: " ~ pattern) }}
    {%- endif -%}
    regexp_replace({{ expr }}, '{{ userops.java_regex(pattern) }}', '{{ replacement | replace("\\", "$") }}')
{%- endmacro %}

{# A pattern of the shared syntax in Java's (Spark): POSIX classes, escaped for a SQL literal. #}
{% macro java_regex(pattern) -%}
    {{- pattern | replace('[:space:]', '\\\\s') -}}
{%- endmacro %}

{#- `text` as a SQL string literal: quotes doubled; on Spark, whose literals take
    backslash escapes, backslashes and quotes escaped with a backslash. -#}
{% macro sql_text_literal(text) -%}
    {{ return(adapter.dispatch('sql_text_literal', 'userops')(text)) }}
{%- endmacro %}

{% macro default__sql_text_literal(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}

{% macro spark__sql_text_literal(text) -%}
    '{{ text | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}
