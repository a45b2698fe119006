{#
    Fails for every row where `expression` is false, like
    dbt_utils.expression_is_true (which cannot be downloaded here). A null result
    passes, as in dbt_utils: nulls are the business of `not_null`. On a column the
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
    where not ({{ expression }})
    {%- else -%}
    where not ({{ column_name }} {{ expression }})
    {%- endif %}

)

select * from failures

{% endtest %}
