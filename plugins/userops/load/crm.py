"""Incremental CRM load: ``raw.crm__<table>``, one batch per table and business day.

Window per table: ``[watermark - overlap, end of the business day)`` in UTC.

- No watermark yet (empty warehouse) or ``full=True``: everything before the end
  of the day — the initial load.
- The upper bound is the end of the business day, never ``now()``, so a
  backfill of a past date cannot pull rows from its future.
- The watermark is the largest ``updated_at`` loaded and only moves forward.
- The overlap re-reads rows committed late with an earlier ``updated_at``; the
  re-read versions replace themselves, so nothing is duplicated.

Idempotency: in ONE transaction the batch is staged in a temp table, raw rows
with the same (key, ``updated_at``) are deleted, the batch is inserted, the
batch is recorded in ``meta.load_batches`` and the watermark advances.  Older
versions of a key stay (raw keeps history; staging picks the latest version as
of the day).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from userops.config import WarehouseTarget
from userops.extract.crm import (
    ExtractWindow,
    count_without_updated_at,
    create_source_engine,
    extract_table,
)
from userops.faults import checkpoint
from userops.load.batches import (
    BatchResult,
    LoadIntegrityError,
    advance_watermark,
    make_batch_id,
    next_load_time,
    read_watermark,
    record_batch,
    utc_now,
    with_load_columns,
)
from userops.load.schema import CRM_KEYS, CRM_TABLES, ensure_schemas
from userops.warehouse import Warehouse
from userops.windows import BusinessDay

if TYPE_CHECKING:
    import sqlalchemy as sa

_STAGE = "_userops_crm_batch"


def crm_source(table: str) -> str:
    """Source name of a CRM table in ``meta`` (``crm.leads``)."""
    return f"crm.{table}"


def crm_window(
    day: BusinessDay, watermark: datetime | None, overlap_minutes: int, full: bool
) -> ExtractWindow:
    """The extraction window of one table for ``day`` (naive UTC bounds)."""
    upper = day.end_utc.replace(tzinfo=None)
    if full or watermark is None:
        return ExtractWindow(lower=None, upper=upper)
    return ExtractWindow(lower=watermark - timedelta(minutes=overlap_minutes), upper=upper)


def load_crm(
    crm_url: str,
    target: WarehouseTarget,
    day: BusinessDay,
    *,
    full: bool = False,
    overlap_minutes: int = 60,
    tables: Sequence[str] | None = None,
    schema: str | None = None,
    chunk_rows: int = 50_000,
) -> list[BatchResult]:
    """Load the CRM tables (default: all four of SPEC 1.1) for business day ``day``.

    ``crm_url`` is any SQLAlchemy URL; ``schema`` names the source schema when the
    tables are not in the connection's default one.
    """
    engine = create_source_engine(crm_url)
    try:
        with Warehouse(target) as wh:
            ensure_schemas(wh)
            return [
                _load_table(
                    engine,
                    wh,
                    table,
                    day,
                    full=full,
                    overlap_minutes=overlap_minutes,
                    schema=schema,
                    chunk_rows=chunk_rows,
                )
                for table in (tables or list(CRM_TABLES))
            ]
    finally:
        engine.dispose()


def _load_table(
    engine: sa.Engine,
    wh: Warehouse,
    table: str,
    day: BusinessDay,
    *,
    full: bool,
    overlap_minutes: int,
    schema: str | None,
    chunk_rows: int,
) -> BatchResult:
    if table not in CRM_TABLES:
        raise ValueError(f"unknown CRM table {table!r}; expected one of {sorted(CRM_TABLES)}")
    t0 = time.perf_counter()
    started_at = utc_now()
    source = crm_source(table)
    batch_id = make_batch_id(source, day.day)
    watermark = read_watermark(wh, source)
    window = crm_window(day, watermark, overlap_minutes, full)
    columns = CRM_TABLES[table]
    key = CRM_KEYS[table]
    raw = f"raw.crm__{table}"

    rows_read = 0
    max_updated_at: datetime | None = None
    with wh.transaction():
        loaded_at = next_load_time(wh)
        wh.execute(f"drop table if exists {_STAGE}")
        wh.execute(f"create temp table {_STAGE} as select * from {raw} where 1 = 0")
        for chunk in extract_table(
            engine, table, columns, window, schema=schema, chunk_rows=chunk_rows
        ):
            rows_read += wh.bulk_insert(_STAGE, with_load_columns(chunk.table, batch_id, loaded_at))
            if chunk.max_updated_at is not None and (
                max_updated_at is None or chunk.max_updated_at > max_updated_at
            ):
                max_updated_at = chunk.max_updated_at
        staged = wh.fetchall(f"select count(*) from {_STAGE}")[0][0]
        if staged != rows_read:
            raise LoadIntegrityError(f"{source}: read {rows_read} rows but staged {staged}")
        if rows_read:
            if wh.kind == "postgres":
                wh.execute(f"analyze {_STAGE}")
            # coalesce: a (dirty) NULL key still matches its own earlier copy on rerun.
            wh.execute(
                f"delete from {raw} as r using {_STAGE} as t where coalesce(r.\"{key}\", '') = "
                f'coalesce(t."{key}", \'\') and r."updated_at" = t."updated_at"'
            )
            wh.execute(f"insert into {raw} select * from {_STAGE}")
            checkpoint("load_crm.in_transaction")
        wh.execute(f"drop table {_STAGE}")
        result = BatchResult(
            batch_id=batch_id,
            source=source,
            business_date=day.day.isoformat(),
            rows_read=rows_read,
            rows_loaded=rows_read,
            window_start=window.lower.isoformat(sep=" ") if window.lower else None,
            window_end=window.upper.isoformat(sep=" "),
            detail={
                "mode": "full" if window.lower is None else "incremental",
                "previous_watermark": watermark.isoformat(sep=" ") if watermark else None,
                "max_updated_at": max_updated_at.isoformat(sep=" ") if max_updated_at else None,
                "rows_without_updated_at": count_without_updated_at(engine, table, schema=schema),
            },
        )
        result.seconds = time.perf_counter() - t0
        record_batch(wh, result, started_at)
        advance_watermark(wh, source, max_updated_at, batch_id)
    return result
