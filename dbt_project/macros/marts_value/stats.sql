{#
    Portable median: the ordered-set aggregate both engines support
    (`percentile_cont(0.5) within group (order by x)`), returned as double precision.
#}
{% macro marts_value_median(expr) -%}
    cast(percentile_cont(0.5) within group (order by {{ expr }}) as {{ userops.double_type() }})
{%- endmacro %}

{#
    Middle row position of the group of rows sharing `value`, as an exact integer on
    both engines (the lower middle of an even group: floor((first + last) / 2); DuckDB's
    `/` is float division, so the halved sum is made even first). RFM scores give every
    row of a tie group the quintile of this position: equal values, equal scores.
#}
{% macro marts_value_tie_middle(position, value) -%}
    cast(
        (
            min({{ position }}) over (partition by {{ value }})
            + max({{ position }}) over (partition by {{ value }})
            - mod(
                min({{ position }}) over (partition by {{ value }})
                + max({{ position }}) over (partition by {{ value }}),
                2
            )
        ) / 2 as integer
    )
{%- endmacro %}
