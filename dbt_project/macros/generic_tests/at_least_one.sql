{#
    Fails when a column has no non-null value at all (an empty table fails too): a
    cheap guard against a model that silently produces nothing, or a parse that
    nulls every value of a column.
#}
{% test at_least_one(model, column_name) %}

with

counted as (

    select count({{ column_name }}) as non_null_values
    from {{ model }}

),

failures as (

    select non_null_values
    from counted
    where non_null_values = 0

)

select * from failures

{% endtest %}
