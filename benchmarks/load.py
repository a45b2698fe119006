"""Throughput of the raw loads (events and CRM) on DuckDB and PostgreSQL.

Self-contained: writes N synthetic JSONL lines (about 1 % of them bad, so the
quarantine path is exercised) and a SQLite CRM in a temp dir, loads them with
the production functions into a fresh DuckDB file and a throwaway PostgreSQL
database, and prints rows/s.  Usage::

    PYTHONPATH=plugins .venv/bin/python benchmarks/load.py --events 1000000 --crm 100000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from userops.config import WarehouseTarget
from userops.load.crm import load_crm
from userops.load.events import load_events
from userops.load.schema import CRM_TABLES
from userops.windows import BusinessDay

DAY = BusinessDay(date(2026, 3, 1), "Asia/Shanghai")
TYPES = ["login", "page_view", "search", "feature_used", "inquiry_sent", "order_paid"]


def write_events(root: Path, n: int, per_file: int = 250_000, seed: int = 7) -> None:
    """``n`` lines over the day's two received partitions; every 100th line is bad."""
    rnd = random.Random(seed)
    parts = DAY.received_partitions
    written = 0
    file_no = 0
    while written < n:
        d = parts[file_no % len(parts)]
        folder = root / f"dt={d.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        count = min(per_file, n - written)
        with open(folder / f"part-{file_no:04d}.jsonl", "w", encoding="utf-8") as fh:
            for i in range(written, written + count):
                if i % 100 == 99:
                    fh.write('{"event_id": "broken"\n')
                    continue
                etype = TYPES[rnd.randrange(len(TYPES))]
                props: dict[str, Any] = {"path": f"/listing/{i % 5000}"}
                if etype == "order_paid":
                    props = {
                        "order_id": f"o{i}",
                        "amount": round(rnd.uniform(99, 9999), 2),
                        "currency": "CNY",
                    }
                ts = datetime(2026, 3, 1, 0, 0) + timedelta(seconds=i % 86_000)
                fh.write(
                    json.dumps(
                        {
                            "event_id": f"e{i}",
                            "user_id": f"u{rnd.randrange(50_000)}",
                            "event_type": etype,
                            "occurred_at": ts.isoformat() + "+08:00",
                            "received_at": ts.isoformat() + "+08:00",
                            "platform": "web",
                            "properties": props,
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
        written += count
        file_no += 1


def write_crm(path: Path, n_leads: int, seed: int = 7) -> str:
    """A SQLite CRM: ``n_leads`` leads, a tenth as many of each other table."""
    rnd = random.Random(seed)
    base = datetime(2026, 1, 1)
    conn = sqlite3.connect(path)
    for table, cols in CRM_TABLES.items():
        conn.execute(f"create table {table} ({', '.join(cols)})")
        n = n_leads if table == "leads" else max(1, n_leads // 10)
        rows = []
        for i in range(n):
            stamp = (base + timedelta(seconds=rnd.randrange(59 * 86_400))).strftime(
                "%Y-%m-%d %H:%M:%S"
            )
            row = [f" {c} {i} " for c in cols]
            row[0] = f"{table[0].upper()}{i}"
            row[cols.index("updated_at")] = stamp
            rows.append(row)
        conn.executemany(f"insert into {table} values ({', '.join('?' * len(cols))})", rows)
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"


def _pg_target() -> WarehouseTarget | None:
    import psycopg

    host = os.environ.get("USEROPS_TEST_PG_HOST", "127.0.0.1")
    port = int(os.environ.get("USEROPS_TEST_PG_PORT", "5432"))
    user = os.environ.get("USEROPS_TEST_PG_USER", "postgres")
    name = f"userops_bench_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(
            host=host, port=port, user=user, dbname="postgres", autocommit=True, connect_timeout=5
        ) as conn:
            conn.execute(f'create database "{name}"')
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL unavailable, skipped: {exc}")
        return None
    return WarehouseTarget(
        kind="postgres", pg_host=host, pg_port=port, pg_user=user, pg_dbname=name
    )


def _drop_pg(target: WarehouseTarget) -> None:
    import psycopg

    with psycopg.connect(target.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{target.pg_dbname}" with (force)')


def run(n_events: int, n_leads: int, warehouses: list[str]) -> list[dict[str, Any]]:
    """Generate, load on each warehouse, return one figure per (warehouse, source)."""
    figures: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="userops_bench_") as tmp:
        tmpdir = Path(tmp)
        t0 = time.perf_counter()
        write_events(tmpdir / "events", n_events)
        crm_url = write_crm(tmpdir / "crm.sqlite", n_leads)
        print(f"generated {n_events:,} event lines and CRM in {time.perf_counter() - t0:.1f}s")
        for kind in warehouses:
            target = (
                WarehouseTarget(kind="duckdb", duckdb_path=tmpdir / "bench.duckdb")
                if kind == "duckdb"
                else _pg_target()
            )
            if target is None:
                continue
            try:
                t = time.perf_counter()
                ev = load_events(str(tmpdir / "events"), target, DAY)
                ev_s = time.perf_counter() - t
                t = time.perf_counter()
                crm = load_crm(crm_url, target, DAY)
                crm_s = time.perf_counter() - t
            finally:
                if kind == "postgres":
                    _drop_pg(target)
            crm_rows = sum(r.rows_loaded for r in crm)
            figures += [
                {
                    "warehouse": kind,
                    "source": "events",
                    "rows": ev.rows_read,
                    "quarantined": ev.rows_quarantined,
                    "seconds": round(ev_s, 2),
                    "rows_per_s": round(ev.rows_read / ev_s),
                },
                {
                    "warehouse": kind,
                    "source": "crm",
                    "rows": crm_rows,
                    "quarantined": 0,
                    "seconds": round(crm_s, 2),
                    "rows_per_s": round(crm_rows / crm_s),
                },
            ]
    return figures


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="event lines")
    parser.add_argument("--crm", type=int, default=100_000, help="CRM leads (others: a tenth)")
    parser.add_argument("--warehouse", action="append", choices=["duckdb", "postgres"])
    args = parser.parse_args(argv)
    figures = run(args.events, args.crm, args.warehouse or ["duckdb", "postgres"])
    print(
        f"{'warehouse':<10} {'source':<7} {'rows':>10} {'quarant.':>9} {'seconds':>8} {'rows/s':>9}"
    )
    for f in figures:
        print(
            f"{f['warehouse']:<10} {f['source']:<7} {f['rows']:>10,} {f['quarantined']:>9,} "
            f"{f['seconds']:>8.2f} {f['rows_per_s']:>9,}"
        )
    return figures


if __name__ == "__main__":
    main()
