"""
### bench_dbt_single (benchmark only, not a production DAG)

Variant A of `benchmarks/dbt_orchestration.py`: the dbt step of `userops_nightly`
exactly as production runs it — one task, one in-process `dbt build` of the whole
project as of the run's business day (what `userops.pipeline.step_dbt_build` does,
on the project copy named by `USEROPS_BENCH_DBT_PROJECT_DIR` so that edits to the
live tree cannot change the work mid-benchmark). The loads are done once by the
benchmark beforehand, so only the dbt step is timed.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, get_current_context, task

from userops.windows import nightly_timetable

WAREHOUSE_POOL = "userops_duckdb"


@dag(
    dag_id="bench_dbt_single",
    schedule=nightly_timetable("Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    tags=["userops", "benchmark"],
    doc_md=__doc__,
)
def bench_dbt_single():
    @task(pool=WAREHOUSE_POOL, retries=0)
    def dbt_build() -> dict:
        """`pipeline.step_dbt_build`, pointed at the benchmark's frozen copy of the project."""
        import os
        from pathlib import Path

        from userops import pipeline
        from userops.config import DBT_PROJECT_DIR, load_settings
        from userops.transform.dbt import run_dbt

        settings = load_settings()
        day = pipeline.day_from_context(get_current_context(), settings)
        project_dir = Path(os.environ.get("USEROPS_BENCH_DBT_PROJECT_DIR", DBT_PROJECT_DIR))
        summary = run_dbt(
            ["build"], settings.warehouse, pipeline.dbt_vars_for(day, settings), project_dir
        )
        return {"success": summary.success, "nodes": len(summary.nodes)}

    dbt_build()


bench_dbt_single()
