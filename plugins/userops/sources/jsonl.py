"""Event columns -> JSON Lines partitions ``dt=YYYY-MM-DD/part-NNNNN.jsonl[.gz]``.

Lines are assembled column-wise with Arrow string kernels and numpy digit
matrices (fixed-width ISO timestamps, uuids): formatting tens of millions of
lines one ``json.dumps`` at a time would dominate the generator's run time.  The
few deliberately broken lines are then rewritten in Python.

Partitions are the UTC date the collector *received* a line.  A
:class:`PartitionWriter` buffers lines until no later simulated day can still
add to a partition, then writes it (atomically, via a temporary name that the
``part-*`` glob does not match) and forgets it, so memory stays bounded.
"""

from __future__ import annotations

import gzip
import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from userops.sources.events import (
    BAD_TIMESTAMP,
    DEFECT_NAMES,
    FEATURE_USED,
    INQUIRY_SENT,
    INVALID_JSON,
    LATE_THRESHOLD,
    LISTING_PUBLISHED,
    LISTING_UPDATED,
    MISSING_FIELD,
    ORDER_PAID,
    PAGE_VIEW,
    SEARCH,
    EventBatch,
)
from userops.sources.vocab import (
    EVENT_TYPES,
    FEATURES,
    PAGE_PATHS,
    PLATFORMS,
    SEARCH_QUERIES,
    UNKNOWN_EVENT_TYPES,
)

EPOCH = date(1970, 1, 1)
SLICE_ROWS = 200_000  # lines rendered at a time
REQUIRED_FIELDS = ("event_id", "user_id", "event_type", "occurred_at", "received_at")
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def _strings(matrix: np.ndarray) -> pa.StringArray:
    """(n, w) ASCII byte matrix -> Arrow strings of width w, without Python objects."""
    n, w = matrix.shape
    data = np.ascontiguousarray(matrix)
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative ints as an (n, width) byte matrix."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return _DIGITS[(values[:, None] // powers) % 10]


def uuid_strings(raw: np.ndarray) -> pa.StringArray:
    """(n, 16) random bytes -> RFC 4122 version-4 uuid strings."""
    b = raw.copy()
    b[:, 6] = (b[:, 6] & 0x0F) | 0x40
    b[:, 8] = (b[:, 8] & 0x3F) | 0x80
    hexes = np.empty((len(b), 32), dtype=np.uint8)
    hexes[:, 0::2] = _HEX[b >> 4]
    hexes[:, 1::2] = _HEX[b & 0x0F]
    out = np.full((len(b), 36), ord("-"), dtype=np.uint8)
    for src, dst, width in ((0, 0, 8), (8, 9, 4), (12, 14, 4), (16, 19, 4), (20, 24, 12)):
        out[:, dst : dst + width] = hexes[:, src : src + width]
    return _strings(out)


def iso_strings(epoch: np.ndarray, offset_seconds: np.ndarray) -> pa.StringArray:
    """UTC epoch seconds -> ``YYYY-MM-DDTHH:MM:SS+HH:MM`` in the given offsets."""
    local = epoch + offset_seconds
    days, sod = np.divmod(local, 86400)
    # civil_from_days (H. Hinnant), vectorised
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    off_min = np.abs(offset_seconds) // 60
    out = np.empty((len(epoch), 25), dtype=np.uint8)
    out[:, 0:4] = _digits(year, 4)
    out[:, 4] = out[:, 7] = ord("-")
    out[:, 5:7] = _digits(month, 2)
    out[:, 8:10] = _digits(day, 2)
    out[:, 10] = ord("T")
    out[:, 11:13] = _digits(sod // 3600, 2)
    out[:, 13] = out[:, 16] = out[:, 22] = ord(":")
    out[:, 14:16] = _digits(sod // 60 % 60, 2)
    out[:, 17:19] = _digits(sod % 60, 2)
    out[:, 19] = np.where(offset_seconds < 0, ord("-"), ord("+"))
    out[:, 20:22] = _digits(off_min // 60, 2)
    out[:, 23:25] = _digits(off_min % 60, 2)
    return _strings(out)


def _json_fragment(key: str, value: str) -> str:
    return json.dumps({key: value}, ensure_ascii=False, separators=(",", ":"))


#: properties objects of vocabulary-valued types, indexed by (type base + index)
_FRAGMENTS = pa.array(
    ["{}"]
    + [_json_fragment("path", p) for p in PAGE_PATHS]
    + [_json_fragment("query", q) for q in SEARCH_QUERIES]
    + [_json_fragment("feature", f) for f in FEATURES]
)
_PATH_BASE, _QUERY_BASE = 1, 1 + len(PAGE_PATHS)
_FEATURE_BASE = _QUERY_BASE + len(SEARCH_QUERIES)
_TYPE_NAMES = pa.array(list(EVENT_TYPES) + list(UNKNOWN_EVENT_TYPES))
_PLATFORM_NAMES = pa.array(list(PLATFORMS))


def _properties(cols: dict[str, np.ndarray]) -> pa.StringArray:
    etype, prop = cols["etype"], cols["prop"]
    frag = np.select(
        [etype == PAGE_VIEW, etype == SEARCH, etype == FEATURE_USED],
        [_PATH_BASE + prop, _QUERY_BASE + prop, _FEATURE_BASE + prop],
        0,
    )
    out = _FRAGMENTS.take(pa.array(frag))
    listing = np.isin(etype, (LISTING_PUBLISHED, LISTING_UPDATED, INQUIRY_SENT))
    if listing.any():
        ids = pa.array(prop[listing]).cast(pa.string())
        repl = pc.binary_join_element_wise('{"listing_id":"lst_', ids, '"}', "")
        out = pc.replace_with_mask(out, pa.array(listing), repl)
    orders = etype == ORDER_PAID
    if orders.any():
        cents = cols["amount"][orders]
        repl = pc.binary_join_element_wise(
            '{"order_id":"ord_',
            pa.array(prop[orders]).cast(pa.string()),
            '","amount":',
            pa.array(cents // 100).cast(pa.string()),
            ".",
            _strings(_digits(cents % 100, 2)),
            ',"currency":"CNY"}',
            "",
        )
        out = pc.replace_with_mask(out, pa.array(orders), repl)
    return out


def render_lines(batch: EventBatch, offset_seconds: int) -> pa.StringArray:
    """One JSON object per row, each followed by a newline (good and broken rows)."""
    c = batch.cols
    uid = _strings(
        np.concatenate(
            [np.full((len(batch), 1), ord("u"), np.uint8), _digits(c["user"].astype(np.int64) + 1, 7)],
            axis=1,
        )
    )  # fmt: skip
    device_offset = np.where(c["device_utc"], 0, offset_seconds).astype(np.int64)
    lines = pc.binary_join_element_wise(
        '{"event_id":"',
        uuid_strings(c["eid"]),
        '","user_id":"',
        uid,
        '","event_type":"',
        _TYPE_NAMES.take(pa.array(c["etype"].astype(np.int32))),
        '","occurred_at":"',
        iso_strings(c["occurred"], device_offset),
        '","received_at":"',
        iso_strings(c["received"], np.full(len(batch), offset_seconds, np.int64)),
        '","platform":"',
        _PLATFORM_NAMES.take(pa.array(c["platform"].astype(np.int32))),
        '","properties":',
        _properties(c),
        "}\n",
        "",
    )
    broken = np.isin(c["defect"], (INVALID_JSON, MISSING_FIELD, BAD_TIMESTAMP))
    if broken.any():
        idx = np.flatnonzero(broken)
        texts = lines.take(pa.array(idx)).to_pylist()
        repl = [
            break_line(t.rstrip("\n"), int(kind), int(param)) + "\n"
            for t, kind, param in zip(texts, c["defect"][idx], c["param"][idx], strict=True)
        ]
        lines = pc.replace_with_mask(lines, pa.array(broken), pa.array(repl, pa.string()))
    return lines


def break_line(line: str, kind: int, param: int) -> str:
    """Damage one good line the way real collectors do (deterministic in ``param``)."""
    if kind == INVALID_JSON:
        if param % 3 == 0:
            return line.replace('"', "'")  # a Python repr instead of JSON
        return line[: 1 + param % (len(line) - 2)]  # truncated write
    obj = json.loads(line)
    if kind == MISSING_FIELD:
        del obj[REQUIRED_FIELDS[param % len(REQUIRED_FIELDS)]]
    elif kind == BAD_TIMESTAMP:
        key = "received_at" if param % 5 == 0 else "occurred_at"
        value: str | int = obj[key]
        assert isinstance(value, str)
        variant = (param // 5) % 5
        if variant == 0:
            value = value[:11] + "25" + value[13:]  # hour 25
        elif variant == 1:
            value = value[:8] + "32" + value[10:]  # day 32
        elif variant == 2:
            value = "not-a-timestamp"
        elif variant == 3:
            value = ""
        else:
            value = 1_700_000_000 + param % 100_000_000  # epoch number, not ISO-8601
        obj[key] = value
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _data_bytes(lines: pa.StringArray) -> memoryview:
    """The concatenated UTF-8 bytes of a string array (the file content)."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    lo, hi = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    return memoryview(lines.buffers()[2])[lo:hi]


@dataclass
class WriteStats:
    """Counts of what a writer wrote (merged into a GenerationSummary)."""

    partitions: dict[str, int] = field(default_factory=dict)
    events_written: int = 0
    duplicate_deliveries: int = 0
    late_events: int = 0
    bad_lines: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DEFECT_NAMES.values(), 0))


class PartitionWriter:
    """Routes simulated rows to ``dt=`` partitions and writes each once complete.

    Only rows received in ``[window_start, window_end)`` (UTC epoch seconds) are
    kept: ``generate`` keeps everything received by the end of the last business
    day; ``append_day`` keeps that day's arrivals.  Each partition gets one new
    ``part-NNNNN`` file numbered after any files already there.
    """

    def __init__(
        self,
        events_dir: Path,
        window: tuple[int, int],
        offset_seconds: int,
        compress: bool,
    ) -> None:
        self.events_dir = events_dir
        self.window = window
        self.offset_seconds = offset_seconds
        self.compress = compress
        self.pending: dict[int, list[EventBatch]] = defaultdict(list)
        self.stats = WriteStats()

    def add(self, batch: EventBatch) -> None:
        received = batch.cols["received"]
        keep = (received >= self.window[0]) & (received < self.window[1])
        if not keep.any():
            return
        batch = batch.take(np.flatnonzero(keep))
        dt = batch.cols["received"] // 86400
        for value in np.unique(dt).tolist():
            self.pending[value].append(batch.take(np.flatnonzero(dt == value)))

    def flush_before(self, dt_epoch_day: int) -> None:
        """Write every pending partition whose UTC date is before ``dt_epoch_day``."""
        for value in sorted(k for k in self.pending if k < dt_epoch_day):
            self._write(value, EventBatch.concat(self.pending.pop(value)))

    def close(self) -> WriteStats:
        self.flush_before(2**62)
        return self.stats

    def _write(self, epoch_day: int, batch: EventBatch) -> None:
        c = batch.cols
        batch = batch.take(np.lexsort((c["seq"], c["received"])))
        folder = self.events_dir / f"dt={(EPOCH + timedelta(days=epoch_day)).isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        suffix = ".jsonl.gz" if self.compress else ".jsonl"
        number = len(list(folder.glob("part-*")))
        name = f"part-{number:05d}{suffix}"
        tmp = folder / f".{name}.tmp"
        with open(tmp, "wb") as raw:
            out = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if self.compress else raw
            for lo in range(0, len(batch), SLICE_ROWS):
                part = batch.take(np.arange(lo, min(lo + SLICE_ROWS, len(batch))))
                out.write(_data_bytes(render_lines(part, self.offset_seconds)))
            if out is not raw:
                out.close()
        os.replace(tmp, folder / name)
        self._count(f"{folder.name}/{name}", batch)

    def _count(self, key: str, batch: EventBatch) -> None:
        c, s = batch.cols, self.stats
        s.partitions[key] = len(batch)
        for kind, name in DEFECT_NAMES.items():
            s.bad_lines[name] += int((c["defect"] == kind).sum())
        good = c["defect"] == 0
        s.events_written += int(good.sum())
        s.duplicate_deliveries += int((good & c["dup"]).sum())
        s.late_events += int((good & (c["received"] - c["occurred"] >= LATE_THRESHOLD)).sum())

