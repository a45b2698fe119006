"""Event load: partitions -> ``raw.events__events`` + ``raw.events__quarantine``.

Which partitions a run loads:

- normally the UTC ``dt=`` partitions that can hold events received during the
  business day (:attr:`BusinessDay.received_partitions`), plus every earlier
  partition the source has and the warehouse has never loaded (skipped nights,
  an outage): the next run fills the gap instead of losing it;
- on the first run against an empty warehouse (no event rows and no event batch
  recorded) or with ``full=True``: every partition up to the last of those, so
  onboarding years of history is one run.

Idempotency: partitions are loaded in groups of about ``commit_bytes`` of source
files (a night's two partitions are one group).  In ONE transaction per group the
good and quarantined rows of its partitions are deleted, the new ones inserted,
the counts checked against the warehouse (read = loaded + quarantined, else
:class:`LoadIntegrityError` and a rollback of the group) and the partitions
recorded in ``meta.event_partitions``; the last group's transaction also records
the batch.  So onboarding years of history holds one group in memory at a time,
and a run killed between groups leaves whole partitions behind: the rerun finds
the warehouse no longer empty and loads, as a gap, every partition not yet
recorded (a killed ``full`` reload is simply run again).  A partition the source
does not have is reported and left alone, so a late or missing folder never wipes
landed data.  Duplicate deliveries stay in raw; staging de-duplicates on
``event_id``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import pyarrow.compute as pc
from fsspec import AbstractFileSystem

from userops.config import WarehouseTarget
from userops.extract.events import (
    EventFile,
    events_filesystem,
    iter_chunks,
    list_files,
    list_partitions,
)
from userops.faults import checkpoint
from userops.load.batches import (
    BatchResult,
    LoadIntegrityError,
    has_batches,
    make_batch_id,
    next_load_time,
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
PARTITIONS_TABLE = "meta.event_partitions"

#: Dates per ``in (...)`` list when deleting partitions (years of history in one run).
_DATES_PER_STATEMENT = 500
#: Distinct quarantine reasons listed in the batch detail.
_MAX_REASONS = 30
#: Source bytes per load transaction (see the module doc).  DuckDB holds a
#: transaction's rows in memory until it commits, about 1.7x the JSON they came from.
COMMIT_BYTES = 512 * 2**20
#: A gzipped file holds about this many times its size in JSON.
_GZIP_RATIO = 8


def _is_first_run(wh: Warehouse) -> bool:
    has_rows = bool(wh.fetchall(f"select 1 from {EVENTS_TABLE} limit 1"))
    return not has_rows and not has_batches(wh, EVENTS_SOURCE)


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _loaded_partitions(wh: Warehouse) -> set[date]:
    """Partitions that already landed (good or quarantined rows), from ``meta.event_partitions``.

    A warehouse loaded before that table existed gets it filled from raw once.
    """
    rows = wh.fetchall(f"select partition_date from {PARTITIONS_TABLE}")
    if not rows and not _is_first_run(wh):
        with wh.transaction():
            wh.execute(
                f"insert into {PARTITIONS_TABLE} (partition_date, batch_id, rows_loaded, "
                "rows_quarantined, loaded_at) "
                "select _partition_date, max(_batch_id), sum(good), sum(bad), max(_loaded_at) "
                "from (select _partition_date, _batch_id, 1 as good, 0 as bad, _loaded_at "
                f"from {EVENTS_TABLE} union all select _partition_date, _batch_id, 0, 1, "
                f"_loaded_at from {QUARANTINE_TABLE} where source = {wh.param}) as landed "
                "group by _partition_date",
                [EVENTS_SOURCE],
            )
        rows = wh.fetchall(f"select partition_date from {PARTITIONS_TABLE}")
    return {_as_date(r[0]) for r in rows}


def _record_partitions(
    wh: Warehouse, batch_id: str, landed: dict[date, tuple[int, int]], loaded_at: datetime
) -> None:
    """Replace the ``meta.event_partitions`` rows of the landed partitions (same transaction)."""
    p = wh.param
    dates = sorted(landed)
    for group in _date_groups(dates):
        wh.execute(
            f"delete from {PARTITIONS_TABLE} where partition_date in ({_in_list(wh, len(group))})",
            group,
        )
        wh.execute(
            f"insert into {PARTITIONS_TABLE} (partition_date, batch_id, rows_loaded, "
            "rows_quarantined, loaded_at) values "
            + ", ".join(f"({p}, {p}, {p}, {p}, {p})" for _ in group),
            [v for d in group for v in (d, batch_id, *landed[d], loaded_at)],
        )


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


def _count_landed(
    wh: Warehouse, batch_id: str, dates: Sequence[date]
) -> dict[date, tuple[int, int]]:
    """Partition -> (good, quarantined) rows of this batch, as the warehouse sees them."""
    p = wh.param
    counts = {d: [0, 0] for d in dates}
    for group in _date_groups(dates):
        in_list = _in_list(wh, len(group))
        for slot, table, extra in (
            (0, EVENTS_TABLE, ""),
            (1, QUARANTINE_TABLE, f" and source = {p}"),
        ):
            rows = wh.fetchall(
                f"select _partition_date, count(*) from {table} where _batch_id = {p} "
                f"and _partition_date in ({in_list}){extra} group by _partition_date",
                [batch_id, *group, *([EVENTS_SOURCE] if extra else [])],
            )
            for d, n in rows:
                counts[_as_date(d)][slot] = n
    return {d: (good, bad) for d, (good, bad) in counts.items()}


def _window(span: Sequence[date]) -> dict[str, str]:
    """``window_start`` / ``window_end`` of a batch: midnight of its first partition to
    midnight after its last."""
    start, end = span[0], span[-1] + timedelta(days=1)
    return {
        "window_start": datetime(start.year, start.month, start.day).isoformat(sep=" "),
        "window_end": datetime(end.year, end.month, end.day).isoformat(sep=" "),
    }


def commit_groups(
    files: Sequence[EventFile], dates: Sequence[date], limit: int
) -> list[list[date]]:
    """``dates`` in order, cut into runs of partitions of at most ``limit`` source bytes
    (a partition larger than that is a group of its own); at least one group."""
    size = Counter[date]()
    for f in files:
        size[f.partition] += f.size * (_GZIP_RATIO if f.gzipped else 1)
    groups: list[list[date]] = [[]]
    total = 0
    for d in dates:
        if groups[-1] and total + size[d] > limit:
            groups.append([])
            total = 0
        groups[-1].append(d)
        total += size[d]
    return groups


def _group_load_time(wh: Warehouse) -> datetime:
    """``_loaded_at`` of one group: later than every batch and every group committed
    before (staging picks up rows loaded after the newest row it staged)."""
    after_batches = next_load_time(wh)
    rows = wh.fetchall(f"select max(loaded_at) from {PARTITIONS_TABLE}")
    last = rows[0][0] if rows else None
    if last is None:
        return after_batches
    if not isinstance(last, datetime):
        last = datetime.fromisoformat(str(last))
    return max(after_batches, last + timedelta(microseconds=1))


def _load_group(
    wh: Warehouse,
    fs: AbstractFileSystem,
    files: Sequence[EventFile],
    group: Sequence[date],
    batch_id: str,
    chunk_rows: int,
    reasons: Counter[str],
) -> tuple[int, int, int]:
    """Replace the rows of the partitions ``group`` by those of ``files``, inside the
    caller's transaction: (lines read, events loaded, lines quarantined)."""
    loaded_at = _group_load_time(wh)
    _delete_partitions(wh, group)
    read = 0
    for chunk in iter_chunks(fs, files, chunk_rows):
        wh.bulk_insert(EVENTS_TABLE, with_load_columns(chunk.events, batch_id, loaded_at))
        wh.bulk_insert(QUARANTINE_TABLE, with_load_columns(chunk.quarantine, batch_id, loaded_at))
        read += chunk.rows_read
        if chunk.quarantine.num_rows:
            for item in pc.value_counts(chunk.quarantine["reason"]).to_pylist():
                reasons[item["values"]] += item["counts"]
    checkpoint("load_events.in_transaction")
    landed = _count_landed(wh, batch_id, group)
    good = sum(n for n, _ in landed.values())
    bad = sum(n for _, n in landed.values())
    if read != good + bad:
        span = f"{group[0]}..{group[-1]}" if group else "no partition"
        raise LoadIntegrityError(
            f"{batch_id}: read {read} lines of {span} but the warehouse holds {good} events "
            f"+ {bad} quarantined = {good + bad}; rolled back"
        )
    _record_partitions(wh, batch_id, landed, loaded_at)
    return read, good, bad


def load_events(
    events_url: str,
    target: WarehouseTarget,
    day: BusinessDay,
    *,
    full: bool = False,
    chunk_rows: int = 200_000,
    commit_bytes: int = COMMIT_BYTES,
) -> BatchResult:
    """Load the event partitions of business day ``day`` (or all history, see module doc).

    ``events_url`` is a local folder or any fsspec URL holding ``dt=YYYY-MM-DD`` folders.
    """
    t0 = time.perf_counter()
    started_at = utc_now()
    fs, root = events_filesystem(events_url)
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
        groups = commit_groups(files, dates, commit_bytes)

        totals = [0, 0, 0]  # lines read, events loaded, lines quarantined
        reasons: Counter[str] = Counter()
        for number, group in enumerate(groups, start=1):
            members = set(group)
            with wh.transaction():
                counts = _load_group(
                    wh, fs, [f for f in files if f.partition in members], group, batch_id,
                    chunk_rows, reasons,
                )  # fmt: skip
                totals = [a + b for a, b in zip(totals, counts, strict=True)]
                if number == len(groups):  # the batch commits with its last group
                    result = BatchResult(
                        batch_id=batch_id,
                        source=EVENTS_SOURCE,
                        business_date=day.day.isoformat(),
                        rows_read=totals[0],
                        rows_loaded=totals[1],
                        rows_quarantined=totals[2],
                        **_window(dates or day.received_partitions),
                        partitions=[d.isoformat() for d in dates],
                        files=[f.name for f in files],
                        detail={
                            "mode": mode,
                            "gap_partitions": [d.isoformat() for d in dates
                                               if d not in day.received_partitions]
                            if mode == "window" else [],
                            "missing_partitions": missing,
                            "quarantine_reasons": dict(reasons.most_common(_MAX_REASONS)),
                            "transactions": len(groups),
                        },
                    )  # fmt: skip
                    result.seconds = time.perf_counter() - t0
                    record_batch(wh, result, started_at)
            if number < len(groups):
                checkpoint("load_events.between_groups")
    return result
