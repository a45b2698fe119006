{#
    The as-of point of a run as SQL literals (docs/contracts.md "As-of semantics").
    Every model that needs "as of the end of D" uses these, never now() or
    current_date, so a rerun or a backfill of D computes the same thing.
#}

{#- A per-run var: `as_of_date`, `as_of_end_utc`, `data_test_since`.

    Given with --vars (plain dbt, unit-test overrides), that value. Otherwise, while
    executing, the environment variable USEROPS_DBT_<NAME>: the pipeline passes the
    night's dates there, because dbt re-parses the whole project whenever --vars
    change (~6 s a night) and reads these only when a node runs. While parsing, a
    placeholder (nothing is executed then). Unset when a node runs: `default`, or
    a compilation error naming the var (ADR 0007). -#}
{% macro run_var(name, default=none) -%}
    {%- set value = var(name, none) -%}
    {%- set value = value | string if value is not none else none -%}
    {%- if value is none and execute -%}
        {%- set value = env_var('USEROPS_DBT_' ~ name | upper, '') or default -%}
        {%- if value is none -%}
            {{- exceptions.raise_compiler_error(
                "var " ~ name ~ " is not set: pass --vars '{" ~ name ~ ": ...}' "
                ~ "(the pipeline sets USEROPS_DBT_" ~ name | upper ~ ")"
            ) -}}
        {%- endif -%}
    {%- endif -%}
    {{- return(value if value is not none else (default or '1970-01-01')) -}}
{%- endmacro %}

{#- Business day D as a `date`. -#}
{% macro as_of_date() -%}
    cast('{{ run_var("as_of_date") }}' as date)
{%- endmacro %}

{#- End of D in UTC (exclusive bound) as a naive UTC `timestamp`. -#}
{% macro as_of_end_utc() -%}
    cast('{{ run_var("as_of_end_utc") }}' as timestamp)
{%- endmacro %}

{#- First day the nightly data tests check (their `where`; ADR 0007): D - N from the
    pipeline, the whole history otherwise. -#}
{% macro data_test_since() -%}
    cast('{{ run_var("data_test_since", "0001-01-01") }}' as date)
{%- endmacro %}

{#- Data tests' `where` (dbt's own macro, overridden): rendered again when the test
    runs, so a `where` written inside {% raw %} ... {% endraw %} can call
    data_test_since() — a per-run value that must not be baked in at parse time. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ render(where) ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{#- Deterministic fingerprint of a row's raw text columns, used as the last
    tie-breaker when two versions of a key are otherwise identical in order. It is
    an md5 hex string, so it sorts the same under any collation. -#}
{% macro row_fingerprint(columns) -%}
    {%- set parts = [] -%}
    {%- for c in columns -%}
        {%- do parts.append("coalesce(cast(" ~ c ~ " as " ~ userops.string_type() ~ "), '<null>')") -%}
    {%- endfor -%}
    md5({{ parts | join(" || '|' || ") }})
{%- endmacro %}
