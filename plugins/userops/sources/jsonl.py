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
_PAIRS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), np.uint8).reshape(100, 2)


def _strings(matrix: np.ndarray) -> pa.StringArray:
    """(n, w) ASCII byte matrix -> Arrow strings of width w, without Python objects."""
    n, w = matrix.shape
    data = np.ascontiguousarray(matrix)
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative ints as an (n, width) byte matrix.

    Two digits per step from a 100-entry table: a gather is far cheaper than an
    integer division per digit on tens of millions of values.
    """
    out = np.empty((len(values), width), dtype=np.uint8)
    rest = values.astype(np.int64, copy=True)
    pos = width
    while pos >= 2:
        rest, pair = np.divmod(rest, 100)
        out[:, pos - 2 : pos] = _PAIRS[pair]
        pos -= 2
    if pos:
        out[:, 0] = _PAIRS[rest % 10, 1]
    return out


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


def iso_strings(
    epoch: np.ndarray, offsets: tuple[int, ...], which: np.ndarray | None = None
) -> pa.StringArray:
    """UTC epoch seconds -> ``YYYY-MM-DDTHH:MM:SS+HH:MM`` in ``offsets[which]`` (seconds).

    A partition spans a few days and offsets, so dates and offsets are formatted
    once per distinct value and gathered; only the time of day is per row.
    """
    pick = np.zeros(len(epoch), dtype=np.intp) if which is None else which.astype(np.intp)
    local = epoch + np.asarray(offsets, dtype=np.int64)[pick]
    days, sod = np.divmod(local, 86400)
    out = np.empty((len(epoch), 25), dtype=np.uint8)
    if len(epoch):
        first = int(days.min())
        dates = [
            (EPOCH + timedelta(days=first + k)).isoformat()
            for k in range(int(days.max()) - first + 1)
        ]
        out[:, 0:10] = np.frombuffer("".join(dates).encode(), np.uint8).reshape(-1, 10)[
            days - first
        ]
        suffixes = "".join(_offset_text(o) for o in offsets).encode()
        out[:, 19:25] = np.frombuffer(suffixes, np.uint8).reshape(-1, 6)[pick]
    out[:, 10] = ord("T")
    out[:, 13] = out[:, 16] = ord(":")
    hours, rest = np.divmod(sod, 3600)
    minutes, seconds = np.divmod(rest, 60)
    out[:, 11:13] = _PAIRS[hours]
    out[:, 14:16] = _PAIRS[minutes]
    out[:, 17:19] = _PAIRS[seconds]
    return _strings(out)


def _offset_text(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


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
    lines = pc.binary_join_element_wise(
        '{"event_id":"',
        uuid_strings(c["eid"]),
        '","user_id":"',
        uid,
        '","event_type":"',
        _TYPE_NAMES.take(pa.array(c["etype"].astype(np.int32))),
        '","occurred_at":"',
        iso_strings(c["occurred"], (offset_seconds, 0), c["device_utc"]),  # some devices in UTC
        '","received_at":"',
        iso_strings(c["received"], (offset_seconds,)),
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
    bad_lines: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(DEFECT_NAMES.values(), 0)
    )


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
        self.written: list[Path] = []

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

    def discard(self) -> None:
        """Remove the files this writer wrote (after a failure part-way)."""
        for path in self.written:
            path.unlink(missing_ok=True)
        self.written.clear()

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
            out = (
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
                if self.compress
                else raw
            )
            for lo in range(0, len(batch), SLICE_ROWS):
                part = batch.take(np.arange(lo, min(lo + SLICE_ROWS, len(batch))))
                out.write(_data_bytes(render_lines(part, self.offset_seconds)))
            if out is not raw:
                out.close()
        os.replace(tmp, folder / name)
        self.written.append(folder / name)
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
