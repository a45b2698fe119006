"""Event load: partitions -> ``raw.events__events`` + ``raw.events__quarantine``.

Which partitions a run loads:

- normally the UTC ``dt=`` partitions that can hold events received during the
  business day (:attr:`BusinessDay.received_partitions`), plus every earlier
  partition the source has and the warehouse has never loaded (skipped nights,
  an outage): the next run fills the gap instead of losing it;
- on the first run against an empty warehouse (no event rows and no event batch
  recorded) or with ``full=True``: every partition up to the last of those, so
  onboarding years of history is one run.

Idempotency: in ONE transaction the good and quarantined rows of the partitions
being loaded are deleted, the new ones inserted, the counts checked against the
warehouse (read = loaded + quarantined, else :class:`LoadIntegrityError` and a
rollback) and the batch recorded.  A partition the source does not have is
reported and left alone, so a late or missing folder never wipes landed data.
Duplicate deliveries stay in raw; staging de-duplicates on ``event_id``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import pyarrow.compute as pc
from fsspec.core import url_to_fs

from userops.config import WarehouseTarget
from userops.extract.events import iter_chunks, list_files, list_partitions
from userops.faults import checkpoint
from userops.load.batches import (
    BatchResult,
    LoadIntegrityError,
    has_batches,
    make_batch_id,
    record_batch,
    utc_now,
    with_load_columns,
)
from userops.load.schema import ensure_schemas
from userops.warehouse import Warehouse
from userops.windows import BusinessDay

EVENTS_SOURCE = "events"
EVENTS_TABLE = "raw.events__events"
QUARANTINE_TABLE = "raw.events__quarantine"

#: Dates per ``in (...)`` list when deleting partitions (years of history in one run).
_DATES_PER_STATEMENT = 500
#: Distinct quarantine reasons listed in the batch detail.
_MAX_REASONS = 30


def _is_first_run(wh: Warehouse) -> bool:
    has_rows = bool(wh.fetchall(f"select 1 from {EVENTS_TABLE} limit 1"))
    return not has_rows and not has_batches(wh, EVENTS_SOURCE)


def _loaded_partitions(wh: Warehouse) -> set[date]:
    """Partitions that already landed (good or quarantined rows)."""
    rows = wh.fetchall(
        f"select distinct _partition_date from {EVENTS_TABLE} union "
        f"select distinct _partition_date from {QUARANTINE_TABLE} where source = {wh.param}",
        [EVENTS_SOURCE],
    )
    return {r[0] if isinstance(r[0], date) else date.fromisoformat(str(r[0])) for r in rows}


def _date_groups(dates: Sequence[date]) -> list[list[date]]:
    return [
        list(dates[i : i + _DATES_PER_STATEMENT])
        for i in range(0, len(dates), _DATES_PER_STATEMENT)
    ]


def _in_list(wh: Warehouse, n: int) -> str:
    return ", ".join([wh.param] * n)


def _delete_partitions(wh: Warehouse, dates: Sequence[date]) -> None:
    for group in _date_groups(dates):
        cond = f"_partition_date in ({_in_list(wh, len(group))})"
        wh.execute(f"delete from {EVENTS_TABLE} where {cond}", group)
        wh.execute(
            f"delete from {QUARANTINE_TABLE} where source = {wh.param} and {cond}",
            [EVENTS_SOURCE, *group],
        )


def _count_landed(wh: Warehouse, batch_id: str, dates: Sequence[date]) -> tuple[int, int]:
    """(good, quarantined) rows of this batch in these partitions, as the warehouse sees them."""
    good = bad = 0
    p = wh.param
    for group in _date_groups(dates):
        cond = f"_batch_id = {p} and _partition_date in ({_in_list(wh, len(group))})"
        good += wh.fetchall(
            f"select count(*) from {EVENTS_TABLE} where {cond}", [batch_id, *group]
        )[0][0]
        bad += wh.fetchall(
            f"select count(*) from {QUARANTINE_TABLE} where source = {p} and {cond}",
            [EVENTS_SOURCE, batch_id, *group],
        )[0][0]
    return good, bad


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


def load_events(
    events_url: str,
    target: WarehouseTarget,
    day: BusinessDay,
    *,
    full: bool = False,
    chunk_rows: int = 200_000,
) -> BatchResult:
    """Load the event partitions of business day ``day`` (or all history, see module doc).

    ``events_url`` is a local folder or any fsspec URL holding ``dt=YYYY-MM-DD`` folders.
    """
    t0 = time.perf_counter()
    started_at = utc_now()
    fs, root = url_to_fs(events_url)
    available = list_partitions(fs, root)
    last = day.received_partitions[-1]
    batch_id = make_batch_id(EVENTS_SOURCE, day.day)

    with Warehouse(target) as wh:
        ensure_schemas(wh)
        if full:
            mode = "full"
        elif _is_first_run(wh):
            mode = "initial"
        else:
            mode = "window"
        if mode != "window":
            wanted = sorted(d for d in available if d <= last)
        else:
            loaded = _loaded_partitions(wh)
            gap = {d for d in available if d < day.received_partitions[0] and d not in loaded}
            wanted = sorted(gap | set(day.received_partitions))
        present = {d: available[d] for d in wanted if d in available}
        missing = [d.isoformat() for d in wanted if d not in available]
        dates = sorted(present)
        files = list_files(fs, present)
        loaded_at = utc_now()

        rows_read = 0
        reasons: Counter[str] = Counter()
        with wh.transaction():
            _delete_partitions(wh, dates)
            for chunk in iter_chunks(fs, files, chunk_rows):
                wh.bulk_insert(EVENTS_TABLE, with_load_columns(chunk.events, batch_id, loaded_at))
                wh.bulk_insert(
                    QUARANTINE_TABLE, with_load_columns(chunk.quarantine, batch_id, loaded_at)
                )
                rows_read += chunk.rows_read
                if chunk.quarantine.num_rows:
                    for item in pc.value_counts(chunk.quarantine["reason"]).to_pylist():
                        reasons[item["values"]] += item["counts"]
            checkpoint("load_events.in_transaction")
            loaded, quarantined = _count_landed(wh, batch_id, dates)
            if rows_read != loaded + quarantined:
                raise LoadIntegrityError(
                    f"{batch_id}: read {rows_read} lines but the warehouse holds {loaded} events "
                    f"+ {quarantined} quarantined = {loaded + quarantined}; rolled back"
                )
            span = dates or day.received_partitions
            result = BatchResult(
                batch_id=batch_id,
                source=EVENTS_SOURCE,
                business_date=day.day.isoformat(),
                rows_read=rows_read,
                rows_loaded=loaded,
                rows_quarantined=quarantined,
                window_start=_midnight(span[0]).isoformat(sep=" "),
                window_end=_midnight(span[-1] + timedelta(days=1)).isoformat(sep=" "),
                partitions=[d.isoformat() for d in dates],
                files=[f.name for f in files],
                detail={
                    "mode": mode,
                    "gap_partitions": [
                        d.isoformat() for d in dates if d not in day.received_partitions
                    ]
                    if mode == "window"
                    else [],
                    "missing_partitions": missing,
                    "quarantine_reasons": dict(reasons.most_common(_MAX_REASONS)),
                },
            )
            result.seconds = time.perf_counter() - t0
            record_batch(wh, result, started_at)
    return result
