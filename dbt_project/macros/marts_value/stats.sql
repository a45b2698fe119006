{#
    Portable median: the ordered-set aggregate both engines support
    (`percentile_cont(0.5) within group (order by x)`), returned as double precision.
#}
{% macro marts_value_median(expr) -%}
    cast(percentile_cont(0.5) within group (order by {{ expr }}) as double precision)
{%- endmacro %}
