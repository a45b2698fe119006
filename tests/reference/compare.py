"""Row-for-row comparison of a warehouse table with a reference frame, whatever the driver.

DuckDB returns dates as timestamps and numerics as floats, PostgreSQL returns
``date`` and ``Decimal``: every value is normalised to one comparable Python value
before rows are compared in key order.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd


def norm(value: Any) -> Any:
    """One comparable Python value per SQL value, whichever driver produced it."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else round(float(value), 6)
    if isinstance(value, Decimal):
        return round(float(value), 6)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date()
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).date()
    return value


def rows(frame: pd.DataFrame, key: list[str]) -> list[tuple[Any, ...]]:
    """Normalised rows sorted by ``key``."""
    out = [tuple(norm(v) for v in row) for row in frame.itertuples(index=False, name=None)]
    positions = [list(frame.columns).index(k) for k in key]
    return sorted(out, key=lambda r: tuple(str(r[p]) for p in positions))


def assert_same_rows(
    name: str, actual: pd.DataFrame, expected: pd.DataFrame, key: list[str]
) -> None:
    """Same columns in the same order, same number of rows, same values row for row."""
    assert list(actual.columns) == list(expected.columns), name
    got, want = rows(actual, key), rows(expected, key)
    assert len(got) == len(want), f"{name}: {len(got)} rows, expected {len(want)}"
    for g, w in zip(got, want, strict=True):
        assert g == w, f"{name}: warehouse {g} != expected {w}"
