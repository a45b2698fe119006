"""The project's own macros and generic tests, run by real dbt on both warehouses.

A throwaway dbt project (named ``userops`` so the ``userops.`` macro namespace
resolves) is written to a temporary folder with a copy of ``dbt_project/macros``
and tiny models of literal cases: the cleaning macros on dirty values, the date
spine, and models built to make ``expression_is_true`` / ``at_least_one`` fail.
This also exercises the runner: ``run_dbt`` must raise ``DbtError`` naming exactly
the failing nodes.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from userops.config import DBT_PROJECT_DIR, WarehouseTarget
from userops.transform.dbt import DbtError, run_dbt
from userops.warehouse import Warehouse

pytestmark = pytest.mark.slow

# case id -> (macro output column, raw text, expected value); None = SQL null.
CASES: dict[int, tuple[str, str | None, Any]] = {
    1: ("phone", "+86 138-0013-8000", "+8613800138000"),
    2: ("phone", "0086 13800138000", "+8613800138000"),
    3: ("phone", "86-138-0013-8000", "+8613800138000"),
    4: ("phone", "（１３８）００１３　８０００", "+8613800138000"),
    5: ("phone", "010-8888 9999", None),
    6: ("phone", "138001380", None),
    7: ("phone", "+1 415 555 0100", None),
    8: ("phone", None, None),
    9: ("phone", "23800138000", None),
    10: ("email", "  Foo.Bar@Example.COM ", "foo.bar@example.com"),
    11: ("email", "ｆｏｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", "foo@example.com"),
    12: ("email", "foo@", None),
    13: ("email", "", None),
    14: ("company_key", " ＡＣＭＥ　 Trading\tCo. ", "acmetradingco."),
    15: ("company_key", "北京 某某 科技有限公司", "北京某某科技有限公司"),
    16: ("company_key", "   ", None),
    17: ("ts", "2024-03-01T10:00:00", pd.Timestamp("2024-03-01 10:00:00")),
    18: ("ts", "2024-03-01 10:00:00.250", pd.Timestamp("2024-03-01 10:00:00.25")),
    19: ("ts", "2024-03-01", pd.Timestamp("2024-03-01")),
    20: ("ts", "2024-03-01T10:00:00+08:00", pd.Timestamp("2024-03-01 02:00:00")),
    21: ("ts", "2024-03-01 10:00:00Z", pd.Timestamp("2024-03-01 10:00:00")),
    22: ("ts", "2024-03-01 10:00+0530", pd.Timestamp("2024-03-01 04:30:00")),
    23: ("ts", "２０２４－０３－０１ １０:００", pd.Timestamp("2024-03-01 10:00:00")),
    24: ("ts", "2024/03/01 10:00:00", pd.Timestamp("2024-03-01 10:00:00")),
    25: ("ts", "2024-02-30 10:00:00", None),
    26: ("ts", "2023-02-29", None),
    27: ("ts", "2024-02-29", pd.Timestamp("2024-02-29")),
    28: ("ts", "2024-13-01", None),
    29: ("ts", "2024-03-01 24:00:00", None),
    30: ("ts", "03/01/2024", None),
    31: ("ts", "1709287200", None),
    32: ("flag", " YES ", True),
    33: ("flag", "ｔｒｕｅ", True),
    34: ("flag", "0", False),
    35: ("flag", "F", False),
    36: ("flag", "maybe", None),
    37: ("int_value", " １２ ", 12),
    38: ("int_value", "1 200", 1200),
    39: ("int_value", "1,200", 1200),
    40: ("int_value", "12.0", 12),
    41: ("int_value", "12.5", None),
    42: ("int_value", "-3", -3),
    43: ("int_value", "9999999999", None),
    44: ("int_value", "abc", None),
    45: ("amount", "１,２００.５", Decimal("1200.50")),
    46: ("amount", "¥ 99", Decimal("99.00")),
    47: ("amount", "12.345", Decimal("12.35")),
    48: ("amount", "1e3", None),
    49: ("amount", "12345678901234567", None),
    50: ("amount", "-0.5", Decimal("-0.50")),
    51: ("text_value", " \u3000 你好，世界　 ", "你好，世界"),
    52: ("text_value", "\t\n", None),
    53: ("phone", "00852 6123 4567", None),
    54: ("phone", "(+86)13800138000", "+8613800138000"),
    55: ("phone", "+86 010 8888 9999", None),
}

OUTPUTS = ("phone", "email", "company_key", "ts", "flag", "int_value", "amount", "text_value")


def _sql_literal(value: str | None) -> str:
    return "null" if value is None else "'" + value.replace("'", "''") + "'"


def _write_harness(root: Path) -> None:
    """A minimal dbt project using the real macros and profiles."""
    shutil.copytree(DBT_PROJECT_DIR / "macros", root / "macros")
    shutil.copy(DBT_PROJECT_DIR / "profiles.yml", root / "profiles.yml")
    (root / "dbt_project.yml").write_text(
        "name: userops\nversion: '1.0.0'\nconfig-version: 2\nprofile: userops\n"
        "models:\n  userops:\n    +materialized: table\n    +schema: harness\n"
        "vars:\n  business_timezone: Asia/Shanghai\n"
    )
    models = root / "models"
    models.mkdir()
    rows = ",\n        ".join(
        f"({cid}, cast({_sql_literal(raw)} as varchar))" for cid, (_, raw, _) in CASES.items()
    )
    (models / "cleaning_cases.sql").write_text(
        f"""
with cases as (
    select * from (values
        {rows}
    ) as t (case_id, raw_value)
)
select
    case_id,
    {{{{ normalize_phone('raw_value') }}}} as phone,
    {{{{ clean_email('raw_value') }}}} as email,
    {{{{ normalize_company_name('raw_value') }}}} as company_key,
    {{{{ parse_timestamp_utc('raw_value') }}}} as ts,
    {{{{ parse_boolean('raw_value') }}}} as flag,
    {{{{ parse_integer('raw_value') }}}} as int_value,
    {{{{ parse_amount('raw_value') }}}} as amount,
    {{{{ clean_text('raw_value') }}}} as text_value
from cases
"""
    )
    (models / "spine_leap.sql").write_text(
        "select date_day from ({{ date_spine(\"cast('2024-02-27' as date)\", "
        "\"cast('2024-03-02' as date)\") }}) as s"
    )
    (models / "spine_empty.sql").write_text(
        "select date_day from ({{ date_spine(\"cast('2024-03-02' as date)\", "
        "\"cast('2024-03-01' as date)\") }}) as s"
    )
    (models / "business_dates.sql").write_text(
        "select {{ to_business_date(\"cast('2024-03-09 15:59:59' as timestamp)\") }} as d1, "
        "{{ to_business_date(\"cast('2024-03-09 16:00:00' as timestamp)\") }} as d2"
    )
    (models / "as_of_probe.sql").write_text(
        "select {{ as_of_date() }} as d, {{ as_of_end_utc() }} as e, {{ data_test_since() }} as s"
    )
    (models / "memory_probe.sql").write_text(
        "{{ config(enabled=target.type == 'duckdb') }} "
        "select current_setting('memory_limit') as memory_limit"
    )
    (models / "checks.sql").write_text(
        "select * from (values (1, 2, cast(null as integer)), (3, 2, cast(null as integer)),"
        " (cast(null as integer), 1, cast(null as integer))) as t (a, b, c)"
    )
    (models / "_harness.yml").write_text(
        """
models:
  - name: checks
    data_tests:
      - name: expect_fail_a_lt_b
        test_name: expression_is_true
        arguments: {expression: "a < b"}
      - name: expect_pass_b_positive
        test_name: expression_is_true
        arguments: {expression: "b >= 1"}
    columns:
      - name: a
        data_tests:
          - name: expect_fail_a_at_least_2
            test_name: expression_is_true
            arguments: {expression: ">= 2"}
          - name: expect_pass_a_has_values
            test_name: at_least_one
      - name: c
        data_tests:
          - name: expect_fail_c_has_values
            test_name: at_least_one
"""
    )


@pytest.fixture
def harness(tmp_path: Path) -> Path:
    root = tmp_path / "harness"
    root.mkdir()
    _write_harness(root)
    return root


def _norm(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item") and not isinstance(value, Decimal):
        value = value.item()
    return value


def test_macros_and_generic_tests(harness: Path, any_target: WarehouseTarget, tmp_path: Path):
    with pytest.raises(DbtError) as err:
        run_dbt(
            ["build"],
            any_target,
            project_dir=harness,
            target_path=tmp_path / "target",
            log_path=tmp_path / "logs",
        )
    summary = err.value.summary
    status = {n.unique_id.split(".")[2]: n for n in summary.nodes}
    # Models all built; exactly the tests meant to fail failed, with their row counts.
    for model in ("cleaning_cases", "spine_leap", "spine_empty", "business_dates", "checks"):
        assert status[model].status == "success", status[model].message
    # plain dbt without --vars: a node reading a per-run var fails and names it
    assert status["as_of_probe"].status == "error"
    assert "var as_of_date is not set" in status["as_of_probe"].message
    assert status["expect_fail_a_lt_b"].status == "fail"
    assert status["expect_fail_a_lt_b"].failures == 1  # 3 < 2; null < 1 is null: passes
    assert status["expect_fail_a_at_least_2"].failures == 1  # a = 1
    assert status["expect_fail_c_has_values"].status == "fail"
    assert status["expect_pass_b_positive"].status == "pass"
    assert status["expect_pass_a_has_values"].status == "pass"
    assert {n.unique_id.split(".")[2] for n in summary.failed_nodes} == {
        "as_of_probe",
        "expect_fail_a_lt_b",
        "expect_fail_a_at_least_2",
        "expect_fail_c_has_values",
    }
    assert "expect_fail_a_lt_b" in str(err.value)

    with Warehouse(any_target) as wh:
        cases = wh.fetch_df("select * from harness.cleaning_cases order by case_id")
        spine = wh.fetchall("select date_day from harness.spine_leap order by 1")
        empty = wh.fetchall("select count(*) from harness.spine_empty")
        bdates = wh.fetchall("select d1, d2 from harness.business_dates")
    mismatches = []
    for row in cases.to_dict("records"):
        column, raw, expected = CASES[int(row["case_id"])]
        actual = _norm(row[column])
        if isinstance(expected, Decimal) and actual is not None:
            actual = Decimal(str(actual)).quantize(Decimal("0.01"))
        if isinstance(expected, pd.Timestamp) and actual is not None:
            actual = pd.Timestamp(actual)
        if actual != expected:
            mismatches.append((row["case_id"], column, raw, actual, expected))
    assert not mismatches, mismatches
    assert [str(pd.Timestamp(d[0]).date()) for d in spine] == [
        "2024-02-27",
        "2024-02-28",
        "2024-02-29",
        "2024-03-01",
        "2024-03-02",
    ]
    assert empty[0][0] == 0
    assert [str(pd.Timestamp(d).date()) for d in bdates[0]] == ["2024-03-09", "2024-03-10"]


def test_a_new_date_keeps_the_partial_parse(
    harness: Path, duckdb_target: WarehouseTarget, tmp_path
):
    """Nights differ only in their per-run vars, which are not --vars: the second date
    re-uses the first one's parse instead of re-parsing the whole project."""
    import datetime as dt

    from userops.transform.dbt import build
    from userops.windows import BusinessDay

    paths = {"target_path": tmp_path / "target", "log_path": tmp_path / "logs"}
    log = tmp_path / "logs" / "dbt.log"
    logged = []
    for d in (dt.date(2024, 3, 10), dt.date(2024, 3, 11)):
        before = log.stat().st_size if log.exists() else 0
        build(BusinessDay(d, "Asia/Shanghai"), duckdb_target, {"activity_lookback_days": 3},
              select=["as_of_probe"], project_dir=harness, **paths)  # fmt: skip
        logged.append(log.read_bytes()[before:].decode())
    assert "Unable to do partial parsing" not in logged[1], logged[1][-2000:]
    with Warehouse(duckdb_target) as wh:
        assert str(wh.fetchall("select d from harness.as_of_probe")[0][0]) == "2024-03-11"


def test_runner_env_vars_and_errors(harness: Path, duckdb_target: WarehouseTarget, tmp_path):
    """build() gives the day's as-of vars precedence over settings vars and passes them
    in the environment (only during the run), not in --vars; a failing command raises
    DbtError."""
    import datetime as dt
    import json
    import os

    from userops.transform.dbt import RUN_VARS, build
    from userops.windows import BusinessDay

    day = BusinessDay(dt.date(2024, 3, 10), "Asia/Shanghai")
    paths = {"target_path": tmp_path / "target", "log_path": tmp_path / "logs"}
    before = os.environ.get("USEROPS_DUCKDB_PATH")
    os.environ["USEROPS_DBT_AS_OF_DATE"] = "1998-01-01"  # a stale value in the caller
    try:
        summary = build(
            day,
            replace(duckdb_target, duckdb_memory_limit="1GiB"),  # USEROPS_DUCKDB_MEMORY_LIMIT
            {"as_of_date": "1999-01-01", "activity_lookback_days": 3, "data_test_slice_days": 2},
            select=["spine_leap", "as_of_probe", "memory_probe"],
            project_dir=harness,
            **paths,
        )
    finally:
        stale = os.environ.pop("USEROPS_DBT_AS_OF_DATE")
    assert stale == "1998-01-01"  # restored after the run
    assert summary.success and summary.count("success") == 3
    reported = json.loads(json.dumps(summary.to_dict()))  # the dbt step's XCom
    slowest = list(reported["slowest_nodes"].items())
    assert {uid.split(".")[-1] for uid, _ in slowest} == {
        "spine_leap", "as_of_probe", "memory_probe",
    }  # fmt: skip
    assert [t for _, t in slowest] == sorted((t for _, t in slowest), reverse=True)
    assert reported["elapsed_s"] >= slowest[0][1] > 0
    assert os.environ.get("USEROPS_DUCKDB_PATH") == before
    assert not any(f"USEROPS_DBT_{n.upper()}" in os.environ for n in RUN_VARS)
    run_results = json.loads((tmp_path / "target" / "run_results.json").read_text())
    passed_vars = run_results["args"]["vars"]
    assert not set(RUN_VARS) & set(passed_vars)  # the per-run vars never reach --vars
    assert passed_vars["activity_lookback_days"] == 3
    with Warehouse(duckdb_target) as wh:
        ((d, e, s),) = wh.fetchall("select d, e, s from harness.as_of_probe")
    assert (str(d), str(e), str(s)) == ("2024-03-10", "2024-03-10 16:00:00", "2024-03-08")
    with Warehouse(duckdb_target) as wh:
        assert wh.fetchall("select memory_limit from harness.memory_probe") == [("1.0 GiB",)]

    # dbt-duckdb must not keep the file open: another process can take the write lock now.
    import subprocess
    import sys

    probe = subprocess.run(
        [sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()",
         str(duckdb_target.duckdb_path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr

    with pytest.raises(DbtError) as err:
        run_dbt(["run-operation", "no_such_macro"], duckdb_target, project_dir=harness, **paths)
    assert not err.value.summary.success
    assert "run-operation failed" in str(err.value)
