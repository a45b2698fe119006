"""
### bench_dbt_cosmos_<test behaviour> (benchmark only, not a production DAG)

Variant B of `benchmarks/dbt_orchestration.py`: the same dbt step rendered by
astronomer-cosmos as a `DbtTaskGroup` — one Airflow task per seed/model (plus a
test task per model with `after_each`), each an in-process dbtRunner invocation
(`ExecutionMode.LOCAL`, `InvocationMode.DBT_RUNNER`). The graph comes from a
`manifest.json` pre-built with `dbt parse`, so parsing this file runs no dbt.

Unlike a production DAG this file reads the environment at parse time (the
benchmark's knobs, and the warehouse connection Cosmos hands to dbt):

* `USEROPS_BENCH_DBT_MANIFEST` — path of the pre-built `manifest.json` (required);
* `USEROPS_BENCH_DBT_PROJECT_DIR` — the dbt project (default: `dbt_project/`);
* `USEROPS_BENCH_TEST_BEHAVIOR` — `after_each` (default) or `build`;
* the usual `USEROPS_*` settings (`userops.config.load_settings`).

The as-of vars are rendered per run from the data interval through the same
`userops.windows` code the single-task variant uses (a user macro), never from
`now()`.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pendulum
from airflow.sdk import dag
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

from userops.config import DBT_PROJECT_DIR, load_settings
from userops.windows import nightly_timetable

WAREHOUSE_POOL = "userops_duckdb"


def _dbt_vars_json(data_interval_start: datetime) -> str:
    """The run's dbt vars as JSON (`--vars`), from the data interval like production."""
    from userops import pipeline

    settings = load_settings()
    day = pipeline.day_from_context({"data_interval_start": data_interval_start}, settings)
    return json.dumps(pipeline.dbt_vars_for(day, settings), sort_keys=True, default=str)


_settings = load_settings()
_target = _settings.warehouse
_project_dir = Path(os.environ.get("USEROPS_BENCH_DBT_PROJECT_DIR", DBT_PROJECT_DIR))
_test_behavior = TestBehavior(os.environ.get("USEROPS_BENCH_TEST_BEHAVIOR", "after_each"))


@dag(
    # One dag_id per rendering: the task set differs, and dag.test() reuses runs by dag_id.
    dag_id=f"bench_dbt_cosmos_{_test_behavior.value}",
    schedule=nightly_timetable(_settings.timezone),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    tags=["userops", "benchmark"],
    user_defined_macros={"userops_dbt_vars_json": _dbt_vars_json},
    doc_md=__doc__,
)
def bench_dbt_cosmos():
    DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=_project_dir,
            manifest_path=Path(os.environ["USEROPS_BENCH_DBT_MANIFEST"]),
            partial_parse=True,
        ),
        profile_config=ProfileConfig(
            profile_name="userops",
            target_name=_target.dbt_target,
            profiles_yml_filepath=_project_dir / "profiles.yml",
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.DBT_RUNNER,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=_test_behavior,
        ),
        operator_args={
            "vars": "{{ userops_dbt_vars_json(data_interval_start) }}",
            "env": {"DBT_SEND_ANONYMOUS_USAGE_STATS": "False", **_target.dbt_env()},
            "install_deps": False,
            "pool": WAREHOUSE_POOL if _target.is_duckdb else "default_pool",
            "retries": 0,
        },
    )


bench_dbt_cosmos()
