with

source as (

    select * from {{ source('raw', 'crm__sales_reps') }}

),

cleaned as (

    select
        {{ clean_id('rep_id') }} as rep_id,
        {{ clean_text('name') }} as rep_name,
        {{ clean_email('email') }} as rep_email,
        {{ clean_text('team') }} as team,
        {{ clean_text('region') }} as region,
        {{ parse_timestamp_utc('hired_at') }} as hired_at,
        {{ parse_boolean('is_active') }} as is_active,
        {{ parse_integer('daily_capacity') }} as daily_capacity,
        {{ parse_timestamp_utc('updated_at') }} as updated_at,
        _batch_id,
        _loaded_at,
        {{ row_fingerprint([
            'rep_id', 'name', 'email', 'team', 'region', 'hired_at', 'is_active',
            'daily_capacity', 'updated_at',
        ]) }} as row_fingerprint
    from source

),

versions_as_of as (

    select
        *,
        row_number() over (
            partition by rep_id
            order by updated_at desc, _loaded_at desc, _batch_id desc, row_fingerprint asc
        ) as version_rank
    from cleaned
    where
        rep_id is not null
        and updated_at < {{ as_of_end_utc() }}

),

final as (

    select
        rep_id,
        rep_name,
        rep_email,
        team,
        region,
        hired_at,
        is_active,
        daily_capacity,
        updated_at
    from versions_as_of
    where version_rank = 1

)

select * from final
