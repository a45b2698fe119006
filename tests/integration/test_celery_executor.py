"""The nightly DAG on Airflow's CeleryExecutor: a real scheduler, DAG processor, API
server and Celery worker (Redis broker on 127.0.0.1:6379, PostgreSQL metadata database
and Celery result backend), not ``dag.test()``: the shape of docker-compose.yml.

One business date is run as an operator would run a past date (``airflow backfill
create`` for its interval); the test waits for the run and checks that every task ran
to success *on the worker*: each task instance carries the id of a Celery task the
worker recorded as successful, and the worker's log shows it executing each one.
The warehouse is a DuckDB file: every writer on this one host (pool + file lock).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.warehouses import (
    PG_HOST,
    PG_PORT,
    PG_USER,
    drop_pg_database,
    make_pg_database,
    require_postgres,
)
from userops.warehouse import Warehouse

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = Path(sys.executable).with_name("airflow")
DAY = date(2001, 3, 1)  # nothing assumes dates near today
REDIS_DB = 11
WORKER = "userops-test-worker"
TIMEOUT_S = 900


def _free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _require_redis() -> None:
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB, socket_timeout=3).flushdb()
    except redis.RedisError as exc:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"Redis is required in CI but unreachable on 127.0.0.1:6379: {exc}")
        pytest.skip(f"Redis not reachable on 127.0.0.1:6379: {exc}")


@pytest.fixture
def cluster(tmp_path) -> Iterator[dict]:
    """Sources, a migrated metadata database and the four Airflow processes."""
    require_postgres()
    _require_redis()
    meta = make_pg_database("userops_celery_meta")
    url = f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{meta.pg_dbname}"
    port = _free_port()
    data = tmp_path / "data"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": url,
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{url}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API_AUTH__JWT_SECRET": "userops-celery-test-secret",
        "AIRFLOW__API__SECRET_KEY": "userops-celery-test-secret",
        # only the run the test triggers: no run of the latest interval on unpause
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "DBT_TARGET_PATH": str(tmp_path / "dbt-target"),
        "DBT_LOG_PATH": str(tmp_path / "dbt-logs"),
        "USEROPS_DATA_DIR": str(data),
        "USEROPS_WAREHOUSE": str(data / "warehouse" / "userops.duckdb"),
        "USEROPS_CRM_URL": f"sqlite:///{data / 'sources' / 'crm.sqlite'}",
        "USEROPS_EVENTS_URL": str(data / "sources" / "events"),
        "USEROPS_OUTPUT_DIR": str(data / "output"),
        "USEROPS_TODAY": (DAY + timedelta(days=1)).isoformat(),
    }
    env.pop("AIRFLOW_CONN_SMTP_DEFAULT", None)  # lists are written, not mailed

    def airflow(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(AIRFLOW), *args], env=env, capture_output=True, text=True,
                              timeout=300, check=True)  # fmt: skip

    procs: list[tuple[subprocess.Popen, Path]] = []
    try:
        userops = Path(sys.executable).with_name("userops")
        subprocess.run(
            [str(userops), "generate", "--users", "300", "--days", "31",
             "--end-date", DAY.isoformat()],
            env=env, check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        airflow("db", "migrate")
        airflow("pools", "set", "userops_duckdb", "1", "DuckDB allows one writer per file")
        for name, args in (
            ("api-server", ["api-server", "--port", str(port)]),
            ("scheduler", ["scheduler"]),
            ("dag-processor", ["dag-processor"]),
            ("worker", ["celery", "worker", "--celery-hostname", f"{WORKER}@%h",
                        "--concurrency", "2"]),
        ):  # fmt: skip
            log = tmp_path / f"{name}.log"
            with open(log, "w") as out:
                proc = subprocess.Popen([str(AIRFLOW), *args], env=env, stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
            procs.append((proc, log))
        yield {"env": env, "airflow": airflow, "meta": meta, "logs": tmp_path, "data": data}
    finally:
        for proc, _ in procs:
            with _suppress():
                os.killpg(proc.pid, signal.SIGTERM)
        for proc, _ in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with _suppress():
                    os.killpg(proc.pid, signal.SIGKILL)
        drop_pg_database(meta)


def _suppress():
    import contextlib

    return contextlib.suppress(ProcessLookupError, PermissionError)


def _meta_rows(meta, sql: str) -> list[tuple]:
    import psycopg

    conninfo = f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname={meta.pg_dbname}"
    with psycopg.connect(conninfo) as conn:
        return conn.execute(sql).fetchall()


def _errors(folder: Path) -> dict[str, list[str]]:
    """The error lines of each process log (a failed run's explanation)."""
    return {
        p.name: [line[:300] for line in p.read_text(errors="replace").splitlines()
                 if "error" in line.lower()][-8:]
        for p in folder.glob("*.log")
    }  # fmt: skip


def _wait_for_dag(cluster: dict) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        rows = _meta_rows(
            cluster["meta"], "select dag_id from dag where dag_id = 'userops_nightly'"
        )
        if rows:
            return
        time.sleep(3)
    raise AssertionError("the DAG processor never registered userops_nightly")


def test_a_night_runs_on_a_celery_worker(cluster):
    _wait_for_dag(cluster)
    # the interval of business day DAY starts at 02:00 local time on DAY (userops.windows)
    start = f"{DAY.isoformat()}T02:00:00+08:00"
    cluster["airflow"]("dags", "unpause", "userops_nightly")
    cluster["airflow"]("backfill", "create", "--dag-id", "userops_nightly",
                       "--from-date", start, "--to-date", start)  # fmt: skip
    deadline = time.monotonic() + TIMEOUT_S
    state = None
    while time.monotonic() < deadline:
        runs = _meta_rows(cluster["meta"], "select run_id, state, data_interval_start from dag_run")
        assert len(runs) == 1, runs  # only the backfilled run (use_job_schedule off)
        state = runs[0][1]
        if state in ("success", "failed"):
            break
        time.sleep(5)
    # the worker records a Celery task's result just after the task instance reports
    # success to the API server: give the last one a moment
    settle = time.monotonic() + 60
    while True:
        tis = _meta_rows(
            cluster["meta"],
            "select ti.task_id, ti.state, ti.external_executor_id, m.status "
            "from task_instance as ti left join celery_taskmeta as m "
            "on ti.external_executor_id = m.task_id order by ti.task_id",
        )
        if all(t[3] == "SUCCESS" for t in tis) or time.monotonic() > settle:
            break
        time.sleep(2)
    assert state == "success", (state, runs, [t[:2] for t in tis], _errors(cluster["logs"]))
    expected = {"load_crm", "load_events", "dbt_build", "predict_value", "predict_themes",
                "dbt_build_predicted", "validate", "publish", "notify"}  # fmt: skip
    assert {t[0] for t in tis} == expected
    # every task ran through Celery: its executor id is a task the worker finished
    for task_id, ti_state, celery_id, celery_state in tis:
        assert ti_state == "success" and celery_id and celery_state == "SUCCESS", task_id
    worker_log = (cluster["logs"] / "worker.log").read_text(errors="replace")
    assert f"{WORKER}@" in worker_log and " ready." in worker_log
    for _task_id, _, celery_id, _ in tis:
        assert f"Task execute_workload[{celery_id}] succeeded" in worker_log
    # and it did the night's work: the marts as of DAY, the lists written
    from userops.config import WarehouseTarget

    target = WarehouseTarget(
        kind="duckdb", duckdb_path=cluster["data"] / "warehouse" / "userops.duckdb"
    )
    with Warehouse(target) as wh:
        ((users, as_of),) = wh.fetchall("select count(*), max(as_of_date) from marts.users")
        ((logged,),) = wh.fetchall(
            f"select count(*) from meta.publish_log where business_date = {wh.param}", [DAY]
        )
    assert users > 0 and as_of == DAY and logged > 0
    assert list((cluster["data"] / "output" / "outreach" / DAY.isoformat()).glob("*.csv"))
