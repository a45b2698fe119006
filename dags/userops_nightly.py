"""
### userops_nightly

One **business day D** (Asia/Shanghai by default) through the warehouse:

1. `load_crm` ‖ `load_events` — incremental CRM extract (watermark on `updated_at`)
   and the event partitions received during D, bad lines quarantined with reasons;
2. `dbt_build` — staging → intermediate → marts, with every data test, as of the end of D;
3. `predict_value` — BG/NBD + Gamma-Gamma fitted on dbt's purchase summary of D (and of
   any night built without a fit): `marts.user_value`, future value and churn probability;
4. `predict_themes` — the day's new follow-up notes assigned to need themes (jieba +
   TF-IDF + seeded NMF, refitted per period): `marts.followup_note_themes`;
5. `dbt_build_predicted` — the dbt models on those outputs (tag `predicted`):
   `lead_need_themes`, `need_theme_segments`, `segment_personas`, `user_tags`;
6. `validate` — the Great Expectations gate on the day's raw slices and the marts that
   feed BI and the lists; a failed critical expectation fails here and nothing is published;
7. `publish` — each rep's prioritised follow-up list (CSV + XLSX + e-mail), held with an
   alert when sources are stale, lists are empty or churn spikes; never sent twice;
8. `notify` — the morning summary (rows per rep, sent or held, why).

The run fires at 02:00 local time on D+1; its data interval is [D 02:00, D+1 02:00)
and the business day is the local date of the interval start (`userops.windows`).
Any date runs (from `USEROPS_START_DATE`, 1970 by default), in any order, with gaps:
the warehouse depends only on which dates ran, a run after missed nights builds them
first, and a run killed anywhere is repaired by rerunning it (ADR 0006). A past date
(older than `publish_send_max_age_days`) is a backfill: its lists are written and
logged, never mailed, unless `force_publish` is set.
DuckDB allows one writer per file: every warehouse-writing task uses the one-slot
pool `userops_duckdb`.

Runbook: `make run DATE=YYYY-MM-DD` runs one date; trigger with
`{"force_publish": true}` to republish a held or past date; `airflow backfill create
--dag-id userops_nightly --from-date ... --to-date ...` backfills. README "Runbook:
time" and "Configuration".
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from userops import assets
from userops.alerts import on_task_failure
from userops.config import load_settings
from userops.windows import nightly_timetable

WAREHOUSE_POOL = "userops_duckdb"
SETTINGS = load_settings()


@contextlib.contextmanager
def _permanent_errors_fail_fast():
    """A missing source folder or a bad setting fails the task at once: retrying a
    permanent error only delays the alert (transient errors keep their retries)."""
    from userops.config import ConfigError

    try:
        yield
    except (FileNotFoundError, NotADirectoryError, ConfigError) as exc:
        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc


# catchup=False and one active run: the scheduler runs the latest night only; history
# and missed nights are run on purpose with `userops backfill` / `airflow backfill
# create` (ADR 0006). The start date only has to precede any real history.
@dag(
    dag_id="userops_nightly",
    schedule=nightly_timetable(SETTINGS.timezone),
    start_date=pendulum.datetime(
        SETTINGS.start_date.year,
        SETTINGS.start_date.month,
        SETTINGS.start_date.day,
        tz=SETTINGS.timezone,
    ),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "on_failure_callback": on_task_failure,
    },
    tags=["userops", "nightly", "warehouse"],
    params={"force_publish": Param(False, type="boolean", description="republish a held date")},
    doc_md=__doc__,
)
def userops_nightly():
    @task(pool=WAREHOUSE_POOL, outlets=assets.RAW_CRM)
    def load_crm() -> dict:
        from userops import pipeline

        with _permanent_errors_fail_fast():
            return pipeline.step_load_crm(pipeline.day_from_context(get_current_context()))

    @task(pool=WAREHOUSE_POOL, outlets=assets.RAW_EVENTS)
    def load_events() -> dict:
        from userops import pipeline

        with _permanent_errors_fail_fast():
            return pipeline.step_load_events(pipeline.day_from_context(get_current_context()))

    # dbt failures are deterministic (a failed test, bad SQL): retrying only delays the alert.
    @task(pool=WAREHOUSE_POOL, outlets=assets.MARTS, retries=0)
    def dbt_build() -> dict:
        from userops import pipeline

        return pipeline.step_dbt_build(pipeline.day_from_context(get_current_context()))

    # Future value and churn probability (BG/NBD + Gamma-Gamma) from dbt's snapshot of D.
    @task(pool=WAREHOUSE_POOL, outlets=[assets.USER_VALUE])
    def predict_value() -> dict:
        from userops import pipeline

        return pipeline.step_predict_value(pipeline.day_from_context(get_current_context()))

    # Need themes of the follow-up notes not assigned yet (cost follows the new notes).
    @task(pool=WAREHOUSE_POOL, outlets=[assets.NOTE_THEMES])
    def predict_themes() -> dict:
        from userops import pipeline

        return pipeline.step_predict_themes(pipeline.day_from_context(get_current_context()))

    @task(pool=WAREHOUSE_POOL, outlets=assets.PREDICTED_MARTS, retries=0)
    def dbt_build_predicted() -> dict:
        from userops import pipeline

        return pipeline.step_dbt_build_predicted(pipeline.day_from_context(get_current_context()))

    # A failed gate fails the same way on retry: alert at once.
    @task(pool=WAREHOUSE_POOL, retries=0)
    def validate() -> dict:
        from userops import pipeline

        context = get_current_context()
        return pipeline.step_validate(pipeline.day_from_context(context), context["run_id"])

    # Retrying is safe: lists already sent with the same content are skipped.
    @task(pool=WAREHOUSE_POOL, outlets=[assets.OUTREACH_LISTS])
    def publish() -> dict:
        from userops import pipeline

        context = get_current_context()
        force = bool(context["params"].get("force_publish", False))
        return pipeline.step_publish(pipeline.day_from_context(context), force=force)

    @task
    def notify(published: dict) -> dict:
        from userops import pipeline

        return pipeline.step_notify(pipeline.day_from_context(get_current_context()), published)

    loaded = [load_crm(), load_events()]
    built = dbt_build()
    published = publish()
    value = predict_value()
    loaded >> built >> value
    value >> predict_themes() >> dbt_build_predicted() >> validate() >> published
    notify(published)


userops_nightly()
