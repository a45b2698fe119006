"""Batch bookkeeping in ``meta``: batch ids, watermarks and the load log.

A batch id is a pure function of (source, business date), so rerunning a date
rewrites the same rows with the same ``_batch_id`` and replaces its own
``meta.load_batches`` row instead of piling up a new one: a rerun leaves the
warehouse as it was (apart from ``_loaded_at`` and the run times).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa

from userops.warehouse import Warehouse

#: Text format of watermarks in ``meta.watermarks.high_watermark`` (UTC, naive).
WATERMARK_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

#: Lists longer than this are cut in :meth:`BatchResult.to_dict` to keep XComs small.
MAX_LISTED = 50


class LoadIntegrityError(RuntimeError):
    """Rows went missing between reading and loading; the batch was rolled back."""


def utc_now() -> datetime:
    """Naive UTC wall-clock time, for ``_loaded_at`` and run bookkeeping only."""
    return datetime.now(UTC).replace(tzinfo=None)


#: Transaction-scoped PostgreSQL advisory lock taken by every load (any key will do).
LOAD_LOCK_KEY = 7_200_301


def next_load_time(wh: Warehouse) -> datetime:
    """``_loaded_at`` for a batch, inside its load transaction: later than any batch before.

    Incremental staging picks up raw rows loaded after the newest row it staged, so
    load times must increase in commit order.  On PostgreSQL loads take a
    transaction-scoped advisory lock first (loads of one warehouse commit one at a
    time, in the order of their load times); DuckDB's writer lock does the same.
    The clock may step back (NTP): the time is at least 1 µs after every batch
    recorded.
    """
    if wh.kind == "postgres":
        wh.execute(f"select pg_advisory_xact_lock({LOAD_LOCK_KEY})")
    now = utc_now()
    rows = wh.fetchall("select max(finished_at) from meta.load_batches")
    last = rows[0][0] if rows else None
    if last is not None and not isinstance(last, datetime):
        last = datetime.fromisoformat(str(last))
    return max(now, last + timedelta(microseconds=1)) if last is not None else now


def make_batch_id(source: str, business_date: date) -> str:
    """Deterministic batch id, e.g. ``crm.leads:2026-03-01``."""
    return f"{source}:{business_date.isoformat()}"


def with_load_columns(table: pa.Table, batch_id: str, loaded_at: datetime) -> pa.Table:
    """Append ``_batch_id`` and ``_loaded_at`` (constant per batch) to an Arrow chunk."""
    n = table.num_rows
    table = table.append_column("_batch_id", pa.repeat(pa.scalar(batch_id, pa.string()), n))
    return table.append_column("_loaded_at", pa.repeat(pa.scalar(loaded_at, pa.timestamp("us")), n))


@dataclass
class BatchResult:
    """Outcome of loading one source for one business day (JSON-friendly via ``to_dict``)."""

    batch_id: str
    source: str
    business_date: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    window_start: str | None = None
    window_end: str | None = None
    partitions: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    seconds: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types; long file lists are cut (the count stays exact)."""
        out = asdict(self)
        out["file_count"] = len(self.files)
        if len(self.files) > MAX_LISTED:
            out["files"] = [*self.files[:MAX_LISTED], f"... {len(self.files) - MAX_LISTED} more"]
        out["seconds"] = round(self.seconds, 3)
        return out


def read_watermark(wh: Warehouse, source: str) -> datetime | None:
    rows = wh.fetchall(
        f"select high_watermark from meta.watermarks where source = {wh.param}", [source]
    )
    if not rows or rows[0][0] is None:
        return None
    return datetime.strptime(rows[0][0], WATERMARK_FORMAT)


def advance_watermark(
    wh: Warehouse, source: str, candidate: datetime | None, batch_id: str
) -> None:
    """Move the watermark to ``candidate`` if that is later; it never moves back.

    A backfill of an earlier date therefore cannot make the next nightly run
    re-read (or skip) anything.
    """
    if candidate is None:
        return
    current = read_watermark(wh, source)
    if current is not None and current >= candidate:
        return
    p = wh.param
    wh.execute(f"delete from meta.watermarks where source = {p}", [source])
    wh.execute(
        "insert into meta.watermarks (source, high_watermark, batch_id, updated_at) "
        f"values ({p}, {p}, {p}, {p})",
        [source, candidate.strftime(WATERMARK_FORMAT), batch_id, utc_now()],
    )


def has_batches(wh: Warehouse, source: str) -> bool:
    rows = wh.fetchall(
        f"select count(*) from meta.load_batches where source = {wh.param}", [source]
    )
    return rows[0][0] > 0


def _ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def record_batch(wh: Warehouse, result: BatchResult, started_at: datetime) -> None:
    """Replace the ``meta.load_batches`` row of ``result.batch_id`` (one row per batch)."""
    p = wh.param
    detail = {**result.detail, "partitions": result.partitions, "file_count": len(result.files)}
    wh.execute(f"delete from meta.load_batches where batch_id = {p}", [result.batch_id])
    wh.execute(
        "insert into meta.load_batches (batch_id, source, business_date, window_start, "
        "window_end, rows_read, rows_loaded, rows_quarantined, started_at, finished_at, "
        f"detail) values ({', '.join([p] * 11)})",
        [
            result.batch_id,
            result.source,
            date.fromisoformat(result.business_date),
            _ts(result.window_start),
            _ts(result.window_end),
            result.rows_read,
            result.rows_loaded,
            result.rows_quarantined,
            started_at,
            utc_now(),
            json.dumps(detail, sort_keys=True, default=str),
        ],
    )
