{{ config(materialized='table') }}

{#- Rebuilt in full every run from staging (not incremental): every mart of a run
    then depends only on the raw data and D, whatever order dates are backfilled in.
    The *_known_date columns say from which business day on a fact was known (the
    first receipt of its events), so a mart can evaluate any day d <= D "as known at
    the end of d" from this one table (ADR 0006). -#}

with

events as (

    select
        user_id,
        event_type,
        occurred_date,
        received_date
    from {{ ref('stg_events__events') }}
    -- staging already hides events received after D; device clocks ahead of D
    -- can still date an event in the future, which "as of D" must not count
    where occurred_date <= {{ marts_activity_as_of_date() }}

),

daily as (

    select
        user_id,
        occurred_date as activity_date,
        cast(count(*) as integer) as event_count,
        {% for event_type, column in marts_activity_event_count_columns() -%}
            cast(sum(case when event_type = '{{ event_type }}' then 1 else 0 end) as integer)
                as {{ column }},
        {% endfor -%}
        max(
            case when event_type in {{ marts_activity_active_event_types_sql() }} then 1 else 0 end
        ) = 1 as is_active,
        min(received_date) as known_date,
        min(
            case
                when event_type in {{ marts_activity_active_event_types_sql() }}
                    then received_date
            end
        ) as active_known_date,
        min(case when event_type = 'signup' then received_date end) as signup_known_date
    from events
    group by user_id, occurred_date

)

select * from daily
