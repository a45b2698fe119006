"""Throwaway PostgreSQL databases for tests (importable: ``from tests.warehouses import ...``).

PostgreSQL tests skip on a laptop without a server but *fail* under ``CI=true``,
so a CI machine without PostgreSQL can never report green.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from userops.config import WarehouseTarget

PG_HOST = os.environ.get("USEROPS_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("USEROPS_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("USEROPS_TEST_PG_USER", "postgres")


def _pg_admin_conninfo() -> str:
    return f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname=postgres connect_timeout=5"


def postgres_available() -> tuple[bool, str]:
    try:
        import psycopg

        with psycopg.connect(_pg_admin_conninfo()) as conn:
            conn.execute("select 1")
        return True, ""
    except Exception as exc:  # any connection failure means "not available"
        return False, str(exc)


def require_postgres() -> None:
    ok, why = postgres_available()
    if ok:
        return
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"PostgreSQL is required in CI but unreachable: {why}")
    pytest.skip(f"PostgreSQL not reachable on {PG_HOST}:{PG_PORT}: {why}")


def make_pg_database(prefix: str = "userops_test") -> WarehouseTarget:
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_pg_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    return WarehouseTarget(
        kind="postgres", pg_host=PG_HOST, pg_port=PG_PORT, pg_user=PG_USER, pg_dbname=name
    )


def drop_pg_database(target: WarehouseTarget) -> None:
    import psycopg

    with psycopg.connect(_pg_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{target.pg_dbname}" with (force)')


def new_target(kind: str, tmp: Path, prefix: str = "userops_test") -> WarehouseTarget:
    """A fresh warehouse of ``kind``: a DuckDB file or a local Spark folder under ``tmp``,
    or a throwaway PostgreSQL database (skips, or fails under CI, without a server).
    Drop the latter with :func:`drop_pg_database`."""
    if kind == "duckdb":
        return WarehouseTarget(kind="duckdb", duckdb_path=tmp / "warehouse.duckdb")
    if kind == "spark":
        return WarehouseTarget(kind="spark", spark_dir=tmp / "spark")
    require_postgres()
    return make_pg_database(prefix)


def warehouse_url(target: WarehouseTarget) -> str:
    """``USEROPS_WAREHOUSE`` for ``target`` (the local test server needs no password)."""
    if target.is_duckdb:
        return str(target.duckdb_path)
    if target.is_spark:
        return f"spark://{target.spark_dir}"
    return f"postgresql://{target.pg_user}@{target.pg_host}:{target.pg_port}/{target.pg_dbname}"


@contextlib.contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """Set ``env`` in ``os.environ`` for the block, then restore what was there."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
