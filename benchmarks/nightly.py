"""What a night costs as history grows: onboarding, the night at day 30 and at day 90.

Generates (or reuses, ``--sources DIR``) contract-shaped sources for ``--users`` x
``--days`` and runs the real nightly DAG (``userops run``, i.e. ``dag.test()``) in
child processes against fresh warehouses:

- warehouse A: onboarding run for day 29 (all history up to it), then the night of day 30;
- warehouse B: onboarding run for day 89, then the night of day 90.

It also measures DuckDB's own ``read_json`` of the same event files, a bare
PostgreSQL ``COPY`` of the same rows (``--warehouse postgres``) and a pandas full
recompute of DAU/WAU/MAU and RFM, and prints the ratios the nightly-cost targets
are stated in (ADR 0007), plus peak RSS.  Figures only; nothing asserts on time.

    PYTHONPATH=plugins .venv/bin/python benchmarks/nightly.py --users 100000 --days 90
    PYTHONPATH=plugins .venv/bin/python benchmarks/nightly.py --users 1000000 --days 90 \\
        --sources /data/bench-1m          # keep the 14 GiB of sources for reruns
    PYTHONPATH=plugins .venv/bin/python benchmarks/nightly.py --users 20000 --days 90 \\
        --warehouse postgres
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
END_DATE = date(2025, 6, 30)
#: The local PostgreSQL server the benchmark creates (and drops) its warehouses on.
_PG_ADMIN = "host=127.0.0.1 user=postgres dbname=postgres"


def _generate(users: int, days: int, out: Path) -> None:
    if (out / "events").exists() and (out / "crm.sqlite").exists():
        print(f"reusing sources in {out}")
        return
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "userops.cli", "generate", "--users", str(users), "--days",
         str(days), "--end-date", END_DATE.isoformat()],
        env={**os.environ, "USEROPS_CRM_URL": f"sqlite:///{out / 'crm.sqlite'}",
             "USEROPS_EVENTS_URL": str(out / "events")},
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    print(f"generated sources in {time.perf_counter() - started:.0f}s")


def _warehouse_env(kind: str, work: Path, name: str) -> dict[str, str]:
    if kind == "duckdb":
        return {"USEROPS_WAREHOUSE": str(work / f"{name}.duckdb")}
    import psycopg

    db = f"userops_bench_{name}"
    _drop_databases([db])
    with psycopg.connect(_PG_ADMIN, autocommit=True) as c:
        c.execute(f'create database "{db}"')
    return {"USEROPS_WAREHOUSE": f"postgresql://postgres@127.0.0.1:5432/{db}"}


def _drop_databases(names: list[str]) -> None:
    import psycopg

    with psycopg.connect(_PG_ADMIN, autocommit=True) as c:
        for db in names:
            c.execute(f'drop database if exists "{db}"')


def _run_day(env: dict[str, str], day: date, work: Path) -> tuple[float, dict[str, Any]]:
    """Run ``day``; (wall seconds, where the time went: tasks and dbt's slowest nodes)."""
    # one dbt target folder per deployment, as in production: a night re-uses the
    # partial parse the previous run left there
    dbt_target = work / f"dbt-target-{Path(env['USEROPS_WAREHOUSE']).stem}"
    started = time.perf_counter()
    returncode, peak_mib, output = _child(
        [sys.executable, "-m", "userops.cli", "run", "--date", day.isoformat()],
        {**env, "DBT_TARGET_PATH": str(dbt_target)},
    )
    seconds = time.perf_counter() - started
    if returncode != 0:
        sys.stderr.write(output[-8000:])
        raise SystemExit(f"userops run --date {day} failed ({returncode})")
    spent = _breakdown(Path(env["AIRFLOW_HOME"]), day)
    return seconds, {"peak_rss_mib": round(peak_mib), **spent}


def _child(
    cmd: list[str], env: dict[str, str], memory_cap_bytes: int | None = None
) -> tuple[int, float, str]:
    """Run ``cmd``: (return code, peak RSS of that process tree's largest member in MiB,
    output). ``wait4`` gives the figure per child, not the maximum of all children.
    ``memory_cap_bytes`` caps the child's address space (a MemoryError, not the OOM killer)."""

    def cap() -> None:
        if memory_cap_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (memory_cap_bytes, memory_cap_bytes))

    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=cap)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return proc.returncode, usage.ru_maxrss / 1024, out.read().decode(errors="replace")


def _breakdown(airflow_home: Path, day: date) -> dict[str, Any]:
    """Seconds per task of the day's run and, from the ``dbt_build`` step's summary
    (its XCom), dbt's elapsed time and slowest nodes."""
    import sqlite3

    pattern = f"%{day.isoformat()}T%"
    with contextlib.closing(sqlite3.connect(airflow_home / "airflow.db")) as db:
        rows = db.execute(
            "select task_id, duration from task_instance where run_id like ?", [pattern]
        ).fetchall()
        xcom = db.execute(
            "select value from xcom where task_id = 'dbt_build' and key = 'return_value' "
            "and run_id like ?",
            [pattern],
        ).fetchall()
    out: dict[str, Any] = {"tasks_s": {task: round(d or 0.0, 1) for task, d in rows}}
    if xcom:
        summary = json.loads(xcom[0][0])
        summary = json.loads(summary) if isinstance(summary, str) else summary
        out["dbt_build"] = {
            "elapsed_s": summary.get("elapsed_s"),
            "slowest": {uid.split(".")[2]: t
                        for uid, t in summary.get("slowest_nodes", {}).items()},
        }  # fmt: skip
    return out


def _load_figures(env: dict[str, str]) -> dict[str, Any]:
    """Rows and seconds of the latest event batch, from meta.load_batches."""
    from userops.config import WarehouseTarget
    from userops.warehouse import Warehouse

    target = WarehouseTarget.parse(env["USEROPS_WAREHOUSE"])
    with Warehouse(target) as wh:
        rows = wh.fetchall(
            "select rows_read, finished_at, started_at from meta.load_batches "
            "where source = 'events' order by finished_at desc limit 1"
        )
        events = wh.fetchall("select count(*) from raw.events__events")[0][0]
    read, finished, started = rows[0]
    seconds = (finished - started).total_seconds()
    return {"rows": read, "seconds": seconds, "rows_per_s": read / seconds, "history": events}


def _duckdb_raw_read(events: Path) -> tuple[int, float]:
    import duckdb

    con = duckdb.connect()
    started = time.perf_counter()
    n = con.sql(
        f"select count(*) from (select * from read_json('{events}/*/*.jsonl*', "
        "format='newline_delimited', ignore_errors=true, union_by_name=true))"
    ).fetchall()[0][0]
    return n, time.perf_counter() - started


def _bare_copy(env: dict[str, str]) -> tuple[int, float]:
    """A bare COPY into PostgreSQL of the rows the load landed (same columns)."""
    import psycopg

    from userops.config import WarehouseTarget

    target = WarehouseTarget.parse(env["USEROPS_WAREHOUSE"])
    with psycopg.connect(target.conninfo(), autocommit=True) as conn:
        buf = io.BytesIO()
        with (
            conn.cursor() as cur,
            cur.copy("copy raw.events__events to stdout with (format csv)") as copy,
        ):
            for block in copy:
                buf.write(block)
        conn.execute("create temp table bare (like raw.events__events)")
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy("copy bare from stdin with (format csv)") as copy:
            copy.write(buf.getvalue())
        seconds = time.perf_counter() - started
        n = conn.execute("select count(*) from bare").fetchone()[0]
    return n, seconds


def _pandas_recompute(events: Path, as_of: date) -> tuple[int, float]:
    """Every file -> DAU/WAU/MAU per day and RFM scores, with pandas (DuckDB only reads)."""
    import duckdb
    import pandas as pd

    started = time.perf_counter()
    df = duckdb.sql(
        # declared as text: inferred on dirty files they come back as JSON, quotes and all
        f"select user_id, event_type, occurred_at, properties::varchar as properties "
        f"from read_json('{events}/*/*.jsonl*', format='newline_delimited', "
        "ignore_errors=true, columns={user_id: 'VARCHAR', event_type: 'VARCHAR', "
        "occurred_at: 'VARCHAR', properties: 'JSON'})"
    ).df()
    df = df.dropna(subset=["user_id", "occurred_at"])
    ts = pd.to_datetime(df["occurred_at"], utc=True, errors="coerce", format="ISO8601")
    df["day"] = ts.dt.tz_convert("Asia/Shanghai").dt.date
    df = df.dropna(subset=["day"]).drop_duplicates()
    by_day = df.groupby("day")["user_id"].unique()
    out = {}
    for d in sorted(by_day.index):
        window = [by_day.get(d - timedelta(days=i)) for i in range(30)]
        sets = [set(w) for w in window if w is not None]
        out[d] = (len(sets[0]), len(set().union(*sets[:7])), len(set().union(*sets)))
    orders = df[df["event_type"] == "order_paid"].copy()
    amounts = orders["properties"].map(lambda p: json.loads(p).get("amount") if p else None)
    orders["amount"] = pd.to_numeric(amounts, errors="coerce")
    rfm = orders.groupby("user_id").agg(last=("day", "max"), f=("day", "size"), m=("amount", "sum"))
    rfm["r"] = [(as_of - d).days if isinstance(d, date) else None for d in rfm["last"]]
    for col in ("r", "f", "m"):
        ranks = pd.to_numeric(rfm[col], errors="coerce").rank(method="first")
        rfm[f"{col}_score"] = pd.qcut(ranks, 5, labels=False, duplicates="drop") + 1
    return len(df), time.perf_counter() - started


def _pandas_in_child(events: Path, as_of: date, memory_gib: float) -> dict[str, Any]:
    """The pandas recompute in its own process, its address space capped at ``memory_gib``:
    {rows, s, peak_rss_mib}, or {failed, peak_rss_mib} when it does not fit."""
    code, peak_mib, output = _child(
        [sys.executable, __file__, "--pandas-recompute", str(events), as_of.isoformat()],
        {**os.environ, "PYTHONPATH": str(ROOT / "plugins")},
        int(memory_gib * 2**30),
    )
    if code != 0:
        last = (output.strip().splitlines() or [""])[-1][:300]
        return {"failed": f"exit {code} with the address space capped at {memory_gib:g} GiB: "
                f"{last}", "peak_rss_mib": round(peak_mib)}  # fmt: skip
    figures = json.loads(output.strip().splitlines()[-1])
    return {**figures, "peak_rss_mib": round(peak_mib)}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--pandas-recompute"]:  # the child of _pandas_in_child
        rows, seconds = _pandas_recompute(Path(argv[1]), date.fromisoformat(argv[2]))
        print(json.dumps({"rows": rows, "s": round(seconds, 1)}))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--sources", type=Path, help="generate into / reuse this folder")
    parser.add_argument("--warehouse", choices=["duckdb", "postgres"], default="duckdb")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--last-night-only", action="store_true",
                        help="skip the day-30 deployment (one onboarding less at large sizes; "
                        "no day-90/day-30 ratio)")  # fmt: skip
    parser.add_argument("--pandas-memory-gib", type=float, default=16.0,
                        help="address-space cap of the pandas recompute (default 16)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.days < 31:
        parser.error("--days must be at least 31 (nights at day 30 and at the last day)")

    work = Path(tempfile.mkdtemp(prefix="userops-nightly-"))
    sources = args.sources or work / "sources"
    _generate(args.users, args.days, sources)
    first = END_DATE - timedelta(days=args.days - 1)
    day30, last = first + timedelta(days=29), END_DATE
    base = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "plugins"),
        "AIRFLOW_HOME": str(work / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "DBT_QUIET": "True",
        "USEROPS_CRM_URL": f"sqlite:///{sources / 'crm.sqlite'}",
        "USEROPS_EVENTS_URL": str(sources / "events"),
        "USEROPS_START_DATE": (first - timedelta(days=400)).isoformat(),
    }
    figures: dict[str, Any] = {"users": args.users, "days": args.days, "warehouse": args.warehouse}
    nights = [("day30", day30), (f"day{args.days}", last)]
    try:
        for name, night in nights[1:] if args.last_night_only else nights:
            env = {**base, **_warehouse_env(args.warehouse, work, name),
                   "USEROPS_OUTPUT_DIR": str(work / f"out-{name}")}  # fmt: skip
            onboard, _ = _run_day(env, night - timedelta(days=1), work)
            load = _load_figures(env)
            nightly, spent = _run_day(env, night, work)
            figures[name] = step = {
                "onboarding_s": round(onboard, 1),
                "onboarding_load_rows": load["rows"],
                "onboarding_load_rows_per_s": round(load["rows_per_s"]),
                "night_s": round(nightly, 1),
                "night_load": {k: round(v) for k, v in _load_figures(env).items()},
                "night_breakdown": spent,
            }
            print(name, json.dumps(step), flush=True)
            if args.warehouse == "postgres" and name != "day30":
                rows, seconds = _bare_copy(env)
                figures["bare_copy_rows_per_s"] = round(rows / seconds)
        rows, seconds = _duckdb_raw_read(sources / "events")
        figures["duckdb_read_json"] = {"rows": rows, "s": round(seconds, 1),
                                       "rows_per_s": round(rows / seconds)}  # fmt: skip
        figures["pandas_full_recompute"] = _pandas_in_child(
            sources / "events", last, args.pandas_memory_gib
        )
        late, early = figures[f"day{args.days}"], figures.get("day30")
        figures["ratios"] = (
            {}
            if early is None
            else {
                "night_last_over_night30": round(late["night_s"] / early["night_s"], 2),
                # the generator's days grow: the same ratio per new line of the night
                "night_last_over_night30_per_new_line": round(
                    (late["night_s"] / late["night_load"]["rows"])
                    / (early["night_s"] / early["night_load"]["rows"]),
                    2,
                ),
            }
        )
        figures["ratios"] |= {
            "load_over_duckdb_read_json": round(
                late["onboarding_load_rows_per_s"] / figures["duckdb_read_json"]["rows_per_s"], 2
            ),
        }
        if "s" in figures["pandas_full_recompute"]:
            figures["ratios"]["night_last_over_pandas"] = round(
                late["night_s"] / figures["pandas_full_recompute"]["s"], 2
            )
        if "bare_copy_rows_per_s" in figures:
            figures["ratios"]["load_over_bare_copy"] = round(
                late["onboarding_load_rows_per_s"] / figures["bare_copy_rows_per_s"], 2
            )
        print(json.dumps(figures, indent=2, default=str))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            if args.warehouse == "postgres":
                _drop_databases([f"userops_bench_{name}" for name, _ in nights])
    return 0


if __name__ == "__main__":
    sys.exit(main())
