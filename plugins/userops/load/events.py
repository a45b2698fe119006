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
rows of its partitions' new or changed files are inserted, every older row of those
partitions is deleted except the rows of files whose content is unchanged, the
counts are checked against the warehouse (read = loaded + quarantined, else
:class:`LoadIntegrityError` and a rollback of the group) and the files and
partitions are recorded in ``meta.event_files`` and ``meta.event_partitions``; the
last group's transaction also records the batch.  So onboarding years of history
holds one group in memory at a time, and a run killed between groups leaves whole partitions behind: the rerun finds
the warehouse no longer empty and loads, as a gap, every partition not yet
recorded (a killed ``full`` reload is simply run again).  A partition the source
does not have is reported and left alone, so a late or missing folder never wipes
landed data.  Duplicate deliveries stay in raw; staging de-duplicates on
``event_id``.

Unchanged files: a night reloads the UTC partition the night before also loaded
(a business day spans two).  A file whose content digest equals the one recorded
when it landed keeps its rows, batch id and load time, so staging, which reads rows
loaded after the newest it staged, gets only lines that are new (ADR 0007).  A file
that changed is replaced whole, a file gone from the source loses its rows, and a
``full`` or first load reads every file.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from fsspec import AbstractFileSystem

from userops.config import WarehouseTarget
from userops.extract.events import (
    EventFile,
    check_chunks,
    content_digest,
    events_filesystem,
    list_files,
    list_partitions,
    read_event_file,
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
FILES_TABLE = "meta.event_files"

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


@dataclass(frozen=True)
class _FileRecord:
    """A row of ``meta.event_files``: one source file as it landed."""

    source_file: str
    partition_date: date
    content_digest: str
    rows_loaded: int
    rows_quarantined: int
    batch_id: str
    loaded_at: datetime


_FILE_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("partition_date", pa.date32()),
        ("content_digest", pa.string()),
        ("rows_loaded", pa.int64()),
        ("rows_quarantined", pa.int64()),
        ("batch_id", pa.string()),
        ("loaded_at", pa.timestamp("us")),
    ]
)


def _recorded_files(wh: Warehouse, dates: Sequence[date]) -> dict[str, _FileRecord]:
    """The ``meta.event_files`` rows of the partitions ``dates``, by file name."""
    found: dict[str, _FileRecord] = {}
    for group in _date_groups(dates):
        rows = wh.fetchall(
            f"select {', '.join(_FILE_SCHEMA.names)} from {FILES_TABLE} "
            f"where partition_date in ({_in_list(wh, len(group))})",
            group,
        )
        for name, day, digest, good, bad, batch, at in rows:
            found[name] = _FileRecord(name, _as_date(day), digest, good, bad, batch, at)
    return found


def _record_files(wh: Warehouse, dates: Sequence[date], records: Sequence[_FileRecord]) -> None:
    """Replace the ``meta.event_files`` rows of the partitions ``dates`` (same transaction)."""
    for group in _date_groups(dates):
        wh.execute(
            f"delete from {FILES_TABLE} where partition_date in ({_in_list(wh, len(group))})",
            group,
        )
    columns = {n: [getattr(r, n) for r in records] for n in _FILE_SCHEMA.names}
    wh.bulk_insert(FILES_TABLE, pa.table(columns, schema=_FILE_SCHEMA))


def _delete_replaced(
    wh: Warehouse, dates: Sequence[date], loaded_at: datetime, kept: dict[date, list[str]]
) -> None:
    """Delete the rows of partitions ``dates`` loaded before ``loaded_at`` (this group's
    load time), except those of the files in ``kept`` (unchanged content)."""
    p = wh.param
    whole = [d for d in dates if not kept.get(d)]
    scopes: list[tuple[str, list[Any]]] = [
        (f"_partition_date in ({_in_list(wh, len(group))})", list(group))
        for group in _date_groups(whole)
    ]
    scopes += [
        (f"_partition_date = {p} and _source_file not in ({_in_list(wh, len(names))})",
         [d, *names])
        for d, names in sorted(kept.items()) if names
    ]  # fmt: skip
    for cond, params in scopes:
        wh.execute(
            f"delete from {EVENTS_TABLE} where {cond} and _loaded_at <> {p}", [*params, loaded_at]
        )
        wh.execute(
            f"delete from {QUARANTINE_TABLE} where source = {p} and {cond} and _loaded_at <> {p}",
            [EVENTS_SOURCE, *params, loaded_at],
        )


def _count_landed(
    wh: Warehouse, loaded_at: datetime, dates: Sequence[date]
) -> dict[str, tuple[int, int]]:
    """Source file -> (good, quarantined) rows this group loaded, as the warehouse sees them."""
    p = wh.param
    counts: dict[str, list[int]] = {}
    for group in _date_groups(dates):
        in_list = _in_list(wh, len(group))
        for slot, table, extra in (
            (0, EVENTS_TABLE, ""),
            (1, QUARANTINE_TABLE, f" and source = {p}"),
        ):
            rows = wh.fetchall(
                f"select _source_file, count(*) from {table} where _loaded_at = {p} "
                f"and _partition_date in ({in_list}){extra} group by _source_file",
                [loaded_at, *group, *([EVENTS_SOURCE] if extra else [])],
            )
            for name, n in rows:
                counts.setdefault(name, [0, 0])[slot] = n
    return {name: (good, bad) for name, (good, bad) in counts.items()}


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


@dataclass
class _GroupResult:
    """What one group's transaction did."""

    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    files: list[str] = field(default_factory=list)  # read and (re)loaded
    unchanged: list[str] = field(default_factory=list)  # content already landed


def _load_group(
    wh: Warehouse,
    fs: AbstractFileSystem,
    files: Sequence[EventFile],
    group: Sequence[date],
    batch_id: str,
    chunk_rows: int,
    reasons: Counter[str],
    *,
    keep_unchanged: bool,
) -> _GroupResult:
    """Land the partitions ``group`` as ``files`` hold them, inside the caller's
    transaction (see the module doc for unchanged files)."""
    loaded_at = _group_load_time(wh)
    recorded = _recorded_files(wh, group) if keep_unchanged else {}
    kept: dict[date, list[str]] = {}
    digests: dict[str, tuple[EventFile, str]] = {}
    out = _GroupResult()

    def changed_contents() -> Iterator[tuple[EventFile, bytes]]:
        for f in files:
            data = read_event_file(fs, f)
            digest = content_digest(data)
            before = recorded.get(f.name)
            if before is not None and before.content_digest == digest:
                kept.setdefault(f.partition, []).append(f.name)
                out.unchanged.append(f.name)
                continue
            digests[f.name] = (f, digest)
            out.files.append(f.name)
            yield f, data

    for chunk in check_chunks(changed_contents(), chunk_rows):
        wh.bulk_insert(EVENTS_TABLE, with_load_columns(chunk.events, batch_id, loaded_at))
        wh.bulk_insert(QUARANTINE_TABLE, with_load_columns(chunk.quarantine, batch_id, loaded_at))
        out.read += chunk.rows_read
        if chunk.quarantine.num_rows:
            for item in pc.value_counts(chunk.quarantine["reason"]).to_pylist():
                reasons[item["values"]] += item["counts"]
    _delete_replaced(wh, group, loaded_at, kept)
    checkpoint("load_events.in_transaction")
    landed = _count_landed(wh, loaded_at, group)
    out.loaded = sum(n for n, _ in landed.values())
    out.quarantined = sum(n for _, n in landed.values())
    if out.read != out.loaded + out.quarantined or set(landed) - set(digests):
        span = f"{group[0]}..{group[-1]}" if group else "no partition"
        raise LoadIntegrityError(
            f"{batch_id}: read {out.read} lines of {span} but the warehouse holds {out.loaded} "
            f"events + {out.quarantined} quarantined = {out.loaded + out.quarantined}; "
            "rolled back"
        )
    records = [recorded[name] for names in kept.values() for name in names]
    records += [
        _FileRecord(name, f.partition, digest, *landed.get(name, (0, 0)), batch_id, loaded_at)
        for name, (f, digest) in digests.items()
    ]
    _record_files(wh, group, records)
    totals = {d: [0, 0] for d in group}
    for r in records:
        totals[r.partition_date][0] += r.rows_loaded
        totals[r.partition_date][1] += r.rows_quarantined
    _record_partitions(wh, batch_id, {d: (g, b) for d, (g, b) in totals.items()}, loaded_at)
    return out


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

        totals = _GroupResult()
        reasons: Counter[str] = Counter()
        for number, group in enumerate(groups, start=1):
            members = set(group)
            with wh.transaction():
                done = _load_group(
                    wh, fs, [f for f in files if f.partition in members], group, batch_id,
                    chunk_rows, reasons, keep_unchanged=mode == "window",
                )  # fmt: skip
                totals.read += done.read
                totals.loaded += done.loaded
                totals.quarantined += done.quarantined
                totals.files += done.files
                totals.unchanged += done.unchanged
                if number == len(groups):  # the batch commits with its last group
                    result = BatchResult(
                        batch_id=batch_id,
                        source=EVENTS_SOURCE,
                        business_date=day.day.isoformat(),
                        rows_read=totals.read,
                        rows_loaded=totals.loaded,
                        rows_quarantined=totals.quarantined,
                        **_window(dates or day.received_partitions),
                        partitions=[d.isoformat() for d in dates],
                        files=totals.files,
                        detail={
                            "mode": mode,
                            "gap_partitions": [d.isoformat() for d in dates
                                               if d not in day.received_partitions]
                            if mode == "window" else [],
                            "missing_partitions": missing,
                            "unchanged_files": len(totals.unchanged),
                            "quarantine_reasons": dict(reasons.most_common(_MAX_REASONS)),
                            "transactions": len(groups),
                        },
                    )  # fmt: skip
                    result.seconds = time.perf_counter() - t0
                    record_batch(wh, result, started_at)
            if number < len(groups):
                checkpoint("load_events.between_groups")
    return result
