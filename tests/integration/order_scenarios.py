"""Any date, any order, any gap, any crash (ADR 0006), through the real ``userops_nightly``
DAG (``dag.test()``), with a real local SMTP server: the scenarios, run once per
warehouse by ``test_any_date_any_order_duckdb.py`` and ``..._postgres.py`` (two files,
so a parallel test run can put them on different workers).

One static set of generated sources, several deployments of the pipeline on it:

- ``nightly``: D1 .. D7 in order, each run on the morning after its date (the
  reference every other deployment must equal);
- ``shuffled``: the same seven dates in another order (same last date), then an
  older date rerun;
- ``gap``: D1, three nights skipped, D5;
- ``crashed``: D1 .. D3 with runs SIGKILLed at named points (loads, inside dbt,
  after writing files, between two e-mails), each followed by a plain rerun.

"Identical" compares every table of raw, staging, intermediate, marts and seeds
(meta is run bookkeeping, and so are the ``_batch_id``/``_loaded_at`` load columns and
the ``_staged_through`` watermark of the incremental facts,
which record *which* run landed a row), the list files and the e-mails received.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.smtp import Inbox, airflow_smtp_uri, local_smtp
from tests.warehouses import drop_pg_database, environment, new_target, warehouse_url
from userops.config import WarehouseTarget
from userops.warehouse import Warehouse

DAYS = [date(2026, 4, 1) + timedelta(days=i) for i in range(7)]
D1, D2, D3, D4, D5, D6, D7 = DAYS
SHUFFLED = [D3, D1, D6, D2, D5, D4, D7]
SCHEMAS = ("raw", "staging", "intermediate", "marts", "seeds")
BOOKKEEPING = {"_batch_id", "_loaded_at", "_staged_through"}
#: Views over what was published (meta.outreach_assignments, meta.publish_log): they
#: record which lists went out, so a skipped night, which published nothing, differs
#: there by design; every other relation must not.
PUBLISHING_RECORD = (
    "intermediate.int_outreach__observed",
    "marts.outreach_outcomes",
    "marts.outreach_effectiveness",
)
CURRENT_MARTS = (
    "users",
    "user_rfm",
    "lead_scores",
    "user_tags",
    "user_activity",
    "rep_performance",
    "outreach_candidates",
    "outreach_triggers",
    "segment_personas",
    "lead_need_themes",
    "need_theme_segments",
    "user_value",
)


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Path:
    from userops.sources.generate import GeneratorConfig, generate

    root = tmp_path_factory.mktemp("order-sources")
    config = GeneratorConfig(seed=7, users=600, days=120, end_date=D7, dirty_rate=0.02)
    generate(config, f"sqlite:///{root / 'crm.sqlite'}", root / "events")
    return root


@dataclass
class Deployment:
    """One warehouse + output folder + mail relay running the pipeline on ``sources``."""

    name: str
    target: WarehouseTarget
    out: Path
    inbox: Inbox
    port: int
    sources: Path
    snapshots: dict[date, dict[str, str]] = field(default_factory=dict)

    def env(self, day: date, today: date | None = None) -> dict[str, str]:
        return {
            "USEROPS_CRM_URL": f"sqlite:///{self.sources / 'crm.sqlite'}",
            "USEROPS_EVENTS_URL": str(self.sources / "events"),
            "USEROPS_WAREHOUSE": warehouse_url(self.target),
            "USEROPS_OUTPUT_DIR": str(self.out),
            "AIRFLOW_CONN_SMTP_DEFAULT": airflow_smtp_uri(self.port),
            # by default each date runs on the morning after it, as the scheduler would
            "USEROPS_TODAY": (today or day + timedelta(days=1)).isoformat(),
        }

    def run(self, day: date, today: date | None = None, **kw) -> dict:
        from userops.cli import run_dag_for_day

        with environment(self.env(day, today)):
            return run_dag_for_day(day, **kw)

    def cli(self, *args: str, today: date, fault: str | None = None) -> subprocess.CompletedProcess:
        """``userops <args>`` in a child process (``fault`` arms a crash point)."""
        env = {**os.environ, **self.env(today, today)}
        env.pop("USEROPS_FAULT_KILL_AT", None)
        if fault:
            env["USEROPS_FAULT_KILL_AT"] = fault
        return subprocess.run(
            [sys.executable, "-m", "userops.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def snapshot(self) -> dict[str, str]:
        return snapshot(self.target)

    def lists(self, day: date, manifest: bool = True) -> dict[str, bytes]:
        """The date's files; ``manifest=False`` leaves out manifest.json, whose diff
        describes what each rep was sent *before* (delivery bookkeeping, like meta)."""
        folder = self.out / "outreach" / day.isoformat()
        files = sorted(folder.iterdir()) if folder.exists() else []
        return {p.name: p.read_bytes() for p in files if manifest or p.name != "manifest.json"}

    def mails(self) -> list[str]:
        """One ``date/rep/hash`` per e-mail received, sorted."""
        return sorted(str(m["X-Userops-List"]) for _, m in self.inbox.messages)


def snapshot(target: WarehouseTarget, schemas=SCHEMAS) -> dict[str, str]:
    """Table -> "rows:sha256" of its sorted rows (bookkeeping columns aside)."""
    out: dict[str, str] = {}
    with Warehouse(target) as wh:
        tables = wh.fetchall(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in ({', '.join([wh.param] * len(schemas))})",
            list(schemas),
        )
        for schema, table in sorted(tables):
            df = wh.fetch_df(f'select * from {schema}."{table}"')
            df = df.drop(columns=[c for c in df.columns if c in BOOKKEEPING])
            rows = sorted(
                "\x1f".join("" if _missing(v) else str(v) for v in row)
                for row in df.astype(object).itertuples(index=False, name=None)
            )
            digest = hashlib.sha256("\n".join([",".join(df.columns), *rows]).encode()).hexdigest()
            out[f"{schema}.{table}"] = f"{len(rows)}:{digest[:16]}"
    return out


def _missing(value: object) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def assert_same(a: dict[str, str], b: dict[str, str], what: str) -> None:
    assert a.keys() == b.keys(), f"{what}: tables differ {set(a) ^ set(b)}"
    differ = {t: (a[t], b[t]) for t in a if a[t] != b[t]}
    assert not differ, f"{what}: {differ}"


@pytest.fixture(scope="module")
def world(backend, sources, airflow_db, tmp_path_factory) -> Iterator[dict[str, Deployment]]:
    """Every deployment, each run through its sequence (see the module docstring)."""
    stack = contextlib.ExitStack()
    made: list[WarehouseTarget] = []

    def deployment(name: str) -> Deployment:
        tmp = tmp_path_factory.mktemp(f"{name}-{backend}")
        target = new_target(backend, tmp, f"userops_{name}")
        made.append(target)
        inbox, port = stack.enter_context(local_smtp())
        return Deployment(name, target, tmp / "output", inbox, port, sources)

    try:
        nightly, shuffled, gap, crashed = (
            deployment(n) for n in ("nightly", "shuffled", "gap", "crashed")
        )
        for day in DAYS:
            nightly.run(day)
            if day in (D3, D5, D7):
                nightly.snapshots[day] = nightly.snapshot()
        for day in SHUFFLED:
            shuffled.run(day)
        shuffled.snapshots[D7] = shuffled.snapshot()
        for day in (D1, D5):
            gap.run(day)
        gap.snapshots[D5] = gap.snapshot()
        _crash_and_rerun(crashed)
        crashed.snapshots[D3] = crashed.snapshot()
        yield {d.name: d for d in (nightly, shuffled, gap, crashed)}
    finally:
        stack.close()
        for target in made:
            if not target.is_duckdb:
                drop_pg_database(target)


#: (date, crash point) in the order the crashed deployment hits them; every crash is
#: followed by the next attempt, the last attempt of a date is a plain run.
CRASHES = [
    (D1, "load_events.in_transaction"),
    (D2, "dbt.after:user_lifecycle_daily"),
    (D3, "load_crm.in_transaction"),
    (D3, "publish.files_written"),
    (D3, "publish.after_first_send"),
]


def _crash_and_rerun(dep: Deployment) -> None:
    for day in (D1, D2, D3):
        for _, point in [c for c in CRASHES if c[0] == day]:
            proc = dep.cli("run", "--date", day.isoformat(), today=day + timedelta(days=1),
                           fault=point)  # fmt: skip
            assert proc.returncode == -signal.SIGKILL, (point, proc.returncode, proc.stderr[-2000:])
        dep.run(day)


# -- tests -----------------------------------------------------------------------------
def test_every_run_sent_each_rep_one_mail_per_date(world):
    nightly = world["nightly"]
    mails = nightly.mails()
    dates = {m.split("/")[0] for m in mails}
    assert dates == {d.isoformat() for d in DAYS}
    assert len(mails) == len(set(m.rsplit("/", 1)[0] for m in mails))  # one per (date, rep)


def test_shuffled_order_leaves_every_table_the_lists_and_the_mails_identical(world):
    nightly, shuffled = world["nightly"], world["shuffled"]
    assert_same(nightly.snapshots[D7], shuffled.snapshots[D7], "shuffled vs nightly")
    for day in DAYS:
        assert shuffled.lists(day, manifest=False) == nightly.lists(day, manifest=False), day
    assert shuffled.mails() == nightly.mails()


def test_rerunning_an_older_date_keeps_the_current_marts_at_the_latest_date(world):
    nightly, shuffled = world["nightly"], world["shuffled"]
    before = len(shuffled.inbox.messages)
    result = shuffled.run(D2, today=D7 + timedelta(days=1))
    assert set(result["tasks"].values()) == {"success"}
    after = snapshot(shuffled.target, ("raw", "marts", "seeds"))
    assert_same(
        {k: v for k, v in nightly.snapshots[D7].items() if k.split(".")[0] in ("raw", "marts", "seeds")},
        after,
        "after rerunning D2",
    )  # fmt: skip
    with Warehouse(shuffled.target) as wh:
        for mart in CURRENT_MARTS:
            ((latest,),) = wh.fetchall(f"select max(as_of_date) from marts.{mart}")
            assert str(latest)[:10] == D7.isoformat(), mart
        ((days,),) = wh.fetchall("select count(distinct as_of_date) from marts.users_history")
    assert days == len(DAYS)  # every past date's state stays queryable
    assert len(shuffled.inbox.messages) == before  # D2 was sent already: nothing twice


def test_skipped_nights_leave_the_warehouse_as_if_every_night_had_run(world):
    nightly, gap = world["nightly"], world["gap"]
    data = {
        name: {t: h for t, h in d.snapshots[D5].items() if t not in PUBLISHING_RECORD}
        for name, d in (("nightly", nightly), ("gap", gap))
    }
    assert_same(data["nightly"], data["gap"], "gap vs nightly after D5")
    for table in PUBLISHING_RECORD:  # compared in the shuffled and crashed scenarios
        assert table in gap.snapshots[D5]
    # the skipped nights published nothing: they are not in the feedback record
    with Warehouse(gap.target) as wh:
        published = {str(d)[:10] for (d,) in wh.fetchall(
            "select distinct business_date from marts.outreach_outcomes"
        )}  # fmt: skip
    assert {D1.isoformat(), D5.isoformat()} <= published
    assert not {D2.isoformat(), D4.isoformat()} & published
    assert gap.lists(D5, manifest=False) == nightly.lists(D5, manifest=False)
    # the D5 list carries actions triggered during the skipped nights, with their date
    csv = gap.lists(D5)
    fired = [
        line
        for name, data in csv.items()
        if name.endswith(".csv")
        for line in data.decode("utf-8-sig").splitlines()
        if any(f"（{d.isoformat()} 触发）" in line for d in (D2, D3, D4))
    ]
    assert fired, "expected a trigger that fired in the gap on the D5 list"
    with Warehouse(gap.target) as wh:
        days = {
            str(d)[:10]
            for (d,) in wh.fetchall("select distinct as_of_date from marts.user_lifecycle_daily")
        }
        ((gap_changes,),) = wh.fetchall(
            "select count(*) from marts.user_lifecycle_daily where is_stage_changed and "
            f"as_of_date between {wh.param} and {wh.param}",
            [D2, D4],
        )
    assert {d.isoformat() for d in (D2, D3, D4)} <= days
    assert gap_changes > 0  # transitions in the gap are in the history


def test_a_run_killed_anywhere_then_rerun_equals_a_clean_run(world):
    nightly, crashed = world["nightly"], world["crashed"]
    assert_same(nightly.snapshots[D3], crashed.snapshots[D3], "crashed+rerun vs clean")
    for day in (D1, D2, D3):
        assert crashed.lists(day) == nightly.lists(day), day
        assert not [p for p in (crashed.out / "outreach" / day.isoformat()).iterdir()
                    if p.name.endswith(".tmp")]  # fmt: skip
    clean = [m for m in nightly.mails() if m.split("/")[0] <= D3.isoformat()]
    assert crashed.mails() == clean  # every rep got each date exactly once


def test_a_backfill_mails_nothing_until_forced_and_then_once(world):
    gap = world["gap"]  # D3 was built (caught up) on this deployment, never published
    later = D7 + timedelta(days=1)
    before = len(gap.inbox.messages)
    proc = gap.cli("backfill", "--start", D3.isoformat(), "--end", D3.isoformat(), today=later)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(gap.inbox.messages) == before
    assert any(name.endswith(".xlsx") for name in gap.lists(D3))
    with Warehouse(gap.target) as wh:
        statuses = {
            s for (s,) in wh.fetchall(
                f"select distinct status from meta.publish_log where business_date = {wh.param}",
                [D3],
            )
        }  # fmt: skip
    assert "backfill" in statuses and "sent" not in statuses
    for _ in range(2):
        forced = gap.cli("run", "--date", D3.isoformat(), "--force-publish", today=later)
        assert forced.returncode == 0, forced.stderr[-2000:]
    d3_mails = [m for m in gap.mails() if m.startswith(D3.isoformat())]
    assert d3_mails and len(d3_mails) == len(set(d3_mails))  # sent once, not twice
