{#- Daily history of lifecycle stages. Each run replaces exactly the rows of its
    own as_of_date (delete+insert keyed on as_of_date, so a user who vanished
    from a rerun's inputs cannot leave a stale row behind); the composite key
    (user_id, as_of_date) is unique by construction and tested. previous_stage
    comes from int_users__lifecycle_evaluated (recomputed for D-1 in the same
    run), never read back from this table, so nightly runs and backfills in
    any order produce identical tables. full_refresh=false: a stray --full-refresh
    must not wipe the history (rebuilding it means backfilling the dates). -#}

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='fail',
    full_refresh=false,
) }}

with

evaluated as (

    select
        as_of_date,
        user_id,
        signup_date,
        last_active_date,
        tenure_days,
        days_since_last_active,
        active_days_30d,
        lifecycle_stage,
        previous_stage,
        is_stage_changed
    from {{ ref('int_users__lifecycle_evaluated') }}

),

final as (

    select
        cast(as_of_date as date) as as_of_date,
        cast(user_id as varchar) as user_id,
        cast(signup_date as date) as signup_date,
        cast(last_active_date as date) as last_active_date,
        cast(tenure_days as integer) as tenure_days,
        cast(days_since_last_active as integer) as days_since_last_active,
        cast(active_days_30d as integer) as active_days_30d,
        cast(lifecycle_stage as varchar) as lifecycle_stage,
        cast(previous_stage as varchar) as previous_stage,
        cast(is_stage_changed as boolean) as is_stage_changed
    from evaluated

)

select * from final
