"""The semantic layer (models/marts/metrics/): MetricFlow figures equal the marts'.

The session's ``built_duckdb`` warehouse (tests/dbt/conftest.py: hand-made raw rows,
staging and ``active_users_daily`` as of 2024-03-10) is copied, and the rest of the
marts the metrics read are built on the copy (models and seeds, no data tests: the
other dbt test files run those). ``mf`` then runs as a subprocess, as a user would
run it, and its figures are compared with the marts' rows.

``mf`` reads ``<project>/target/semantic_manifest.json`` (a fixed path), so it runs
in a throwaway project directory whose entries link to dbt_project/ and whose
``target/`` is this module's own: the shared dbt_project/target/ is never written.
DuckDB allows one writer per file: dbt releases the file after each invocation and
every warehouse read here is closed before ``mf`` opens it.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.warehouses import drop_pg_database, make_pg_database, require_postgres
from userops.config import DBT_PROJECT_DIR, WarehouseTarget
from userops.transform.dbt import run_dbt
from userops.warehouse import Warehouse

pytestmark = pytest.mark.slow

MF = Path(sys.executable).with_name("mf")
#: Every mart a metric reads, with its upstream (no data tests, see the module doc).
SELECT = (
    "+active_users_daily",
    "+growth_accounting",
    "+retention_cohorts",
    "+retention_n_day",
    "+lead_funnel",
    "+users",
    "+user_rfm",
    "time_spine_daily",
)
#: Artefacts a throwaway project must not share with dbt_project/.
OWN_DIRS = {"target", "logs", "dbt_packages"}
SPINE_DAYS = 14976  # 2000-01-01 .. 2040-12-31


@dataclass(frozen=True)
class MetricsProject:
    """A built DuckDB warehouse and a project directory ``mf`` can run in."""

    target: WarehouseTarget
    project: Path


def _linked_project(path: Path) -> Path:
    """A project dir whose entries link to dbt_project/ (target/ and logs/ its own)."""
    path.mkdir()
    for entry in DBT_PROJECT_DIR.iterdir():
        if entry.name not in OWN_DIRS:
            (path / entry.name).symlink_to(entry)
    return path


def mf(metrics: MetricsProject, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``mf`` with the profile's environment, the way docs/metrics.md does."""
    env = {
        **os.environ,
        **metrics.target.dbt_env(),
        "DBT_PROFILES_DIR": str(metrics.project),
        "DBT_PROJECT_DIR": str(metrics.project),
        "DBT_TARGET": metrics.target.dbt_target,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
    return subprocess.run(
        [str(MF), *args],
        cwd=metrics.project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def mf_query(metrics: MetricsProject, out: Path, *args: str) -> pd.DataFrame:
    done = mf(metrics, "query", "--quiet", "--csv", str(out), *args)
    assert done.returncode == 0 and out.exists(), done.stdout + done.stderr
    frame = pd.read_csv(out)
    for col in frame.columns:
        if col.startswith("metric_time__"):
            frame[col] = pd.to_datetime(frame[col]).dt.date
    return frame


def read(target: WarehouseTarget, sql: str) -> pd.DataFrame:
    with Warehouse(target) as wh:  # closed before any mf subprocess opens the file
        return wh.fetch_df(sql)


def read_by_date(target: WarehouseTarget, sql: str, key: str) -> pd.DataFrame:
    """``read`` indexed by the date column ``key`` (as ``datetime.date``, like ``mf``'s)."""
    df = read(target, sql).set_index(key)
    df.index = pd.to_datetime(df.index).date
    return df


@pytest.fixture(scope="module")
def metrics(built_duckdb, as_of, tmp_path_factory) -> MetricsProject:
    base = tmp_path_factory.mktemp("metrics")
    source = built_duckdb.target.duckdb_path
    copy = base / "metrics.duckdb"
    shutil.copyfile(source, copy)
    wal = source.with_name(source.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))
    target = WarehouseTarget(kind="duckdb", duckdb_path=copy)
    project = _linked_project(base / "project")
    run_dbt(
        ["build", "--select", *SELECT, "--resource-type", "model", "--resource-type", "seed"],
        target,
        as_of.dbt_vars(),
        project,
        target_path=project / "target",  # where mf looks for semantic_manifest.json
        log_path=base / "logs",
    )
    assert (project / "target" / "semantic_manifest.json").exists()
    return MetricsProject(target, project)


@pytest.fixture(scope="module")
def daily(metrics, tmp_path_factory) -> pd.DataFrame:
    """One mf query: every per-day metric of three semantic models, by metric_time__day."""
    out = tmp_path_factory.mktemp("mf_daily") / "daily.csv"
    names = "dau,wau,mau,stickiness,new_users,returning_users,resurrecting_users,"
    names += "dormant_users,active_users,revenue,paid_orders"
    frame = mf_query(metrics, out, "--metrics", names, "--group-by", "metric_time__day")
    return frame.rename(columns={"metric_time__day": "day"}).set_index("day").sort_index()


def _same(a: Any, b: Any, tol: float = 1e-9) -> bool:
    a_missing = a is None or (isinstance(a, float) and math.isnan(a))
    b_missing = b is None or (isinstance(b, float) and math.isnan(b))
    if a_missing or b_missing:
        return a_missing and b_missing
    return abs(float(a) - float(b)) <= tol


def test_dau_wau_mau_stickiness_equal_the_mart(daily, metrics):
    mart = read_by_date(
        metrics.target,
        "select activity_date, dau, wau, mau, stickiness from marts.active_users_daily",
        "activity_date",
    )
    assert len(mart) > 30 and mart["dau"].gt(0).sum() > 20
    assert set(mart.index) <= set(daily.index)
    bad = []
    for day, row in mart.iterrows():
        got = daily.loc[day]
        for col in ("dau", "wau", "mau"):
            if not _same(got[col], row[col]):
                bad.append((day, col, got[col], row[col]))
        # the mart rounds to 6 decimals, MetricFlow divides in double precision
        stickiness = None if pd.isna(row["stickiness"]) else float(row["stickiness"])
        if not _same(got["stickiness"], stickiness, tol=5.1e-7):
            bad.append((day, "stickiness", got["stickiness"], stickiness))
    assert not bad, bad


def test_growth_accounting_metrics_equal_the_day_rows(daily, metrics):
    mart = read_by_date(
        metrics.target,
        "select period_start, active_users, new_users, returning_users, resurrecting_users,"
        " dormant_users from marts.growth_accounting where period_grain = 'day'",
        "period_start",
    )
    assert len(mart) > 30 and mart["new_users"].sum() > 0 and mart["dormant_users"].sum() > 0
    got = daily.loc[list(mart.index), list(mart.columns)]
    assert got.astype("int64").equals(mart.astype("int64"))


def test_weekly_growth_metrics_read_the_week_rows(metrics, tmp_path):
    names = "new_users_weekly,returning_users_weekly,resurrecting_users_weekly"
    got = mf_query(
        metrics, tmp_path / "weekly.csv", "--metrics", f"{names},dormant_users_weekly",
        "--group-by", "metric_time__week",
    ).set_index("metric_time__week").sort_index()  # fmt: skip
    mart = read_by_date(
        metrics.target,
        "select period_start, new_users, returning_users, resurrecting_users, dormant_users"
        " from marts.growth_accounting where period_grain = 'week' order by period_start",
        "period_start",
    )
    got.columns = [c.removesuffix("_weekly") for c in got.columns]
    assert len(mart) >= 5
    assert (
        got.loc[list(mart.index), list(mart.columns)].astype("int64").equals(mart.astype("int64"))
    )


def test_revenue_equals_the_paid_orders_and_the_rfm_mart(daily, metrics):
    orders = read_by_date(
        metrics.target,
        "select paid_date, sum(amount_cny) as revenue, count(*) as paid_orders"
        " from intermediate.int_orders__paid group by paid_date",
        "paid_date",
    )
    rfm_total = read(metrics.target, "select sum(monetary_cny) as m from marts.user_rfm")
    assert len(orders) >= 1 and orders["revenue"].sum() > 0
    for day, row in orders.iterrows():
        assert _same(daily.loc[day, "revenue"], row["revenue"], tol=0.005), day
        assert daily.loc[day, "paid_orders"] == row["paid_orders"], day
    # every order of the fixture is inside the RFM lookback: the totals are one figure
    assert daily["revenue"].sum() == pytest.approx(float(rfm_total["m"].iloc[0]), abs=0.005)


def test_funnel_counts_and_conversion_equal_the_mart(metrics, tmp_path):
    by_stage = mf_query(
        metrics, tmp_path / "leads.csv", "--metrics", "leads",
        "--group-by", "funnel_cohort__funnel_stage,funnel_cohort__source_channel",
    )  # fmt: skip
    by_channel = mf_query(
        metrics, tmp_path / "conversion.csv",
        "--metrics", "leads_registered,conversion_rate_followed_up,lead_to_signed_rate",
        "--group-by", "funnel_cohort__source_channel",
    ).set_index("funnel_cohort__source_channel")  # fmt: skip
    mart = read(metrics.target, "select * from marts.lead_funnel")
    assert mart["lead_count"].sum() > 0
    expected = mart.groupby(["funnel_stage", "source_channel"])["lead_count"].sum()
    got = by_stage.set_index(["funnel_cohort__funnel_stage", "funnel_cohort__source_channel"])
    assert got["leads"].sort_index().astype("int64").to_dict() == expected.to_dict()

    count = mart.pivot_table("lead_count", "source_channel", "funnel_stage", aggfunc="sum")
    for channel, row in count.iterrows():
        got = by_channel.loc[channel]
        assert got["leads_registered"] == row["registered"]
        for metric, num, den in (
            ("conversion_rate_followed_up", "followed_up", "assigned"),
            ("lead_to_signed_rate", "signed", "registered"),
        ):
            want = row[num] / row[den] if row[den] else None
            assert _same(got[metric], want), (channel, metric, got[metric], want)


def test_n_day_retention_equals_the_mart(metrics, tmp_path):
    got = mf_query(
        metrics, tmp_path / "retention.csv", "--metrics", "n_day_retention_rate,n_day_eligible",
        "--group-by", "retention_n_day_cohort__n_day",
    ).set_index("retention_n_day_cohort__n_day")  # fmt: skip
    mart = read(
        metrics.target,
        "select n_day, sum(retained_users) as retained, sum(eligible_users) as eligible"
        " from marts.retention_n_day group by n_day",
    ).set_index("n_day")
    assert set(mart.index) == {1, 7, 30} and mart["eligible"].sum() > 0
    for n, row in mart.iterrows():
        assert got.loc[n, "n_day_eligible"] == row["eligible"]
        want = row["retained"] / row["eligible"] if row["eligible"] else None
        assert _same(got.loc[n, "n_day_retention_rate"], want), n


def test_mf_validate_configs_passes_against_the_warehouse(metrics):
    """Semantic validation plus MetricFlow's warehouse checks (every metric queried)."""
    done = mf(metrics, "validate-configs")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Successfully validated metrics against data warehouse" in output, output
    assert "ERRORS: 0" in output and "ERRORS: 1" not in output


def test_every_metric_is_labelled_and_described(metrics):
    manifest = json.loads((metrics.project / "target" / "semantic_manifest.json").read_text())
    names = {m["name"] for m in manifest["metrics"]}
    assert {
        "dau", "wau", "mau", "stickiness", "new_users", "returning_users",
        "resurrecting_users", "dormant_users", "revenue", "day_1_retention_rate",
        "weekly_retention_rate", "conversion_rate_cleaned", "lead_to_signed_rate",
    } <= names  # fmt: skip
    loose = [m["name"] for m in manifest["metrics"] if not (m.get("description") or "").strip()]
    loose += [m["name"] for m in manifest["metrics"] if not (m.get("label") or "").strip()]
    loose += [s["name"] for s in manifest["semantic_models"] if not s.get("description")]
    assert not loose, loose
    spines = manifest["project_configuration"]["time_spines"]
    assert [s["primary_column"]["name"] for s in spines] == ["date_day"]


SPINE_SQL = (
    "select count(*) as n, cast(min(date_day) as varchar) as lo,"
    " cast(max(date_day) as varchar) as hi from marts.time_spine_daily"
)
SPINE = [{"n": SPINE_DAYS, "lo": "2000-01-01", "hi": "2040-12-31"}]


def test_time_spine_covers_its_range(metrics):
    assert read(metrics.target, SPINE_SQL).to_dict("records") == SPINE


def test_semantic_layer_parses_on_postgres(tmp_path):
    """`dbt parse` validates the semantic manifest; on PostgreSQL it needs no server."""
    target = WarehouseTarget(
        kind="postgres", pg_host="127.0.0.1", pg_port=5432, pg_user="nobody", pg_dbname="unused"
    )
    run_dbt(["parse"], target, target_path=tmp_path / "target", log_path=tmp_path / "logs")
    manifest = json.loads((tmp_path / "target" / "semantic_manifest.json").read_text())
    assert len(manifest["metrics"]) >= 40


def test_time_spine_builds_on_postgres(tmp_path):
    require_postgres()
    target = make_pg_database("userops_metrics_test")
    try:
        paths = {"target_path": tmp_path / "target", "log_path": tmp_path / "logs"}
        run_dbt(["run", "--select", "time_spine_daily"], target, **paths)
        rows = read(target, SPINE_SQL)
    finally:
        drop_pg_database(target)
    assert rows.to_dict("records") == SPINE


def test_a_broken_metric_fails_parse(tmp_path):
    """A metric on a measure that does not exist stops `dbt parse` (no warehouse needed)."""
    project = tmp_path / "project"
    shutil.copytree(
        DBT_PROJECT_DIR, project, symlinks=True, ignore=shutil.ignore_patterns(*OWN_DIRS)
    )
    (project / "models" / "marts" / "metrics" / "_broken.yml").write_text(
        "version: 2\n"
        "metrics:\n"
        "  - name: broken_metric\n"
        "    label: Broken\n"
        "    description: Reads a measure no semantic model defines.\n"
        "    type: simple\n"
        "    type_params:\n"
        "      measure: no_such_measure\n",
        encoding="utf-8",
    )
    target = WarehouseTarget(kind="duckdb", duckdb_path=tmp_path / "unused.duckdb")
    summary = run_dbt(
        ["parse"],
        target,
        project_dir=project,
        target_path=tmp_path / "target",
        log_path=tmp_path / "logs",
        raise_on_failure=False,
    )
    assert not summary.success
    assert "no_such_measure" in str(summary.exception), summary.exception
