"""Fixtures for the dbt tests: hand-made dirty raw rows and warehouses built from them.

One ``dbt build`` (staging + ``active_users_daily``) per warehouse, shared by the
whole session: a DuckDB file and a throwaway PostgreSQL database are loaded with the
same rows through ``Warehouse.bulk_insert`` and built for the same as-of day, then
built again for that day (the incremental path) to check reruns change nothing.

PostgreSQL helpers live in ``tests.warehouses`` (importable; never ``import conftest``).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from userops.config import WarehouseTarget
from userops.load.schema import CRM_TABLES, ensure_schemas
from userops.transform.dbt import DbtRunSummary, build
from userops.warehouse import Warehouse
from userops.windows import BusinessDay

#: The as-of day every build here is for; its end is 2024-03-10 16:00:00 UTC.
AS_OF = BusinessDay(dt.date(2024, 3, 10), "Asia/Shanghai")
AS_OF_END = AS_OF.end_utc.replace(tzinfo=None)
LOADED_AT = dt.datetime(2024, 3, 10, 18, 0, 0)

#: What the tests build: the staging layer and the one mart this area owns.
SELECT = (
    "path:models/staging",
    "int_users__daily_events",
    "int_users__daily_activity",
    "active_users_daily",
)

TRACKING_PLAN = (
    "signup", "login", "page_view", "search", "listing_published", "listing_updated",
    "profile_updated", "inquiry_sent", "feature_used", "order_paid",
)  # fmt: skip


# Re-exported for older imports; new code imports ``tests.warehouses`` directly.
from tests.warehouses import (  # noqa: E402
    drop_pg_database,
    make_pg_database,
    postgres_available,
    require_postgres,
)

__all__ = ["drop_pg_database", "make_pg_database", "postgres_available", "require_postgres"]


# -- hand-made CRM rows ------------------------------------------------------------------
# Each row: the SPEC columns as text (None = SQL null) + batch id + load time.
def crm_row(table: str, batch: str, loaded: str, **values: str | None) -> dict[str, Any]:
    unknown = set(values) - set(CRM_TABLES[table])
    assert not unknown, f"not a {table} column: {unknown}"
    row: dict[str, Any] = {c: values.get(c) for c in CRM_TABLES[table]}
    row["_batch_id"] = batch
    row["_loaded_at"] = dt.datetime.fromisoformat(loaded)
    return row


SALES_REPS = [
    crm_row("sales_reps", "b1", "2024-01-01 01:00:00", rep_id="R1", name=" 张三 ",
         email=" Zhang.San@Example.COM ", team=" Team A ", region="华东",
         hired_at="2023-01-05T09:00:00", is_active="1", daily_capacity="２０",
         updated_at="2024-01-01 00:00:00"),
    # Latest version of R1 before the as-of point: fractional seconds, spaced digits.
    crm_row("sales_reps", "b2", "2024-03-05 11:00:00", rep_id="R1", name="张三",
         email="zhang.san@example.com", team="Team A", region="华东",
         hired_at="2023-01-05T09:00:00", is_active="false", daily_capacity=" 1 5 ",
         updated_at="2024-03-05 10:00:00.123456"),
    # Bad e-mail, impossible hire date, unreadable capacity -> nulls, not a failure.
    crm_row("sales_reps", "b1", "2024-02-01 09:00:00", rep_id="Ｒ２", name="李四",
         email="not-an-email", team="Team B", region="华北", hired_at="2024-02-30",
         is_active="Yes", daily_capacity="ten", updated_at="2024-02-01T08:00:00Z"),
    # Only version is updated exactly at the as-of end (exclusive) -> not visible.
    crm_row("sales_reps", "b3", "2024-03-10 17:00:00", rep_id="R3", name="王五",
         email="w@example.com", team="Team B", region="华北", hired_at="2024-03-10",
         is_active="t", daily_capacity="5", updated_at="2024-03-10 16:00:00"),
    # Unreadable updated_at -> cannot be placed in time -> not visible.
    crm_row("sales_reps", "b1", "2024-02-01 09:00:00", rep_id="R4", name="赵六",
         email="z@example.com", team="Team B", region="华北", hired_at="2024-01-01",
         is_active="f", daily_capacity="5", updated_at="yesterday"),
]  # fmt: skip

LEADS = [
    crm_row("leads", "b1", "2024-02-01 01:00:00", lead_id="L1", company_name="Acme",
         contact_name="Ann", phone="138 0013 8000", email="ann@acme.cn", industry="IT",
         company_size="50", province="上海", city="上海", source_channel="crawl",
         user_id=None, status="new", owner_rep_id="R1", created_at="2024-02-01 00:00:00",
         updated_at="2024-02-01 00:00:00", is_deleted="0"),
    crm_row("leads", "b2", "2024-03-09 01:00:00", lead_id="L1", company_name="Acme",
         contact_name="Ann", phone="+86 138-0013-8001", email="ann@acme.cn", industry="IT",
         company_size="50", province="上海", city="上海", source_channel="crawl",
         user_id="u1", status="Contacted", owner_rep_id="R1",
         created_at="2024-02-01 00:00:00", updated_at="2024-03-09T00:00:00",
         is_deleted="0"),
    # Updated after the as-of end: a later run sees it, this one must not.
    crm_row("leads", "b3", "2024-03-11 01:00:00", lead_id="L1", company_name="Acme",
         contact_name="Ann", phone="13800138002", email="ann@acme.cn", industry="IT",
         company_size="50", province="上海", city="上海", source_channel="crawl",
         user_id="u1", status="lost", owner_rep_id="R1", created_at="2024-02-01 00:00:00",
         updated_at="2024-03-11 00:00:00", is_deleted="1"),
    crm_row("leads", "b1", "2024-03-02 01:00:00", lead_id="L2",
         company_name="　ＡＣＭＥ　Trading  Co ", contact_name=" 陈 ",
         phone="0086 139-0000-1111", email=" Sales@ACME.cn ", industry="制造",
         company_size="１２０", province="江苏", city="苏州", source_channel=" SEM ",
         user_id="u2", status="Qualified", owner_rep_id="Ｒ２",
         created_at="2024-03-01 17:00:00", updated_at="2024-03-01 17:00:00",
         is_deleted="t"),
    crm_row("leads", "b1", "2024-03-02 01:00:00", lead_id="L3", company_name="acme trading co",
         contact_name="Wu", phone="(+86) 137 0000 2222", email="WU@acme.cn",
         industry="制造", company_size="1,200", province="江苏", city="苏州",
         source_channel="referral", user_id=None, status="new", owner_rep_id="R9",
         created_at="2024-03-02 01:02:03.5", updated_at="2024-03-02 01:02:03.5",
         is_deleted="no"),
    crm_row("leads", "b1", "2024-03-02 01:00:00", lead_id="L4", company_name="Beta",
         contact_name="Li", phone="021-5555 6666", email="li@beta", industry="零售",
         company_size="abc", province="上海", city="上海", source_channel="organic",
         user_id=None, status="lost", owner_rep_id="R1",
         created_at="2024/03/03 10:00:00", updated_at="2024-03-03 10:00:00",
         is_deleted=None),
    crm_row("leads", "b1", "2024-03-02 01:00:00", lead_id="L5", company_name="Gamma",
         contact_name="Xu", phone="12345", email=None, industry=None, company_size=" ",
         province=None, city=None, source_channel="event", user_id=None,
         status="member", owner_rep_id=None, created_at="not a time",
         updated_at="2024-03-04 10:00:00", is_deleted="false"),
    crm_row("leads", "b1", "2024-03-02 01:00:00", lead_id="L6", company_name="Delta",
         contact_name="Ma", phone="8613600003333", email="ma@delta.cn", industry="IT",
         company_size="８", province="北京", city="北京", source_channel="cold_call",
         user_id="u6", status="signed", owner_rep_id="R1",
         created_at="2024-03-04 10:00:00+08:00", updated_at="2024-03-04 10:00:00",
         is_deleted="0"),
    # Two loads of one version (same updated_at): the later load wins.
    crm_row("leads", "b1", "2024-03-05 01:00:00", lead_id="L7", company_name="Epsilon",
         contact_name="Qi", phone="13900000001", email="qi@eps.cn", industry="IT",
         company_size="10", province="北京", city="北京", source_channel="sem",
         user_id=None, status="new", owner_rep_id="R1", created_at="2024-03-05 00:00:00",
         updated_at="2024-03-05 00:00:00", is_deleted="0"),
    crm_row("leads", "b2", "2024-03-06 01:00:00", lead_id="L7", company_name="Epsilon",
         contact_name="Qi", phone="13900000002", email="qi@eps.cn", industry="IT",
         company_size="10", province="北京", city="北京", source_channel="sem",
         user_id=None, status="contacted", owner_rep_id="R1",
         created_at="2024-03-05 00:00:00", updated_at="2024-03-05 00:00:00",
         is_deleted="0"),
]  # fmt: skip

FOLLOWUPS = [
    crm_row("followups", "b1", "2024-03-10 01:00:00", followup_id="F1", lead_id="L1",
         rep_id="R1", channel="WeChat", outcome=" Interested ", note="  约了下周拜访 ",
         next_followup_at="", occurred_at="2024-03-09 23:30:00+08:00",
         updated_at="2024-03-09 15:30:00"),
    # Dangling lead id: the relationships test warns, the build does not fail.
    crm_row("followups", "b1", "2024-03-10 01:00:00", followup_id="F2", lead_id="L99",
         rep_id="R1", channel="PHONE", outcome="no_answer", note=None,
         next_followup_at="2024-03-12T02:00:00", occurred_at="2024-03-09T16:00:00",
         updated_at="2024-03-09T16:00:00"),
]  # fmt: skip

CONTRACTS = [
    crm_row("contracts", "b1", "2024-03-10 17:00:00", contract_id="C1", lead_id="L6",
         user_id="u6", plan=" Pro ", amount="１,２００.５", signed_at="2024-03-10 15:59:59",
         starts_at="2024-03-11", ends_at="2025-03-10", status="ACTIVE",
         updated_at="2024-03-10 15:59:59"),
    crm_row("contracts", "b1", "2024-03-10 17:00:00", contract_id="C2", lead_id="L2",
         user_id="u2", plan="basic", amount="abc", signed_at="2024-03-10 08:00:00",
         starts_at="2024-03-10", ends_at="2024-13-01", status="cancelled",
         updated_at="2024-03-10 08:00:00"),
]  # fmt: skip

CRM_ROWS = {
    "sales_reps": SALES_REPS,
    "leads": LEADS,
    "followups": FOLLOWUPS,
    "contracts": CONTRACTS,
}


# -- hand-made and generated events --------------------------------------------------
def _event(
    event_id: str,
    user_id: str,
    event_type: str,
    occurred: str,
    received: str | None = None,
    properties: dict[str, Any] | None = None,
    source_file: str = "dt=2024-03-10/part-0.jsonl",
    line: int = 1,
    platform: str = "web",
) -> dict[str, Any]:
    occurred_at = dt.datetime.fromisoformat(occurred)
    received_at = dt.datetime.fromisoformat(received) if received else occurred_at
    return {
        "event_id": event_id,
        "user_id": user_id,
        "event_type": event_type,
        "occurred_at": occurred_at,
        "received_at": received_at,
        "occurred_at_raw": occurred_at.isoformat() + "+00:00",
        "platform": platform,
        "properties": json.dumps(properties or {}, ensure_ascii=False),
        "_partition_date": received_at.date(),
        "_source_file": source_file,
        "_line_number": line,
        "_batch_id": "events-b1",
        "_loaded_at": LOADED_AT,
    }


def _edge_events() -> list[dict[str, Any]]:
    """Boundaries the SQL must get right (all times UTC; Shanghai is UTC+8)."""
    return [
        # 15:59:59 UTC is 23:59:59 on Mar 9 in Shanghai; 16:00 UTC is already Mar 10.
        _event("x-1", "u7", "login", "2024-03-09 15:59:59"),
        _event("x-2", "u8", "login", "2024-03-09 16:00:00"),
        # Delivered twice; the earliest copy is kept.
        _event("x-3", "u9", "order_paid", "2024-03-08 02:00:00", "2024-03-08 03:00:00",
               {"order_id": "o-1", "amount": 199.9, "currency": "cny"}, line=5),
        _event("x-3", "u9", "order_paid", "2024-03-08 02:00:00", "2024-03-08 02:30:00",
               {"order_id": "o-1", "amount": 199.9, "currency": "cny"}, line=9),
        _event("x-3", "u9", "order_paid", "2024-03-08 02:00:00", "2024-03-08 02:30:00",
               {"order_id": "o-1", "amount": 199.9, "currency": "cny"},
               source_file="dt=2024-03-08/part-1.jsonl", line=1),
        # Occurred on Mar 9 but received after the as-of end: not known yet.
        _event("x-4", "u10", "page_view", "2024-03-09 04:00:00", "2024-03-10 16:00:00",
               {"path": "/late"}),
        # Received in time but device clock says Mar 11 (after D): staged, not counted.
        _event("x-5", "u11", "search", "2024-03-10 17:00:00", "2024-03-10 12:00:00",
               {"query": "  钢材 "}),
        # Late arrival within the as-of day for a much earlier date (Feb 2).
        _event("x-6", "u12", "feature_used", "2024-02-02 04:00:00", "2024-03-10 10:00:00",
               {"feature": " Export "}),
        _event("x-7", "u7", "listing_published", "2024-03-10 01:00:00", None,
               {"listing_id": "ls-1"}, platform=" iOS "),
        _event("x-8", "u7", "inquiry_sent", "2024-03-10 02:00:00", None,
               {"listing_id": "ls-2"}),
        _event("x-9", "u8", "signup", "2024-03-01 00:00:00", None, {}, platform="miniprogram"),
    ]  # fmt: skip


def _generated_events(seed: int = 20240310) -> list[dict[str, Any]]:
    """Sparse random activity of 6 users from Feb 1 to Mar 10 with gaps (zero days)."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    start = dt.datetime(2024, 1, 31, 16, 0, 0)  # Feb 1, 00:00 Shanghai
    n = 0
    for day in range(39):
        if day in (5, 6, 20):  # whole days without any event
            continue
        for user in range(1, 7):
            if rng.random() < 0.25 + 0.1 * (user % 3):
                n += 1
                minute = rng.randrange(0, 24 * 60)
                occurred = start + dt.timedelta(days=day, minutes=minute)
                rows.append(
                    _event(
                        f"g-{n}",
                        f"u{user}",
                        rng.choice(TRACKING_PLAN),
                        occurred.isoformat(sep=" "),
                        (occurred + dt.timedelta(minutes=rng.randrange(0, 90))).isoformat(sep=" "),
                        source_file=f"dt={occurred.date()}/part-0.jsonl",
                        line=n,
                    )
                )
    return rows


EVENTS = _edge_events() + _generated_events()


# -- Arrow tables for Warehouse.bulk_insert -----------------------------------------
def crm_arrow(table: str, rows: list[dict[str, Any]] | None = None) -> pa.Table:
    """Raw CRM rows (``crm_row``; default: the hand-made ones) as the loader lands them."""
    rows = CRM_ROWS[table] if rows is None else rows
    cols = list(CRM_TABLES[table])
    arrays = {c: pa.array([r[c] for r in rows], pa.string()) for c in cols}
    arrays["_batch_id"] = pa.array([r["_batch_id"] for r in rows], pa.string())
    arrays["_loaded_at"] = pa.array([r["_loaded_at"] for r in rows], pa.timestamp("us"))
    return pa.table(arrays)


def events_arrow(rows: list[dict[str, Any]] | None = None) -> pa.Table:
    """Event rows (``_event``; default: the hand-made ones) as the loader lands them."""
    rows = EVENTS if rows is None else rows
    types = {
        "occurred_at": pa.timestamp("us"),
        "received_at": pa.timestamp("us"),
        "_loaded_at": pa.timestamp("us"),
        "_partition_date": pa.date32(),
        "_line_number": pa.int32(),
    }
    cols = list(rows[0])
    return pa.table({c: pa.array([e[c] for e in rows], types.get(c, pa.string())) for c in cols})


def load_raw(target: WarehouseTarget) -> None:
    """Create the landing schema and bulk-load every hand-made row."""
    with Warehouse(target) as wh:
        ensure_schemas(wh)
        for table in CRM_TABLES:
            wh.bulk_insert(f"raw.crm__{table}", crm_arrow(table))
        wh.bulk_insert("raw.events__events", events_arrow())


def read_table(target: WarehouseTarget, relation: str, order_by: str) -> pd.DataFrame:
    with Warehouse(target) as wh:
        return wh.fetch_df(f"select * from {relation} order by {order_by}")


@dataclass(frozen=True)
class BuiltWarehouse:
    """A warehouse built for AS_OF twice (first build, then the incremental rerun)."""

    target: WarehouseTarget
    first: DbtRunSummary
    rerun: DbtRunSummary
    mart_after_first: pd.DataFrame
    artifacts: Path


def _build_twice(target: WarehouseTarget, artifacts: Path) -> BuiltWarehouse:
    load_raw(target)
    paths = {"target_path": artifacts / "target", "log_path": artifacts / "logs"}
    first = build(AS_OF, target, select=SELECT, **paths)
    mart = read_table(target, "marts.active_users_daily", "activity_date")
    rerun = build(AS_OF, target, select=SELECT, **paths)
    return BuiltWarehouse(target, first, rerun, mart, artifacts)


@pytest.fixture(scope="session")
def built_duckdb(tmp_path_factory: pytest.TempPathFactory) -> BuiltWarehouse:
    base = tmp_path_factory.mktemp("dbt_duckdb")
    target = WarehouseTarget(kind="duckdb", duckdb_path=base / "warehouse.duckdb")
    return _build_twice(target, base)


@pytest.fixture(scope="session")
def built_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltWarehouse]:
    require_postgres()
    target = make_pg_database("userops_dbt_test")
    try:
        yield _build_twice(target, tmp_path_factory.mktemp("dbt_postgres"))
    finally:
        drop_pg_database(target)


@pytest.fixture(scope="session")
def built_spark(tmp_path_factory: pytest.TempPathFactory) -> BuiltWarehouse:
    base = tmp_path_factory.mktemp("dbt_spark")
    return _build_twice(WarehouseTarget(kind="spark", spark_dir=base / "spark"), base)


@pytest.fixture(params=["duckdb", "postgres", pytest.param("spark", marks=pytest.mark.spark)])
def built(request: pytest.FixtureRequest) -> BuiltWarehouse:
    """The built warehouse, once per engine."""
    return request.getfixturevalue(f"built_{request.param}")


@pytest.fixture(scope="session")
def raw_events() -> pd.DataFrame:
    """The hand-made event rows as landed (before staging)."""
    return pd.DataFrame(EVENTS)


@pytest.fixture(scope="session")
def as_of() -> BusinessDay:
    return AS_OF
