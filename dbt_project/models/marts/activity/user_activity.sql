{#- The current user_activity: the latest snapshot of user_activity_history (ADR 0006). A run for an
    older date adds its own snapshot to the history and skips this model (tag
    latest_only), so a backfill never rewinds what BI sees. -#}
{{ config(tags=['latest_only']) }}

select * from {{ ref('user_activity_history') }}
where as_of_date = (select max(as_of_date) from {{ ref('user_activity_history') }})
