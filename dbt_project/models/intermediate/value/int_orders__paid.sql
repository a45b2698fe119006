{{ config(materialized='table') }}

{#- SPEC §1.2: order_paid is the purchase record for RFM, de-duplicated on
    order_id. The collector or the client may send one order twice under two
    event ids; the earliest occurrence wins (ties by event_id), so a late resend
    never moves an order's date or amount. -#}

with

order_events as (

    select
        event_id,
        user_id,
        order_id,
        occurred_at,
        occurred_date,
        order_amount_cny
    from {{ ref('stg_events__events') }}
    where
        event_type = 'order_paid'
        and order_id is not null
        and user_id is not null
        -- as known at the end of D (staging holds every event loaded)
        and received_at < {{ as_of_end_utc() }}

),

ranked as (

    select
        order_id,
        user_id,
        occurred_at as paid_at,
        occurred_date as paid_date,
        order_amount_cny as amount_cny,
        row_number() over (
            partition by order_id
            order by occurred_at, event_id
        ) as occurrence_rank
    from order_events

),

paid_orders as (

    select
        order_id,
        user_id,
        paid_at,
        paid_date,
        amount_cny
    from ranked
    where
        occurrence_rank = 1
        -- a device clock ahead of D can date an order after D: not paid "as of D"
        and paid_date <= {{ marts_value_as_of_date() }}

)

select * from paid_orders
