"""The activity marts on DuckDB and PostgreSQL against the pandas reference.

A hand-made raw event set (60 users over 70 days, randomised with a fixed seed)
goes into a throwaway warehouse; ``dbt build`` then runs the activity models (with
their data tests and unit tests) as of D1, and again as of D2 four days later.
Every mart is compared row for row with ``reference.activity`` computed from the
events that staging should expose as of each date: events received after the end
of the date are invisible, a duplicate delivery counts once, and an event whose
device date is after the date is not counted.  A third run switches
``growth_new_basis`` to ``signup``, drops ``signup`` from the active types and
changes the retention horizons.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tests.reference import activity as ref
from tests.reference.compare import assert_same_rows, norm
from tests.warehouses import drop_pg_database, new_target
from userops.config import DBT_PROJECT_DIR, WarehouseTarget
from userops.load.schema import EVENT_COLUMNS, ensure_schemas
from userops.transform.dbt import DbtRunSummary, build
from userops.warehouse import Warehouse
from userops.windows import BusinessDay

pytestmark = pytest.mark.slow

TZ = "Asia/Shanghai"
FIRST_DAY = dt.date(2024, 3, 1)
D1 = dt.date(2024, 5, 8)  # a Wednesday: the week holding D1 is incomplete
D2 = dt.date(2024, 5, 12)  # a Sunday: the week holding D2 is complete
LAST_DAY = dt.date(2024, 5, 14)  # events continue past D2 (received later)
SEED = 20240508
PROJECT_DIR = DBT_PROJECT_DIR  # the dbt project under test

#: The variant run: "new" on signup basis, and signing up alone does not make a user active.
VARIANT_VARS: dict[str, Any] = {
    "growth_new_basis": "signup",
    "active_event_types": [t for t in ref.ALL_EVENT_TYPES if t != "signup"],
    "retention_max_weeks": 4,
    "retention_n_days": [2, 14],
}

ACTIVITY_MODELS = [
    "int_users__daily_activity",
    "int_users__lifespans",
    "user_activity",
    "retention_cohorts",
    "retention_n_day",
    "growth_accounting",
]
SCHEMA = {
    "int_users__daily_activity": "intermediate",
    "int_users__lifespans": "intermediate",
    "user_activity": "marts",
    "retention_cohorts": "marts",
    "retention_n_day": "marts",
    "growth_accounting": "marts",
}
KEYS = {
    "int_users__daily_activity": ["user_id", "activity_date"],
    "int_users__lifespans": ["user_id"],
    "user_activity": ["user_id"],
    "retention_cohorts": ["cohort_week", "week_number"],
    "retention_n_day": ["cohort_week", "n_day"],
    "growth_accounting": ["period_grain", "period_start"],
}
SELECT = [f"+{m}" for m in ACTIVITY_MODELS]

#: Users with one hand-placed event each (see _raw_events).
LATE_USER = "late_user"  # occurred on D1, received the day after D1
FUTURE_USER = "future_user"  # device clock ahead: occurred D1 + 1, received on D1
SIGNUP_ONLY_USER = "signup_only_user"  # signed up ten days before D1, nothing since


# -- raw data --------------------------------------------------------------------------
def _utc(day: dt.date, seconds: int) -> dt.datetime:
    """Naive UTC timestamp of ``seconds`` after local midnight of ``day`` (UTC+8)."""
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds - 8 * 3600)


def _properties(event_type: str, rng: random.Random, n: int) -> dict[str, Any]:
    if event_type == "page_view":
        return {"path": rng.choice(["/", "/listings", "/pricing"])}
    if event_type == "search":
        return {"query": rng.choice(["steel", "pumps", "valves"])}
    if event_type in ("listing_published", "listing_updated", "inquiry_sent"):
        return {"listing_id": f"L{rng.randrange(50)}"}
    if event_type == "feature_used":
        return {"feature": rng.choice(["export", "crm_sync"])}
    if event_type == "order_paid":
        return {"order_id": f"O{n}", "amount": rng.choice([980, 4800, 12800]), "currency": "CNY"}
    return {}


def _raw_events(seed: int = SEED) -> pd.DataFrame:
    """Raw event rows shaped like ``raw.events__events`` (UTC naive timestamps)."""
    rng = random.Random(seed)
    plan = [t for t in ref.ALL_EVENT_TYPES if t != "signup"]
    weights = [30, 25, 12, 5, 4, 3, 6, 5, 2]  # login is the most common, orders rare
    events: list[dict[str, Any]] = []

    def add(user_id: str, event_type: str, occurred: dt.datetime, delay: dt.timedelta) -> None:
        n = len(events)
        events.append(
            {
                "event_id": f"e{n:05d}",
                "user_id": user_id,
                "event_type": event_type,
                "occurred_at": occurred,
                "received_at": occurred + delay,
                "properties": _properties(event_type, rng, n),
            }
        )

    def local_seconds() -> int:
        # one event in ten sits on a business-day boundary (UTC 15:59 / 16:00)
        if rng.random() < 0.1:
            return rng.choice([rng.randrange(86340, 86400), rng.randrange(0, 60)])
        return rng.randrange(86400)

    def delay() -> dt.timedelta:
        r = rng.random()
        if r < 0.08:  # late: received days after it happened
            return dt.timedelta(days=rng.randint(1, 4), seconds=rng.randrange(3600))
        if r < 0.11:  # device clock ahead: "occurred" after it was received
            return -dt.timedelta(days=rng.randint(1, 3), seconds=rng.randrange(3600))
        return dt.timedelta(seconds=rng.randrange(1, 900))

    span = (LAST_DAY - FIRST_DAY).days
    for i in range(60):
        user_id = f"u{i:03d}"
        signup_day = FIRST_DAY + dt.timedelta(days=rng.randrange(span - 3))
        engagement = rng.choice([0.03, 0.08, 0.2, 0.45])
        if rng.random() < 0.85:  # some users have no signup event (SPEC §2 fallback)
            add(user_id, "signup", _utc(signup_day, local_seconds()), delay())
        if rng.random() < 0.1:  # browsing the day before signing up
            before = signup_day - dt.timedelta(days=1)
            add(user_id, "page_view", _utc(before, local_seconds()), delay())
        # half the users stop using the product at some point (so retention decays)
        lifetime = (LAST_DAY - signup_day).days
        if rng.random() < 0.5:
            lifetime = rng.randrange(lifetime + 1)
        for offset in range(lifetime + 1):
            if offset > 0 and rng.random() >= engagement:
                continue
            day = signup_day + dt.timedelta(days=offset)
            for _ in range(rng.randint(1, 3)):
                event_type = rng.choices(plan, weights)[0]
                add(user_id, event_type, _utc(day, local_seconds()), delay())
    add(LATE_USER, "login", _utc(D1, 10 * 3600), dt.timedelta(days=1))
    add(FUTURE_USER, "login", _utc(D1 + dt.timedelta(days=1), 10 * 3600), -dt.timedelta(days=1))
    signup_only_day = D1 - dt.timedelta(days=10)
    add(SIGNUP_ONLY_USER, "signup", _utc(signup_only_day, 9 * 3600), dt.timedelta(seconds=5))
    frame = pd.DataFrame(events)
    # the collector delivers some events twice: same event, later receipt, another file
    dupes = frame.sample(frac=0.04, random_state=seed).copy()
    dupes["received_at"] = dupes["received_at"] + pd.Timedelta(minutes=7)
    frame = pd.concat([frame, dupes], ignore_index=True)
    frame["_partition_date"] = frame["received_at"].dt.date
    frame["_source_file"] = [f"events/dt={d}/part-0.jsonl" for d in frame["_partition_date"]]
    frame["_line_number"] = np.arange(1, len(frame) + 1, dtype="int32")
    return frame


def _raw_table(frame: pd.DataFrame) -> pa.Table:
    """Arrow table with every ``raw.events__events`` column."""
    occurred_raw = [
        (ts + dt.timedelta(hours=8)).isoformat() + "+08:00" for ts in frame["occurred_at"]
    ]
    columns = {
        "event_id": pa.array(frame["event_id"], pa.string()),
        "user_id": pa.array(frame["user_id"], pa.string()),
        "event_type": pa.array(frame["event_type"], pa.string()),
        "occurred_at": pa.array(list(frame["occurred_at"]), pa.timestamp("us")),
        "received_at": pa.array(list(frame["received_at"]), pa.timestamp("us")),
        "occurred_at_raw": pa.array(occurred_raw, pa.string()),
        "platform": pa.array(["web"] * len(frame), pa.string()),
        "properties": pa.array([json.dumps(p) for p in frame["properties"]], pa.string()),
        "_partition_date": pa.array(list(frame["_partition_date"]), pa.date32()),
        "_source_file": pa.array(frame["_source_file"], pa.string()),
        "_line_number": pa.array(frame["_line_number"], pa.int32()),
        "_batch_id": pa.array(["test_marts_activity"] * len(frame), pa.string()),
        "_loaded_at": pa.array([dt.datetime(2024, 6, 1)] * len(frame), pa.timestamp("us")),
    }
    assert list(columns) == [name for name, _ in EVENT_COLUMNS]
    return pa.table(columns)


def _visible_events(raw: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """What staging exposes as of D, restated independently of the SQL: received
    before the end of D (UTC), one row per event_id, business date in Asia/Shanghai."""
    end_utc = BusinessDay(as_of, TZ).end_utc.replace(tzinfo=None)
    seen = raw.loc[raw["received_at"] < end_utc].sort_values(
        ["received_at", "_source_file", "_line_number"]
    )
    seen = seen.drop_duplicates("event_id")
    local = seen["occurred_at"].dt.tz_localize("UTC").dt.tz_convert(TZ)
    received = seen["received_at"].dt.tz_localize("UTC").dt.tz_convert(TZ)
    return pd.DataFrame(
        {
            "user_id": seen["user_id"].to_numpy(),
            "event_type": seen["event_type"].to_numpy(),
            "occurred_date": list(local.dt.date),
            "received_date": list(received.dt.date),
        }
    )


def _reference(
    model: str, raw: pd.DataFrame, as_of: dt.date, extra_vars: dict[str, Any]
) -> pd.DataFrame:
    events = _visible_events(raw, as_of)
    types = extra_vars.get("active_event_types", ref.ALL_EVENT_TYPES)
    max_weeks = extra_vars.get("retention_max_weeks", 12)
    n_days = extra_vars.get("retention_n_days", (1, 7, 30))
    builders: dict[str, Callable[[], pd.DataFrame]] = {
        "int_users__daily_activity": lambda: ref.daily_activity(events, as_of, types),
        "int_users__lifespans": lambda: ref.lifespans(events, as_of, types),
        "user_activity": lambda: ref.user_activity(events, as_of, types),
        "retention_cohorts": lambda: ref.retention_cohorts(events, as_of, max_weeks, types),
        "retention_n_day": lambda: ref.retention_n_day(events, as_of, n_days, types),
        "growth_accounting": lambda: ref.growth_accounting(
            events, as_of, extra_vars.get("growth_new_basis", "first_active"), types
        ),
    }
    return builders[model]()


# -- comparison ------------------------------------------------------------------------


def _assert_same(model: str, actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert_same_rows(model, actual, expected, KEYS[model])


# -- warehouse runs --------------------------------------------------------------------
Snapshot = dict[str, pd.DataFrame]


def _snapshot(target: WarehouseTarget) -> Snapshot:
    with Warehouse(target) as wh:
        return {m: wh.fetch_df(f"select * from {SCHEMA[m]}.{m}") for m in ACTIVITY_MODELS}


@pytest.fixture(scope="module")
def raw_events() -> pd.DataFrame:
    return _raw_events()


@pytest.fixture(
    scope="module",
    params=[
        "duckdb",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("spark", marks=pytest.mark.spark),
    ],
)
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, raw_events
) -> Iterator[dict[str, Any]]:
    """One warehouse, built as of D1 and D2, then again as of D2 with the variant vars
    (each a ``dbt build``: models, their data tests and unit tests)."""
    tmp = tmp_path_factory.mktemp(f"activity_{request.param}")
    target = new_target(request.param, tmp, "userops_test_activity")
    try:
        with Warehouse(target) as wh:
            ensure_schemas(wh)
            wh.bulk_insert("raw.events__events", _raw_table(raw_events))
        paths = {"target_path": tmp / "target", "log_path": tmp / "logs"}
        out: dict[str, Any] = {"summaries": {}, "snapshots": {}}
        for day in (D1, D2):
            summary = build(
                BusinessDay(day, TZ), target, select=SELECT, project_dir=PROJECT_DIR, **paths
            )
            out["summaries"][day] = summary
            out["snapshots"][day] = _snapshot(target)
        out["summaries"]["variant"] = build(
            BusinessDay(D2, TZ),
            target,
            VARIANT_VARS,
            select=[*ACTIVITY_MODELS, "user_activity_history"],
            project_dir=PROJECT_DIR,
            **paths,
        )
        out["snapshots"]["variant"] = _snapshot(target)
        yield out
    finally:
        if target.kind == "postgres":
            drop_pg_database(target)


# -- tests -----------------------------------------------------------------------------
@pytest.mark.parametrize("model", ACTIVITY_MODELS)
@pytest.mark.parametrize("as_of", [D1, D2], ids=["D1", "D2"])
def test_model_matches_reference(runs, raw_events, model: str, as_of: dt.date) -> None:
    expected = _reference(model, raw_events, as_of, {})
    assert len(expected) > 0
    _assert_same(model, runs["snapshots"][as_of][model], expected)


@pytest.mark.parametrize("model", ACTIVITY_MODELS)
def test_variant_vars_match_reference(runs, raw_events, model: str) -> None:
    """Non-default vars (new on signup basis, signup not active, other horizons)."""
    expected = _reference(model, raw_events, D2, VARIANT_VARS)
    _assert_same(model, runs["snapshots"]["variant"][model], expected)


def test_late_and_future_events_wait_for_their_date(runs) -> None:
    """An event received after D, or dated after D by its device, is not in D's marts."""
    users = {d: set(runs["snapshots"][d]["user_activity"]["user_id"]) for d in (D1, D2)}
    assert LATE_USER not in users[D1] and FUTURE_USER not in users[D1]
    assert {LATE_USER, FUTURE_USER} <= users[D2]


def test_signup_alone_is_not_activity_when_signup_is_not_an_active_type(runs) -> None:
    """With signup outside active_event_types the signup-only user has a signup date
    (so a cohort) but no active day; week 0 of the cohort still counts them."""
    spans = runs["snapshots"]["variant"]["int_users__lifespans"].set_index("user_id")
    user = spans.loc[SIGNUP_ONLY_USER]
    assert norm(user["signup_date"]) == D1 - dt.timedelta(days=10)
    assert norm(user["first_active_date"]) is None
    activity = runs["snapshots"]["variant"]["user_activity"].set_index("user_id")
    assert norm(activity.loc[SIGNUP_ONLY_USER, "days_since_last_active"]) is None


def test_dataset_exercises_the_edge_cases(raw_events) -> None:
    """Guard the fixture itself: late, future-dated and duplicate events are all present."""
    late = raw_events["received_at"] - raw_events["occurred_at"] > pd.Timedelta(days=1)
    ahead = raw_events["received_at"] < raw_events["occurred_at"]
    assert late.sum() >= 10 and ahead.sum() >= 5
    assert raw_events["event_id"].duplicated().sum() >= 10
    assert 300 <= raw_events["event_id"].nunique() <= 2000


def test_growth_accounting_statuses_all_occur(runs) -> None:
    """The comparison above is only meaningful if every status actually shows up."""
    growth = runs["snapshots"][D2]["growth_accounting"]
    for column in ("new_users", "returning_users", "resurrecting_users", "dormant_users"):
        assert growth[column].astype(int).sum() > 0, column


@pytest.mark.parametrize("run", [D1, D2, "variant"], ids=["D1", "D2", "variant"])
def test_unit_and_invariant_tests_ran(runs, run) -> None:
    """Each build ran, and passed, the activity unit tests and invariant tests."""
    summary: DbtRunSummary = runs["summaries"][run]
    assert not summary.failed_nodes
    passed = {n.unique_id for n in summary.nodes if n.status == "pass"}
    expected_unit = {
        "growth_accounting_statuses_and_single_dormant",
        "growth_accounting_new_on_signup_basis",
        "retention_cohorts_on_versus_on_or_after",
        "retention_n_day_eligibility",
        "user_activity_window_bounds",
        "int_users__daily_activity_counts_and_active_flag",
        "int_users__lifespans_signup_date_falls_back_to_first_active_day",
    }
    unit = {u.rsplit(".", 1)[-1] for u in passed if u.startswith("unit_test.")}
    assert expected_unit <= unit
    singular = {u.rsplit(".", 1)[-1] for u in passed if ".assert_marts_activity__" in u}
    assert {
        "assert_marts_activity__growth_accounting_balances",
        "assert_marts_activity__retention_week_zero_is_full",
        "assert_marts_activity__retention_counts_nested",
        "assert_marts_activity__rates_within_bounds",
        "assert_marts_activity__marts_agree_with_lifespans",
    } <= singular
