"""Value model (BG/NBD + Gamma-Gamma): a calibration/holdout report and fit times.

    .venv/bin/python benchmarks/value_model.py                      # CDNOW + 100k fit
    .venv/bin/python benchmarks/value_model.py --customers 1000000  # the 1M fit
    .venv/bin/python benchmarks/value_model.py --orders orders.csv  # your own orders

Holdout: fit on the orders up to D - h (``--holdout-days``, default 273 = 39 weeks,
the usual CDNOW split), predict each customer's repeat purchases in (D - h, D] and
compare with what they did, per decile of predicted purchases; Gamma-Gamma's expected
order value against the mean spend of holdout buyers. Orders come from ``--orders``
(CSV: user_id, paid_date, amount_cny) or, by default, the CDNOW transactions shipped
with the test-only ``lifetimes`` package.

Fit times: ``--customers`` customers drawn from a BG/NBD process, collapsed to their
distinct (x, t_x, T) rows, fitted. Prints figures (JSON at the end); asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import timedelta

import numpy as np
import pandas as pd

from userops.predict.value import BgNbd, fit_bgnbd, fit_gamma_gamma, rfm_summary, simulate_customers


def _cdnow() -> pd.DataFrame:
    import lifetimes

    path = os.path.join(os.path.dirname(lifetimes.__file__), "datasets", "CDNOW_master.txt")
    tx = pd.read_csv(path, sep=r"\s+", header=0, names=["user_id", "paid_date", "cds", "amount_cny"],
                     dtype={"user_id": str, "paid_date": str})  # fmt: skip
    tx["paid_date"] = pd.to_datetime(tx["paid_date"], format="%Y%m%d")
    return tx[["user_id", "paid_date", "amount_cny"]]


def holdout(orders: pd.DataFrame, holdout_days: int) -> dict:
    orders = orders.assign(paid_date=pd.to_datetime(orders["paid_date"]))
    end = orders["paid_date"].max()
    cal_end = end - timedelta(days=holdout_days)
    cal = rfm_summary(orders, cal_end.date())
    started = time.perf_counter()
    bg = fit_bgnbd(cal["frequency"], cal["recency"], cal["T"])
    gg = fit_gamma_gamma(cal["frequency"], cal["monetary_value"])
    fit_s = time.perf_counter() - started
    later = orders[(orders["paid_date"] > cal_end) & orders["user_id"].isin(cal.index)]
    days = later.groupby(["user_id", "paid_date"])["amount_cny"].sum().reset_index()
    actual = days.groupby("user_id").size().reindex(cal.index).fillna(0)
    spend = days.groupby("user_id")["amount_cny"].mean()
    predicted = pd.Series(
        bg.expected_purchases(holdout_days, cal["frequency"], cal["recency"], cal["T"]),
        index=cal.index,
    )
    decile = pd.qcut(predicted.rank(method="first", ascending=False), 10, labels=range(1, 11))
    table = (
        pd.DataFrame({"decile": decile, "predicted": predicted, "actual": actual})
        .groupby("decile", observed=True)
        .agg(
            customers=("predicted", "size"),
            predicted_mean=("predicted", "mean"),
            actual_mean=("actual", "mean"),
        )
    )
    print(f"calibration up to {cal_end.date()}, holdout {holdout_days} days to {end.date()}")
    print(f"{len(cal):,} customers, fit {fit_s:.2f} s, {bg}, {gg}")
    print(table.round(3).to_string())
    buyers = spend.index.intersection(cal.index[cal["frequency"] > 0])
    value = gg.expected_value(cal.loc[buyers, "frequency"], cal.loc[buyers, "monetary_value"])
    out = {
        "customers": len(cal),
        "fit_seconds": round(fit_s, 3),
        "bgnbd": vars(bg),
        "gamma_gamma": vars(gg),
        "predicted_total": round(float(predicted.sum()), 1),
        "actual_total": int(actual.sum()),
        "mae_per_customer": round(float((predicted - actual).abs().mean()), 4),
        "correlation": round(float(np.corrcoef(predicted, actual)[0, 1]), 4),
        "deciles": table.round(4).reset_index().astype({"decile": int}).to_dict("records"),
        "order_value_predicted_mean": round(float(np.mean(value)), 2),
        "order_value_actual_mean": round(float(spend.loc[buyers].mean()), 2),
    }
    print(f"holdout purchases: predicted {out['predicted_total']:,}, actual {out['actual_total']:,}; "
          f"correlation {out['correlation']}; order value predicted "
          f"{out['order_value_predicted_mean']} vs actual {out['order_value_actual_mean']}")  # fmt: skip
    return out


def fit_times(customers: int) -> dict:
    true = BgNbd(r=0.6, alpha=12.0, a=0.4, b=3.0)
    sim = simulate_customers(customers, true, seed=1)
    started = time.perf_counter()
    model = fit_bgnbd(sim["frequency"], sim["recency"], sim["T"])
    seconds = time.perf_counter() - started
    rows = len(np.unique(sim[["frequency", "recency", "T"]].to_numpy(), axis=0))
    print(f"BG/NBD fit: {customers:,} customers ({rows:,} distinct rows) in {seconds:.2f} s; "
          f"true {true}, fitted {model}")  # fmt: skip
    return {"customers": customers, "distinct_rows": rows, "fit_seconds": round(seconds, 3),
            "fitted": vars(model), "true": vars(true)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", help="CSV of paid orders: user_id, paid_date, amount_cny")
    parser.add_argument("--holdout-days", type=int, default=273)
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args(argv)
    orders = pd.read_csv(args.orders) if args.orders else _cdnow()
    figures = {"holdout": holdout(orders, args.holdout_days), "fit": fit_times(args.customers)}
    print(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
