with

source as (

    select * from {{ source('raw', 'events__events') }}

),

received_as_of as (

    select
        {{ clean_id('event_id') }} as event_id,
        {{ clean_id('user_id') }} as user_id,
        {{ clean_enum('event_type') }} as event_type,
        occurred_at,
        received_at,
        {{ clean_enum('platform') }} as platform,
        properties,
        _source_file,
        _line_number
    from source
    where received_at < {{ as_of_end_utc() }}

),

first_delivery as (

    select
        *,
        row_number() over (
            partition by event_id
            order by received_at, _source_file, _line_number
        ) as delivery_rank
    from received_as_of
    where event_id is not null

),

final as (

    select
        event_id,
        user_id,
        event_type,
        occurred_at,
        {{ to_business_date('occurred_at') }} as occurred_date,
        received_at,
        {{ to_business_date('received_at') }} as received_date,
        platform,
        properties,
        case
            when event_type = 'page_view'
                then {{ clean_text(json_get_text('properties', 'path')) }}
        end as page_path,
        case
            when event_type = 'search'
                then {{ clean_text(json_get_text('properties', 'query')) }}
        end as search_query,
        case
            when event_type in ('listing_published', 'listing_updated', 'inquiry_sent')
                then {{ clean_id(json_get_text('properties', 'listing_id')) }}
        end as listing_id,
        case
            when event_type = 'feature_used'
                then {{ clean_enum(json_get_text('properties', 'feature')) }}
        end as feature_name,
        case
            when event_type = 'order_paid'
                then {{ clean_id(json_get_text('properties', 'order_id')) }}
        end as order_id,
        case
            when event_type = 'order_paid'
                then {{ parse_amount(json_get_text('properties', 'amount')) }}
        end as order_amount_cny,
        case
            when event_type = 'order_paid'
                then upper({{ clean_id(json_get_text('properties', 'currency')) }})
        end as order_currency
    from first_delivery
    where delivery_rank = 1

)

select * from final
