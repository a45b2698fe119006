"""Future value and churn probability per customer: BG/NBD + Gamma-Gamma, closed form.

The models (Fader, Hardie & Lee 2005, "Counting your customers the easy way" and "RFM
and CLV") on the locked numpy/scipy, no sampler and no extra dependency:

- BG/NBD: while alive a customer buys at a Poisson rate (Gamma(r, alpha) across
  customers) and after each purchase drops out with probability p (Beta(a, b)).
  From (frequency x, recency t_x, age T) of each customer it gives the expected
  number of repeat purchases in the next t days and P(alive); churn probability is
  1 - P(alive).
- Gamma-Gamma: the mean value of a customer's repeat purchases (for x > 0) is
  Gamma-distributed around a customer-level mean (p, q, v); it gives the expected
  value of the next purchases.

Conventions follow the ``lifetimes`` package (its summary of transactions and its
likelihoods), so its fits serve as the test reference: a period is a business day,
frequency = days with a purchase - 1, recency = last - first purchase day, T = D -
first purchase day, monetary = mean spend of the repeat purchase days.

Fitting is by maximum likelihood on log parameters (BFGS), over the distinct
(x, t_x, T) rows weighted by their counts: a million customers collapse to a few
hundred thousand rows at most, so a fit takes seconds. The same data give the same
parameters (fixed start, deterministic optimiser).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1


class FitError(RuntimeError):
    """The likelihood could not be maximised (too few customers, degenerate data)."""


@dataclass(frozen=True)
class BgNbd:
    """Fitted BG/NBD parameters (time in days)."""

    r: float
    alpha: float
    a: float
    b: float

    def expected_purchases(
        self, t: float, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
    ) -> np.ndarray:
        """Expected repeat purchases in the next ``t`` days (equation 10)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        x, t_x, big_t = (np.asarray(v, dtype=float) for v in (frequency, recency, age))
        first = (a + b + x - 1) / (a - 1)
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + big_t + t))
        second = 1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp
        denominator = 1 + (x > 0) * (a / (b + np.maximum(x, 1) - 1)) * (
            (alpha + big_t) / (alpha + t_x)
        ) ** (r + x)
        return first * second / denominator

    def p_alive(self, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray) -> np.ndarray:
        """P(the customer is still alive at T)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        x, t_x, big_t = (np.asarray(v, dtype=float) for v in (frequency, recency, age))
        log_div = (r + x) * np.log((alpha + big_t) / (alpha + t_x)) + np.log(
            a / (b + np.maximum(x, 1) - 1)
        )
        return np.where(x == 0, 1.0, np.exp(-np.logaddexp(log_div, 0)))


@dataclass(frozen=True)
class GammaGamma:
    """Fitted Gamma-Gamma parameters of the spend per repeat purchase."""

    p: float
    q: float
    v: float

    def expected_value(self, frequency: np.ndarray, monetary: np.ndarray) -> np.ndarray:
        """Expected mean spend of a customer's future purchases (population mean at x = 0)."""
        p, q, v = self.p, self.q, self.v
        x, m = np.asarray(frequency, dtype=float), np.asarray(monetary, dtype=float)
        individual = p * (v + x * m) / (p * x + q - 1)
        return np.where(x > 0, individual, p * v / (q - 1))


def _collapse(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of the stacked columns and how often each occurs."""
    stacked = np.column_stack([np.asarray(c, dtype=float) for c in columns])
    rows, counts = np.unique(stacked, axis=0, return_counts=True)
    return rows, counts.astype(float)


def _bgnbd_nll(log_params, x, t_x, big_t, w):
    r, alpha, a, b = np.exp(log_params)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + big_t)
    a4 = np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + t_x)
    ll = a1 + a2 + np.where(x > 0, np.logaddexp(a3, a4), a3)
    return -(w * ll).sum() / w.sum()


def _maximise(nll, start: np.ndarray, args: tuple, name: str) -> np.ndarray:
    """Log parameters maximising the likelihood: BFGS (numerical gradient); when it
    fails, Nelder-Mead to the basin and BFGS again to polish."""
    best = minimize(nll, start, args=args, method="BFGS", options={"gtol": 1e-8})
    # status 2: stopped on precision loss at the optimum of a flat, well-scaled surface
    if best.status not in (0, 2) or not np.isfinite(best.fun):
        coarse = minimize(nll, start, args=args, method="Nelder-Mead",
                          options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 20000})  # fmt: skip
        polished = minimize(nll, coarse.x, args=args, method="BFGS", options={"gtol": 1e-8})
        best = min((coarse, polished, best), key=lambda r: r.fun if np.isfinite(r.fun) else np.inf)
    if not np.all(np.isfinite(best.x)) or not np.isfinite(best.fun):
        raise FitError(f"{name}: the likelihood did not converge")
    return best.x


def fit_bgnbd(frequency, recency, age) -> BgNbd:
    """Maximum-likelihood BG/NBD over customers (days; time scaled for the optimiser)."""
    rows, weights = _collapse(frequency, recency, age)
    if len(rows) < 2 or weights.sum() < 10:
        raise FitError(f"BG/NBD needs at least 10 customers, got {int(weights.sum())}")
    scale = 10.0 / rows[:, 2].max()  # as lifetimes: T at most 10 in the optimiser
    x, t_x, big_t = rows[:, 0], rows[:, 1] * scale, rows[:, 2] * scale
    log_params = _maximise(_bgnbd_nll, np.zeros(4), (x, t_x, big_t, weights), "BG/NBD")
    r, alpha, a, b = np.exp(log_params)
    return BgNbd(r=float(r), alpha=float(alpha / scale), a=float(a), b=float(b))


def _gg_nll(log_params, x, m, w):
    p, q, v = np.exp(log_params)
    ll = (
        gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v)
        + (p * x - 1) * np.log(m) + (p * x) * np.log(x) - (p * x + q) * np.log(x * m + v)
    )  # fmt: skip
    return -(w * ll).sum() / w.sum()


def fit_gamma_gamma(frequency, monetary) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma over repeat customers (frequency > 0, spend > 0)."""
    x, m = np.asarray(frequency, dtype=float), np.asarray(monetary, dtype=float)
    keep = (x > 0) & (m > 0)
    rows, weights = _collapse(x[keep], m[keep])
    if weights.sum() < 10:
        raise FitError(f"Gamma-Gamma needs at least 10 repeat customers, got {int(weights.sum())}")
    log_params = _maximise(_gg_nll, np.zeros(3), (rows[:, 0], rows[:, 1], weights), "Gamma-Gamma")
    p, q, v = np.exp(log_params)
    return GammaGamma(p=float(p), q=float(q), v=float(v))


def rfm_summary(orders: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Per customer: frequency, recency, T (days) and monetary from paid orders by D.

    ``orders``: user_id, paid_date, amount_cny (one row per paid order). Orders of one
    day count as one purchase (their sum); monetary is the mean of the repeat days'
    sums (0 without a repeat), as lifetimes' ``summary_data_from_transaction_data``.
    """
    d = pd.Timestamp(as_of)
    paid = orders.assign(paid_date=pd.to_datetime(orders["paid_date"]))
    paid = paid[paid["paid_date"] <= d]
    daily = (
        paid.groupby(["user_id", "paid_date"], as_index=False)["amount_cny"]
        .sum()
        .sort_values(["user_id", "paid_date"])
    )
    daily["amount_cny"] = daily["amount_cny"].astype(float)
    first = daily.groupby("user_id")["paid_date"].transform("min")
    repeat = daily[daily["paid_date"] > first]
    per_user = daily.groupby("user_id").agg(
        first=("paid_date", "min"), last=("paid_date", "max"), days=("paid_date", "size")
    )
    out = pd.DataFrame(
        {
            "frequency": per_user["days"] - 1,
            "recency": (per_user["last"] - per_user["first"]).dt.days,
            "T": (d - per_user["first"]).dt.days,
        }
    )
    out["monetary_value"] = (
        repeat.groupby("user_id")["amount_cny"].mean().reindex(out.index).fillna(0.0)
    )
    return out.astype({"frequency": int, "recency": int, "T": int})


def simulate_customers(
    n: int, model: BgNbd, *, max_age_days: int = 730, seed: int = 0
) -> pd.DataFrame:
    """``n`` customers drawn from the BG/NBD process of ``model`` (for tests and
    benchmarks): frequency, recency, T and whether the customer is still alive at T.

    Each customer is born on their first purchase, T days before D (uniform in
    1 .. ``max_age_days``), buys at a Poisson rate drawn from Gamma(r, 1 / alpha) and
    drops out after each purchase with a probability drawn from Beta(a, b).
    """
    rng = np.random.default_rng(seed)
    rate = rng.gamma(model.r, 1.0 / model.alpha, n)
    drop = rng.beta(model.a, model.b, n)
    big_t = rng.integers(1, max_age_days + 1, n).astype(float)
    frequency = np.zeros(n, dtype=int)
    recency = np.zeros(n)
    now = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    active = np.ones(n, dtype=bool)  # still alive and before T
    while active.any():
        idx = np.flatnonzero(active)
        now[idx] += rng.exponential(1.0 / np.maximum(rate[idx], 1e-12))
        bought = idx[now[idx] <= big_t[idx]]
        frequency[bought] += 1
        recency[bought] = now[bought]
        died = bought[rng.random(len(bought)) < drop[bought]]
        alive[died] = False
        active[idx] = False
        active[bought] = True
        active[died] = False
    return pd.DataFrame(
        {
            "frequency": frequency,
            "recency": np.floor(recency).astype(int),
            "T": big_t.astype(int),
            "alive": alive,
        }
    )
