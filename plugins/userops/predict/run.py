"""The nightly value step: fit BG/NBD + Gamma-Gamma as of D and write ``marts.user_value``.

Reads D's snapshot of ``intermediate.int_users__purchase_summary`` (dbt, one snapshot
per date), fits :mod:`userops.predict.value` and replaces D's rows of:

- ``marts.user_value_history`` (user x D): expected purchases in the next
  ``value_horizon_days`` days, P(alive), churn probability = 1 - P(alive), expected
  order value and expected value in CNY over the horizon, value decile (1 = top
  tenth), the tags ``predicted_value_band`` (``value_bands``) and
  ``churn_probability_band`` (``value_churn_bands``), and the ``model_run_id``;
- ``meta.value_model_fits`` (D): the fitted parameters, the number of customers and
  rows fitted, how long it took and a status.

``marts.user_value`` is a view of the latest date in the history, so a backfill of an
older date never rewinds it. Every date with a summary snapshot and no fit yet is
fitted too (nights built while catching up, a run killed after dbt), so the history
depends only on which dates ran. The same snapshot always gives the same rows: the
fit is deterministic and ``model_run_id`` is a digest of the date and the parameters.
Too few customers to fit is not an error of the night: the date gets a fit row with
status ``too_few_customers`` and no user rows.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from userops.warehouse import Warehouse

log = logging.getLogger(__name__)

SUMMARY = "intermediate.int_users__purchase_summary"
HISTORY = "marts.user_value_history"
CURRENT = "marts.user_value"
FITS = "meta.value_model_fits"

_HISTORY_SCHEMA = pa.schema(
    [
        ("as_of_date", pa.date32()),
        ("user_id", pa.string()),
        ("frequency", pa.int32()),
        ("recency_days", pa.int32()),
        ("age_days", pa.int32()),
        ("monetary_value_cny", pa.float64()),
        ("expected_purchases", pa.float64()),
        ("p_alive", pa.float64()),
        ("churn_probability", pa.float64()),
        ("expected_order_value_cny", pa.float64()),
        ("expected_value_cny", pa.float64()),
        ("value_decile", pa.int32()),
        ("predicted_value_band", pa.string()),
        ("churn_probability_band", pa.string()),
        ("horizon_days", pa.int32()),
        ("model_run_id", pa.string()),
    ]
)
_FITS_SCHEMA = pa.schema(
    [
        ("as_of_date", pa.date32()),
        ("model_run_id", pa.string()),
        ("status", pa.string()),
        ("customers", pa.int64()),
        ("distinct_rows", pa.int64()),
        ("bgnbd_r", pa.float64()),
        ("bgnbd_alpha", pa.float64()),
        ("bgnbd_a", pa.float64()),
        ("bgnbd_b", pa.float64()),
        ("gg_p", pa.float64()),
        ("gg_q", pa.float64()),
        ("gg_v", pa.float64()),
        ("fit_seconds", pa.float64()),
        ("fitted_at", pa.timestamp("us")),
    ]
)
_SQL_TYPES = {
    pa.date32(): "date", pa.string(): "varchar", pa.int32(): "integer", pa.int64(): "bigint",
    pa.float64(): "double precision", pa.timestamp("us"): "timestamp",
}  # fmt: skip


def _ddl(table: str, schema: pa.Schema, key: str) -> str:
    cols = ", ".join(f"{f.name} {_SQL_TYPES[f.type]}" for f in schema)
    return f"create table if not exists {table} ({cols}, primary key ({key}))"


def ensure_table(wh: Warehouse, table: str, schema: pa.Schema, key: str) -> None:
    """Create ``table`` (schema.name) if missing and add the columns a later version
    introduced (existing rows get null); idempotent."""
    wh.execute(f"create schema if not exists {table.split('.')[0]}")
    wh.execute(_ddl(table, schema, key))
    for f in schema:
        wh.execute(f"alter table {table} add column if not exists {f.name} {_SQL_TYPES[f.type]}")


def ensure_value_tables(wh: Warehouse) -> None:
    """Create the history, the fits table and the current view if missing, and add the
    columns a later version introduced (idempotent)."""
    ensure_table(wh, HISTORY, _HISTORY_SCHEMA, "as_of_date, user_id")
    ensure_table(wh, FITS, _FITS_SCHEMA, "as_of_date")
    wh.execute(
        f"create or replace view {CURRENT} as select * from {HISTORY} "
        f"where as_of_date = (select max(as_of_date) from {HISTORY})"
    )


def churn_band(probability: np.ndarray, bands: Mapping[str, float]) -> list[str]:
    """The first band (in ascending upper bounds) whose bound the probability reaches."""
    ordered = sorted(bands.items(), key=lambda kv: float(kv[1]))
    out = []
    for p in probability:
        out.append(next((name for name, upper in ordered if p <= float(upper)), ordered[-1][0]))
    return out


def value_band(deciles: np.ndarray, bands: Mapping[str, int]) -> list[str]:
    """The first band (in ascending last deciles) that holds the decile (1 = top tenth)."""
    ordered = sorted(bands.items(), key=lambda kv: int(kv[1]))
    return [next((n for n, last in ordered if d <= int(last)), ordered[-1][0]) for d in deciles]


def _deciles(values: np.ndarray, user_ids: pd.Series) -> np.ndarray:
    """1 = the top tenth by value (ties -> user_id), 10 = the bottom tenth."""
    order = np.lexsort((user_ids.to_numpy(), -values))
    ranks = np.empty(len(values), dtype=int)
    ranks[order] = np.arange(len(values))
    return (ranks * 10 // max(len(values), 1) + 1).astype(int)


def predict(
    summary: pd.DataFrame, day: date, dbt_vars: Mapping[str, Any]
) -> tuple[pd.DataFrame, dict]:
    """User rows and the fit row of one date from its purchase summary (pure)."""
    # scipy only here: warehouse preparation imports this module for its DDL
    from userops.predict.value import FitError, fit_bgnbd, fit_gamma_gamma

    horizon = int(dbt_vars["value_horizon_days"])
    fit: dict[str, Any] = {"as_of_date": day, "customers": len(summary), "status": "fitted"}
    x = summary["frequency"].to_numpy(dtype=float)
    t_x = summary["recency_days"].to_numpy(dtype=float)
    big_t = summary["age_days"].to_numpy(dtype=float)
    m = summary["monetary_value_cny"].to_numpy(dtype=float)
    fit["distinct_rows"] = len(np.unique(np.column_stack([x, t_x, big_t]), axis=0))
    started = time.perf_counter()
    try:
        bg = fit_bgnbd(x, t_x, big_t)
        gg = fit_gamma_gamma(x, m)
    except FitError as exc:
        log.warning("value model not fitted for %s: %s", day, exc)
        fit.update(status="too_few_customers", model_run_id=None)
        fit["fit_seconds"] = time.perf_counter() - started
        return pd.DataFrame(columns=_HISTORY_SCHEMA.names), fit
    fit["fit_seconds"] = time.perf_counter() - started
    params = {"bgnbd_r": bg.r, "bgnbd_alpha": bg.alpha, "bgnbd_a": bg.a, "bgnbd_b": bg.b,
              "gg_p": gg.p, "gg_q": gg.q, "gg_v": gg.v}  # fmt: skip
    digest = hashlib.sha256(
        (day.isoformat() + "|" + "|".join(f"{k}={v:.12g}" for k, v in params.items())).encode()
    ).hexdigest()[:16]
    fit.update(params, model_run_id=digest)

    purchases = bg.expected_purchases(horizon, x, t_x, big_t)
    alive = bg.p_alive(x, t_x, big_t)
    order_value = gg.expected_value(x, m)
    value = purchases * order_value
    deciles = _deciles(value, summary["user_id"].astype(str))
    rows = pd.DataFrame(
        {
            "as_of_date": day,
            "user_id": summary["user_id"].astype(str).to_numpy(),
            "frequency": x.astype(int),
            "recency_days": t_x.astype(int),
            "age_days": big_t.astype(int),
            "monetary_value_cny": m,
            "expected_purchases": purchases,
            "p_alive": alive,
            "churn_probability": 1.0 - alive,
            "expected_order_value_cny": order_value,
            "expected_value_cny": value,
            "value_decile": deciles,
            "predicted_value_band": value_band(deciles, dbt_vars["value_bands"]),
            "churn_probability_band": churn_band(1.0 - alive, dbt_vars["value_churn_bands"]),
            "horizon_days": horizon,
            "model_run_id": digest,
        }
    )
    return rows, fit


def _write(wh: Warehouse, table: str, schema: pa.Schema, day: date, rows: list[dict]) -> None:
    data = pa.Table.from_pylist(rows, schema=schema)
    with wh.transaction():
        wh.execute(f"delete from {table} where as_of_date = {wh.param}", [day])
        wh.bulk_insert(table, data)


def run_value_model(wh: Warehouse, day: date, dbt_vars: Mapping[str, Any]) -> list[dict]:
    """Fit D and every earlier date with a summary snapshot but no fit; return the fits."""
    ensure_value_tables(wh)
    p = wh.param
    pending = {
        d for (d,) in wh.fetchall(
            f"select distinct s.as_of_date from {SUMMARY} as s "
            f"left join {FITS} as f on s.as_of_date = f.as_of_date "
            f"where f.as_of_date is null and s.as_of_date < {p}",
            [day],
        )
    }  # fmt: skip
    fits = []
    for d in sorted({pd.Timestamp(x).date() for x in pending} | {day}):
        summary = wh.fetch_df(
            "select user_id, frequency, recency_days, age_days, monetary_value_cny "
            f"from {SUMMARY} where as_of_date = {p} order by user_id",
            [d],
        )
        rows, fit = predict(summary, d, dbt_vars)
        fit["fitted_at"] = datetime.now(UTC).replace(tzinfo=None)
        _write(wh, HISTORY, _HISTORY_SCHEMA, d, rows.to_dict("records"))
        _write(wh, FITS, _FITS_SCHEMA, d, [{f: fit.get(f) for f in _FITS_SCHEMA.names}])
        log.info("value model %s: %s, %d customers, %.2fs", d, fit["status"], fit["customers"],
                 fit["fit_seconds"])  # fmt: skip
        fits.append(
            {k: (v.isoformat() if isinstance(v, (date, datetime)) else v) for k, v in fit.items()}
        )
    return fits
