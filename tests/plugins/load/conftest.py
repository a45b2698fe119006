"""Fixtures for the load tests: a CRM database on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from loadtest_sources import CrmSource

from userops.config import WarehouseTarget


@pytest.fixture
def sqlite_crm(tmp_path) -> Iterator[CrmSource]:
    src = CrmSource(f"sqlite:///{tmp_path / 'crm.sqlite'}", text_timestamps=("followups",))
    yield src
    src.dispose()


@pytest.fixture
def pg_crm(pg_target: WarehouseTarget) -> Iterator[CrmSource]:
    """A CRM in its own throwaway PostgreSQL database, with ``timestamptz`` columns."""
    t = pg_target
    src = CrmSource(
        f"postgresql+psycopg://{t.pg_user}@{t.pg_host}:{t.pg_port}/{t.pg_dbname}",
        tz_aware=("contracts",),
    )
    yield src
    src.dispose()  # before pg_target drops the database
