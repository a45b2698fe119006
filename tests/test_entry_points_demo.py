"""``make demo`` once, as the README says it, then every entry point that reads its
warehouse: ``make run``, ``make check-full``, ``make metrics``, ``make docs`` and the
``userops`` commands (helpers: ``tests/entry_points.py``)."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.entry_points import ROOT, USEROPS, env_for, explain, get, make, serving, wait_for
from tests.smtp import free_port

pytestmark = pytest.mark.slow


@dataclass
class Demo:
    data_dir: Path
    airflow_home: Path
    env: dict[str, str]
    day: date
    stdout: str

    @property
    def warehouse(self) -> Path:
        return self.data_dir / "warehouse" / "userops.duckdb"

    @property
    def outbox(self) -> Path:
        return self.data_dir / "output" / "outbox"

    def mart(self, sql: str) -> list[tuple]:
        import duckdb

        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.sql(sql).fetchall()


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Demo:
    """``make demo`` exactly as the README says it (yesterday, business time zone)."""
    data_dir = tmp_path_factory.mktemp("data")
    airflow_home = tmp_path_factory.mktemp("airflow")
    env = env_for(data_dir)
    proc = make("demo", env, airflow_home)
    assert proc.returncode == 0, explain(proc)
    day = datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)
    return Demo(data_dir, airflow_home, env, day, proc.stdout)


def test_make_demo_runs_yesterday_and_mails_every_list(demo):
    assert f"userops_nightly for {demo.day.isoformat()}: success" in demo.stdout
    sent = re.findall(r"^(rep_\d+)\s+\d+\s+sent\s*$", demo.stdout, flags=re.M)
    assert sent, demo.stdout[-3000:]
    assert len(list(demo.outbox.glob("*.eml"))) == len(sent)
    lists = demo.data_dir / "output" / "outreach" / demo.day.isoformat()
    assert {p.stem for p in lists.glob("rep_*.xlsx")} >= set(sent)
    assert (demo.data_dir / "output" / "data_docs" / "validation.html").is_file()
    ((users, as_of),) = demo.mart("select count(*), max(as_of_date) from marts.users")
    assert users > 0 and as_of == demo.day


def test_make_run_reruns_the_date_and_sends_nothing_twice(demo):
    before = sorted(p.name for p in demo.outbox.glob("*.eml"))
    proc = make("run", demo.env, demo.airflow_home, f"DATE={demo.day.isoformat()}")
    assert proc.returncode == 0, explain(proc)
    assert "already_sent" in proc.stdout
    assert not re.search(r"^rep_\d+\s+\d+\s+sent\s*$", proc.stdout, flags=re.M)
    assert sorted(p.name for p in demo.outbox.glob("*.eml")) == before
    assert list((demo.data_dir / "output" / "logs").glob("run-*.log"))


def test_make_run_without_a_date_says_how(demo):
    proc = make("run", demo.env, demo.airflow_home)
    assert proc.returncode != 0
    assert "usage: make run DATE=YYYY-MM-DD" in proc.stdout


def test_make_check_full_runs_every_data_test(demo):
    proc = make("check-full", demo.env, demo.airflow_home, f"DATE={demo.day.isoformat()}")
    assert proc.returncode == 0, explain(proc)


def test_userops_summary_step_and_help(demo):
    summary = subprocess.run(
        [str(USEROPS), "summary", "--date", demo.day.isoformat()],
        cwd=ROOT, env=demo.env, capture_output=True, text=True,
    )  # fmt: skip
    assert summary.returncode == 0, explain(summary)
    assert "Outreach lists" in summary.stdout and "rep_" in summary.stdout
    cut = re.search(r"Not listed today: (\d+) due items .* and (\d+) of leads", summary.stdout)
    assert cut, summary.stdout[-3000:]
    folder = demo.data_dir / "output" / "outreach" / demo.day.isoformat()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    backlog = sum(r["backlog"] for r in manifest["reps"].values())
    assert (int(cut[1]), int(cut[2])) == (backlog, manifest["unassigned"])
    # the night's value model: fitted, and every band it wrote is listed
    fit = re.search(r"^fitted\s+(\d+)\s+\d+\s+[\d.]+\s+\w{16}$", summary.stdout, re.M)
    assert fit and int(fit[1]) > 10, summary.stdout[-3000:]
    bands = re.findall(r"^\s*(top|high|medium|low)\s+(\d+)\s", summary.stdout, re.M)
    assert {b for b, _ in bands} == {"top", "high", "medium", "low"}
    assert sum(int(n) for _, n in bands) == int(fit[1])
    # the companies' needs: every theme of the seed appears, and the counts add up
    needs = re.findall(r"^\s*(价格顾虑|功能需求|售后服务|系统对接|数据安全|\(none\))\s+(\d+)\s+\d+$",
                       summary.stdout, re.M)  # fmt: skip
    assert {n for n, _ in needs} >= {"价格顾虑", "功能需求", "售后服务", "系统对接", "数据安全"}
    ((companies,),) = demo.mart("select count(*) from marts.lead_need_themes")
    assert sum(int(c) for _, c in needs) == companies > 0
    step = subprocess.run(
        [str(USEROPS), "step", "validate", "--date", demo.day.isoformat()],
        cwd=ROOT, env={**demo.env, "AIRFLOW_HOME": str(demo.airflow_home)},
        capture_output=True, text=True,
    )  # fmt: skip
    assert step.returncode == 0, explain(step)
    # the vars a night passes, for plain dbt (make docs feeds them to dbt docs generate)
    printed = subprocess.run(
        [str(USEROPS), "dbt-vars", "--date", demo.day.isoformat()],
        cwd=ROOT, env=demo.env, capture_output=True, text=True,
    )  # fmt: skip
    assert printed.returncode == 0, explain(printed)
    night = json.loads(printed.stdout)
    assert night["as_of_date"] == demo.day.isoformat()
    assert night["as_of_end_utc"] == f"{demo.day.isoformat()} 16:00:00"  # Asia/Shanghai
    helped = subprocess.run([str(USEROPS), "--help"], capture_output=True, text=True)
    for command in ("generate", "run", "backfill", "step", "check", "summary", "demo", "dbt-vars"):
        assert command in helped.stdout


def test_make_metrics_equals_the_mart(demo):
    proc = make("metrics", demo.env, demo.airflow_home)
    assert proc.returncode == 0, explain(proc)
    row = re.search(rf"^{demo.day.isoformat()}T00:00:00\s+(\d+)\s+(\d+)\s+(\d+)", proc.stdout, re.M)
    assert row, proc.stdout[-3000:]
    ((dau, wau, mau),) = demo.mart(
        f"select dau, wau, mau from marts.active_users_daily where activity_date = '{demo.day}'"
    )
    assert tuple(int(x) for x in row.groups()) == (dau, wau, mau)


def test_make_docs_generates_and_serves_the_catalogue(demo, tmp_path):
    port = free_port()
    log = tmp_path / "docs.log"
    cmd = ["make", "docs", f"AIRFLOW_HOME={demo.airflow_home}", f"DOCS_PORT={port}",
           f"DATE={demo.day.isoformat()}"]  # fmt: skip
    with serving(cmd, demo.env, log) as proc:
        page = wait_for(f"http://127.0.0.1:{port}/", proc, log, seconds=300)
        assert b"dbt" in page.lower()
        _, catalog = get(f"http://127.0.0.1:{port}/catalog.json")
        _, manifest = get(f"http://127.0.0.1:{port}/manifest.json")
    nodes = json.loads(catalog)["nodes"]
    for mart in ("active_users_daily", "users", "user_rfm", "lead_scores"):
        node = nodes[f"model.userops.{mart}"]
        assert node["metadata"]["schema"] == "marts" and node["columns"]
    described = json.loads(manifest)["nodes"]["model.userops.users"]["description"]
    assert described.strip()
