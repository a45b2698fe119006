"""Any business day runs, from the 1990s on, on both warehouses; a run that executes
no task, or in which a task fails, is a failure and ``userops`` exits non-zero.
(The order, gap, crash and backfill rules: ``test_any_date_any_order.py``.)"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.smtp import airflow_smtp_uri, local_smtp
from tests.warehouses import drop_pg_database, environment, new_target, warehouse_url
from userops.warehouse import Warehouse

pytestmark = pytest.mark.slow


def _sources(root: Path, end: date) -> dict[str, str]:
    from userops.sources.generate import GeneratorConfig, generate

    config = GeneratorConfig(seed=19, users=80, days=40, end_date=end, dirty_rate=0.02)
    generate(config, f"sqlite:///{root / 'crm.sqlite'}", root / "events")
    return {
        "USEROPS_CRM_URL": f"sqlite:///{root / 'crm.sqlite'}",
        "USEROPS_EVENTS_URL": str(root / "events"),
    }


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
@pytest.mark.parametrize("day", [date(1998, 6, 30), date(2025, 3, 31)], ids=["1998", "2025"])
def test_a_past_date_runs_every_task(backend, day, airflow_db, tmp_path):
    from userops.cli import run_dag_for_day

    target = new_target(backend, tmp_path, "userops_anyday")
    try:
        with local_smtp() as (inbox, port):
            env = {
                **_sources(tmp_path / "sources", day),
                "USEROPS_WAREHOUSE": warehouse_url(target),
                "USEROPS_OUTPUT_DIR": str(tmp_path / "output"),
                "AIRFLOW_CONN_SMTP_DEFAULT": airflow_smtp_uri(port),
                "USEROPS_TODAY": (day + timedelta(days=1)).isoformat(),  # that morning
            }
            with environment(env):
                result = run_dag_for_day(day)
        assert set(result["tasks"]) == {
            "load_crm", "load_events", "dbt_build", "predict_value", "predict_themes",
            "dbt_build_predicted", "validate", "publish", "notify",
        }  # fmt: skip
        assert set(result["tasks"].values()) == {"success"}
        with Warehouse(target) as wh:
            ((users, as_of),) = wh.fetchall("select count(*), max(as_of_date) from marts.users")
            ((first_day, last_day),) = wh.fetchall(
                "select min(as_of_date), max(as_of_date) from marts.user_lifecycle_daily"
            )
            ((events,),) = wh.fetchall("select count(*) from raw.events__events")
        assert users > 0 and events > 0
        assert str(as_of)[:10] == str(last_day)[:10] == day.isoformat()
        assert str(first_day)[:10] < (day - timedelta(days=30)).isoformat()  # history filled
        assert inbox.messages  # that morning's lists were mailed
    finally:
        if not target.is_duckdb:
            drop_pg_database(target)


def test_a_date_before_the_start_date_fails_instead_of_doing_nothing(airflow_db, tmp_path):
    from userops.cli import DagRunFailed, run_dag_for_day

    env = {
        "USEROPS_START_DATE": "2000-01-01",
        "USEROPS_WAREHOUSE": str(tmp_path / "w.duckdb"),
        "USEROPS_OUTPUT_DIR": str(tmp_path / "out"),
    }
    with environment(env), pytest.raises(DagRunFailed, match="no task ran"):
        run_dag_for_day(date(1998, 6, 30))
    assert not (tmp_path / "w.duckdb").exists()  # nothing ran


def _userops(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "userops.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_userops_run_exits_non_zero_when_no_task_runs(airflow_db, tmp_path):
    import sqlite3

    (tmp_path / "events").mkdir()
    sqlite3.connect(tmp_path / "crm.sqlite").close()  # sources that pass the preflight
    env = {
        "USEROPS_START_DATE": "2000-01-01",
        "USEROPS_WAREHOUSE": str(tmp_path / "w.duckdb"),
        "USEROPS_EVENTS_URL": str(tmp_path / "events"),
        "USEROPS_CRM_URL": f"sqlite:///{tmp_path / 'crm.sqlite'}",
        "USEROPS_OUTPUT_DIR": str(tmp_path / "out"),
    }
    proc = _userops("run", "--date", "1998-06-30", env=env)
    assert proc.returncode == 1
    assert "FAILED" in proc.stderr and "no task ran" in proc.stderr


def test_userops_run_exits_non_zero_when_a_task_fails_and_does_not_retry(airflow_db, tmp_path):
    env = {
        **_sources(tmp_path / "sources", date(2025, 3, 31)),
        "USEROPS_EVENTS_URL": str(tmp_path / "no-such-folder"),
        "USEROPS_WAREHOUSE": str(tmp_path / "w.duckdb"),
        "USEROPS_OUTPUT_DIR": str(tmp_path / "out"),
    }
    # the CLI's preflight refuses before the DAG starts, in one line naming the setting
    proc = _userops("run", "--date", "2025-03-31", env=env)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == [
        f"userops: configuration error: USEROPS_EVENTS_URL={tmp_path / 'no-such-folder'}: "
        "no such folder"
    ]
    # a scheduled run (no CLI preflight): the load fails at once, without retries
    from userops.cli import DagRunFailed, run_dag_for_day

    with environment(env), pytest.raises(DagRunFailed) as exc:
        run_dag_for_day(date(2025, 3, 31))
    tasks = exc.value.summary["tasks"]
    assert tasks["load_events"] == "failed"  # not up_for_retry
    assert tasks["publish"] == "upstream_failed"


def test_a_bad_setting_fails_fast_in_one_line(tmp_path):
    proc = _userops("run", "--date", "2025-03-31", env={"USEROPS_START_DATE": "soon"})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "userops: configuration error: USEROPS_START_DATE must be a date YYYY-MM-DD, got 'soon'"
    ]
