"""The gate end to end on throwaway DuckDB and PostgreSQL warehouses with hand-made tables."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest
from quality_samples import DAY, create_warehouse, good_frames, quarantine_rows, write_table

from userops.quality.gate import QualityGateFailed, run_quality_gate
from userops.quality.suites import SUITE_NAMES
from userops.quality.thresholds import QualityThresholds
from userops.warehouse import Warehouse
from userops.windows import BusinessDay

#: Fixed values: the tests do not depend on what dbt_project.yml holds.
LIMITS = QualityThresholds(
    occurred_at_future_tolerance_hours=24, row_count_tolerance=0.5, max_quarantine_rate=0.01
)


def stored(target, day: BusinessDay = DAY) -> pd.DataFrame:
    with Warehouse(target) as wh:
        return wh.fetch_df(
            "select run_id, suite, expectation, column_name, severity, success, observed_value "
            f"from meta.validation_results where business_date = {wh.param}",
            [day.day],
        )


def test_good_data_passes_records_every_result_and_builds_docs(any_target, tmp_path):
    create_warehouse(any_target)
    result = run_quality_gate(any_target, DAY, tmp_path / "out", "run-1", thresholds=LIMITS)

    assert result.passed and not result.warnings
    assert list(result.suites) == list(SUITE_NAMES)
    assert result.suites["raw.events__events"].row_count == 40
    assert result.suites["raw.crm__leads"].row_count == 3  # only the day's batch
    assert result.data_docs_index == (tmp_path / "out" / "data_docs" / "index.html").resolve()
    assert result.data_docs_index.exists()
    assert "marts.users" in result.data_docs_index.read_text(encoding="utf-8")

    rows = stored(any_target)
    assert len(rows) == sum(s.evaluated for s in result.suites.values())
    assert set(rows["suite"]) == set(SUITE_NAMES)
    assert rows["success"].astype(bool).all() and set(rows["run_id"]) == {"run-1"}
    assert set(rows["severity"]) == {"critical", "warning"}

    as_json = json.loads(json.dumps(result.to_dict()))
    assert as_json["passed"] is True and as_json["business_date"] == "2026-03-01"
    assert as_json["suites"]["marts.users"]["evaluated"] == len(rows[rows.suite == "marts.users"])


def test_duplicated_user_fails_the_gate_and_a_fixed_rerun_replaces_the_failure(
    any_target, tmp_path
):
    frames = good_frames()
    users = frames["marts.users"]
    frames["marts.users"] = pd.concat([users, users.iloc[[1]]], ignore_index=True)
    create_warehouse(any_target, frames)

    with pytest.raises(QualityGateFailed) as caught:
        run_quality_gate(any_target, DAY, tmp_path, "run-bad", thresholds=LIMITS)
    message = str(caught.value)
    assert "marts.users: expect_column_values_to_be_unique(user_id)" in message
    assert "2 of 7 unexpected: u1 x2" in message
    assert [o.suite for o in caught.value.result.failed_critical] == ["marts.users"]
    assert (tmp_path / "data_docs" / "index.html").exists()  # docs are built for failures too

    rows = stored(any_target)
    failed = rows[~rows["success"].astype(bool)]
    assert failed[["suite", "expectation", "column_name", "severity"]].values.tolist() == [
        ["marts.users", "expect_column_values_to_be_unique", "user_id", "critical"]
    ]

    # The mart is fixed and the date rerun: one set of results, all passing.
    with Warehouse(any_target) as wh:
        write_table(wh, "marts.users", users)
    result = run_quality_gate(any_target, DAY, tmp_path, "run-fixed", thresholds=LIMITS)
    rows = stored(any_target)
    assert result.passed and rows["success"].astype(bool).all()
    assert set(rows["run_id"]) == {"run-fixed"}
    assert len(rows) == sum(s.evaluated for s in result.suites.values())


def test_warning_only_problem_passes_with_the_warning_recorded(any_target, tmp_path):
    frames = good_frames()
    frames["raw.events__quarantine"] = quarantine_rows(DAY, 5)  # 5 of 45 lines > 1 %
    create_warehouse(any_target, frames)

    result = run_quality_gate(any_target, DAY, tmp_path, "run-1", thresholds=LIMITS)

    assert result.passed
    assert [(w.suite, w.expectation) for w in result.warnings] == [
        ("raw.events__quarantine", "expect_table_row_count_to_be_between")
    ]
    assert result.warnings[0].observed_value == "5"
    rows = stored(any_target)
    failed = rows[~rows["success"].astype(bool)]
    assert failed[["suite", "severity", "observed_value"]].values.tolist() == [
        ["raw.events__quarantine", "warning", "5"]
    ]


def test_rerun_of_a_date_keeps_one_set_of_results_and_drift_uses_the_previous_date(
    any_target, tmp_path
):
    """Row-count drift against the previous successful date; reruns replace their rows."""
    before = BusinessDay(DAY.day - timedelta(days=1), DAY.tz)
    only = ["raw.events__events"]
    create_warehouse(any_target, {"raw.events__events": good_frames(before)["raw.events__events"]})
    first = run_quality_gate(any_target, before, tmp_path, "r0", only, thresholds=LIMITS)
    assert first.passed and not first.warnings  # first run: nothing to compare with

    # The next day lands only 10 events: 10 is outside 40 +- 50 % -> a warning, not a failure.
    with Warehouse(any_target) as wh:
        write_table(wh, "raw.events__events", good_frames(DAY)["raw.events__events"].head(10))
    for run_id in ("r1", "r2"):
        result = run_quality_gate(any_target, DAY, tmp_path, run_id, only, thresholds=LIMITS)
        assert result.passed
        assert [(w.expectation, w.observed_value) for w in result.warnings] == [
            ("expect_table_row_count_to_be_between", "10")
        ]
        assert '"max_value": 60, "min_value": 20' in result.warnings[0].expectation_args

    # The Data Docs index keeps both dates (one entry each, despite the rerun).
    index = result.data_docs_index.read_text(encoding="utf-8")
    pages = "validations/raw/events__events/{}/{}T000000.000000Z/userops-raw.events__events.html"
    for day in (before.day, DAY.day):
        assert index.count(pages.format(day, day.strftime("%Y%m%d"))) == 1

    rows = stored(any_target)
    assert set(rows["run_id"]) == {"r2"}
    assert len(rows) == result.suites["raw.events__events"].evaluated
    assert len(stored(any_target, before)) == first.suites["raw.events__events"].evaluated


def test_missing_table_is_a_critical_failure(duckdb_target, tmp_path):
    create_warehouse(duckdb_target, {})  # raw and meta only, no marts
    with pytest.raises(QualityGateFailed, match=r"marts\.users: expect_table_to_exist"):
        run_quality_gate(duckdb_target, DAY, tmp_path, "r", ["marts.users"], thresholds=LIMITS)
    with pytest.raises(KeyError, match="no quality suite"):
        run_quality_gate(duckdb_target, DAY, tmp_path, "r", ["marts.nope"], thresholds=LIMITS)
