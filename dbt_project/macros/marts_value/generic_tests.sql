{#
    Generic data tests of the value area. Prefixed with the area so they cannot
    clash with a sibling area's test of the same idea.
#}

{#- Composite key uniqueness: fails for every combination of
    `combination_of_columns` that occurs more than once.

        data_tests:
          - marts_value_unique_combination:
              arguments:
                combination_of_columns: [user_id, as_of_date]
-#}
{% test marts_value_unique_combination(model, combination_of_columns) %}

with

keys as (

    select {{ combination_of_columns | join(', ') }}
    from {{ model }}

),

failures as (

    select
        {{ combination_of_columns | join(', ') }},
        count(*) as occurrences
    from keys
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1

)

select * from failures

{% endtest %}


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
