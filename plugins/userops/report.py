"""A short, human-readable summary of what the run of one business day produced."""

from __future__ import annotations

from datetime import date

from userops.config import Settings
from userops.warehouse import Warehouse

_QUERIES: list[tuple[str, str, str]] = [
    (
        "Loads (read = loaded + quarantined)",
        "meta.load_batches",
        "select source, rows_read, rows_loaded, rows_quarantined from meta.load_batches "
        "where business_date = {d} order by source",
    ),
    (
        "Quarantined event lines by reason",
        "raw.events__quarantine",
        "select reason, count(*) as lines from raw.events__quarantine "
        "group by reason order by lines desc, reason",
    ),
    (
        "Activity",
        "marts.active_users_daily",
        "select activity_date, dau, wau, mau, round(cast(stickiness as numeric), 3) as dau_mau "
        "from marts.active_users_daily where activity_date = {d}",
    ),
    (
        "Users per lifecycle stage",
        "marts.users_history",
        "select lifecycle_stage, count(*) as users from marts.users_history "
        "where as_of_date = {d} group by lifecycle_stage order by users desc",
    ),
    (
        "Users per RFM segment",
        "marts.user_rfm_history",
        "select rfm_segment, rfm_segment_label_zh, count(*) as users from marts.user_rfm_history "
        "where as_of_date = {d} group by rfm_segment, rfm_segment_label_zh order by users desc",
    ),
    (
        "Quality gate",
        "meta.validation_results",
        "select suite, severity, cast(sum(case when success then 1 else 0 end) as integer) "
        "as passed, cast(sum(case when success then 0 else 1 end) as integer) as failed "
        "from meta.validation_results "
        "where business_date = {d} group by suite, severity order by suite, severity",
    ),
    (
        "Outreach lists",
        "meta.publish_log",
        "select rep_id, rows, status, reason from meta.publish_log "
        "where business_date = {d} order by rep_id",
    ),
]


def print_summary(settings: Settings, day: date) -> None:
    """Print each section whose table exists; skip the ones a run has not produced."""
    with Warehouse(settings.warehouse) as wh:
        for title, table, sql in _QUERIES:
            schema, name = table.split(".")
            if not wh.table_exists(schema, name):
                continue
            df = wh.fetch_df(sql.format(d=f"cast('{day.isoformat()}' as date)"))
            print(f"\n{title}:")
            print("  (none)" if df.empty else df.to_string(index=False))
            if table == "meta.publish_log" and (df.get("status") == "backfill").any():
                print(
                    f"  {day.isoformat()} is a backfill: lists written and logged, not e-mailed "
                    "(older than publish_send_max_age_days); "
                    f"`userops run --date {day.isoformat()} --force-publish` sends them once."
                )
