"""Each suite passes a good hand-made frame and fails a broken one (GX runs for real)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from quality_samples import DAY, good_frames, quarantine_rows

from userops.quality.datasets import normalise_frame
from userops.quality.results import describe_observed, outcomes_from_validation
from userops.quality.suites import (
    SUITE_NAMES,
    build_suite,
    row_count_bounds,
    suite_parameters,
)
from userops.quality.thresholds import QualityThresholds, load_thresholds, project_vars

CRIT, WARN = "critical", "warning"
LIMITS = QualityThresholds(
    occurred_at_future_tolerance_hours=24, row_count_tolerance=0.5, max_quarantine_rate=0.01
)
END = DAY.end_utc.replace(tzinfo=None)


@pytest.fixture(scope="module")
def runner():
    from userops.quality.gate import SuiteRunner

    return SuiteRunner(output_dir=None)  # in memory: no files


def failures(runner, name: str, frame: pd.DataFrame, **params) -> set[tuple[str, str | None, str]]:
    values = suite_parameters(DAY, LIMITS, **params)
    validation = runner.validate(name, normalise_frame(frame), values)
    return {
        (o.expectation, o.column_name, o.severity)
        for o in outcomes_from_validation(name, validation)
        if not o.success
    }


@pytest.mark.parametrize("name", SUITE_NAMES)
def test_good_frame_passes(runner, name):
    assert failures(runner, name, good_frames()[name]) == set()


def _set(column: str, value, row: int = 0) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def mutate(df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        df[column] = df[column].astype(object)
        df.loc[row, column] = value
        return df

    return mutate


def _dup_first_row(df: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([df, df.iloc[[0]]], ignore_index=True)


def _all_received_at(ts: datetime) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def mutate(df: pd.DataFrame) -> pd.DataFrame:
        return df.assign(received_at=ts, occurred_at=ts)

    return mutate


CASES = [
    # landing contracts: raw.events__events
    ("raw.events__events", _set("event_type", "signup_v2"), ("expect_column_values_to_be_in_set", "event_type", CRIT)),
    ("raw.events__events", _set("user_id", None), ("expect_column_values_to_not_be_null", "user_id", CRIT)),
    ("raw.events__events", _set("received_at", datetime(2026, 3, 2, 0, 0)), ("expect_column_values_to_be_between", "received_at", CRIT)),
    ("raw.events__events", _all_received_at(datetime(2026, 2, 28, 9, 0)), ("expect_column_max_to_be_between", "received_at", CRIT)),
    # raw.events__quarantine
    ("raw.events__quarantine", lambda df: _set("reason", None)(quarantine_rows(DAY, 1)), ("expect_column_values_to_not_be_null", "reason", CRIT)),
    # raw.crm__*
    ("raw.crm__leads", _set("lead_id", None), ("expect_column_values_to_not_be_null", "lead_id", CRIT)),
    ("raw.crm__leads", _set("updated_at", "yesterday"), ("expect_column_values_to_match_regex", "updated_at", CRIT)),
    ("raw.crm__contracts", _dup_first_row, ("expect_compound_columns_to_be_unique", "contract_id,updated_at", CRIT)),
    ("raw.crm__followups", _set("updated_at", None), ("expect_column_values_to_not_be_null", "updated_at", CRIT)),
    # output contracts: marts.users
    ("marts.users", _dup_first_row, ("expect_column_values_to_be_unique", "user_id", CRIT)),
    ("marts.users", _set("lifecycle_stage", "zombie"), ("expect_column_values_to_be_in_set", "lifecycle_stage", CRIT)),
    ("marts.users", _set("rfm_segment", "vip"), ("expect_column_values_to_be_in_set", "rfm_segment", CRIT)),
    ("marts.users", _set("lead_tier", "D"), ("expect_column_values_to_be_in_set", "lead_tier", CRIT)),
    ("marts.users", _set("phone_masked", "+8613812345678"), ("expect_column_values_to_not_match_regex", "phone_masked", CRIT)),
    ("marts.users", _set("email_masked", "ceo@acme.cn"), ("expect_column_values_to_not_match_regex", "email_masked", CRIT)),
    ("marts.users", _set("as_of_date", date(2026, 2, 28)), ("expect_column_values_to_be_between", "as_of_date", CRIT)),
    ("marts.users", lambda df: df.iloc[0:0], ("expect_table_row_count_to_be_between", None, CRIT)),
    # marts.user_rfm
    ("marts.user_rfm", _set("m_score", 6), ("expect_column_values_to_be_between", "m_score", CRIT)),
    ("marts.user_rfm", _set("rfm_segment", "whale"), ("expect_column_values_to_be_in_set", "rfm_segment", CRIT)),
    ("marts.user_rfm", _dup_first_row, ("expect_column_values_to_be_unique", "user_id", CRIT)),
    # marts.lead_scores
    ("marts.lead_scores", _dup_first_row, ("expect_column_values_to_be_unique", "lead_id", CRIT)),
    ("marts.lead_scores", _set("lead_tier", "S"), ("expect_column_values_to_be_in_set", "lead_tier", CRIT)),
    ("marts.lead_scores", _set("lead_tier", None), ("expect_column_values_to_not_be_null", "lead_tier", CRIT)),
    # marts.rep_performance
    ("marts.rep_performance", _dup_first_row, ("expect_column_values_to_be_unique", "rep_id", CRIT)),
    ("marts.rep_performance", _set("rep_tier", None), ("expect_column_values_to_not_be_null", "rep_tier", CRIT)),
    ("marts.rep_performance", _set("rep_tier", "star"), ("expect_column_values_to_be_in_set", "rep_tier", CRIT)),
    ("marts.rep_performance", lambda df: df.assign(is_active=False), ("expect_column_values_to_be_in_set", "is_active", CRIT)),
    ("marts.rep_performance", _set("daily_capacity", -1), ("expect_column_values_to_be_between", "daily_capacity", CRIT)),
    # marts.user_value
    ("marts.user_value", _dup_first_row, ("expect_column_values_to_be_unique", "user_id", CRIT)),
    ("marts.user_value", _set("churn_probability", 1.5), ("expect_column_values_to_be_between", "churn_probability", CRIT)),
    ("marts.user_value", _set("value_decile", 11), ("expect_column_values_to_be_between", "value_decile", CRIT)),
    ("marts.user_value", _set("expected_value_cny", -1.0), ("expect_column_values_to_be_between", "expected_value_cny", CRIT)),
    # marts.lead_need_themes
    ("marts.lead_need_themes", _dup_first_row, ("expect_column_values_to_be_unique", "lead_id", CRIT)),
    ("marts.lead_need_themes", _set("top_theme_id", "gossip"), ("expect_column_values_to_be_in_set", "top_theme_id", CRIT)),
    ("marts.lead_need_themes", _set("themed_note_count", 9), ("expect_column_pair_values_a_to_be_greater_than_b", "note_count,themed_note_count", CRIT)),
    ("marts.lead_need_themes", _set("top_theme_label", None), ("expect_column_values_to_not_be_null", "top_theme_label", CRIT)),
    ("marts.lead_need_themes", _set("note_count", 0), ("expect_column_values_to_be_between", "note_count", CRIT)),
    # marts.active_users_daily
    ("marts.active_users_daily", _set("stickiness", 1.2), ("expect_column_values_to_be_between", "stickiness", CRIT)),
    ("marts.active_users_daily", _set("dau", 7), ("expect_column_pair_values_a_to_be_greater_than_b", "mau,dau", CRIT)),
    ("marts.active_users_daily", lambda df: df.iloc[:-1], ("expect_column_max_to_be_between", "activity_date", CRIT)),
    # marts.retention_cohorts
    ("marts.retention_cohorts", _set("retention_on_or_after_rate", 1.5), ("expect_column_values_to_be_between", "retention_on_or_after_rate", CRIT)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "mutate", "expected"), CASES)
def test_broken_frame_fails_critical(runner, name, mutate, expected):
    found = failures(runner, name, mutate(good_frames()[name]))
    assert expected in found, found


WARNING_CASES = [
    # device clocks: occurred_at two days past the end of the day
    ("raw.events__events", _set("occurred_at", END + timedelta(days=2)), {}, ("expect_column_values_to_be_between", "occurred_at", WARN)),
    ("raw.events__events", _set("platform", "harmonyos"), {}, ("expect_column_values_to_be_in_set", "platform", WARN)),
    # 5 quarantined of 45 lines read > 1 %
    ("raw.events__quarantine", lambda df: quarantine_rows(DAY, 5), {"lines_read": 45}, ("expect_table_row_count_to_be_between", None, WARN)),
    # 40 events against 100 the previous time: outside +-50 %
    ("raw.events__events", lambda df: df, {"row_count_baseline": 100}, ("expect_table_row_count_to_be_between", None, WARN)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "mutate", "params", "expected"), WARNING_CASES)
def test_warning_problems_do_not_fail_critical(runner, name, mutate, params, expected):
    found = failures(runner, name, mutate(good_frames()[name]), **params)
    assert found == {expected}


def test_row_count_within_tolerance_passes(runner):
    assert (
        failures(
            runner, "raw.events__events", good_frames()["raw.events__events"], row_count_baseline=60
        )
        == set()
    )
    assert (
        failures(runner, "raw.events__quarantine", quarantine_rows(DAY, 1), lines_read=200) == set()
    )


def test_row_count_bounds():
    assert row_count_bounds(None, 0.5) == (None, None)  # first run: no check
    assert row_count_bounds(100, 0.5) == (50, 150)
    assert row_count_bounds(3, 0.25) == (2, 4)
    assert row_count_bounds(0, 0.5) == (0, 0)


def test_suite_parameters_follow_the_business_day():
    p = suite_parameters(DAY, replace(LIMITS, occurred_at_future_tolerance_hours=6))
    assert p["window_start_utc"] == datetime(2026, 2, 28, 16)
    assert p["partitions_start_utc"] == datetime(2026, 2, 28)
    assert p["partitions_end_utc"] == datetime(2026, 3, 2)
    assert p["occurred_at_latest_utc"] == datetime(2026, 3, 1, 22)
    assert p["as_of_date"] == datetime(2026, 3, 1)
    assert p["quarantine_max_rows"] is None


def test_suites_are_named_after_their_tables_and_serialise():
    for name in SUITE_NAMES:
        suite = build_suite(name)
        assert suite.name == name and name.split(".")[0] in {"raw", "marts"}
        assert json.loads(json.dumps(suite.to_json_dict()))["name"] == name
    severities = {
        str(getattr(e.severity, "value", e.severity))
        for e in build_suite("raw.events__events").expectations
    }
    assert severities == {CRIT, WARN}


def test_thresholds_from_vars(tmp_path):
    (tmp_path / "dbt_project.yml").write_text(
        "name: x\nvars:\n  quality_row_count_tolerance: 0.2\n"
    )
    assert project_vars(tmp_path) == {"quality_row_count_tolerance": 0.2}
    t = QualityThresholds.from_vars(
        {
            **project_vars(tmp_path),
            "quality_max_quarantine_rate": "0.05",
            "quality_occurred_at_future_tolerance_hours": 6,
        }
    )
    assert (t.row_count_tolerance, t.max_quarantine_rate) == (0.2, 0.05)
    assert t.occurred_at_future_tolerance_hours == 6
    # no default in code: a var missing from the project is named
    with pytest.raises(ValueError, match="quality_occurred_at_future_tolerance_hours is not set"):
        QualityThresholds.from_vars(project_vars(tmp_path))
    # the project's own file declares every one, and a run's override wins
    declared = project_vars()
    assert load_thresholds().row_count_tolerance == declared["quality_row_count_tolerance"]
    assert load_thresholds({"quality_row_count_tolerance": 1}).row_count_tolerance == 1
    with pytest.raises(ValueError, match="quarantine"):
        QualityThresholds.from_vars({**declared, "quality_max_quarantine_rate": 2})


def test_normalise_frame_gives_both_warehouses_the_same_dtypes():
    # What psycopg hands back: Python objects, tz-aware timestamps, Decimals, dicts.
    pg_like = pd.DataFrame(
        {
            "d": [date(2026, 3, 1), None],
            "ts": [datetime(2026, 3, 1, 8, tzinfo=UTC), None],
            "n": [Decimal("0.25"), None],
            "j": [{"a": 1}, None],
            "s": ["x", None],
        },
        dtype=object,
    )
    out = normalise_frame(pg_like)
    assert str(out["d"].dtype).startswith("datetime64") and out["d"][0] == pd.Timestamp(
        "2026-03-01"
    )
    assert out["ts"][0] == pd.Timestamp("2026-03-01 08:00") and out["ts"].dt.tz is None
    assert out["n"].dtype == float and out["n"][0] == 0.25
    assert out["j"][0] == '{"a": 1}'


def test_normalise_frame_lets_gx_compare_duckdb_frames_in_bulk(runner):
    # What DuckDB hands back: microsecond dates, int32 and nullable Int32 columns.
    good = good_frames()["marts.users"]
    duck = good.assign(
        as_of_date=pd.to_datetime(good["as_of_date"]).astype("datetime64[us]"),
        tenure_days=good["tenure_days"].astype("int32"),
        company_size=pd.array([None, *good["company_size"][1:]], dtype="Int32"),
    )
    out = normalise_frame(duck)
    assert out["as_of_date"].dtype == "datetime64[ns]"  # GX's bulk path for dates
    assert out["tenure_days"].dtype == "int64" and out["company_size"].dtype == "float64"
    assert out["company_size"].isna().sum() == 1
    assert failures(runner, "marts.users", duck) == set()
    reps = good_frames()["marts.rep_performance"]
    capacity = reps["daily_capacity"].astype("Int32")
    assert failures(runner, "marts.rep_performance", reps.assign(daily_capacity=capacity)) == set()
    assert failures(
        runner, "marts.rep_performance", reps.assign(daily_capacity=capacity - 10**6)
    ) == {("expect_column_values_to_be_between", "daily_capacity", CRIT)}
    # A date past the ns range (year 2262) keeps its unit and is still checked.
    far = duck["as_of_date"].copy()
    far.iloc[0] = pd.Timestamp("2999-01-01")
    assert str(normalise_frame(duck.assign(as_of_date=far))["as_of_date"].dtype) == (
        "datetime64[us]"
    )
    assert failures(runner, "marts.users", duck.assign(as_of_date=far)) == {
        ("expect_column_values_to_be_between", "as_of_date", CRIT)
    }


def test_describe_observed():
    assert describe_observed({"observed_value": 7}) == "7"
    assert (
        describe_observed({"observed_value": pd.Timestamp("2026-03-01")}) == "2026-03-01 00:00:00"
    )
    text = describe_observed(
        {
            "element_count": 6,
            "unexpected_count": 2,
            "partial_unexpected_counts": [{"value": "u1", "count": 2}],
        }
    )
    assert text == "2 of 6 unexpected: u1 x2"
    info = {"m": {"raised_exception": True, "exception_message": "boom"}}
    assert describe_observed({}, info) == "error: boom"
