"""The nightly value step (userops.predict.run) on both warehouses.

Purchase summaries drawn from a known BG/NBD process stand in for dbt's
``int_users__purchase_summary`` snapshots (the dbt model itself runs in the end-to-end
tests); the step must fit every pending date, write one row per customer, keep the
current view at the latest date, give the same rows on a rerun, and record a date it
cannot fit instead of failing the night.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from userops.config import project_vars
from userops.predict.run import FITS, HISTORY, SUMMARY, predict, run_value_model
from userops.predict.value import BgNbd, simulate_customers
from userops.warehouse import Warehouse

TRUE = BgNbd(r=0.6, alpha=12.0, a=0.4, b=3.0)
D1, D2, D3 = date(1999, 3, 30), date(1999, 3, 31), date(1999, 4, 1)


def _summary(n: int, seed: int) -> pd.DataFrame:
    sim = simulate_customers(n, TRUE, seed=seed)
    rng = np.random.default_rng(seed)
    spend = np.where(sim["frequency"] > 0, rng.gamma(4.0, 50.0, n), 0.0)
    return pd.DataFrame(
        {
            "user_id": [f"u{i:05d}" for i in range(n)],
            "frequency": sim["frequency"],
            "recency_days": sim["recency"],
            "age_days": sim["T"],
            "monetary_value_cny": spend,
            "alive": sim["alive"],
        }
    )


def _write_summary(wh: Warehouse, day: date, frame: pd.DataFrame) -> None:
    wh.execute("create schema if not exists intermediate")
    wh.execute(
        f"create table if not exists {SUMMARY} (as_of_date date, user_id varchar, "
        "first_paid_date date, last_paid_date date, frequency integer, recency_days integer, "
        "age_days integer, monetary_value_cny double precision)"
    )
    wh.execute(f"delete from {SUMMARY} where as_of_date = {wh.param}", [day])
    data = pa.table(
        {
            "as_of_date": pa.array([day] * len(frame), pa.date32()),
            "user_id": pa.array(frame["user_id"], pa.string()),
            "frequency": pa.array(frame["frequency"], pa.int32()),
            "recency_days": pa.array(frame["recency_days"], pa.int32()),
            "age_days": pa.array(frame["age_days"], pa.int32()),
            "monetary_value_cny": pa.array(frame["monetary_value_cny"], pa.float64()),
        }
    )
    wh.bulk_insert(SUMMARY, data)


def _rows(wh: Warehouse, sql: str) -> list[tuple]:
    return [tuple(str(v) for v in row) for row in wh.fetchall(sql)]


def test_pending_dates_are_fitted_and_a_rerun_changes_nothing(any_target):
    vars_ = project_vars()
    with Warehouse(any_target) as wh:
        _write_summary(wh, D1, _summary(3000, seed=1))
        _write_summary(wh, D2, _summary(3000, seed=2))
        fits = run_value_model(wh, D2, vars_)  # D1 was built (caught up) but never fitted
        assert [f["as_of_date"] for f in fits] == [D1.isoformat(), D2.isoformat()]
        assert {f["status"] for f in fits} == {"fitted"}
        counts = dict(
            wh.fetchall(f"select as_of_date, count(*) from {HISTORY} group by as_of_date")
        )
        assert sorted(counts.values()) == [3000, 3000]
        before = _rows(wh, f"select * from {HISTORY} order by as_of_date, user_id")
        again = run_value_model(wh, D2, vars_)  # a rerun refits D2 only
        assert [f["as_of_date"] for f in again] == [D2.isoformat()]
        assert _rows(wh, f"select * from {HISTORY} order by as_of_date, user_id") == before
        run_value_model(wh, D1, vars_)  # a backfill of D1 leaves the current view at D2
        ((latest, n),) = wh.fetchall("select max(as_of_date), count(*) from marts.user_value")
        assert (str(latest)[:10], n) == (D2.isoformat(), 3000)


def test_a_date_too_small_to_fit_is_recorded_not_failed(any_target):
    with Warehouse(any_target) as wh:
        _write_summary(wh, D3, _summary(5, seed=3))
        (fit,) = run_value_model(wh, D3, project_vars())
        assert fit["status"] == "too_few_customers" and fit["customers"] == 5
        assert wh.fetchall(f"select count(*) from {HISTORY}")[0][0] == 0
        assert wh.fetchall(f"select status from {FITS}") == [("too_few_customers",)]


def test_predictions_separate_the_living_from_the_gone():
    summary = _summary(20000, seed=4)
    rows, fit = predict(summary.drop(columns="alive"), D2, project_vars())
    assert fit["status"] == "fitted" and len(rows) == 20000
    assert fit["bgnbd_r"] == pytest.approx(TRUE.r, rel=0.1)  # the process is recovered
    assert fit["bgnbd_b"] == pytest.approx(TRUE.b, rel=0.1)
    alive = summary["alive"].to_numpy()
    churn = rows["churn_probability"].to_numpy()
    assert churn[~alive].mean() > churn[alive].mean() + 0.2
    assert ((churn >= 0) & (churn <= 1)).all()
    assert np.allclose(
        rows["expected_value_cny"], rows["expected_purchases"] * rows["expected_order_value_cny"]
    )
    top = rows[rows["value_decile"] == 1]["expected_value_cny"].min()
    assert top >= rows[rows["value_decile"] == 2]["expected_value_cny"].max()
    assert sorted(rows["value_decile"].unique()) == list(range(1, 11))
    tags = rows.groupby("predicted_value_band")["value_decile"].agg(["min", "max"])
    assert tags.to_dict("index") == {
        "top": {"min": 1, "max": 1}, "high": {"min": 2, "max": 3},
        "medium": {"min": 4, "max": 7}, "low": {"min": 8, "max": 10},
    }  # fmt: skip
    bands = rows.groupby("churn_probability_band")["churn_probability"].agg(["min", "max"])
    assert bands.loc["low", "max"] <= 0.3 < bands.loc["medium", "min"]
    _, fit2 = predict(
        summary.drop(columns="alive").sample(frac=1.0, random_state=1), D2, project_vars()
    )
    assert fit2["model_run_id"] == fit["model_run_id"]  # same data, any order: same fit
