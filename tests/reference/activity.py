"""Pandas reference for the activity area: daily activity, lifespans, user activity,
retention (weekly cohorts and N-day) and growth accounting (SPEC §2).

Every function is pure: it takes an events DataFrame with at least the columns
``user_id``, ``event_type`` and ``occurred_date`` (business dates; ``date`` objects,
ISO strings or timestamps), the as-of date D and the parameters the dbt models read
from vars, and returns a DataFrame shaped like the dbt model of the same name
(same columns, same order, sorted by the model's key).

The events are expected to be what staging exposes for D: one row per distinct
event, already restricted to events *received* by the end of D.  Events that
*occurred* after D (device clocks ahead) are dropped here, as in the models.

The formulations are deliberately different from the SQL where that is cheap (set
algebra per period instead of lag/lead, explicit per-cohort grids), so a shared
misreading of a window bound would have to be made twice to go unnoticed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import pandas as pd

from tests.reference.sources import ALL_EVENT_TYPES

#: Event type -> count column of ``int_users__daily_activity`` (column order of the model).
EVENT_COUNT_COLUMNS: dict[str, str] = {
    "login": "login_count",
    "page_view": "page_view_count",
    "search": "search_count",
    "listing_published": "listing_published_count",
    "listing_updated": "listing_updated_count",
    "profile_updated": "profile_updated_count",
    "inquiry_sent": "inquiry_sent_count",
    "feature_used": "feature_used_count",
    "order_paid": "order_paid_count",
    "signup": "signup_count",
}

#: Trailing windows of ``user_activity`` in days, each ending at D inclusive.
WINDOWS: tuple[int, ...] = (7, 30, 90)

#: ``user_activity`` metric -> daily count column summed over each window.
WINDOW_SUMS: dict[str, str] = {
    "listings_published": "listing_published_count",
    "feature_uses": "feature_used_count",
    "inquiries": "inquiry_sent_count",
    "orders": "order_paid_count",
    "profile_updates": "profile_updated_count",
}

DAILY_ACTIVITY_COLUMNS = [
    "user_id",
    "activity_date",
    "event_count",
    *EVENT_COUNT_COLUMNS.values(),
    "is_active",
    "known_date",
    "active_known_date",
    "signup_known_date",
]
LIFESPAN_COLUMNS = [
    "user_id",
    "signup_date",
    "has_signup_event",
    "first_active_date",
    "last_active_date",
    "active_days_total",
]
USER_ACTIVITY_COLUMNS = [
    "as_of_date",
    "user_id",
    "login_days_30d",
    *[f"active_days_{w}d" for w in WINDOWS],
    *[f"{metric}_{w}d" for metric in WINDOW_SUMS for w in WINDOWS],
    "first_active_date",
    "last_active_date",
    "days_since_last_active",
]
RETENTION_COHORT_COLUMNS = [
    "as_of_date",
    "cohort_week",
    "week_number",
    "week_start",
    "week_end",
    "is_week_complete",
    "cohort_size",
    "retained_on_users",
    "retained_on_or_after_users",
    "retention_on_rate",
    "retention_on_or_after_rate",
]
RETENTION_N_DAY_COLUMNS = [
    "as_of_date",
    "cohort_week",
    "n_day",
    "cohort_size",
    "eligible_users",
    "retained_users",
    "retention_rate",
]
GROWTH_ACCOUNTING_COLUMNS = [
    "as_of_date",
    "period_grain",
    "period_start",
    "period_end",
    "is_period_complete",
    "active_users",
    "new_users",
    "returning_users",
    "resurrecting_users",
    "dormant_users",
]

#: Period grains of growth accounting and their length in days.
GRAIN_DAYS: dict[str, int] = {"day": 1, "week": 7}

NewBasis = Literal["first_active", "signup"]


# -- helpers ---------------------------------------------------------------------------
def _to_date(value: dt.date | str | pd.Timestamp) -> dt.date:
    """One date type throughout: ``datetime.date`` (what a SQL ``date`` means)."""
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _week_start(day: dt.date) -> dt.date:
    """Monday of the ISO week holding ``day``."""
    return day - dt.timedelta(days=day.weekday())


def _period_start(day: dt.date, grain: str) -> dt.date:
    return day if grain == "day" else _week_start(day)


def _events_up_to(events: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Events with a business date on or before D, dates normalised to ``date``."""
    ev = events.loc[:, ["user_id", "event_type", "occurred_date"]].copy()
    ev["occurred_date"] = [_to_date(v) for v in ev["occurred_date"]]
    # the business date each event was first received (None when the caller has none)
    ev["received_date"] = (
        [_to_date(v) for v in events["received_date"]] if "received_date" in events else None
    )
    return ev.loc[[d <= as_of for d in ev["occurred_date"]]].reset_index(drop=True)


# -- intermediate ----------------------------------------------------------------------
def daily_activity(
    events: pd.DataFrame,
    as_of: dt.date | str,
    active_event_types: Iterable[str] = ALL_EVENT_TYPES,
) -> pd.DataFrame:
    """``int_users__daily_activity``: one row per user × business date with ≥ 1 event."""
    as_of = _to_date(as_of)
    active = set(active_event_types)
    ev = _events_up_to(events, as_of)
    if ev.empty:
        return pd.DataFrame(columns=DAILY_ACTIVITY_COLUMNS)
    for event_type, column in EVENT_COUNT_COLUMNS.items():
        ev[column] = (ev["event_type"] == event_type).astype("int64")
    ev["is_active"] = ev["event_type"].isin(active)
    ev["event_count"] = 1
    keys = ["user_id", "occurred_date"]
    out = (
        ev.groupby(keys, as_index=False)
        .agg(
            event_count=("event_count", "sum"),
            **{c: (c, "sum") for c in EVENT_COUNT_COLUMNS.values()},
            is_active=("is_active", "any"),
        )
        .rename(columns={"occurred_date": "activity_date"})
    )
    out["is_active"] = out["is_active"].astype(bool)

    # first receipt per user-day: of any event, of an active one, of a signup
    def first_received(mask: pd.Series) -> list:
        first: dict[tuple, Any] = {}
        for k, r in zip(
            zip(ev.loc[mask, "user_id"], ev.loc[mask, "occurred_date"], strict=True),
            ev.loc[mask, "received_date"],
            strict=True,
        ):
            if r is not None and (k not in first or r < first[k]):
                first[k] = r
        return [first.get(k) for k in zip(out["user_id"], out["activity_date"], strict=True)]

    out["known_date"] = first_received(ev["event_count"] == 1)
    out["active_known_date"] = first_received(ev["is_active"])
    out["signup_known_date"] = first_received(ev["event_type"] == "signup")
    return out[DAILY_ACTIVITY_COLUMNS].sort_values(["user_id", "activity_date"], ignore_index=True)


def lifespans(
    events: pd.DataFrame,
    as_of: dt.date | str,
    active_event_types: Iterable[str] = ALL_EVENT_TYPES,
) -> pd.DataFrame:
    """``int_users__lifespans``: one row per user seen in events up to D.

    signup_date is the earliest signup event's day, else the first active day
    (SPEC §2); null only for a user who never had an active day nor a signup.
    """
    daily = daily_activity(events, as_of, active_event_types)
    users = pd.DataFrame({"user_id": sorted(daily["user_id"].unique())})
    if users.empty:
        return pd.DataFrame(columns=LIFESPAN_COLUMNS)
    signup = (
        daily.loc[daily["signup_count"] > 0]
        .groupby("user_id")["activity_date"]
        .min()
        .rename("signup_event_date")
    )
    active = (
        daily.loc[daily["is_active"]]
        .groupby("user_id")["activity_date"]
        .agg(first_active_date="min", last_active_date="max", active_days_total="count")
    )
    out = users.join(signup, on="user_id").join(active, on="user_id")
    out = out.astype(object).where(out.notna(), None)
    out["has_signup_event"] = out["signup_event_date"].notna()
    out["signup_date"] = [
        s if s is not None else f
        for s, f in zip(out["signup_event_date"], out["first_active_date"], strict=True)
    ]
    out["active_days_total"] = [0 if n is None else int(n) for n in out["active_days_total"]]
    return out[LIFESPAN_COLUMNS]


# -- marts -----------------------------------------------------------------------------
def user_activity(
    events: pd.DataFrame,
    as_of: dt.date | str,
    active_event_types: Iterable[str] = ALL_EVENT_TYPES,
) -> pd.DataFrame:
    """``user_activity``: one row per user seen up to D, with 7/30/90-day windows ending at D."""
    as_of = _to_date(as_of)
    daily = daily_activity(events, as_of, active_event_types)
    spans = lifespans(events, as_of, active_event_types)
    age = pd.Series([(as_of - d).days for d in daily["activity_date"]], index=daily.index)
    per_user = pd.DataFrame(index=pd.Index(spans["user_id"], name="user_id"))

    def window_sum(values: pd.Series, days: int) -> pd.Series:
        """Sum of ``values`` over activity dates in [D - days + 1, D], per user."""
        in_window = values.where(age < days, 0).astype("int64")
        summed = in_window.groupby(daily["user_id"]).sum()
        return summed.reindex(per_user.index, fill_value=0).astype("int64")

    per_user["login_days_30d"] = window_sum(daily["login_count"] > 0, 30)
    for w in WINDOWS:
        per_user[f"active_days_{w}d"] = window_sum(daily["is_active"], w)
    for metric, column in WINDOW_SUMS.items():
        for w in WINDOWS:
            per_user[f"{metric}_{w}d"] = window_sum(daily[column], w)
    out = per_user.reset_index()
    out.insert(0, "as_of_date", as_of)
    out["first_active_date"] = list(spans["first_active_date"])
    out["last_active_date"] = list(spans["last_active_date"])
    out["days_since_last_active"] = pd.array(
        [None if d is None else (as_of - d).days for d in spans["last_active_date"]],
        dtype="Int64",
    )
    return out[USER_ACTIVITY_COLUMNS]


def _cohort_members(spans: pd.DataFrame) -> pd.DataFrame:
    members = spans.loc[spans["signup_date"].notna(), ["user_id", "signup_date"]].copy()
    members["cohort_week"] = [_week_start(d) for d in members["signup_date"]]
    return members


def retention_cohorts(
    events: pd.DataFrame,
    as_of: dt.date | str,
    max_weeks: int = 12,
    active_event_types: Iterable[str] = ALL_EVENT_TYPES,
) -> pd.DataFrame:
    """``retention_cohorts``: one row per signup week × week number k (0..max_weeks)
    whose week has started by D.

    Week k of a cohort is the calendar week ``cohort_week + 7k`` .. ``+6``.  A member
    is retained *on* week k when active in it, *on or after* week k when active in it
    or in any later week up to D.  Week 0 counts every member: signing up is the act
    that puts a user in the cohort, even when ``signup`` is not an active event type.
    """
    as_of = _to_date(as_of)
    daily = daily_activity(events, as_of, active_event_types)
    members = _cohort_members(lifespans(events, as_of, active_event_types))
    active_weeks: dict[str, set[dt.date]] = {}
    for user_id, day in daily.loc[daily["is_active"], ["user_id", "activity_date"]].itertuples(
        index=False
    ):
        active_weeks.setdefault(user_id, set()).add(_week_start(day))
    last_active_week = {u: max(weeks) for u, weeks in active_weeks.items()}
    rows = []
    for cohort_week, cohort in members.groupby("cohort_week", sort=True):
        users = list(cohort["user_id"])
        for k in range(max_weeks + 1):
            week_start = cohort_week + dt.timedelta(days=7 * k)
            if week_start > as_of:
                break
            week_end = week_start + dt.timedelta(days=6)
            on = on_or_after = len(users)
            if k > 0:
                on = sum(week_start in active_weeks.get(u, ()) for u in users)
                on_or_after = sum(last_active_week.get(u, dt.date.min) >= week_start for u in users)
            rows.append(
                {
                    "as_of_date": as_of,
                    "cohort_week": cohort_week,
                    "week_number": k,
                    "week_start": week_start,
                    "week_end": week_end,
                    "is_week_complete": week_end <= as_of,
                    "cohort_size": len(users),
                    "retained_on_users": on,
                    "retained_on_or_after_users": on_or_after,
                    "retention_on_rate": on / len(users),
                    "retention_on_or_after_rate": on_or_after / len(users),
                }
            )
    return pd.DataFrame(rows, columns=RETENTION_COHORT_COLUMNS)


def retention_n_day(
    events: pd.DataFrame,
    as_of: dt.date | str,
    n_days: Sequence[int] = (1, 7, 30),
    active_event_types: Iterable[str] = ALL_EVENT_TYPES,
) -> pd.DataFrame:
    """``retention_n_day``: one row per signup week × N.

    A member is eligible for day N when signup_date + N ≤ D, and retained when
    active exactly on signup_date + N; the rate is retained / eligible (null when
    nobody in the cohort is eligible yet).
    """
    as_of = _to_date(as_of)
    daily = daily_activity(events, as_of, active_event_types)
    members = _cohort_members(lifespans(events, as_of, active_event_types))
    active_days = set(
        daily.loc[daily["is_active"], ["user_id", "activity_date"]].itertuples(
            index=False, name=None
        )
    )
    rows = []
    for cohort_week, cohort in members.groupby("cohort_week", sort=True):
        for n in sorted(n_days):
            targets = [
                (u, d + dt.timedelta(days=n))
                for u, d in zip(cohort["user_id"], cohort["signup_date"], strict=True)
            ]
            eligible = [t for t in targets if t[1] <= as_of]
            retained = sum(t in active_days for t in eligible)
            rows.append(
                {
                    "as_of_date": as_of,
                    "cohort_week": cohort_week,
                    "n_day": n,
                    "cohort_size": len(targets),
                    "eligible_users": len(eligible),
                    "retained_users": retained,
                    "retention_rate": retained / len(eligible) if eligible else None,
                }
            )
    return pd.DataFrame(rows, columns=RETENTION_N_DAY_COLUMNS)


def growth_accounting(
    events: pd.DataFrame,
    as_of: dt.date | str,
    new_basis: NewBasis = "first_active",
    active_event_types: Iterable[str] = ALL_EVENT_TYPES,
) -> pd.DataFrame:
    """``growth_accounting``: one row per grain (day, week) × period from the first
    period with an active user up to the period holding D.

    With A(p) the users active in p: new = users of A(p) whose first active period
    (or signup period, ``new_basis="signup"``) is p; returning = A(p) ∩ A(p−1) − new;
    resurrecting = A(p) − A(p−1) − new; dormant = A(p−1) − A(p).
    """
    as_of = _to_date(as_of)
    daily = daily_activity(events, as_of, active_event_types)
    spans = lifespans(events, as_of, active_event_types)
    basis_column = "first_active_date" if new_basis == "first_active" else "signup_date"
    if new_basis not in ("first_active", "signup"):
        raise ValueError(f"new_basis must be 'first_active' or 'signup', got {new_basis!r}")
    active = daily.loc[daily["is_active"], ["user_id", "activity_date"]]
    rows = []
    for grain, step in GRAIN_DAYS.items():
        users_in: dict[dt.date, set[str]] = {}
        for user_id, day in active.itertuples(index=False):
            users_in.setdefault(_period_start(day, grain), set()).add(user_id)
        if not users_in:
            continue
        new_period = {
            u: _period_start(d, grain)
            for u, d in zip(spans["user_id"], spans[basis_column], strict=True)
            if d is not None and not pd.isna(d)
        }
        period = min(users_in)
        last = _period_start(as_of, grain)
        previous: set[str] = set()
        while period <= last:
            current = users_in.get(period, set())
            new = {u for u in current if new_period.get(u) == period}
            period_end = period + dt.timedelta(days=step - 1)
            rows.append(
                {
                    "as_of_date": as_of,
                    "period_grain": grain,
                    "period_start": period,
                    "period_end": period_end,
                    "is_period_complete": period_end <= as_of,
                    "active_users": len(current),
                    "new_users": len(new),
                    "returning_users": len((current & previous) - new),
                    "resurrecting_users": len(current - previous - new),
                    "dormant_users": len(previous - current),
                }
            )
            previous = current
            period += dt.timedelta(days=step)
    return pd.DataFrame(rows, columns=GROWTH_ACCOUNTING_COLUMNS)
