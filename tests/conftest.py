"""Shared fixtures: throwaway warehouses on DuckDB and PostgreSQL.

PostgreSQL tests skip on a laptop without a server but *fail* under ``CI=true``,
so a CI machine without PostgreSQL can never report green.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Airflow reads its configuration at import: give the test session its own
# throwaway AIRFLOW_HOME (SQLite metadata DB) before anything imports airflow.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="userops-airflow-"))
for _key, _value in {
    "AIRFLOW_HOME": str(_AIRFLOW_HOME),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    # dbt artefacts of runs that pass no target/log path: per test process, so parallel
    # workers never share dbt_project/target (and the repo stays clean)
    "DBT_TARGET_PATH": str(_AIRFLOW_HOME / "dbt-target"),
    "DBT_LOG_PATH": str(_AIRFLOW_HOME / "dbt-logs"),
}.items():
    os.environ[_key] = _value
os.environ.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", None)

from tests.warehouses import (  # noqa: E402  (after the Airflow env is set)
    drop_pg_database,
    make_pg_database,
    new_target,
    postgres_available,
    require_postgres,
)
from userops.config import WarehouseTarget  # noqa: E402

__all__ = ["drop_pg_database", "make_pg_database", "postgres_available", "require_postgres"]


@pytest.fixture
def pg_target() -> Iterator[WarehouseTarget]:
    """A fresh PostgreSQL database, dropped afterwards."""
    require_postgres()
    target = make_pg_database()
    try:
        yield target
    finally:
        drop_pg_database(target)


@pytest.fixture
def duckdb_target(tmp_path) -> WarehouseTarget:
    """A fresh DuckDB warehouse file."""
    return new_target("duckdb", tmp_path)


@pytest.fixture(params=["duckdb", "postgres"])
def any_target(request, tmp_path) -> Iterator[WarehouseTarget]:
    """Runs a test once per warehouse."""
    target = new_target(request.param, tmp_path)
    try:
        yield target
    finally:
        if not target.is_duckdb:
            drop_pg_database(target)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata DB in the session's AIRFLOW_HOME."""
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)
    return _AIRFLOW_HOME
