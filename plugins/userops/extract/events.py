"""Read event partitions (``dt=YYYY-MM-DD/part-*.jsonl[.gz]``) and check every line.

Each line becomes either a good row for ``raw.events__events`` or a quarantine
row with a reason code — nothing is dropped, so ``read = loaded + quarantined``
always holds and is checked by the loader.  Reason codes (first failing check
wins, in this order):

=============================  =====================================================
``empty_line``                 blank or whitespace-only line
``invalid_encoding``           not UTF-8, or a ``\\u`` escape that is no character
``nul_character``              a NUL character, which PostgreSQL text cannot store
``invalid_json``               not strict JSON (``NaN``/``Infinity`` are rejected)
``not_an_object``              valid JSON but not an object
``missing_field:<f>``          required field absent, null or blank
``bad_field:<f>``              id/platform of the wrong JSON type (object, list, bool, …)
``unknown_event_type:<t>``     not in :data:`TRACKING_PLAN`
``bad_timestamp:<f>``          not ISO-8601 *with an offset* (``Z`` allowed)
``bad_property:<p>``           ``properties`` not an object; ``order_paid`` without
                               ``order_id`` or a numeric ``amount``
=============================  =====================================================

Ids may arrive as JSON integers and are stored as their text.  Timestamps are
stored as naive UTC; ``occurred_at_raw`` keeps the original string.
:func:`parse_event` is the definition; the loader checks lines in bulk first
(:mod:`userops.extract.events_bulk`) and calls it only for lines the bulk query
does not accept.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pyarrow as pa
from fsspec import AbstractFileSystem
from fsspec.core import url_to_fs

from userops.config import ConfigError
from userops.extract.events_bulk import BulkChecker, line_array, split_lines
from userops.tracking_plan import TRACKING_PLAN

REQUIRED_FIELDS: tuple[str, ...] = (
    "event_id",
    "user_id",
    "event_type",
    "occurred_at",
    "received_at",
)

_PARTITION_RE = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")
_MAX_REASON_VALUE = 100


@dataclass(frozen=True)
class EventFile:
    """One file of a partition; ``name`` is relative to the events root (stable across hosts)."""

    path: str
    name: str
    partition: date
    size: int = 0  # bytes on the source (compressed size for .gz)

    @property
    def gzipped(self) -> bool:
        return self.path.endswith(".gz")


@dataclass
class EventChunk:
    """Up to ``chunk_rows`` lines: good rows and quarantined rows as Arrow tables."""

    events: pa.Table
    quarantine: pa.Table

    @property
    def rows_read(self) -> int:
        return self.events.num_rows + self.quarantine.num_rows


def _partition_date(name: str) -> date | None:
    m = _PARTITION_RE.match(name)
    if not m:
        return None
    try:
        return date.fromisoformat(m.group(1))
    except ValueError:
        return None


def _basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def events_filesystem(url: str) -> tuple[AbstractFileSystem, str]:
    """The fsspec filesystem and root path of ``USEROPS_EVENTS_URL`` (a folder or e.g.
    ``s3://bucket/prefix``, whose driver reads the standard ``AWS_*`` variables,
    ``AWS_ENDPOINT_URL`` included); a missing driver is a one-line :class:`ConfigError`."""
    try:
        return url_to_fs(url)
    except (ImportError, ValueError) as exc:  # "Install s3fs to access S3", unknown protocol
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"USEROPS_EVENTS_URL={url}: {reason}") from None


def list_partitions(fs: AbstractFileSystem, root: str) -> dict[date, str]:
    """Every ``dt=YYYY-MM-DD`` directory under ``root``: date -> path.

    Object-store filesystems are cached per process with their listings (s3fs), so
    the listings are dropped first: a partition or file that landed since the last
    load in this process is seen.
    """
    fs.invalidate_cache()
    if not fs.exists(root):
        raise FileNotFoundError(f"events root not found: {root} (check USEROPS_EVENTS_URL)")
    found: dict[date, str] = {}
    for entry in fs.ls(root, detail=True):
        if entry.get("type") != "directory":
            continue
        d = _partition_date(_basename(entry["name"]))
        if d is not None:
            found[d] = entry["name"]
    return found


def is_event_file(name: str) -> bool:
    """``*.jsonl`` / ``*.jsonl.gz``; hidden and ``_``-prefixed files (temp, markers) are skipped."""
    return name.endswith((".jsonl", ".jsonl.gz")) and not name.startswith((".", "_"))


def list_files(fs: AbstractFileSystem, partitions: dict[date, str]) -> list[EventFile]:
    """The event files of the given partitions, by partition then file name."""
    files: list[EventFile] = []
    for d in sorted(partitions):
        entries = sorted(
            (e["name"], int(e.get("size") or 0))
            for e in fs.ls(partitions[d], detail=True)
            if e.get("type") == "file" and is_event_file(_basename(e["name"]))
        )
        files += [EventFile(p, f"dt={d.isoformat()}/{_basename(p)}", d, n) for p, n in entries]
    return files


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def parse_timestamp(value: Any) -> datetime | None:
    """Naive UTC from ISO-8601 text with an offset (``Z`` allowed); None otherwise."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.utcoffset() is None:
        return None
    try:
        return parsed.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        return None


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        try:
            return Decimal(value.strip()).is_finite()
        except InvalidOperation:
            return False
    return False


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text[:_MAX_REASON_VALUE]


ParsedEvent = tuple[str, str, str, datetime, datetime, str, str | None, str | None]


def parse_event(text: str) -> ParsedEvent | str:
    """Check one line: the row for ``raw.events__events``, or the quarantine reason."""
    if not text.strip():
        return "empty_line"
    if "\x00" in text or "\\u0000" in text:
        return "nul_character"
    try:
        obj = _DECODER.decode(text)
    except ValueError:
        return "invalid_json"
    if not isinstance(obj, dict):
        return "not_an_object"
    for f in REQUIRED_FIELDS:
        if _blank(obj.get(f)):
            return f"missing_field:{f}"
    ids = []
    for f in ("event_id", "user_id"):
        v = obj[f]
        if isinstance(v, str):
            ids.append(v)
        elif isinstance(v, int) and not isinstance(v, bool):
            ids.append(str(v))
        else:
            return f"bad_field:{f}"
    event_type = obj["event_type"]
    if not isinstance(event_type, str) or event_type not in TRACKING_PLAN:
        return f"unknown_event_type:{_short(event_type)}"
    occurred_at = parse_timestamp(obj["occurred_at"])
    if occurred_at is None:
        return "bad_timestamp:occurred_at"
    received_at = parse_timestamp(obj["received_at"])
    if received_at is None:
        return "bad_timestamp:received_at"
    platform = obj.get("platform")
    if platform is not None and not isinstance(platform, str):
        return "bad_field:platform"
    props = obj.get("properties")
    if props is not None and not isinstance(props, dict):
        return "bad_property:properties"
    if event_type == "order_paid":
        if (
            props is None
            or _blank(props.get("order_id"))
            or isinstance(props["order_id"], dict | list | bool)
        ):
            return "bad_property:order_id"
        if not _is_number(props.get("amount")):
            return "bad_property:amount"
    try:
        props_json = None if props is None else _ENCODER.encode(props)
    except ValueError:  # a number beyond float range (1e400) decodes as inf
        return "bad_property:properties"
    row = (
        ids[0],
        ids[1],
        event_type,
        occurred_at,
        received_at,
        obj["occurred_at"],
        platform,
        props_json,
    )
    if "\\u" in text:
        # A lone surrogate escape decodes to a str that cannot be written as UTF-8.
        try:
            "".join(v for v in row if isinstance(v, str)).encode("utf-8")
        except UnicodeEncodeError:
            return "invalid_encoding"
    return row


@dataclass
class _Columns:
    """Columnar buffers of one chunk."""

    event_id: list[str] = field(default_factory=list)
    user_id: list[str] = field(default_factory=list)
    event_type: list[str] = field(default_factory=list)
    occurred_at: list[datetime] = field(default_factory=list)
    received_at: list[datetime] = field(default_factory=list)
    occurred_at_raw: list[str] = field(default_factory=list)
    platform: list[str | None] = field(default_factory=list)
    properties: list[str | None] = field(default_factory=list)
    partition: list[date] = field(default_factory=list)
    source_file: list[str] = field(default_factory=list)
    line_number: list[int] = field(default_factory=list)
    q_reason: list[str] = field(default_factory=list)
    q_raw_text: list[str] = field(default_factory=list)
    q_partition: list[date] = field(default_factory=list)
    q_source_file: list[str] = field(default_factory=list)
    q_line_number: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.event_id) + len(self.q_reason)

    def to_chunk(self) -> EventChunk:
        events = pa.table(
            {
                "event_id": pa.array(self.event_id, pa.string()),
                "user_id": pa.array(self.user_id, pa.string()),
                "event_type": pa.array(self.event_type, pa.string()),
                "occurred_at": pa.array(self.occurred_at, pa.timestamp("us")),
                "received_at": pa.array(self.received_at, pa.timestamp("us")),
                "occurred_at_raw": pa.array(self.occurred_at_raw, pa.string()),
                "platform": pa.array(self.platform, pa.string()),
                "properties": pa.array(self.properties, pa.string()),
                "_partition_date": pa.array(self.partition, pa.date32()),
                "_source_file": pa.array(self.source_file, pa.string()),
                "_line_number": pa.array(self.line_number, pa.int32()),
            }
        )
        quarantine = pa.table(
            {
                "source": pa.repeat(pa.scalar("events", pa.string()), len(self.q_reason)),
                "reason": pa.array(self.q_reason, pa.string()),
                "raw_text": pa.array(self.q_raw_text, pa.string()),
                "_partition_date": pa.array(self.q_partition, pa.date32()),
                "_source_file": pa.array(self.q_source_file, pa.string()),
                "_line_number": pa.array(self.q_line_number, pa.int32()),
            }
        )
        return EventChunk(events, quarantine)


def _safe_raw_text(text: str) -> str:
    """Quarantined text as storable UTF-8 on both warehouses (NUL shown as ``\\u0000``)."""
    return text.replace("\x00", "\\u0000").encode("utf-8", "replace").decode("utf-8")


def read_event_file(fs: AbstractFileSystem, f: EventFile) -> bytes:
    """The (decompressed) bytes of one event file; an unreadable file is an ``OSError``."""
    try:
        with fs.open(f.path, "rb", compression="gzip" if f.gzipped else None) as fh:
            return fh.read()
    except (OSError, EOFError, zlib.error) as exc:  # a truncated .gz, an unreadable object
        raise OSError(f"cannot read event file {f.path}: {exc}") from exc


def content_digest(data: bytes) -> str:
    """Fingerprint of a file's (decompressed) content: the loader skips a file whose
    content it already landed."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _decode(raw: bytes, number: int) -> tuple[str | None, str]:
    """(decoded text or None if not UTF-8, text for quarantine) of one line without its newline."""
    raw = raw.removesuffix(b"\r")
    try:
        text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError:
        return None, raw.decode("utf-8", errors="replace")
    return text, text


_EVENT_SCHEMA = _Columns().to_chunk().events.schema


class _ChunkBuilder:
    """Collects bulk-accepted rows (Arrow) and line-by-line results until a chunk is full."""

    def __init__(self) -> None:
        self.bulk: list[pa.Table] = []
        self.bulk_rows = 0
        self.cols = _Columns()

    def __len__(self) -> int:
        return self.bulk_rows + len(self.cols)

    def add_bulk(self, accepted: pa.Table, f: EventFile) -> None:
        n = accepted.num_rows
        if not n:
            return
        table = accepted.drop_columns(["line_number"])
        table = table.append_column(
            "_partition_date", pa.repeat(pa.scalar(f.partition, pa.date32()), n)
        )
        table = table.append_column("_source_file", pa.repeat(pa.scalar(f.name, pa.string()), n))
        table = table.append_column("_line_number", accepted["line_number"])
        self.bulk.append(table.cast(_EVENT_SCHEMA))
        self.bulk_rows += n

    def add_line(self, f: EventFile, number: int, raw: bytes) -> None:
        cols = self.cols
        text, shown = _decode(raw, number)
        parsed = "invalid_encoding" if text is None else parse_event(text)
        if isinstance(parsed, str):
            cols.q_reason.append(parsed)
            cols.q_raw_text.append(_safe_raw_text(shown))
            cols.q_partition.append(f.partition)
            cols.q_source_file.append(f.name)
            cols.q_line_number.append(number)
            return
        cols.event_id.append(parsed[0])
        cols.user_id.append(parsed[1])
        cols.event_type.append(parsed[2])
        cols.occurred_at.append(parsed[3])
        cols.received_at.append(parsed[4])
        cols.occurred_at_raw.append(parsed[5])
        cols.platform.append(parsed[6])
        cols.properties.append(parsed[7])
        cols.partition.append(f.partition)
        cols.source_file.append(f.name)
        cols.line_number.append(number)

    def take(self) -> EventChunk:
        chunk = self.cols.to_chunk()
        if self.bulk:
            chunk = EventChunk(pa.concat_tables([*self.bulk, chunk.events]), chunk.quarantine)
        self.__init__()
        return chunk


def iter_chunks(
    fs: AbstractFileSystem,
    files: Iterable[EventFile],
    chunk_rows: int = 200_000,
    *,
    bulk: bool = True,
) -> Iterator[EventChunk]:
    """Check the lines of ``files`` into chunks of about ``chunk_rows`` lines
    (:func:`check_chunks` over each file's content)."""
    yield from check_chunks(((f, read_event_file(fs, f)) for f in files), chunk_rows, bulk=bulk)


def check_chunks(
    contents: Iterable[tuple[EventFile, bytes]],
    chunk_rows: int = 200_000,
    *,
    bulk: bool = True,
) -> Iterator[EventChunk]:
    """Check the lines of each ``(file, content)`` into chunks of about ``chunk_rows`` lines.

    With ``bulk`` (the default) each slice of a file is checked by one DuckDB query
    (:mod:`userops.extract.events_bulk`) and only the lines it does not accept are
    parsed one by one; ``bulk=False`` parses every line in Python (the reference).
    """
    builder = _ChunkBuilder()
    with BulkChecker() as checker:
        for f, data in contents:
            split = split_lines(data)
            for lo in range(0, len(split), chunk_rows):
                hi = min(lo + chunk_rows, len(split))
                pending = np.ones(hi - lo, dtype=bool)
                lines = line_array(split, lo, hi) if bulk else None
                if lines is not None:
                    accepted = checker.check(lines, lo + 1)
                    builder.add_bulk(accepted, f)
                    numbers = accepted["line_number"].to_numpy(zero_copy_only=False)
                    pending[numbers - (lo + 1)] = False
                for index in np.flatnonzero(pending):
                    i = lo + int(index)
                    builder.add_line(f, i + 1, split.raw_line(i))
                if len(builder) >= chunk_rows:
                    yield builder.take()
    if len(builder):
        yield builder.take()
