{#
    Fails for every combination of `combination_of_columns` that occurs more than
    once: the uniqueness test of a composite key (dbt_utils'
    unique_combination_of_columns cannot be downloaded here). Prefixed with the
    area so it cannot clash with a sibling area's test of the same idea.

        data_tests:
          - marts_activity_unique_combination:
              arguments:
                combination_of_columns: [period_grain, period_start]
#}
{% test marts_activity_unique_combination(model, combination_of_columns) %}

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
