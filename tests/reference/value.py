"""Pandas reference for the value area: paid orders, RFM and lifecycle stages (SPEC §2).

Every function is pure: it takes plain DataFrames, the as-of date D and the
parameters the dbt models read from vars, and returns a DataFrame shaped like the
dbt model of the same name (same columns, same order, sorted by the model's key).

Inputs:

- ``events``: at least ``user_id``, ``event_type``, ``occurred_date`` (business
  dates as ``date`` objects, ISO strings or timestamps): one row per distinct
  event known at the end of D (already restricted to events *received* by then).
  Events that *occurred* after D (device clocks ahead) are dropped here.
- ``order_events``: ``event_id``, ``user_id``, ``order_id``, ``paid_at``,
  ``paid_date``, ``amount_cny`` - the ``order_paid`` events known at D; or
  ``orders``: ``order_id``, ``user_id``, ``paid_date``, ``amount_cny``, one row per
  order (the output of :func:`paid_orders`).

The formulations deliberately differ from the SQL where that is cheap: quintiles
by explicit bucket sizes instead of ``ntile``, means and medians in exact
``Decimal``/``Fraction`` arithmetic, lifecycle stages from per-user sets of
active days, so a shared misreading would have to be made twice to go unnoticed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

import pandas as pd

from tests.reference.sources import ALL_EVENT_TYPES

#: (r_high, f_high, m_high) -> (segment code, Chinese label): SPEC §2, seed rfm_segments.
RFM_SEGMENTS: dict[tuple[bool, bool, bool], tuple[str, str]] = {
    (True, True, True): ("important_value", "重要价值客户"),
    (True, False, True): ("important_develop", "重要发展客户"),
    (False, True, True): ("important_keep", "重要保持客户"),
    (False, False, True): ("important_winback", "重要挽留客户"),
    (True, True, False): ("general_value", "一般价值客户"),
    (True, False, False): ("general_develop", "一般发展客户"),
    (False, True, False): ("general_keep", "一般保持客户"),
    (False, False, False): ("general_winback", "一般挽留客户"),
}

PAID_ORDER_COLUMNS = ["order_id", "user_id", "paid_at", "paid_date", "amount_cny"]

USER_RFM_COLUMNS = [
    "as_of_date",
    "user_id",
    "last_order_date",
    "recency_days",
    "frequency",
    "monetary_cny",
    "r_score",
    "f_score",
    "m_score",
    "r_high",
    "f_high",
    "m_high",
    "rfm_segment",
    "rfm_segment_label_zh",
    "rfm_flag_method",
    "lookback_days",
]

LIFECYCLE_COLUMNS = [
    "as_of_date",
    "user_id",
    "signup_date",
    "last_active_date",
    "tenure_days",
    "days_since_last_active",
    "active_days_30d",
    "lifecycle_stage",
    "previous_stage",
    "is_stage_changed",
]


@dataclass(frozen=True)
class RfmParams:
    """The RFM vars of dbt_project.yml (``rfm_*``)."""

    lookback_days: int = 365
    flag_method: Literal["mean", "median", "score"] = "mean"
    score_high_threshold: int = 3


@dataclass(frozen=True)
class LifecycleParams:
    """The lifecycle vars of dbt_project.yml (``lifecycle_*``, ``active_event_types``)."""

    introduction_days: int = 30
    churned_days: int = 90
    dormant_days: int = 30
    mature_tenure_days: int = 90
    mature_active_days: int = 8
    active_window_days: int = 30
    active_event_types: tuple[str, ...] = ALL_EVENT_TYPES


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


def _decimal(value: Any) -> Decimal:
    """Amount as an exact 2-decimal Decimal (numeric(18,2) in the warehouse); null -> 0."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return Decimal("0.00")
    return Decimal(str(value)).quantize(Decimal("0.01"))


# -- paid orders -------------------------------------------------------------------------
def paid_orders(order_events: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """``int_orders__paid``: one row per order_id, its earliest occurrence (ties by event_id).

    The de-duplication happens before the as-of filter: an order first seen
    after D (device clock ahead) is not "paid as of D" even if a resend is dated earlier.
    """
    if order_events.empty:
        return pd.DataFrame(columns=PAID_ORDER_COLUMNS)
    df = order_events.dropna(subset=["order_id", "user_id"])
    firsts: dict[str, dict[str, Any]] = {}
    for row in df.to_dict("records"):
        key = (row["paid_at"], row["event_id"])
        best = firsts.get(row["order_id"])
        if best is None or key < (best["paid_at"], best["event_id"]):
            firsts[row["order_id"]] = row
    rows = [
        {
            "order_id": r["order_id"],
            "user_id": r["user_id"],
            "paid_at": r["paid_at"],
            "paid_date": _to_date(r["paid_date"]),
            "amount_cny": r["amount_cny"],
        }
        for r in firsts.values()
        if _to_date(r["paid_date"]) <= as_of
    ]
    out = pd.DataFrame(rows, columns=PAID_ORDER_COLUMNS)
    return out.sort_values("order_id", ignore_index=True)


# -- RFM -------------------------------------------------------------------------------
def quintile_buckets(n: int, buckets: int = 5) -> list[int]:
    """Bucket (1..buckets) of each of ``n`` ordered rows, as SQL ``ntile``: the first
    ``n mod buckets`` buckets hold one row more than the others."""
    size, extra = divmod(n, buckets)
    out: list[int] = []
    for bucket in range(1, buckets + 1):
        out += [bucket] * (size + (1 if bucket <= extra else 0))
    return out


def _scores(values: dict[str, Any], best: Literal["highest", "lowest"]) -> dict[str, int]:
    """Quintile score per user, 5 = best; equal values get equal scores.

    Users are ordered by value then user_id and bucketed as ``ntile``; every user of
    a group of equal values then takes the bucket of the group's middle position
    (the lower middle, 1-based ``(first + last) // 2``, for an even group)."""
    if best == "highest":
        order = sorted(values, key=lambda u: (values[u], u))
    else:  # the largest values come first (bucket 1), e.g. recency in days
        order = sorted(values, key=lambda u: (-values[u], u))
    buckets = quintile_buckets(len(order))
    positions: dict[Any, list[int]] = {}
    for position, user in enumerate(order, start=1):
        positions.setdefault(values[user], []).append(position)
    return {
        user: buckets[(positions[values[user]][0] + positions[values[user]][-1]) // 2 - 1]
        for user in order
    }


def _centre(values: Sequence[Any], method: str) -> Fraction:
    """Exact mean or median of ``values``."""
    fractions = sorted(Fraction(v) for v in values)
    if method == "mean":
        return sum(fractions, Fraction(0)) / len(fractions)
    n = len(fractions)
    return (fractions[(n - 1) // 2] + fractions[n // 2]) / 2


def user_rfm(orders: pd.DataFrame, as_of: dt.date, params: RfmParams = RfmParams()) -> pd.DataFrame:
    """``user_rfm``: one row per user with a paid order in [D - lookback + 1, D]."""
    window_start = as_of - dt.timedelta(days=params.lookback_days - 1)
    per_user: dict[str, dict[str, Any]] = {}
    for row in orders.to_dict("records"):
        paid = _to_date(row["paid_date"])
        if not window_start <= paid <= as_of:
            continue
        agg = per_user.setdefault(
            row["user_id"], {"last": paid, "orders": set(), "monetary": Decimal("0.00")}
        )
        agg["last"] = max(agg["last"], paid)
        agg["orders"].add(row["order_id"])
        agg["monetary"] += _decimal(row["amount_cny"])
    if not per_user:
        return pd.DataFrame(columns=USER_RFM_COLUMNS)

    recency = {u: (as_of - a["last"]).days for u, a in per_user.items()}
    frequency = {u: len(a["orders"]) for u, a in per_user.items()}
    monetary = {u: a["monetary"] for u, a in per_user.items()}
    r_score = _scores(recency, best="lowest")
    f_score = _scores(frequency, best="highest")
    m_score = _scores(monetary, best="highest")

    if params.flag_method == "score":
        t = params.score_high_threshold
        r_high = {u: r_score[u] >= t for u in per_user}
        f_high = {u: f_score[u] >= t for u in per_user}
        m_high = {u: m_score[u] >= t for u in per_user}
    elif params.flag_method in ("mean", "median"):
        r_c = _centre(list(recency.values()), params.flag_method)
        f_c = _centre(list(frequency.values()), params.flag_method)
        m_c = _centre(list(monetary.values()), params.flag_method)
        r_high = {u: recency[u] <= r_c for u in per_user}
        f_high = {u: frequency[u] >= f_c for u in per_user}
        m_high = {u: monetary[u] >= m_c for u in per_user}
    else:
        raise ValueError(f"unknown flag_method {params.flag_method!r}")

    rows = []
    for u in sorted(per_user):
        code, label = RFM_SEGMENTS[(r_high[u], f_high[u], m_high[u])]
        rows.append(
            {
                "as_of_date": as_of,
                "user_id": u,
                "last_order_date": per_user[u]["last"],
                "recency_days": recency[u],
                "frequency": frequency[u],
                "monetary_cny": monetary[u],
                "r_score": r_score[u],
                "f_score": f_score[u],
                "m_score": m_score[u],
                "r_high": r_high[u],
                "f_high": f_high[u],
                "m_high": m_high[u],
                "rfm_segment": code,
                "rfm_segment_label_zh": label,
                "rfm_flag_method": params.flag_method,
                "lookback_days": params.lookback_days,
            }
        )
    return pd.DataFrame(rows, columns=USER_RFM_COLUMNS)


# -- lifecycle -------------------------------------------------------------------------
def lifecycle_stage(
    tenure_days: int, days_inactive: int, active_days_30d: int, params: LifecycleParams
) -> str:
    """SPEC §2 lifecycle rules, first match wins."""
    if tenure_days < params.introduction_days:
        return "introduction"
    if days_inactive >= params.churned_days:
        return "churned"
    if days_inactive >= params.dormant_days:
        return "dormant"
    if tenure_days >= params.mature_tenure_days and active_days_30d >= params.mature_active_days:
        return "mature"
    return "growth"


@dataclass(frozen=True)
class _UserDays:
    signup: dt.date
    active: frozenset[dt.date]


def _user_days(
    events: pd.DataFrame, as_of: dt.date, params: LifecycleParams
) -> dict[str, _UserDays]:
    """Signup date and active days of every user seen in events up to D."""
    seen: dict[str, set[dt.date]] = {}
    active: dict[str, set[dt.date]] = {}
    signups: dict[str, dt.date] = {}
    active_types = set(params.active_event_types)
    for user, event_type, occurred in zip(
        events["user_id"], events["event_type"], events["occurred_date"], strict=True
    ):
        day = _to_date(occurred)
        if day > as_of:
            continue
        seen.setdefault(user, set()).add(day)
        if event_type in active_types:
            active.setdefault(user, set()).add(day)
        if event_type == "signup":
            signups[user] = min(day, signups.get(user, day))
    out = {}
    for user, days in seen.items():
        user_active = active.get(user, set())
        # SPEC §2: the signup event's day, else the first active day (else first seen)
        signup = signups.get(user) or (min(user_active) if user_active else min(days))
        out[user] = _UserDays(signup, frozenset(user_active))
    return out


def _stage_on(user: _UserDays, day: dt.date, params: LifecycleParams) -> dict[str, Any] | None:
    if user.signup > day:
        return None
    past = [a for a in user.active if a <= day]
    last_active = max(past) if past else None
    window_start = day - dt.timedelta(days=params.active_window_days - 1)
    active_30 = sum(1 for a in past if a >= window_start)
    tenure = (day - user.signup).days
    since_active = (day - last_active).days if last_active else None
    inactive = since_active if since_active is not None else tenure
    return {
        "signup_date": user.signup,
        "last_active_date": last_active,
        "tenure_days": tenure,
        "days_since_last_active": since_active,
        "active_days_30d": active_30,
        "lifecycle_stage": lifecycle_stage(tenure, inactive, active_30, params),
    }


def user_lifecycle_daily(
    events: pd.DataFrame, as_of: dt.date, params: LifecycleParams = LifecycleParams()
) -> pd.DataFrame:
    """The rows ``user_lifecycle_daily`` holds for ``as_of``: one per user signed up by D,
    with the stage as of D and as of D - 1 (from the same events)."""
    rows = []
    yesterday = as_of - dt.timedelta(days=1)
    for user_id, days in sorted(_user_days(events, as_of, params).items()):
        today = _stage_on(days, as_of, params)
        if today is None:
            continue
        before = _stage_on(days, yesterday, params)
        previous = before["lifecycle_stage"] if before else None
        rows.append(
            {
                "as_of_date": as_of,
                "user_id": user_id,
                **today,
                "previous_stage": previous,
                "is_stage_changed": previous is not None and previous != today["lifecycle_stage"],
            }
        )
    return pd.DataFrame(rows, columns=LIFECYCLE_COLUMNS)


def lifecycle_history(
    events_by_date: Iterable[tuple[dt.date, pd.DataFrame]],
    params: LifecycleParams = LifecycleParams(),
) -> pd.DataFrame:
    """The whole ``user_lifecycle_daily`` after running each (date, events known at that
    date) pair, in any order: sorted by (as_of_date, user_id)."""
    frames = [user_lifecycle_daily(events, day, params) for day, events in events_by_date]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=LIFECYCLE_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["as_of_date", "user_id"], ignore_index=True)
