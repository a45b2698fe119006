"""BG/NBD + Gamma-Gamma (userops.predict.value) against the ``lifetimes`` package.

``lifetimes`` 0.11.3 is a test-only reference (requirements-dev): on the CDNOW
transactions it ships, the summary of transactions, the fitted parameters and every
prediction must agree. Our fitter maximises the same likelihoods on the distinct
(x, t_x, T) rows with their counts instead of one row per customer.
"""

from __future__ import annotations

import os
import warnings
from datetime import date

import lifetimes  # the test-only reference (requirements-dev)
import numpy as np
import pandas as pd
import pytest

from userops.predict.value import FitError, fit_bgnbd, fit_gamma_gamma, rfm_summary

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data


@pytest.fixture(scope="module")
def cdnow() -> tuple[pd.DataFrame, date]:
    """CDNOW_master.txt as paid orders (user_id, paid_date, amount_cny) and its last day."""
    path = os.path.join(os.path.dirname(lifetimes.__file__), "datasets", "CDNOW_master.txt")
    tx = pd.read_csv(path, sep=r"\s+", header=0, names=["user_id", "paid_date", "cds", "amount_cny"],
                     dtype={"user_id": str, "paid_date": str})  # fmt: skip
    tx["paid_date"] = pd.to_datetime(tx["paid_date"], format="%Y%m%d")
    return tx, tx["paid_date"].max().date()


@pytest.fixture(scope="module")
def summary(cdnow) -> pd.DataFrame:
    orders, end = cdnow
    return rfm_summary(orders, end)


@pytest.fixture(scope="module")
def reference(cdnow) -> pd.DataFrame:
    orders, end = cdnow
    return summary_data_from_transaction_data(
        orders, "user_id", "paid_date", monetary_value_col="amount_cny",
        observation_period_end=pd.Timestamp(end),
    ).sort_index()  # fmt: skip


def test_summary_matches_lifetimes(summary, reference):
    assert len(summary) == len(reference) > 20000
    ours = summary.sort_index()
    assert (ours.index == reference.index).all()
    for col in ("frequency", "recency", "T"):
        assert (ours[col].to_numpy() == reference[col].to_numpy()).all(), col
    assert np.allclose(ours["monetary_value"], reference["monetary_value"], rtol=0, atol=1e-9)


def test_bgnbd_matches_lifetimes(summary, reference):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = BetaGeoFitter().fit(reference["frequency"], reference["recency"], reference["T"])
    model = fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    for name in ("r", "alpha", "a", "b"):
        assert getattr(model, name) == pytest.approx(ref.params_[name], rel=1e-4), name
    x, t_x, big_t = (reference[c] for c in ("frequency", "recency", "T"))
    for horizon in (30, 90, 365):
        want = ref.conditional_expected_number_of_purchases_up_to_time(horizon, x, t_x, big_t)
        got = model.expected_purchases(horizon, x, t_x, big_t)
        assert np.abs(got - np.asarray(want)).max() < 1e-4, horizon
    alive = np.asarray(ref.conditional_probability_alive(x, t_x, big_t))
    assert np.abs(model.p_alive(x, t_x, big_t) - alive).max() < 1e-4
    assert alive.min() < 0.05 and alive.max() == 1.0  # the data spans dead and alive customers


def test_gamma_gamma_matches_lifetimes(summary, reference):
    repeat = reference[(reference["frequency"] > 0) & (reference["monetary_value"] > 0)]
    ref = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    model = fit_gamma_gamma(summary["frequency"], summary["monetary_value"])
    for name in ("p", "q", "v"):
        assert getattr(model, name) == pytest.approx(ref.params_[name], rel=1e-4), name
    want = ref.conditional_expected_average_profit(repeat["frequency"], repeat["monetary_value"])
    got = model.expected_value(repeat["frequency"], repeat["monetary_value"])
    assert np.abs(got - np.asarray(want)).max() < 1e-3
    assert np.abs(got / np.asarray(want) - 1).max() < 1e-5


def test_same_data_in_any_order_give_the_same_fit(summary):
    shuffled = summary.sample(frac=1.0, random_state=7)
    one = fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    two = fit_bgnbd(shuffled["frequency"], shuffled["recency"], shuffled["T"])
    assert one == two


def test_too_few_customers_fail_clearly():
    with pytest.raises(FitError, match="at least 10 customers"):
        fit_bgnbd([0, 1, 2], [0, 5, 9], [10, 10, 10])
    with pytest.raises(FitError, match="at least 10 repeat customers"):
        fit_gamma_gamma([0, 1], [0.0, 20.0])
