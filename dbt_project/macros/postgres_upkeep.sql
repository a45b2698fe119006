{#
    PostgreSQL upkeep of the tables a night reads by day (ADR 0007). Each renders
    nothing on any other warehouse, and dbt skips an empty hook.

    - pg_day_index(column), post-hook: a history keeps one snapshot per business
      date and every night deletes, reads and tests one date of it; without an
      index each of those scans every snapshot ever stored, so a night's cost grew
      with history. DuckDB prunes by its zone maps (rows arrive in date order),
      where an ART index would only slow the deletes. `if not exists`: free on
      every run after the first.
    - pg_analyze(), post-hook: fresh statistics once the night's date is in, so
      the models that read that date next plan with its real size. Without them
      (autovacuum off, or not yet run, or the new date past the histogram) the
      planner guesses a handful of rows and picks nested loops. ANALYZE samples a
      bounded number of rows: its cost does not grow with the table.
    - pg_hash_joins_only(), pre-hook of a model whose joins are all set-wide:
      no nested loops in its transaction. Its inputs are CTEs (no statistics, no
      indexes) filtered on correlated columns, so estimates stay far off even with
      fresh statistics, and a nested loop over them re-scanned a whole snapshot
      once per row (outreach_triggers_history: 42 s at 100k users, 1.3 s without).
#}
{% macro pg_day_index(column) -%}
    {%- if target.type == 'postgres' -%}
        create index if not exists "{{ this.identifier }}__{{ column }}"
        on {{ this }} ({{ column }})
    {%- endif -%}
{%- endmacro %}

{% macro pg_analyze() -%}
    {%- if target.type == 'postgres' -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}

{% macro pg_hash_joins_only() -%}
    {%- if target.type == 'postgres' -%}
        set local enable_nestloop = off
    {%- endif -%}
{%- endmacro %}
