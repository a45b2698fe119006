"""CRM extract/load on both warehouses, from a SQLite and a PostgreSQL CRM."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from loadtest_sources import (
    D1,
    D2,
    D3,
    CrmSource,
    contract,
    crm_snapshot,
    followup,
    lead,
    query,
    rep,
)

from userops.config import WarehouseTarget
from userops.extract.crm import text_array, value_to_text
from userops.load.crm import load_crm
from userops.load.schema import CRM_TABLES
from userops.windows import BusinessDay


def day(d) -> BusinessDay:
    return BusinessDay(d, "Asia/Shanghai")


def utc(*args: int) -> datetime:
    return datetime(*args)  # naive = UTC, as the CRM contract says


def by_table(results) -> dict:
    return {r.source.removeprefix("crm."): r for r in results}


def watermark(target: WarehouseTarget, source: str) -> str | None:
    rows = query(target, f"select high_watermark from meta.watermarks where source = '{source}'")
    return rows[0][0] if rows else None


def seed_d1(src: CrmSource) -> None:
    """Rows around the end of D1 (2026-03-01 16:00 UTC)."""
    src.put(
        "leads",
        [
            lead("L1", utc(2026, 3, 1, 8, 0)),
            lead("L2", utc(2026, 3, 1, 15, 0), company_size=None, email=None),
            lead("L3", utc(2026, 3, 2, 10, 0)),  # after the end of D1
        ],
    )
    src.put("sales_reps", [rep("r1", utc(2026, 2, 20, 1, 0))])
    src.put("contracts", [contract("C1", utc(2026, 3, 1, 12, 0, 0))])
    src.put(
        "followups",
        [
            followup("F1", "2026-03-01T15:30:00Z"),  # text stamps of several shapes
            followup("F2", "2026-03-01 23:30:00+08:00"),  # = 15:30 UTC, in D1
            followup("F3", "2026-03-02T00:30:00+08:00"),  # = 16:30 UTC, after D1
            followup("F4", "2026-03-01 16:00:00"),  # exactly the end: excluded
        ],
    )


def change_for_d2(src: CrmSource) -> None:
    """An update, a new row and a late-committed row inside the overlap."""
    src.put(
        "leads",
        [
            lead("L1", utc(2026, 3, 2, 9, 0), status="contacted"),  # new version of L1
            lead("L4", utc(2026, 3, 2, 11, 0)),  # new lead
            lead("L5", utc(2026, 3, 1, 14, 30)),  # committed late, before the watermark
        ],
    )


def test_initial_load_takes_everything_before_the_end_of_the_day(
    any_target: WarehouseTarget, sqlite_crm: CrmSource
) -> None:
    seed_d1(sqlite_crm)
    results = by_table(load_crm(sqlite_crm.url, any_target, day(D1)))

    assert set(results) == set(CRM_TABLES)
    leads = results["leads"]
    assert (leads.rows_read, leads.rows_loaded, leads.detail["mode"]) == (2, 2, "full")
    assert leads.batch_id == "crm.leads:2026-03-01"
    assert leads.window_start is None and leads.window_end == "2026-03-01 16:00:00"
    assert [r[0] for r in crm_snapshot(any_target, "leads")] == ["L1", "L2"]
    assert sorted(r[0] for r in crm_snapshot(any_target, "followups")) == ["F1", "F2"]
    assert json.loads(json.dumps(leads.to_dict()))["rows_loaded"] == 2

    # Every value is text exactly as the source driver returned it.
    cols = CRM_TABLES["leads"]
    l2 = dict(zip(cols, crm_snapshot(any_target, "leads")[1], strict=False))
    assert l2["company_name"] == "  上海 ACME  Trading Co., Ltd "
    assert l2["contact_name"] == 'Wang "Boss"\nWu'
    assert l2["phone"] == "+86 138-0013-8000"
    assert l2["city"] == ""  # empty string stays empty, not NULL
    assert l2["email"] is None and l2["company_size"] is None and l2["user_id"] is None
    assert l2["is_deleted"] == "0"  # SQLite stores booleans as 0/1
    assert l2["updated_at"] == "2026-03-01 15:00:00.000000"  # SQLAlchemy's SQLite text form
    f1 = crm_snapshot(any_target, "followups")[0]
    assert f1[CRM_TABLES["followups"].index("updated_at")] == "2026-03-01T15:30:00Z"

    assert watermark(any_target, "crm.leads") == "2026-03-01 15:00:00.000000"
    assert watermark(any_target, "crm.followups") == "2026-03-01 15:30:00.000000"
    batches = query(
        any_target,
        "select batch_id, rows_read, rows_loaded, rows_quarantined from meta.load_batches "
        "order by batch_id",
    )
    assert ("crm.leads:2026-03-01", 2, 2, 0) in batches and len(batches) == 4


def test_watermark_loads_only_changes_and_overlap_does_not_duplicate(
    any_target: WarehouseTarget, sqlite_crm: CrmSource
) -> None:
    seed_d1(sqlite_crm)
    load_crm(sqlite_crm.url, any_target, day(D1), overlap_minutes=60)
    change_for_d2(sqlite_crm)

    leads = by_table(load_crm(sqlite_crm.url, any_target, day(D2), overlap_minutes=60))["leads"]

    # Window [15:00 - 60 min, end of D2): L2 (overlap re-read), L5 (late), L1 v2, L3, L4.
    assert leads.detail["mode"] == "incremental"
    assert leads.window_start == "2026-03-01 14:00:00"
    assert leads.rows_read == 5
    rows = crm_snapshot(any_target, "leads")
    versions = [(r[0], r[CRM_TABLES["leads"].index("updated_at")]) for r in rows]
    assert len(versions) == len(set(versions)) == 6  # L1 twice (two versions), no duplicates
    assert sorted(k for k, _ in versions) == ["L1", "L1", "L2", "L3", "L4", "L5"]
    assert watermark(any_target, "crm.leads") == "2026-03-02 11:00:00.000000"

    # Nothing changed since: the next day re-reads only the overlap.
    again = by_table(load_crm(sqlite_crm.url, any_target, day(D3), overlap_minutes=60))["leads"]
    assert again.rows_read == 2  # L3 at 10:00 (the bound is inclusive) and L4 at 11:00
    assert len(crm_snapshot(any_target, "leads")) == 6


def test_backfill_of_an_earlier_date_never_pulls_its_future(
    any_target: WarehouseTarget, sqlite_crm: CrmSource
) -> None:
    seed_d1(sqlite_crm)
    change_for_d2(sqlite_crm)  # the source already holds D2's changes

    load_crm(sqlite_crm.url, any_target, day(D1))
    stamps = [r[CRM_TABLES["leads"].index("updated_at")] for r in crm_snapshot(any_target, "leads")]
    assert sorted(stamps) == ["2026-03-01 14:30:00.000000", "2026-03-01 15:00:00.000000"]

    load_crm(sqlite_crm.url, any_target, day(D2))
    after_d2 = {t: crm_snapshot(any_target, t) for t in CRM_TABLES}
    wm = watermark(any_target, "crm.leads")

    # Re-running the earlier date afterwards pulls nothing new and keeps the watermark.
    leads = by_table(load_crm(sqlite_crm.url, any_target, day(D1)))["leads"]
    assert leads.rows_read == 0  # [watermark - overlap, end of D1) is empty
    assert watermark(any_target, "crm.leads") == wm
    assert crm_snapshot(any_target, "leads") == after_d2["leads"]
    # Quiet tables re-read their overlap (taking this run's batch id); the data is unchanged.
    for t in CRM_TABLES:
        assert [r[:-1] for r in crm_snapshot(any_target, t)] == [r[:-1] for r in after_d2[t]]


def test_three_reruns_of_a_date_leave_identical_raw_tables(
    any_target: WarehouseTarget, sqlite_crm: CrmSource
) -> None:
    seed_d1(sqlite_crm)
    load_crm(sqlite_crm.url, any_target, day(D1))
    change_for_d2(sqlite_crm)

    snaps = []
    for _ in range(3):
        load_crm(sqlite_crm.url, any_target, day(D2))
        snaps.append({t: crm_snapshot(any_target, t) for t in CRM_TABLES})
    assert snaps[0] == snaps[1] == snaps[2]
    assert sum(len(v) for v in snaps[0].values()) > 0
    batches = query(
        any_target, "select batch_id, count(*) from meta.load_batches group by batch_id"
    )
    assert len(batches) == 8 and all(n == 1 for _, n in batches)  # 4 tables x 2 dates


def test_full_reload_keeps_watermark_moving_forward_only(
    any_target: WarehouseTarget, sqlite_crm: CrmSource
) -> None:
    seed_d1(sqlite_crm)
    change_for_d2(sqlite_crm)
    load_crm(sqlite_crm.url, any_target, day(D2), tables=["leads"])
    before = crm_snapshot(any_target, "leads")

    result = load_crm(sqlite_crm.url, any_target, day(D1), tables=["leads"], full=True)[0]

    assert result.detail["mode"] == "full" and result.rows_read == 2  # L2, L5 (< end of D1)
    assert watermark(any_target, "crm.leads") == "2026-03-02 11:00:00.000000"
    assert len(crm_snapshot(any_target, "leads")) == len(before)


def test_postgres_crm_source_values_as_canonical_text(
    any_target: WarehouseTarget, pg_crm: CrmSource
) -> None:
    cst = timezone(timedelta(hours=8))
    pg_crm.put(
        "contracts",
        [
            # timestamptz given in +08:00 -> 2026-03-01 15:59:59.5 UTC, inside D1
            contract("C1", datetime(2026, 3, 1, 23, 59, 59, 500000, tzinfo=cst)),
            # 2026-03-02 00:00 +08:00 = 16:00 UTC: exactly the end, excluded
            contract("C2", datetime(2026, 3, 2, 0, 0, tzinfo=cst)),
        ],
    )
    pg_crm.put("leads", [lead("L1", datetime(2026, 3, 1, 8, 0), is_deleted=True)])

    results = by_table(load_crm(pg_crm.url, any_target, day(D1)))

    assert results["contracts"].rows_read == 1
    c1 = dict(zip(CRM_TABLES["contracts"], crm_snapshot(any_target, "contracts")[0], strict=False))
    assert c1["amount"] == "19800.50"
    assert c1["updated_at"] == "2026-03-01 15:59:59.500000"
    assert c1["signed_at"] == "2026-02-27 03:00:00"  # timestamptz, read in UTC
    assert l1_created_at(any_target) == "2026-02-01 08:00:00"  # timestamp (naive = UTC)
    assert c1["ends_at"] is None
    l1 = dict(zip(CRM_TABLES["leads"], crm_snapshot(any_target, "leads")[0], strict=False))
    assert (l1["is_deleted"], l1["company_size"]) == ("true", "120")
    assert l1["contact_name"] == 'Wang "Boss"\nWu'
    assert watermark(any_target, "crm.contracts") == "2026-03-01 15:59:59.500000"

    # Incremental from PostgreSQL too: the next day picks up C2 only (+ overlap re-read of C1).
    nxt = by_table(load_crm(pg_crm.url, any_target, day(D2), tables=["contracts"]))
    assert nxt["contracts"].rows_read == 2
    assert len(crm_snapshot(any_target, "contracts")) == 2


def l1_created_at(target: WarehouseTarget) -> str:
    return query(target, "select created_at from raw.crm__leads where lead_id = 'L1'")[0][0]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        ("  as is ", "  as is "),
        (True, "true"),
        (0, "0"),
        (Decimal("1E+2"), "100"),
        (Decimal("19800.50"), "19800.50"),
        (1.5, "1.5"),
        (datetime(2026, 3, 1, 8, 0), "2026-03-01 08:00:00"),
        (datetime(2026, 3, 1, 8, 0, 0, 1500), "2026-03-01 08:00:00.001500"),
        (datetime(2026, 3, 1, 8, 0, tzinfo=timezone(timedelta(hours=8))), "2026-03-01 00:00:00"),
        (datetime(2026, 3, 1).date(), "2026-03-01"),
    ],
)
def test_value_to_text(value, text) -> None:
    assert value_to_text(value) == text


def test_text_array_replaces_nul_only() -> None:
    assert text_array(["a\x00b", None, 3]).to_pylist() == ["a\ufffdb", None, "3"]
