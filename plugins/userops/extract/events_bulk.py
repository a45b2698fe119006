"""Bulk check of event lines: DuckDB's JSON functions over whole files, Python only for failures.

:func:`userops.extract.events.parse_event` is the definition of a good line and of
every quarantine reason.  Running it on every line caps a load at about 90k
lines/s, so the loader first runs one vectorised DuckDB query over the lines of a
file (:data:`_CHECK_SQL`).  The query is *conservative*: it accepts a line only
when every check of ``parse_event`` provably passes and the values it extracts
are the ones ``parse_event`` would store.  Every line it does not accept (bad
lines, and the rare good line in a shape the query does not vouch for: ids as
JSON numbers too large for 64 bits, timestamps without colons in the offset,
``\\u`` escapes, duplicate keys, lenient-JSON tokens such as ``NaN`` or trailing
commas that DuckDB's reader tolerates and the contract does not) goes through
``parse_event``, so the reasons stay exact and read = loaded + quarantined holds.
``tests/plugins/load/test_events_bulk.py`` checks the two paths agree line by line.

The only visible difference: ``properties`` of a bulk-accepted line is DuckDB's
minified re-serialisation of the object (same keys and values as the Python
path's ``json.dumps``; numbers may be spelled differently, e.g. ``1E2`` vs
``100.0``).  It is a JSON column on both warehouses, so readers see equal values.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from userops.tracking_plan import TRACKING_PLAN
from userops.warehouse import scan_batches

_BOM = b"\xef\xbb\xbf"

#: Characters Python's ``str.isspace`` treats as whitespace (so ``parse_event`` calls a
#: string of only these blank); a bulk-accepted string must hold one character outside.
_WS = (
    r"\s\x{0b}\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}"
    r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
)
_NOT_BLANK = f"[^{_WS}]"
#: ISO-8601 with an offset, in the shape both Python's ``fromisoformat`` and DuckDB's
#: timestamptz cast read identically (years 1000-2999, 0-6 fractional digits).
_TIMESTAMP = (
    r"^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]"
    r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
#: Text DuckDB's lenient reader accepts and strict JSON does not (NaN/Infinity/inf,
#: trailing commas), or that Python reads differently (huge exponents or digit runs).
#: Also matches inside strings: such lines simply take the Python path.
_LENIENT = r"(?i)[:,\[]\s*[+-]?(nan|inf)|,\s*[}\]]|[0-9][eE][+-]?[0-9]{3}|[0-9]{300}"
_DECIMAL_TEXT = r"^-?[0-9]+(\.[0-9]+)?$"

_FIELDS = ("event_id", "user_id", "event_type", "occurred_at", "received_at", "platform")
#: One pass over the line for both kinds of suspicion: lenient JSON, and a field name
#: seen twice (DuckDB keeps the first of duplicate keys, Python the last).
_SUSPECT = _LENIENT + "|" + "|".join(f'"{f}".*"{f}"' for f in (*_FIELDS, "properties"))


def _string_value(frag: str) -> str:
    """The value of a JSON string fragment without escapes (``"abc"`` -> ``abc``)."""
    return f"substr({frag}, 2, length({frag}) - 2)"


def _is_plain_string(frag: str) -> str:
    """A JSON string with no escape sequence (escaped values take the Python path)."""
    return f"(starts_with({frag}, '\"') and not contains({frag}, '\\'))"


def _id_ok(frag: str) -> str:
    # a string with a non-blank character, or an integer Python prints the same way
    return (
        f"(({_is_plain_string(frag)} and regexp_matches({_string_value(frag)}, '{_NOT_BLANK}'))"
        f" or regexp_matches({frag}, '^(0|-?[1-9][0-9]{{0,17}})$'))"
    )


def _id_value(frag: str) -> str:
    return f"case when starts_with({frag}, '\"') then {_string_value(frag)} else {frag} end"


#: from_json structure: each field as its JSON text (the line is parsed once).
_STRUCT = "{" + ", ".join(f'"{f}": "JSON"' for f in (*_FIELDS, "properties")) + "}"
_EVENT_TYPES = ", ".join(f"'\"{t}\"'" for t in sorted(TRACKING_PLAN))
_TIMESTAMP_FRAGMENT = '^"' + _TIMESTAMP[1:-1] + '"$'

_CHECK_SQL = f"""
with fields as (
    select
        line_number,
        j.event_id::varchar as event_id,
        j.user_id::varchar as user_id,
        j.event_type::varchar as event_type,
        j.occurred_at::varchar as occurred_at,
        j.received_at::varchar as received_at,
        j.platform::varchar as platform,
        j.properties::varchar as properties
    from (
        select line_number, from_json(line, '{_STRUCT}') as j
        from lines
        where
            not contains(line, '\\u')
            and not contains(line, chr(0))
            and not regexp_matches(line, '{_SUSPECT}')
            and json_valid(line)
            and json_type(line) = 'OBJECT'
    )
),

checked as (
    select
        line_number,
        {_id_value("event_id")} as event_id,
        {_id_value("user_id")} as user_id,
        {_string_value("event_type")} as event_type,
        {_string_value("occurred_at")} as occurred_at,
        {_string_value("received_at")} as received_at,
        case when platform <> 'null' then {_string_value("platform")} end as platform,
        case when starts_with(properties, '{{') then properties end as properties
    from fields
    where
        {_id_ok("event_id")}
        and {_id_ok("user_id")}
        and event_type in ({_EVENT_TYPES})
        and regexp_matches(occurred_at, '{_TIMESTAMP_FRAGMENT}')
        and regexp_matches(received_at, '{_TIMESTAMP_FRAGMENT}')
        and (platform is null or platform = 'null' or {_is_plain_string("platform")})
        and (properties is null or properties = 'null' or starts_with(properties, '{{'))
),

typed as (
    select
        *,
        try_cast(occurred_at as timestamptz) as occurred_tz,
        try_cast(received_at as timestamptz) as received_tz,
        case when contains(properties, ',') then json_keys(properties) end as property_keys,
        case
            when event_type = 'order_paid' and properties is not null
                then json_extract(properties, ['$.order_id', '$.amount'])
        end as order_values
    from checked
)

select
    line_number,
    event_id,
    user_id,
    event_type,
    cast(timezone('UTC', occurred_tz) as timestamp) as occurred_at,
    cast(timezone('UTC', received_tz) as timestamp) as received_at,
    occurred_at as occurred_at_raw,
    platform,
    properties
from typed
where
    occurred_tz is not null
    and received_tz is not null
    and (property_keys is null or len(property_keys) = len(list_distinct(property_keys)))
    and (
        event_type <> 'order_paid'
        or (
            properties is not null
            and (
                (
                    json_type(order_values[1]) = 'VARCHAR'
                    and regexp_matches(order_values[1] ->> '$', '{_NOT_BLANK}')
                )
                or json_type(order_values[1]) in ('BIGINT', 'UBIGINT', 'DOUBLE')
            )
            and (
                json_type(order_values[2]) in ('BIGINT', 'UBIGINT', 'DOUBLE')
                or (
                    json_type(order_values[2]) = 'VARCHAR'
                    and regexp_matches(order_values[2] ->> '$', '{_DECIMAL_TEXT}')
                )
            )
        )
    )
"""


@dataclass
class SplitFile:
    """The lines of one file as offsets into its bytes (no copy of the text)."""

    data: bytes
    starts: np.ndarray  # byte offset of each line
    ends: np.ndarray  # byte offset just past each line's text (before "\\n")

    def __len__(self) -> int:
        return len(self.starts)

    def raw_line(self, index: int) -> bytes:
        """Line ``index`` (0-based) without its ``\\n`` (``\\r`` kept, as :func:`_lines` does)."""
        return self.data[self.starts[index] : self.ends[index]]


def split_lines(data: bytes) -> SplitFile:
    """Line boundaries as ``for line in file`` sees them (a final ``\\n`` ends, not starts, a line)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    ends = newlines.astype(np.int64)
    if len(data) and data[-1:] != b"\n":
        ends = np.append(ends, len(data))
    starts = np.empty_like(ends)
    if len(ends):
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
    return SplitFile(data, starts, ends)


def line_array(split: SplitFile, lo: int, hi: int) -> pa.Array | None:
    """Lines ``lo..hi`` as one Arrow string array (each line keeps its ``\\r``, if any),
    or None when some line is not valid UTF-8 (the caller then goes line by line)."""
    starts = split.starts[lo:hi].copy()
    ends = split.ends[lo:hi]
    if lo == 0 and split.data.startswith(_BOM):
        starts[0] = min(len(_BOM), int(ends[0]))  # line 1 is read as utf-8-sig
    base = int(starts[0])
    top = int(ends[-1])
    # Arrow needs contiguous values: each line spans [start, next start); the text
    # between a line's end and the next start is its "\n", which JSON treats as
    # whitespace and the checks never see as content.
    offsets = np.empty(hi - lo + 1, dtype=np.int64)
    offsets[:-1] = starts - base
    offsets[-1] = top - base
    values = pa.py_buffer(memoryview(split.data)[base:top])
    binary = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), hi - lo, [None, pa.py_buffer(offsets), values]
    )
    try:
        return binary.cast(pa.large_string())
    except pa.ArrowInvalid:
        return None


class BulkChecker:
    """One in-memory DuckDB connection that runs :data:`_CHECK_SQL` over line batches."""

    def __init__(self) -> None:
        self._conn = duckdb.connect(":memory:")
        self._conn.execute("set TimeZone = 'UTC'")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> BulkChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check(self, lines: pa.Array, first_line_number: int) -> pa.Table:
        """Accepted lines (``line_number`` 1-based plus the good-row columns)."""
        numbers = pa.array(
            np.arange(first_line_number, first_line_number + len(lines), dtype=np.int32)
        )
        # in record batches DuckDB scans in parallel (one big batch runs on one core)
        self._conn.register(
            "lines", scan_batches(pa.table({"line_number": numbers, "line": lines}))
        )
        try:
            return self._conn.sql(_CHECK_SQL + "order by line_number").to_arrow_table()
        finally:
            self._conn.unregister("lines")
