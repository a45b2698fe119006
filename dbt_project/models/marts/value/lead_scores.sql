{#- The current lead_scores: the latest snapshot of lead_scores_history (ADR 0006). A backfill of
    an older date adds its own snapshot to the history and leaves this one at the
    latest business date run. -#}

select * from {{ ref('lead_scores_history') }}
where as_of_date = (select max(as_of_date) from {{ ref('lead_scores_history') }})
