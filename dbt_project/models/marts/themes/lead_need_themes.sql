{#- The current lead_need_themes: the latest snapshot of lead_need_themes_history
    (ADR 0006). A run for an older date adds its own snapshot to the history and skips
    this model (tag latest_only), so a backfill never rewinds what BI sees. -#}
{{ config(tags=['latest_only']) }}

{{ latest_snapshot(ref('lead_need_themes_history')) }}
