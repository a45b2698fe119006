{{ config(materialized='table') }}

{#- User × day facts as known at the end of D, summed from the incremental
    int_users__daily_events over the received dates up to D (ADR 0007): every mart
    of a run depends only on the raw data and D, whatever order dates are
    (back)filled in. The *_known_date columns say from which business day on a fact
    was known (the first receipt of its events), so a mart can evaluate any day
    d <= D "as known at the end of d" from this one table (ADR 0006). -#}

{%- set count_columns = marts_activity_event_count_columns() -%}
{%- set active_types = marts_activity_active_event_types_sql() -%}
{%- set active_count -%}
    ({% for event_type, column in count_columns if ("'" ~ event_type ~ "'") in active_types -%}
        {{ column }}{% if not loop.last %} + {% endif %}
    {%- endfor %})
{%- endset -%}

with

received as (

    select *
    from {{ ref('int_users__daily_events') }}
    -- received by the end of D; a device clock ahead of D can still date an event
    -- in the future, which "as of D" must not count
    where
        received_date <= {{ marts_activity_as_of_date() }}
        and activity_date <= {{ marts_activity_as_of_date() }}

),

daily as (

    select
        user_id,
        activity_date,
        cast(sum(event_count) as integer) as event_count,
        {% for event_type, column in count_columns -%}
            cast(sum({{ column }}) as integer) as {{ column }},
        {% endfor -%}
        sum({{ active_count }}) > 0 as is_active,
        min(received_date) as known_date,
        min(case when {{ active_count }} > 0 then received_date end) as active_known_date,
        min(case when signup_count > 0 then received_date end) as signup_known_date
    from received
    group by user_id, activity_date

)

select * from daily
