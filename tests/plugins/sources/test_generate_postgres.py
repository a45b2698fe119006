"""The CRM can be any SQLAlchemy URL: PostgreSQL gets exactly the SQLite rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sources_testkit import SMALL, Sources

from userops.config import WarehouseTarget
from userops.load.schema import CRM_TABLES
from userops.sources.generate import GeneratorConfig, append_day, generate

pytestmark = pytest.mark.postgres


def test_crm_on_postgres_matches_sqlite(
    pg_target: WarehouseTarget, dirty_sources: Sources, tmp_path
) -> None:
    url = (
        f"postgresql+psycopg://{pg_target.pg_user}@{pg_target.pg_host}:{pg_target.pg_port}"
        f"/{pg_target.pg_dbname}"
    )
    config = GeneratorConfig(**SMALL)
    summary = generate(config, url, tmp_path / "events")
    on_pg = Sources(config, url, tmp_path / "events", summary)
    assert summary.crm_rows == dirty_sources.summary.crm_rows
    for table, columns in CRM_TABLES.items():
        assert on_pg.columns(table) == list(columns)
        assert on_pg.table(table) == dirty_sources.table(table), table

    day = config.end_date + timedelta(days=1)
    appended = append_day(config, url, tmp_path / "events", day)
    assert appended.crm_rows["leads"] > 0
    assert len(on_pg.table("leads")) >= len(dirty_sources.table("leads"))
