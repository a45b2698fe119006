{#- The current need_theme_segments: the latest snapshot of need_theme_segments_history
    (ADR 0006). A run for an older date adds its own snapshot to the history and skips
    this model (tag latest_only), so a backfill never rewinds what BI sees. -#}
{{ config(tags=['latest_only']) }}

{{ latest_snapshot(ref('need_theme_segments_history')) }}
