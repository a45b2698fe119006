{#
    Incremental strategy of a model that a run rewrites by whole days (ADR 0011):
    `delete+insert` on its unique key on DuckDB and PostgreSQL; on Spark, which has
    no delete on Parquet tables, `insert_overwrite` of the model's day partitions
    (`day_partitions`), which replaces exactly the days the run's rows hold.

        config(incremental_strategy=day_overwrite_strategy(),
               partition_by=day_partitions('activity_date'), ...)
#}
{% macro day_overwrite_strategy() -%}
    {{- return('insert_overwrite' if target.type == 'spark' else 'delete+insert') -}}
{%- endmacro %}

{#- The partition column(s) on Spark; none elsewhere. -#}
{% macro day_partitions(column) -%}
    {{- return([column] if target.type == 'spark' else none) -}}
{%- endmacro %}
