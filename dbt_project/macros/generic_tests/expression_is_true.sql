{#
    Fails for every row where `expression` is not true (false or null), like
    dbt_utils.expression_is_true, which cannot be downloaded here. On a column the
    expression is appended to the column: `arguments: {expression: ">= 0"}`.

        data_tests:
          - expression_is_true:
              arguments:
                expression: "dau <= wau"
#}
{% test expression_is_true(model, expression, column_name=none) %}

with

checked as (

    select *
    from {{ model }}

),

failures as (

    select *
    from checked
    {% if column_name is none -%}
    where not coalesce(({{ expression }}), false)
    {%- else -%}
    where not coalesce(({{ column_name }} {{ expression }}), false)
    {%- endif %}

)

select * from failures

{% endtest %}
