"""Tiny hand-made sources for the load tests (independent of the sample generator).

``CrmSource`` is a real SQL database holding the SPEC 1.1 tables (SQLite file or a
throwaway PostgreSQL database); like an OLTP CRM it keeps only the latest version
of each row, so "updating" a row replaces it.  ``write_partition`` writes real
JSONL (optionally gzipped) files in the ``dt=YYYY-MM-DD`` layout.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from userops.config import WarehouseTarget
from userops.load.schema import CRM_KEYS, CRM_TABLES, EVENT_COLUMNS
from userops.warehouse import Warehouse

# Business days used throughout (Asia/Shanghai): D1 ends 2026-03-01 16:00 UTC.
D1 = date(2026, 3, 1)
D2 = date(2026, 3, 2)
D3 = date(2026, 3, 3)


def _column_type(name: str, text_timestamps: bool, tz_aware: bool) -> sa.types.TypeEngine[Any]:
    if name.endswith("_at"):
        return sa.String() if text_timestamps else sa.DateTime(timezone=tz_aware)
    if name.startswith("is_"):
        return sa.Boolean()
    if name in {"company_size", "daily_capacity"}:
        return sa.Integer()
    if name == "amount":
        return sa.Numeric(18, 2)
    return sa.String()


class CrmSource:
    """A CRM database with the SPEC columns; ``put`` inserts or replaces rows by key."""

    def __init__(
        self, url: str, *, text_timestamps: Sequence[str] = (), tz_aware: Sequence[str] = ()
    ):
        """``text_timestamps``/``tz_aware``: tables whose ``*_at`` are text / ``timestamptz``."""
        self.url = url
        self.tz_aware = tuple(tz_aware)
        self.engine = sa.create_engine(url)
        self.meta = sa.MetaData()
        self.tables = {
            name: sa.Table(
                name,
                self.meta,
                *(
                    sa.Column(c, _column_type(c, name in text_timestamps, name in self.tz_aware))
                    for c in cols
                ),
            )
            for name, cols in CRM_TABLES.items()
        }
        self.meta.create_all(self.engine)

    def put(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        t = self.tables[table]
        key = CRM_KEYS[table]
        with self.engine.begin() as conn:
            conn.execute(t.delete().where(t.c[key].in_([r[key] for r in rows])))
            conn.execute(t.insert(), [self._row(table, r) for r in rows])

    def _row(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        """Naive datetimes are UTC; make that explicit for ``timestamptz`` columns."""
        out = {c: row.get(c) for c in CRM_TABLES[table]}
        if table in self.tz_aware:
            for c, v in out.items():
                if isinstance(v, datetime) and v.tzinfo is None:
                    out[c] = v.replace(tzinfo=UTC)
        return out

    def dispose(self) -> None:
        self.engine.dispose()


def lead(lead_id: str, updated_at: datetime | str, **over: Any) -> dict[str, Any]:
    """A lead with dirty-but-typical text; ``over`` overrides columns."""
    row: dict[str, Any] = {
        "lead_id": lead_id,
        "company_name": "  上海 ACME  Trading Co., Ltd ",
        "contact_name": 'Wang "Boss"\nWu',
        "phone": "+86 138-0013-8000",
        "email": " Foo@Bar.COM ",
        "industry": "Manufacturing",
        "company_size": 120,
        "province": "上海",
        "city": "",
        "source_channel": " SEM",
        "user_id": None,
        "status": "new",
        "owner_rep_id": "r1",
        "created_at": datetime(2026, 2, 1, 8, 0, 0),
        "updated_at": updated_at,
        "is_deleted": False,
    }
    row.update(over)
    return row


def rep(rep_id: str, updated_at: datetime | str, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "rep_id": rep_id,
        "name": " 张三 ",
        "email": "zhang@corp.cn",
        "team": "East",
        "region": "sh",
        "hired_at": datetime(2024, 5, 6, 0, 0, 0),
        "is_active": True,
        "daily_capacity": 20,
        "updated_at": updated_at,
    }
    row.update(over)
    return row


def contract(contract_id: str, updated_at: datetime | str, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "contract_id": contract_id,
        "lead_id": "L1",
        "user_id": "u1",
        "plan": "Pro",
        "amount": Decimal("19800.50"),
        "signed_at": datetime(2026, 2, 27, 3, 0, 0),
        "starts_at": datetime(2026, 3, 1, 0, 0, 0),
        "ends_at": None,
        "status": "active",
        "updated_at": updated_at,
    }
    row.update(over)
    return row


def followup(followup_id: str, updated_at: datetime | str, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "followup_id": followup_id,
        "lead_id": "L1",
        "rep_id": "r1",
        "channel": "phone",
        "outcome": "callback",
        "note": "回电, later",
        "next_followup_at": None,
        "occurred_at": datetime(2026, 2, 28, 2, 0, 0),
        "updated_at": updated_at,
    }
    row.update(over)
    return row


def write_partition(
    root: Path, day: date, name: str, lines: Sequence[str | bytes], *, gz: bool = False
) -> Path:
    """Write ``root/dt=<day>/<name>`` with one line per item (``\\n``-terminated)."""
    folder = root / f"dt={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    data = b"".join((x if isinstance(x, bytes) else x.encode("utf-8")) + b"\n" for x in lines)
    path = folder / name
    if gz:
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def _sortable(row: tuple) -> tuple:
    return tuple((v is None, str(v)) for v in row)


def snapshot(target: WarehouseTarget, table: str, columns: Sequence[str]) -> list[tuple]:
    """All rows of ``table`` (given columns, JSON as text), sorted: for exact comparisons."""
    cols = ", ".join(
        f"cast({c} as varchar) as {c}" if c == "properties" else f'"{c}"' for c in columns
    )
    with Warehouse(target) as wh:
        rows = wh.fetchall(f"select {cols} from {table}")
    return sorted((tuple(r) for r in rows), key=_sortable)


def crm_snapshot(target: WarehouseTarget, table: str) -> list[tuple]:
    """Raw CRM rows, every column except ``_loaded_at``."""
    return snapshot(target, f"raw.crm__{table}", [*CRM_TABLES[table], "_batch_id"])


EVENT_SNAPSHOT_COLUMNS = [c for c, _ in EVENT_COLUMNS if c != "_loaded_at"]
QUARANTINE_SNAPSHOT_COLUMNS = [
    "source",
    "reason",
    "raw_text",
    "_partition_date",
    "_source_file",
    "_line_number",
    "_batch_id",
]


def events_snapshot(
    target: WarehouseTarget, with_batch: bool = True
) -> tuple[list[tuple], list[tuple]]:
    """Both event tables; ``with_batch=False`` leaves out ``_batch_id`` (which run loaded
    a row is bookkeeping: a full reload re-tags rows without changing them)."""
    keep = (lambda c: True) if with_batch else (lambda c: c != "_batch_id")
    return (
        snapshot(target, "raw.events__events", [c for c in EVENT_SNAPSHOT_COLUMNS if keep(c)]),
        snapshot(
            target, "raw.events__quarantine", [c for c in QUARANTINE_SNAPSHOT_COLUMNS if keep(c)]
        ),
    )


def query(target: WarehouseTarget, sql: str) -> list[tuple]:
    with Warehouse(target) as wh:
        return [tuple(r) for r in wh.fetchall(sql)]
