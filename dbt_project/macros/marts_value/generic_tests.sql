{#
    Generic data tests of the value area. Prefixed with the area so they cannot
    clash with a sibling area's test of the same idea.
#}

{#- Composite keys use the shared `unique_combination` test (macros/generic_tests). -#}


{#- Fails for every row whose `column_name` is larger than the previous row's
    within `partition_by`, rows ordered by `order_by`: a funnel never grows from
    one stage to the next. -#}
{% test marts_value_non_increasing(model, column_name, partition_by, order_by) %}

with

ordered as (

    select
        {{ partition_by | join(', ') }},
        {{ order_by }} as sort_key,
        {{ column_name }} as checked_value,
        lag({{ column_name }}) over (
            partition by {{ partition_by | join(', ') }}
            order by {{ order_by }}
        ) as previous_value
    from {{ model }}

),

failures as (

    select *
    from ordered
    where checked_value > previous_value

)

select * from failures

{% endtest %}


{#- Fails unless the model has exactly `expected` rows (e.g. the eight RFM
    segments of the seed: exhaustive together with a unique flag combination). -#}
{% test marts_value_row_count(model, expected) %}

with

counted as (

    select count(*) as row_count
    from {{ model }}

),

failures as (

    select row_count
    from counted
    where row_count <> {{ expected }}

)

select * from failures

{% endtest %}
