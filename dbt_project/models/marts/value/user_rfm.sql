{#- The current user_rfm: the latest snapshot of user_rfm_history (ADR 0006). A backfill of
    an older date adds its own snapshot to the history and leaves this one at the
    latest business date run. -#}

select * from {{ ref('user_rfm_history') }}
where as_of_date = (select max(as_of_date) from {{ ref('user_rfm_history') }})
