{#
    Fails for every combination of `combination_of_columns` that occurs more than
    once: the uniqueness test of a composite key (dbt_utils'
    unique_combination_of_columns cannot be downloaded here). Shared by every area.

        data_tests:
          - unique_combination:
              arguments:
                combination_of_columns: [period_grain, period_start]
#}
{% test unique_combination(model, combination_of_columns) %}

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
