"""What each suite validates: the rows of a dataset that belong to one run.

- ``raw.events__events`` / ``raw.events__quarantine``: the day's received
  partitions (``BusinessDay.received_partitions``), the window the event load
  replaces every run;
- ``raw.crm__<table>``: the day's CRM batch (``_batch_id`` = the load's
  deterministic batch id), i.e. exactly the versions that run extracted;
- marts: the table as built for the day (snapshots hold only the day;
  ``active_users_daily`` keeps history, so rows after the day are left out).

GX's SQL data source does not work on DuckDB, so every dataset is fetched into
pandas through :class:`~userops.warehouse.Warehouse` and validated there: one code
path for both warehouses.  :func:`normalise_frame` gives both drivers' frames the
same dtypes (dates and timestamps as naive UTC ``datetime64``, numerics as floats)
so one suite parameter compares the same way on DuckDB and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from userops.load.batches import make_batch_id
from userops.warehouse import Warehouse
from userops.windows import BusinessDay

EVENT_COLUMNS = (
    "event_id",
    "user_id",
    "event_type",
    "occurred_at",
    "received_at",
    "platform",
    "_partition_date",
    "_batch_id",
)
QUARANTINE_COLUMNS = (
    "source",
    "reason",
    "_partition_date",
    "_source_file",
    "_line_number",
    "_batch_id",
)


def _in_list(wh: Warehouse, n: int) -> str:
    return ", ".join([wh.param] * n)


def _events_slice(wh: Warehouse, day: BusinessDay) -> tuple[str, list[Any]]:
    parts = day.received_partitions
    cols = ", ".join(EVENT_COLUMNS)
    return (
        f"select {cols} from raw.events__events "
        f"where _partition_date in ({_in_list(wh, len(parts))})",
        list(parts),
    )


def _quarantine_slice(wh: Warehouse, day: BusinessDay) -> tuple[str, list[Any]]:
    parts = day.received_partitions
    cols = ", ".join(QUARANTINE_COLUMNS)
    return (
        f"select {cols} from raw.events__quarantine where source = {wh.param} "
        f"and _partition_date in ({_in_list(wh, len(parts))})",
        ["events", *parts],
    )


def crm_batch_id(table: str, day: BusinessDay) -> str:
    """The batch id the CRM load gives ``table`` for ``day`` (``crm.leads:2026-03-01``)."""
    from userops.load.crm import crm_source  # lazy: pulls in the SQLAlchemy extract

    return make_batch_id(crm_source(table), day.day)


def _crm_slice(table: str) -> Callable[[Warehouse, BusinessDay], tuple[str, list[Any]]]:
    def query(wh: Warehouse, day: BusinessDay) -> tuple[str, list[Any]]:
        return (
            f"select * from raw.crm__{table} where _batch_id = {wh.param}",
            [crm_batch_id(table, day)],
        )

    return query


def _whole(table: str) -> Callable[[Warehouse, BusinessDay], tuple[str, list[Any]]]:
    def query(wh: Warehouse, day: BusinessDay) -> tuple[str, list[Any]]:
        return f"select * from {table}", []

    return query


def _snapshot(history: str) -> Callable[[Warehouse, BusinessDay], tuple[str, list[Any]]]:
    """The day's snapshot of a current-state mart: a backfill validates its own day."""

    def query(wh: Warehouse, day: BusinessDay) -> tuple[str, list[Any]]:
        return f"select * from {history} where as_of_date = {wh.param}", [day.day]

    return query


def _active_users_daily(wh: Warehouse, day: BusinessDay) -> tuple[str, list[Any]]:
    return (
        f"select * from marts.active_users_daily where activity_date <= {wh.param}",
        [day.day],
    )


@dataclass(frozen=True)
class Dataset:
    """A warehouse table and the query selecting one run's rows of it."""

    name: str
    query: Callable[[Warehouse, BusinessDay], tuple[str, list[Any]]]
    #: The table the rows come from, when it is not ``name`` (a mart's history).
    source: str | None = None

    @property
    def schema(self) -> str:
        return (self.source or self.name).split(".", 1)[0]

    @property
    def table(self) -> str:
        return (self.source or self.name).split(".", 1)[1]


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset("raw.events__events", _events_slice),
        Dataset("raw.events__quarantine", _quarantine_slice),
        *(
            Dataset(f"raw.crm__{t}", _crm_slice(t))
            for t in ("sales_reps", "leads", "followups", "contracts")
        ),
        *(
            Dataset(f"marts.{m}", _snapshot(f"marts.{m}_history"), f"marts.{m}_history")
            for m in (
                "users",
                "user_rfm",
                "lead_scores",
                "rep_performance",
                "user_value",
                "lead_need_themes",
            )
        ),
        Dataset("marts.active_users_daily", _active_users_daily),
        Dataset("marts.retention_cohorts", _whole("marts.retention_cohorts")),
    )
}


def normalise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Same dtypes from DuckDB and PostgreSQL frames (see module docstring).

    psycopg returns ``date``/``datetime``/``Decimal``/``dict`` objects where DuckDB
    returns numpy dtypes; without this, a date column would compare as objects on
    one warehouse and as ``datetime64`` on the other.
    """
    out = df.copy()
    for col in out.columns:
        series = out[col]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            series = out[col] = series.dt.tz_convert("UTC").dt.tz_localize(None)
        if pd.api.types.is_datetime64_dtype(series.dtype) or pd.api.types.is_integer_dtype(
            series.dtype
        ):
            out[col] = _vectorisable(series)
            continue
        if series.dtype != object:
            continue
        sample = series.dropna()
        if sample.empty:
            continue
        first = sample.iloc[0]
        if isinstance(first, datetime | date):
            aware = isinstance(first, datetime) and first.tzinfo is not None
            converted = pd.to_datetime(series, utc=aware)
            if isinstance(converted.dtype, pd.DatetimeTZDtype):
                converted = converted.dt.tz_convert("UTC").dt.tz_localize(None)
            out[col] = _vectorisable(converted)
        elif isinstance(first, int) and not isinstance(first, bool):
            out[col] = pd.to_numeric(series)
        elif isinstance(first, Decimal):
            out[col] = pd.to_numeric(series.map(lambda v: None if v is None else float(v)))
        elif isinstance(first, dict | list):
            out[col] = series.map(lambda v: None if v is None else json.dumps(v))
    return out


def _vectorisable(series: pd.Series) -> pd.Series:
    """Dates as ``datetime64[ns]`` and integers as ``int64`` (``float64`` when nullable).

    GX compares a column in bulk only when its dtype is ``datetime64[ns]``, ``int64`` or
    ``float64``; any other (DuckDB's ``datetime64[us]``, ``int32``, pandas' nullable
    ``Int32``) goes through a Python call per value, which cost most of a 1M-user gate.
    A date outside the ``ns`` range (years 1678-2261) keeps its unit: slower, still exact.
    """
    if pd.api.types.is_integer_dtype(series.dtype):
        return series.astype("float64" if series.isna().any() else "int64")
    if series.dtype == "datetime64[ns]":
        return series
    try:
        return series.astype("datetime64[ns]")
    except (OverflowError, ValueError):  # out of the ns range: keep the exact dates
        return series


def fetch_dataset(wh: Warehouse, name: str, day: BusinessDay) -> pd.DataFrame | None:
    """One run's rows of dataset ``name``, normalised; ``None`` if the table is missing."""
    dataset = DATASETS[name]
    if not wh.table_exists(dataset.schema, dataset.table):
        return None
    sql, params = dataset.query(wh, day)
    return normalise_frame(wh.fetch_df(sql, params))


def events_lines_read(wh: Warehouse, day: BusinessDay) -> int | None:
    """Event lines read for the day's partitions (landed + quarantined), or None."""
    total = 0
    for name in ("raw.events__events", "raw.events__quarantine"):
        dataset = DATASETS[name]
        if not wh.table_exists(dataset.schema, dataset.table):
            return None
        sql, params = dataset.query(wh, day)
        total += wh.fetchall(f"select count(*) from ({sql}) as s", params)[0][0]
    return total
