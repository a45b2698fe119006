{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy=day_overwrite_strategy(),
        partition_by=day_partitions('_partition_date'),
        on_schema_change='fail',
        indexes=[
            {'columns': ['event_id'], 'unique': True},
            {'columns': ['_loaded_at']},
            {'columns': ['user_id', 'occurred_date']},
        ] if target.type == 'postgres' else [],
    )
}}

{#- Incremental (ADR 0007): a run stages only raw rows loaded after the newest row
    staged so far (`_loaded_at`; the loader keeps it increasing), ranked by event_id
    with the copy already stored, so the earliest received delivery wins whatever
    order partitions were loaded in: a new copy that wins replaces the stored one
    (delete+insert by event_id), one that loses is dropped. The ranking reads only the
    keys (the stored copies of the new ids are found by a scan of the history's
    event_id column), and the new rows are cleaned and parsed only once they won.
    Staging holds every event loaded; "as known at the end of D" (received before the
    end of D) is applied by the models that read it. A source line deleted after it
    landed leaves staging only on a full refresh (`make rebuild`).

    Spark (ADR 0011) has no delete: staging is partitioned like raw (`_partition_date`)
    and a run rewrites whole partitions: those of the newly loaded rows and those
    holding a stored copy of one of their ids. Every raw row of those partitions is
    ranked against the raw copies of its id elsewhere; the winners are written. -#}

{%- set by_partition = target.type == 'spark' -%}
{%- set loaded_since_last_run -%}
    _loaded_at > (select coalesce(max(_loaded_at), cast('1900-01-01' as timestamp)) from {{ this }})
{%- endset -%}
{%- set rewritten_partitions -%}
    (
        select _partition_date from {{ source('raw', 'events__events') }}
        where {{ loaded_since_last_run }}
        union
        select _partition_date from {{ this }}
        where event_id in (
            select {{ clean_id('event_id') }} from {{ source('raw', 'events__events') }}
            where {{ loaded_since_last_run }}
        )
    )
{%- endset -%}

{%- set new_raw_rows -%}
    {{ source('raw', 'events__events') }}
    {%- if is_incremental() and by_partition %}
    where _partition_date in {{ rewritten_partitions }}
    {%- elif is_incremental() %}
    where {{ loaded_since_last_run }}
    {%- endif %}
{%- endset %}

with

source as (

    select * from {{ new_raw_rows }}

),

received as (

    select
        {{ clean_id('event_id') }} as event_id,
        {{ clean_id('user_id') }} as user_id,
        {{ clean_enum('event_type') }} as event_type,
        occurred_at,
        received_at,
        {{ clean_enum('platform') }} as platform,
        properties,
        _partition_date,
        _source_file,
        _line_number,
        _loaded_at
    from source

),

arrivals as (

    select
        event_id,
        received_at,
        _source_file,
        _line_number,
        _loaded_at
    from received
    where event_id is not null

),

candidates as (

    select
        *,
        true as is_new
    from arrivals
    {% if is_incremental() and by_partition %}
        union all
        -- the copies of the same ids in the partitions left as they are
        select
            {{ clean_id('event_id') }} as event_id,
            received_at,
            _source_file,
            _line_number,
            _loaded_at,
            false as is_new
        from {{ source('raw', 'events__events') }}
        where
            _partition_date not in {{ rewritten_partitions }}
            and {{ clean_id('event_id') }} in (select a.event_id from arrivals as a)
    {% elif is_incremental() %}
        union all
        -- the stored copies of the same ids take part in the ranking; a stored copy
        -- that wins is left in place, as no output row carries its event_id. The ids
        -- are read from the raw rows again (not from `arrivals`) so the engine can
        -- filter the history scan by them
        select
            event_id,
            received_at,
            _source_file,
            _line_number,
            _loaded_at,
            false as is_new
        from {{ this }}
        where event_id in (select {{ clean_id('event_id') }} from {{ new_raw_rows }})
    {% endif %}

),

first_delivery as (

    select
        *,
        row_number() over (
            partition by event_id
            -- the newer copy of the same line wins a tie, so the watermark moves on
            order by received_at asc, _source_file asc, _line_number asc, _loaded_at desc
        ) as delivery_rank
    from candidates

),

winners as (

    select
        event_id,
        _source_file,
        _line_number,
        _loaded_at
    from first_delivery
    where delivery_rank = 1 and is_new

),

won as (

    select received.*
    from received
    inner join winners
        on
            received.event_id = winners.event_id
            and received._source_file = winners._source_file
            and received._line_number = winners._line_number
            and received._loaded_at = winners._loaded_at

),

new_rows as (

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
        end as order_currency,
        _partition_date,
        _source_file,
        _line_number,
        _loaded_at
    from won

)

select
    event_id,
    user_id,
    event_type,
    occurred_at,
    occurred_date,
    received_at,
    received_date,
    platform,
    properties,
    page_path,
    search_query,
    listing_id,
    feature_name,
    order_id,
    order_amount_cny,
    order_currency,
    _partition_date,
    _source_file,
    _line_number,
    _loaded_at
from new_rows
