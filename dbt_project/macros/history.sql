{#
    Current-state marts and their histories (ADR 0006): `<mart>_history` keeps one
    snapshot per business date run, `<mart>` is the latest one.
#}

{#- The rows of the latest snapshot of `history` (a ref to a *_history model). -#}
{% macro latest_snapshot(history) -%}
    select snapshots.*  -- noqa: AM04 (the history's contracted columns)
    from {{ history }} as snapshots
    where snapshots.as_of_date = (select max(latest.as_of_date) from {{ history }} as latest)
{%- endmacro %}
