"""
### bench_dbt_single (benchmark only, not a production DAG)

Variant A of `benchmarks/dbt_orchestration.py`: the dbt step of `userops_nightly`
exactly as production runs it — one task, one in-process `dbt build` of the whole
project as of the run's business day (`userops.pipeline.step_dbt_build`).
The loads are done once by the benchmark beforehand, so only the dbt step is timed.
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
        from userops import pipeline

        return pipeline.step_dbt_build(pipeline.day_from_context(get_current_context()))

    dbt_build()


bench_dbt_single()
