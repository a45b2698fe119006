"""A short, human-readable summary of what the run of one business day produced."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd

from userops.config import Settings
from userops.quality.offline_report import report_for_date
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
        "Value model (BG/NBD + Gamma-Gamma, marts.user_value)",
        "meta.value_model_fits",
        "select status, customers, distinct_rows, round(cast(fit_seconds as numeric), 2) "
        "as fit_s, model_run_id from meta.value_model_fits where as_of_date = {d}",
    ),
    (
        "Users per predicted value band",
        "marts.user_value_history",
        "select predicted_value_band, count(*) as users, "
        "round(cast(avg(expected_value_cny) as numeric), 0) as avg_value_cny, "
        "round(cast(avg(churn_probability) as numeric), 3) as avg_churn "
        "from marts.user_value_history where as_of_date = {d} "
        "group by predicted_value_band order by min(value_decile)",
    ),
    (
        "Companies per top need theme (marts.lead_need_themes)",
        "marts.lead_need_themes_history",
        "select coalesce(top_theme_label, '(none)') as top_need, count(*) as companies, "
        "cast(sum(note_count) as integer) as notes from marts.lead_need_themes_history "
        "where as_of_date = {d} group by top_theme_label order by companies desc",
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


#: What an operator does about each reason a list was held (``meta.publish_log.reason``).
HOLD_ACTIONS: dict[str, str] = {
    "delivery_disabled": "no SMTP connection is configured (AIRFLOW_CONN_SMTP_DEFAULT, "
    "or the connection named by USEROPS_SMTP_CONN_ID): configure it and rerun the date",
    "no_rep_email": "the rep has no e-mail address in the CRM: add it and rerun the date",
    "changed_after_send": "a different list was already sent for this date: rerun with "
    "--force-publish to send the corrected list",
    "sources_stale": "a source did not arrive on time: check the loads above, then rerun",
    "validation_failed": "the quality gate failed: read the validation report, fix, rerun",
    "over_capacity": "lists exceed the reps' daily capacity: check the CRM capacities",
    "all_lists_empty": "every list is empty: check the loads and the marts before sending",
    "churn_spike": "an unusual share of users turned dormant/churned: check the events "
    "load; rerun with --force-publish to send anyway",
}

#: Exit status of ``userops run|backfill|demo`` when the run succeeded but lists were held.
EXIT_HELD = 3


def held_reasons(settings: Settings, day: date) -> dict[str, list[str]]:
    """reason code -> reps whose list of ``day`` is held (empty when nothing is held)."""
    with Warehouse(settings.warehouse) as wh:
        if not wh.table_exists("meta", "publish_log"):
            return {}
        rows = wh.fetchall(
            "select rep_id, reason from meta.publish_log "
            f"where business_date = {wh.param} and status = 'held' order by rep_id",
            [day],
        )
    held: dict[str, list[str]] = {}
    for rep_id, reason in rows:
        for code in str(reason or "unknown").split(","):
            held.setdefault(code, []).append(rep_id)
    return held


def _reps_without_list(wh: Warehouse, day: date) -> pd.DataFrame | None:
    """Reps in the CRM with no publish-log row for ``day``, and why."""
    if not (
        wh.table_exists("staging", "stg_crm__sales_reps") and wh.table_exists("meta", "publish_log")
    ):
        return None
    df = wh.fetch_df(
        "select r.rep_id, r.rep_name, r.is_active from staging.stg_crm__sales_reps r "
        "where r.rep_id not in (select rep_id from meta.publish_log "
        f"where business_date = cast('{day.isoformat()}' as date)) order by r.rep_id"
    )
    df["why"] = [
        "inactive in the CRM: their due leads go to active reps by tier"
        if not bool(active)
        else "no list built (not in the publish log)"
        for active in df.pop("is_active")
    ]
    return df


def _manifest(settings: Settings, day: date) -> dict:
    path = settings.output_dir / "outreach" / day.isoformat() / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


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
            if table == "meta.validation_results":
                report = report_for_date(settings.output_dir, day)
                if report is not None:
                    print(f"  report (reads offline): {report}")
            if table == "meta.publish_log" and (df.get("status") == "backfill").any():
                print(
                    f"  {day.isoformat()} is a backfill: lists written and logged, not e-mailed "
                    "(older than publish_send_max_age_days); "
                    f"`userops run --date {day.isoformat()} --force-publish` sends them once."
                )
        missing = _reps_without_list(wh, day)
    if missing is not None:
        print("\nReps without a list:")
        print("  (none)" if missing.empty else missing.to_string(index=False))
    manifest = _manifest(settings, day)
    if manifest:
        unassigned = int(manifest.get("unassigned", 0))
        orphans = int(manifest.get("triggers_without_lead", 0))
        backlog = sum(int(r.get("backlog", 0)) for r in manifest.get("reps", {}).values())
        print(f"\nNot listed today: {backlog} due items of active reps' own leads and "
              f"{unassigned} of leads without an active owner found no allowed rep with room "
              "(271 matching, ADR 0009: raise capacities, add reps or widen rep_tier_match); "
              f"{orphans} triggered users have no lead to list")  # fmt: skip
    held = held_reasons(settings, day)
    if held:
        print("\nACTION NEEDED: lists were held (exit status 3):")
        for code, reps in held.items():
            action = HOLD_ACTIONS.get(code, "see meta.publish_log and the manifest")
            print(f"  {code} ({len(reps)} reps: {', '.join(reps)}): {action}")
