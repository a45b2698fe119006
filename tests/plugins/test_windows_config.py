"""Business-day windows and settings parsing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from userops.config import ConfigError, WarehouseTarget, load_settings
from userops.warehouse import Warehouse
from userops.windows import BusinessDay


def test_business_day_bounds_in_shanghai():
    d = BusinessDay(date(2026, 3, 1), "Asia/Shanghai")
    assert d.start_utc == datetime(2026, 2, 28, 16, tzinfo=UTC)
    assert d.end_utc == datetime(2026, 3, 1, 16, tzinfo=UTC)
    assert d.received_partitions == [date(2026, 2, 28), date(2026, 3, 1)]
    assert d.dbt_vars() == {
        "as_of_date": "2026-03-01",
        "as_of_end_utc": "2026-03-01 16:00:00",
        "business_timezone": "Asia/Shanghai",
    }


def test_business_day_in_utc_covers_one_partition():
    assert BusinessDay(date(2026, 3, 1), "UTC").received_partitions == [date(2026, 3, 1)]


def test_warehouse_target_parsing():
    pg = WarehouseTarget.parse("postgresql://bob:s%40cret@db.example:6543/wh")
    assert (pg.kind, pg.pg_host, pg.pg_port, pg.pg_user, pg.pg_password, pg.pg_dbname) == (
        "postgres", "db.example", 6543, "bob", "s@cret", "wh",
    )  # fmt: skip
    assert pg.dbt_env()["DBT_ENV_SECRET_PG_PASSWORD"] == "s@cret"
    assert "s@cret" not in pg.describe()
    duck = WarehouseTarget.parse("duckdb:////tmp/w.duckdb")
    assert duck.is_duckdb and duck.duckdb_path == Path("/tmp/w.duckdb")


def test_settings_from_environment(tmp_path):
    s = load_settings(
        {
            "USEROPS_DATA_DIR": str(tmp_path),
            "USEROPS_DBT_VARS": "rfm_lookback_days: 180\nrfm_flag_method: median",
            "USEROPS_ALERT_EMAILS": "a@x.cn, b@x.cn",
        }
    )
    assert s.crm_url == f"sqlite:///{tmp_path}/sources/crm.sqlite"
    assert s.warehouse.duckdb_path == tmp_path / "warehouse" / "userops.duckdb"
    assert s.dbt_vars == {"rfm_lookback_days": 180, "rfm_flag_method": "median"}
    assert s.alert_emails == ("a@x.cn", "b@x.cn")
    assert load_settings({"USEROPS_DBT_VARS": '{"followup_cooldown_days": 1}'}).dbt_vars == {
        "followup_cooldown_days": 1
    }
    # a misspelt var would silently do nothing: refused in one line that names it
    with pytest.raises(ValueError, match=r"^USEROPS_DBT_VARS sets followup_cadence, not a var"):
        load_settings({"USEROPS_DBT_VARS": '{"followup_cadence": {"A": 1}}'})
    with pytest.raises(ValueError):
        load_settings({"USEROPS_DBT_VARS": "[1, 2]"})


def test_days_to_build_catches_up_forward_only():
    from datetime import timedelta

    from userops.transform.dbt import days_to_build

    d = [date(2026, 4, 1) + timedelta(days=i) for i in range(10)]
    assert days_to_build(d[0], [], 31) == [d[0]]  # first run
    assert days_to_build(d[1], [d[0]], 31) == [d[1]]  # the next night
    assert days_to_build(d[4], [d[0]], 31) == [d[1], d[2], d[3], d[4]]  # three skipped
    assert days_to_build(d[4], [d[0]], 2) == [d[2], d[3], d[4]]  # capped: the latest ones
    assert days_to_build(d[4], [d[0]], 0) == [d[4]]
    assert days_to_build(d[2], [d[0], d[9]], 31) == [d[2]]  # a backfill builds only itself
    assert days_to_build(d[9], [d[9]], 31) == [d[9]]  # a rerun


def test_duckdb_memory_limit_reaches_every_warehouse_connection(tmp_path):
    s = load_settings(
        {"USEROPS_DATA_DIR": str(tmp_path), "USEROPS_DUCKDB_MEMORY_LIMIT": " 512MiB "}
    )
    assert s.warehouse.duckdb_memory_limit == "512MiB"
    assert s.warehouse.dbt_env()["USEROPS_DUCKDB_MEMORY_LIMIT"] == "512MiB"  # profiles.yml
    with Warehouse(s.warehouse) as wh:
        assert wh.fetchall("select current_setting('memory_limit')") == [("512.0 MiB",)]
    default = load_settings({"USEROPS_DATA_DIR": str(tmp_path)}).warehouse
    assert default.duckdb_memory_limit == ""
    assert default.dbt_env()["USEROPS_DUCKDB_MEMORY_LIMIT"] == "80%"  # DuckDB's own default
    with pytest.raises(
        ConfigError, match=r"^USEROPS_DUCKDB_MEMORY_LIMIT must be a size .*'4 gigs'"
    ):
        load_settings({"USEROPS_DUCKDB_MEMORY_LIMIT": "4 gigs"})
