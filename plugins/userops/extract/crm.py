"""Read CRM tables through SQLAlchemy as text, in Arrow chunks.

The CRM may be SQLite, PostgreSQL or MySQL and its text is dirty, so every value
lands as text exactly as the driver hands it over and typing is left to dbt
staging; a bad value can then never fail a load or be lost.  Values the driver
already typed are written in one canonical text form:

- datetimes -> ``YYYY-MM-DD HH:MM:SS[.ffffff]`` in UTC (naive ones are UTC per
  the contract; aware ones are converted);
- ``Decimal``/``int``/``float`` -> their plain text (no exponent for decimals);
- ``bool`` -> ``true``/``false`` (PostgreSQL's text form; SQLite/MySQL send 1/0);
- ``None`` -> NULL.

NUL characters, which PostgreSQL text cannot hold, become U+FFFD on both
warehouses so the two stay identical.

SQLAlchemy Core with ``stream_results`` is used rather than ``pandas.read_sql``:
pandas would turn an integer column with NULLs into floats (``12`` -> ``12.0``),
which is not "as received".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

#: SQLite keeps timestamps as text of varying shape (``T`` or space, ``Z``,
#: offsets); comparing through ``strftime`` normalises them to UTC first.
_SQLITE_TS = "%Y-%m-%d %H:%M:%f"


@dataclass(frozen=True)
class ExtractWindow:
    """Rows with ``lower <= updated_at < upper`` (naive UTC; no lower bound if None)."""

    lower: dt.datetime | None
    upper: dt.datetime

    @property
    def is_empty(self) -> bool:
        return self.lower is not None and self.lower >= self.upper


@dataclass(frozen=True)
class CrmChunk:
    """Text columns of up to ``chunk_rows`` source rows, plus their max ``updated_at``."""

    table: pa.Table
    max_updated_at: dt.datetime | None


def format_utc(value: dt.datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS[.ffffff]`` in UTC; a naive value is taken as UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    if value.microsecond:
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value.strftime("%Y-%m-%d %H:%M:%S")


def value_to_text(value: Any) -> str | None:
    """One source value as text (see the module docstring for the forms)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return format_utc(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def text_array(values: Sequence[Any]) -> pa.Array:
    """A string Arrow array of one column; all-text columns skip the per-value path."""
    if all(v is None or type(v) is str for v in values):
        arr = pa.array(values, type=pa.string())
    else:
        arr = pa.array([value_to_text(v) for v in values], type=pa.string())
    if pc.any(pc.match_substring(arr, "\x00")).as_py():
        arr = pc.replace_substring(arr, "\x00", "\ufffd")
    return arr


def parse_updated_at(value: Any) -> dt.datetime | None:
    """Naive UTC datetime of a source ``updated_at`` (typed or text); None if unparseable."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def create_source_engine(url: str) -> sa.Engine:
    """A read-only-use engine for the CRM URL."""
    return sa.create_engine(url)


def _set_session_utc(conn: sa.Connection) -> None:
    """Make ``timestamptz``/MySQL ``TIMESTAMP`` values and comparisons use UTC."""
    name = conn.dialect.name
    if name == "postgresql":
        conn.exec_driver_sql("set time zone 'UTC'")
    elif name in {"mysql", "mariadb"}:
        conn.exec_driver_sql("set time_zone = '+00:00'")


def _sqlite_bound(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"


def _updated_at_filter(
    dialect: str, updated_at: sa.ColumnClause, window: ExtractWindow
) -> list[sa.ColumnElement[bool]]:
    if dialect == "sqlite":
        norm = sa.func.strftime(_SQLITE_TS, updated_at)
        conds = [norm < _sqlite_bound(window.upper)]
        if window.lower is not None:
            conds.append(norm >= _sqlite_bound(window.lower))
        return conds
    conds = [updated_at < window.upper]
    if window.lower is not None:
        conds.append(updated_at >= window.lower)
    return conds


def _source_table(table: str, columns: Sequence[str], schema: str | None) -> sa.TableClause:
    return sa.table(table, *(sa.column(c) for c in columns), schema=schema)


def extract_table(
    engine: sa.Engine,
    table: str,
    columns: Sequence[str],
    window: ExtractWindow,
    *,
    schema: str | None = None,
    chunk_rows: int = 50_000,
) -> Iterator[CrmChunk]:
    """Stream the rows of ``table`` in ``window`` as text Arrow chunks (SPEC columns only)."""
    if window.is_empty:
        return
    src = _source_table(table, columns, schema)
    stmt = sa.select(*src.c).where(
        *_updated_at_filter(engine.dialect.name, src.c.updated_at, window)
    )
    ua_index = list(columns).index("updated_at")
    with engine.connect() as conn:
        _set_session_utc(conn)
        result = conn.execution_options(stream_results=True, max_row_buffer=chunk_rows).execute(
            stmt
        )
        for part in result.partitions(chunk_rows):
            cols = list(zip(*part, strict=True))
            stamps = [t for t in map(parse_updated_at, cols[ua_index]) if t is not None]
            yield CrmChunk(
                table=pa.table({c: text_array(v) for c, v in zip(columns, cols, strict=True)}),
                max_updated_at=max(stamps) if stamps else None,
            )


def count_without_updated_at(engine: sa.Engine, table: str, *, schema: str | None = None) -> int:
    """Rows no window can select (``updated_at`` NULL or unreadable), to report, not drop silently."""
    src = _source_table(table, ["updated_at"], schema)
    cond = src.c.updated_at.is_(None)
    if engine.dialect.name == "sqlite":
        cond = sa.or_(cond, sa.func.strftime(_SQLITE_TS, src.c.updated_at).is_(None))
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(src).where(cond)).scalar())
