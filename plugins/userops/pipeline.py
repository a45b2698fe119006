"""The steps of one nightly run, as plain functions (no Airflow here).

``dags/userops_nightly.py`` wires these into tasks and the ``userops`` CLI calls
the same functions, so a step behaves the same under the scheduler, under
``dag.test()`` and from a shell.  Every step takes the business day it works on
and returns a JSON-serialisable summary (it becomes the task's XCom).
Heavy imports are local so that parsing a DAG file stays cheap.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

from userops.config import Settings, load_settings, project_vars
from userops.windows import BusinessDay

log = logging.getLogger(__name__)


def business_day(day: date | str, settings: Settings | None = None) -> BusinessDay:
    settings = settings or load_settings()
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return BusinessDay(day, settings.timezone)


def prepare_warehouse(settings: Settings | None = None) -> None:
    """Create the warehouse (PostgreSQL database), the raw/meta schemas and, when
    ``USEROPS_BI_ROLE`` is set on PostgreSQL, the read-only BI role (``userops.access``)."""
    from userops.access import apply_bi_access
    from userops.load.schema import ensure_schemas
    from userops.warehouse import Warehouse, ensure_postgres_database

    settings = settings or load_settings()
    ensure_postgres_database(settings.warehouse)
    with Warehouse(settings.warehouse) as wh:
        ensure_schemas(wh)
    apply_bi_access(settings)


def step_load_crm(day: BusinessDay, settings: Settings | None = None) -> dict[str, Any]:
    """Incremental CRM extract into ``raw.crm__*``."""
    from userops.load.crm import load_crm

    settings = settings or load_settings()
    prepare_warehouse(settings)
    results = load_crm(
        crm_url=settings.crm_url,
        target=settings.warehouse,
        day=day,
        overlap_minutes=settings.crm_overlap_minutes,
    )
    out = {r.source: r.to_dict() for r in results}
    log.info("CRM load for %s: %s", day.day, out)
    return out


def step_load_events(day: BusinessDay, settings: Settings | None = None) -> dict[str, Any]:
    """Event partitions of the window into ``raw.events__events`` + quarantine."""
    from userops.load.events import load_events

    settings = settings or load_settings()
    prepare_warehouse(settings)
    result = load_events(
        events_url=settings.events_url,
        target=settings.warehouse,
        day=day,
        full=settings.events_full_load,
    )
    out = result.to_dict()
    log.info("Event load for %s: %s", day.day, out)
    return out


def dbt_vars_for(day: BusinessDay, settings: Settings) -> dict[str, Any]:
    """Vars for a run: dbt_project.yml, then settings overrides, then the day's as-of vars."""
    return {**project_vars(), **dict(settings.dbt_vars), **day.dbt_vars()}


def step_dbt_build(
    day: BusinessDay, settings: Settings | None = None, select: str | None = None
) -> dict[str, Any]:
    """``dbt build`` of the project (or ``select``) as of the day, after building the
    nights missed since the latest day built (``catchup_max_days``, ADR 0006). The
    models tagged ``predicted`` wait for the predict steps (``step_dbt_build_predicted``)."""
    from userops.access import apply_bi_access
    from userops.transform.dbt import PREDICTED_TAG, build_days

    settings = settings or load_settings()
    selection = (select,) if select else ()
    vars_ = {**project_vars(), **dict(settings.dbt_vars)}
    summary, caught_up = build_days(
        day,
        settings.warehouse,
        settings.dbt_vars,
        catchup_max_days=int(vars_.get("catchup_max_days", 31)),
        select=selection,
        exclude=(f"tag:{PREDICTED_TAG}",),  # after the predict steps: dbt_build_predicted
        unit_tests=False,  # SQL logic on fixed inputs: CI's job, not every night's
    )
    # dbt recreates mart tables: default privileges already cover them; re-applying
    # also covers marts built before the role was configured (or by `userops step`)
    apply_bi_access(settings)
    out = summary.to_dict()
    out["caught_up_days"] = [d.isoformat() for d in caught_up]
    if caught_up:
        log.warning("built %d missed night(s) before %s: %s", len(caught_up), day.day,
                    out["caught_up_days"])  # fmt: skip
    return out


def step_predict_value(day: BusinessDay, settings: Settings | None = None) -> dict[str, Any]:
    """Fit the value model as of the day (and any earlier night built without a fit) and
    write ``marts.user_value_history`` (``userops.predict.run``)."""
    from userops.predict.run import run_value_model
    from userops.warehouse import Warehouse

    settings = settings or load_settings()
    with Warehouse(settings.warehouse) as wh:
        fits = run_value_model(wh, day.day, dbt_vars_for(day, settings))
    return {"business_date": day.day.isoformat(), "fits": fits}


def step_predict_themes(day: BusinessDay, settings: Settings | None = None) -> dict[str, Any]:
    """Assign the follow-up notes up to the day not assigned yet to need themes (fitting
    the periods they need) into ``marts.followup_note_themes`` (``userops.predict.notes``)."""
    from userops.config import DBT_PROJECT_DIR
    from userops.predict.notes import run_need_themes
    from userops.warehouse import Warehouse

    settings = settings or load_settings()
    with Warehouse(settings.warehouse) as wh:
        return run_need_themes(
            wh, day.day, dbt_vars_for(day, settings),
            cache_dir=settings.data_dir / "cache" / "jieba",
            seed=DBT_PROJECT_DIR / "seeds" / "need_themes.csv",
        )  # fmt: skip


def step_dbt_build_predicted(day: BusinessDay, settings: Settings | None = None) -> dict[str, Any]:
    """``dbt build`` of the models on the predict steps' outputs (tag ``predicted``) for
    the day and every date built by ``dbt_build`` without them (a run killed between)."""
    from userops.access import apply_bi_access
    from userops.transform.dbt import build_predicted

    settings = settings or load_settings()
    vars_ = {**project_vars(), **dict(settings.dbt_vars)}
    summary, caught_up = build_predicted(
        day, settings.warehouse, settings.dbt_vars,
        catchup_max_days=int(vars_.get("catchup_max_days", 31)),
    )  # fmt: skip
    apply_bi_access(settings)
    out = summary.to_dict()
    out["caught_up_days"] = [d.isoformat() for d in caught_up]
    return out


def day_from_context(context: Any, settings: Settings | None = None) -> BusinessDay:
    """The business day of an Airflow run, from its data interval (never ``now()``)."""
    from userops.windows import business_day_from_interval

    settings = settings or load_settings()
    start = context["data_interval_start"]
    if start is None:
        raise ValueError("userops_nightly needs a data interval; trigger it with a logical date")
    return business_day_from_interval(start, settings.timezone)


def step_validate(
    day: BusinessDay, run_id: str, settings: Settings | None = None
) -> dict[str, Any]:
    """The GX quality gate; raises ``QualityGateFailed`` on a critical failure."""
    from userops.quality.gate import run_quality_gate

    settings = settings or load_settings()
    result = run_quality_gate(
        settings.warehouse,
        day,
        settings.output_dir,
        run_id,
        dbt_vars=dbt_vars_for(day, settings),
    )
    return result.to_dict()


def _validation_passed(day: BusinessDay, settings: Settings) -> bool:
    """No failed critical expectation recorded for the day (and the gate did run)."""
    from userops.warehouse import Warehouse

    with Warehouse(settings.warehouse) as wh:
        if not wh.table_exists("meta", "validation_results"):
            return False
        (total, failed), *_ = wh.fetchall(
            "select count(*), coalesce(sum(case when not success and severity = 'critical' "
            f"then 1 else 0 end), 0) from meta.validation_results where business_date = {wh.param}",
            [day.day],
        )
    return total > 0 and failed == 0


def _sources_fresh(day: BusinessDay, settings: Settings) -> bool:
    """Both sources were loaded for the day and its received partitions hold event lines.

    The lines are counted in ``meta.event_partitions``, not in the day's batch: a rerun
    reads no file whose content already landed, so its batch may read nothing new.
    """
    from userops.warehouse import Warehouse

    parts = day.received_partitions
    with Warehouse(settings.warehouse) as wh:
        rows = wh.fetchall(
            f"select source from meta.load_batches where business_date = {wh.param}", [day.day]
        )
        ((lines,),) = wh.fetchall(
            "select coalesce(sum(rows_loaded + rows_quarantined), 0) from meta.event_partitions "
            f"where partition_date in ({', '.join([wh.param] * len(parts))})",
            list(parts),
        )
    sources = {s.split(".")[0] for (s,) in rows}
    return {"crm", "events"} <= sources and lines > 0


def step_publish(
    day: BusinessDay, settings: Settings | None = None, *, force: bool = False
) -> dict[str, Any]:
    """Build, hold-check, write and send every rep's list for the day (idempotent)."""
    from userops.alerts import smtp_from_airflow
    from userops.preflight import check_output_dir
    from userops.publish.rules import PublishParams
    from userops.publish.run import publish_day

    settings = settings or load_settings()
    check_output_dir(settings, claim=True)  # one warehouse per output folder
    params = PublishParams.from_vars(dbt_vars_for(day, settings), timezone=settings.timezone)
    result = publish_day(
        settings.warehouse,
        day.day,
        settings.output_dir,
        params,
        smtp_from_airflow(settings.smtp_conn_id, settings.mail_from),
        validation_passed=_validation_passed(day, settings),
        sources_fresh=_sources_fresh(day, settings),
        force=force,
        alert_recipients=settings.alert_emails,
        today=settings.today,
    )
    return result.to_dict()


def step_notify(day: BusinessDay, published: dict[str, Any]) -> dict[str, Any]:
    """Log the morning summary of the publish step (rows per rep, sent or held, why)."""
    summary = {
        "business_date": day.day.isoformat(),
        "held": bool(published.get("holds")) and not published.get("forced"),
        "backfill": bool(published.get("backfill")) and not published.get("forced"),
        "holds": published.get("holds", []),
        "counts": published.get("counts", {}),
    }
    level = logging.WARNING if summary["held"] else logging.INFO
    log.log(level, "outreach lists for %s: %s", day.day, json.dumps(summary, default=str))
    return summary
