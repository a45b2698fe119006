"""Entry points that need no demo data: ``make airflow`` (the UI answers and the stored
password logs in), ``make bench`` at its small size, ``make lint``
(helpers: ``tests/entry_points.py``)."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error

import pytest

from tests.entry_points import ROOT, env_for, explain, get, make, serving, wait_for
from tests.smtp import free_port
from tests.warehouses import require_postgres

pytestmark = pytest.mark.slow


def test_make_airflow_answers_and_the_stored_password_logs_in(tmp_path):
    port = free_port()
    airflow_home = tmp_path / "airflow"
    log = tmp_path / "airflow.log"
    env = env_for(tmp_path / "data")
    cmd = ["make", "airflow", f"AIRFLOW_HOME={airflow_home}", f"AIRFLOW_PORT={port}"]
    with serving(cmd, env, log) as proc:
        wait_for(f"http://127.0.0.1:{port}/api/v2/monitor/health", proc, log, seconds=300)
        password_file = airflow_home / "simple_auth_manager_passwords.json.generated"
        assert str(password_file) in log.read_text()  # the target says where it is
        password = json.loads(password_file.read_text())["admin"]
        status, body = get(
            f"http://127.0.0.1:{port}/auth/token",
            headers={"Content-Type": "application/json"},
            data=json.dumps({"username": "admin", "password": password}).encode(),
        )
        assert status in (200, 201)
        token = json.loads(body)["access_token"]
        with pytest.raises(urllib.error.HTTPError):  # a wrong password is refused
            get(
                f"http://127.0.0.1:{port}/auth/token",
                headers={"Content-Type": "application/json"},
                data=json.dumps({"username": "admin", "password": password + "x"}).encode(),
            )
        dag_ids: list[str] = []
        deadline = time.monotonic() + 180
        while "userops_nightly" not in dag_ids and time.monotonic() < deadline:
            _, body = get(
                f"http://127.0.0.1:{port}/api/v2/dags",
                headers={"Authorization": f"Bearer {token}"},
            )
            dag_ids = [d["dag_id"] for d in json.loads(body)["dags"]]
            time.sleep(3)
        assert "userops_nightly" in dag_ids, log.read_text()[-4000:]
    assert proc.returncode is not None  # the whole group stopped


def test_make_bench_small_prints_every_figure(tmp_path):
    require_postgres()
    proc = make("bench", env_for(tmp_path / "data"), tmp_path / "airflow", "BENCH_ARGS=--small")
    assert proc.returncode == 0, explain(proc)
    out = proc.stdout
    for section in ("== generator:", "== loads:", "== nights:", "== value model:"):
        assert section in out
    assert re.search(r"events_written\D+[1-9]", out)
    for warehouse in ("duckdb", "postgres"):
        assert re.search(rf"^{warehouse}\s+events\s+[\d,]+\s", out, re.M), out[-3000:]
    figures, _ = json.JSONDecoder().raw_decode(out[out.index("{\n", out.index("== nights:")) :])
    assert figures["day30"]["night_s"] > 0 and figures["day31"]["night_s"] > 0
    assert figures["pandas_full_recompute"]["rows"] > 0
    assert figures["pandas_full_recompute"]["peak_rss_mib"] > 0  # its own process
    night = figures["day31"]["night_breakdown"]
    assert night["peak_rss_mib"] > 0  # per run, not the max of all children
    assert night["dbt_build"]["elapsed_s"] > 0 and len(night["dbt_build"]["slowest"]) == 10
    assert set(figures["ratios"]) >= {
        "night_last_over_night30", "load_over_duckdb_read_json", "night_last_over_pandas",
    }  # fmt: skip
    value, _ = json.JSONDecoder().raw_decode(out[out.index("{\n", out.index("== value model:")) :])
    assert value["holdout"]["customers"] > 20000 and value["holdout"]["correlation"] > 0.3
    assert value["fit"]["customers"] == 5000 and value["fit"]["fit_seconds"] > 0
    lists, _ = json.JSONDecoder().raw_decode(out[out.index("{\n", out.index("== lists:")) :])
    assert lists["leads"] == 5000 and lists["best_s"] > 0
    assert 0 < lists["rows"] <= 20 * 20  # 20 reps of 20 rows: the day's lists, not every lead


def test_make_lint_passes():
    proc = subprocess.run(["make", "lint"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, explain(proc)
