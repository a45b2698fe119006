{#
    The as-of point of a run as SQL literals (docs/contracts.md "As-of semantics").
    Every model that needs "as of the end of D" uses these, never now() or
    current_date, so a rerun or a backfill of D computes the same thing.
#}

{#- Business day D as a `date`. -#}
{% macro as_of_date() -%}
    cast('{{ var("as_of_date") }}' as date)
{%- endmacro %}

{#- End of D in UTC (exclusive bound) as a naive UTC `timestamp`. -#}
{% macro as_of_end_utc() -%}
    cast('{{ var("as_of_end_utc") }}' as timestamp)
{%- endmacro %}

{#- Deterministic fingerprint of a row's raw text columns, used as the last
    tie-breaker when two versions of a key are otherwise identical in order. It is
    an md5 hex string, so it sorts the same under any collation. -#}
{% macro row_fingerprint(columns) -%}
    {%- set parts = [] -%}
    {%- for c in columns -%}
        {%- do parts.append("coalesce(cast(" ~ c ~ " as varchar), '<null>')") -%}
    {%- endfor -%}
    md5({{ parts | join(" || '|' || ") }})
{%- endmacro %}
