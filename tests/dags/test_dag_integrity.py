"""DAG integrity: every DAG imports, follows the house conventions and Airflow 3 idioms."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert len(dagbag.dags) == len(DAG_FILES)


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.stem)
def test_file_stem_is_dag_id_and_declarations_only(path, dagbag):
    assert path.stem in dagbag.dags, "one DAG per file, file stem == dag_id"
    tree = ast.parse(path.read_text())
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    # Module-level imports only (function-local imports run at task time, not parse time).
    top_level = {
        (n.module or "") if isinstance(n, ast.ImportFrom) else a.name
        for n in tree.body
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in n.names
    }
    forbidden = {"pandas", "duckdb", "psycopg", "great_expectations", "sqlalchemy", "dbt"}
    assert not {m.split(".")[0] for m in top_level} & forbidden
    assert "airflow.models" not in imported and "airflow.decorators" not in imported, (
        "Airflow 3 only: use airflow.sdk"
    )
    text = path.read_text()
    for idiom in ("execution_date", "schedule_interval", "days_ago"):
        assert idiom not in text


def test_nightly_dag_conventions(dagbag):
    dag = dagbag.dags["userops_nightly"]
    assert dag.doc_md and "business day" in dag.doc_md
    assert dag.tags and "userops" in dag.tags
    assert dag.max_active_runs == 1
    assert type(dag.timetable).__name__ == "CronDataIntervalTimetable"
    for t in dag.tasks:
        assert t.owner == "data-engineering"
        assert t.on_failure_callback, f"{t.task_id} has no failure alert"
    writers = [t for t in dag.tasks if t.task_id != "notify"]
    assert writers and all(t.pool == "userops_duckdb" for t in writers)
    assert dag.get_task("dbt_build").upstream_task_ids == {"load_crm", "load_events"}


def test_nightly_interval_is_one_business_day(dagbag):
    """A manual run at D+1 02:00 local covers exactly business day D."""
    from datetime import date

    from airflow.serialization.encoders import coerce_to_core_timetable

    from userops.windows import business_day_from_interval, run_after_for

    tz = "Asia/Shanghai"
    dag = dagbag.dags["userops_nightly"]
    timetable = coerce_to_core_timetable(dag.timetable)
    for day in (date(2026, 3, 1), date(2026, 12, 31), date(2024, 2, 29)):
        interval = timetable.infer_manual_data_interval(run_after=run_after_for(day, tz))
        assert business_day_from_interval(interval.start, tz).day == day
        assert (interval.end - interval.start).total_seconds() == 86400


def test_airflow_plugin_loader_does_not_import_the_package_as_loose_modules():
    """Airflow imports every .py under the plugins folder by file stem (``dbt.py`` → ``dbt``),
    which would shadow real packages; ``plugins/.airflowignore`` keeps ``userops/`` out."""
    import sys

    from airflow._shared.plugins_manager.plugins_manager import (
        _load_plugins_from_plugin_directory,
    )

    plugins_dir = DAGS_DIR.parent / "plugins"
    before = set(sys.modules)
    _plugins, errors = _load_plugins_from_plugin_directory(str(plugins_dir))
    assert errors == {}
    assert set(sys.modules) - before == set()


def test_nightly_publishes_only_after_validation(dagbag):
    dag = dagbag.dags["userops_nightly"]
    assert dag.get_task("predict_value").upstream_task_ids == {"dbt_build"}
    assert dag.get_task("predict_themes").upstream_task_ids == {"predict_value"}
    assert dag.get_task("dbt_build_predicted").upstream_task_ids == {"predict_themes"}
    assert dag.get_task("validate").upstream_task_ids == {"dbt_build_predicted"}
    assert dag.get_task("publish").upstream_task_ids == {"validate"}
    assert dag.get_task("notify").upstream_task_ids == {"publish"}
    assert dag.get_task("validate").retries == 0
    assert dag.params["force_publish"] is False


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.stem)
def test_parsing_a_dag_imports_no_heavy_library(path):
    """Parse time stays cheap: the package's imports are lazy, so a DAG file pulls in no
    pandas, DuckDB, GX, dbt or psycopg (checked in a fresh interpreter)."""
    import json
    import subprocess
    import sys

    code = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('dag_under_test', {str(path)!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    loaded = {m.split(".")[0] for m in modules}
    assert "airflow" in loaded  # the probe really parsed the DAG
    assert not loaded & {"pandas", "duckdb", "great_expectations", "dbt", "psycopg", "pyarrow"}
    # the sample generator ships in the package but only the CLI loads it (ADR 0008)
    assert not {m for m in modules if m.startswith("userops.sources")}
