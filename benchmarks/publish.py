"""Building the day's lists (``userops.publish.build.build_lists``) at platform size.

    .venv/bin/python benchmarks/publish.py                      # 200,000 candidate leads
    .venv/bin/python benchmarks/publish.py --leads 1240000      # the 1M-user night's size
    .venv/bin/python benchmarks/publish.py --profile            # plus the top cProfile rows

The inputs are synthetic frames shaped as ``read_inputs`` hands them over from DuckDB
(object ids, ``datetime64`` dates, numpy and nullable integers): ``--leads`` candidates
of the day, most of them due (a routine follow-up, a callback or a trigger), ``--reps``
reps of 20 rows each, so a day's lists hold a few thousand rows of a million candidates.
Prints figures (JSON at the end); asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import time
from datetime import date

import numpy as np
import pandas as pd

from userops.publish.build import PublishInputs, build_lists
from userops.publish.rules import OUTCOME_LABELS_ZH, RFM_SEGMENT_LABELS_ZH, PublishParams

DAY = date(1999, 3, 31)


def _choice(rng: np.random.Generator, values: list, n: int, p: list[float] | None = None):
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=p)]


def synthetic_inputs(leads: int, reps: int, seed: int = 7) -> PublishInputs:
    """Frames of one day: ``leads`` candidates, ``reps`` active reps, triggers and values."""
    rng = np.random.default_rng(seed)
    d = pd.Timestamp(DAY)
    n = leads
    lead_ids = np.array([f"L{i:08d}" for i in range(n)], dtype=object)
    user_ids = np.array([f"U{i:08d}" if i % 4 else None for i in range(n)], dtype=object)
    rep_ids = [f"R{i:03d}" for i in range(reps)]
    owners = _choice(rng, [*rep_ids, None], n)
    followed = rng.random(n) < 0.6
    last = d - pd.to_timedelta(rng.integers(1, 400, n), unit="D")
    last = pd.Series(last).where(followed)
    days_since = (d - last).dt.days.astype("Int32")
    callback = followed & (rng.random(n) < 0.05)
    cadence = ~callback & (rng.random(n) < 0.8)
    outcomes = _choice(rng, list(OUTCOME_LABELS_ZH), n)
    candidates = pd.DataFrame(
        {
            "as_of_date": d,
            "lead_id": lead_ids,
            "user_id": user_ids,
            "owner_rep_id": owners,
            "created_date": d - pd.to_timedelta(rng.integers(400, 900, n), unit="D"),
            "outreach_tier": _choice(rng, ["A", "B", "C"], n, [0.2, 0.7, 0.1]),
            "is_lost": rng.random(n) < 0.1,
            "last_followup_date": last,
            "days_since_followup": days_since,
            "last_outcome": np.where(followed, outcomes, None),
            "next_followup_date": pd.Series(
                d - pd.to_timedelta(rng.integers(0, 9, n), unit="D")
            ).where(callback),
            "callback_due_date": pd.Series(d, index=range(n)).where(callback),
            "is_in_cooldown": rng.random(n) < 0.1,
            "no_answer_streak": rng.integers(0, 4, n).astype(np.int32),
            "is_channel_change_suggested": rng.random(n) < 0.05,
            "callback_reason_code": np.where(callback, "callback_due", None),
            "is_callback_due": callback,
            "callback_overdue_days": rng.integers(0, 9, n).astype(np.int32),
            "cadence_days": _choice(rng, [7, 14, 30], n).astype(np.int32),
            "is_cadence_from_outcome": followed & (rng.random(n) < 0.5),
            "cadence_reason_code": np.where(followed, "cadence_due", "never_contacted"),
            "is_cadence_due": cadence,
            "cadence_overdue_days": rng.integers(0, 60, n).astype(np.int32),
        }
    )
    segments = list(RFM_SEGMENT_LABELS_ZH)
    users = pd.DataFrame(
        {
            "as_of_date": d,
            "user_id": user_ids[user_ids != None],  # noqa: E711 (element-wise)
        }
    )
    m = len(users)
    users["lead_id"] = lead_ids[user_ids != None]  # noqa: E711
    users["signup_date"] = d - pd.to_timedelta(rng.integers(30, 900, m), unit="D")
    users["last_active_date"] = d - pd.to_timedelta(rng.integers(0, 200, m), unit="D")
    users["days_since_last_active"] = (d - users["last_active_date"]).dt.days.astype(np.int32)
    users["lifecycle_stage"] = _choice(rng, ["new", "growth", "mature", "dormant"], m)
    users["rfm_segment"] = _choice(rng, segments, m)
    k = n // 50  # triggers: 2 % of the companies
    pick = rng.choice(m, size=k, replace=False)
    codes = _choice(rng, ["important_turned_dormant", "segment_changed", "signup_inactive",
                          "growth_to_mature"], k)  # fmt: skip
    triggers = pd.DataFrame(
        {
            "as_of_date": d,
            "user_id": users["user_id"].to_numpy()[pick],
            "reason_code": codes,
            "suggested_action": np.select(
                [
                    codes == "important_turned_dormant",
                    codes == "signup_inactive",
                    codes == "growth_to_mature",
                ],
                ["winback_call", "onboarding_call", "upsell"],
                "winback_call",
            ),
            "fired_date": d - pd.to_timedelta(rng.integers(0, 5, k), unit="D"),
            "since_date": d - pd.to_timedelta(rng.integers(5, 10, k), unit="D"),
            "lead_id": users["lead_id"].to_numpy()[pick],
            "rfm_segment": _choice(rng, segments, k),
            "previous_segment": _choice(rng, segments, k),
            "days_since_last_active": pd.array(rng.integers(0, 90, k), dtype="Int32"),
            "recency_days": pd.array(rng.integers(0, 90, k), dtype="Int32"),
            "active_days_30d": pd.array(rng.integers(0, 30, k), dtype="Int32"),
        }
    )
    paying = users.sample(frac=0.3, random_state=seed)
    values = pd.DataFrame(
        {
            "as_of_date": d,
            "user_id": paying["user_id"].to_numpy(),
            "expected_value_cny": rng.gamma(2.0, 3000.0, len(paying)),
            "churn_probability": rng.random(len(paying)),
            "horizon_days": np.int32(365),
        }
    )
    needs = pd.DataFrame(
        {
            "as_of_date": d,
            "lead_id": lead_ids[: n // 10],
            "top_theme_id": "price",
            "top_theme_label": "价格顾虑",
        }
    )
    contacts = pd.DataFrame(
        {
            "lead_id": lead_ids,
            "company_name": np.char.add("公司", lead_ids.astype(str)).astype(object),
            "contact_name": "联系人",
            "phone": "13800000000",
            "email": "x@example.com",
        }
    )
    rep_frame = pd.DataFrame(
        {
            "as_of_date": d,
            "rep_id": rep_ids,
            "rep_name": [f"销售{r}" for r in rep_ids],
            "rep_email": [f"{r.lower()}@example.com" for r in rep_ids],
            "is_active": True,
            "daily_capacity": np.int32(20),
            "conversion_rate": 0.1,
            "converted_leads": 1,
            "followed_up_leads": 10,
            "rep_rank": np.arange(1, reps + 1, dtype=np.int32),
            "rep_tier": [
                "top" if i < reps * 0.2 else "bottom" if i >= reps * 0.9 else "middle"
                for i in range(reps)
            ],
        }
    )
    lifecycle = users[["user_id", "as_of_date", "lifecycle_stage"]].assign(previous_stage="growth")
    return PublishInputs(
        reps=rep_frame,
        candidates=candidates,
        contacts=contacts,
        users=users,
        lifecycle=lifecycle,
        triggers=triggers,
        values=values,
        needs=needs,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--leads", type=int, default=200_000, help="candidate leads of the day")
    ap.add_argument("--reps", type=int, default=150, help="active reps (20 rows each)")
    ap.add_argument("--repeat", type=int, default=3, help="timed builds (the best is reported)")
    ap.add_argument("--profile", action="store_true", help="print the top cProfile rows")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    inputs = synthetic_inputs(args.leads, args.reps)
    made = time.perf_counter() - t0
    params = PublishParams.from_vars()
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = build_lists(inputs, DAY, params)
        times.append(time.perf_counter() - t0)
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        build_lists(inputs, DAY, params)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
    figures = {
        "leads": args.leads,
        "reps": args.reps,
        "inputs_s": round(made, 2),
        "build_lists_s": [round(t, 2) for t in times],
        "best_s": round(min(times), 2),
        "rows": len(result.rows),
        "backlog": int(result.reps["backlog"].sum()),
        "unassigned": result.unassigned,
    }
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
