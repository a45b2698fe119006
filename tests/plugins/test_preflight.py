"""Preflight: a permanent configuration error fails before the DAG starts, in one line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from userops.config import ConfigError, WarehouseTarget, load_settings
from userops.preflight import check_crm, check_events_root, check_warehouse, preflight


def _settings(tmp_path: Path, **env: str):
    (tmp_path / "events").mkdir(exist_ok=True)
    crm = tmp_path / "crm.sqlite"
    sqlite3.connect(crm).close()
    base = {
        "USEROPS_EVENTS_URL": str(tmp_path / "events"),
        "USEROPS_CRM_URL": f"sqlite:///{crm}",
        "USEROPS_WAREHOUSE": str(tmp_path / "wh" / "userops.duckdb"),
        "USEROPS_OUTPUT_DIR": str(tmp_path / "out"),
    }
    return load_settings({**base, **env})


def _one_line(exc: pytest.ExceptionInfo, setting: str) -> str:
    text = str(exc.value)
    assert "\n" not in text and text.startswith(setting), text
    return text


def test_a_good_configuration_passes(tmp_path):
    preflight(_settings(tmp_path))


def test_missing_events_folder_names_the_setting(tmp_path):
    with pytest.raises(ConfigError) as exc:
        check_events_root(str(tmp_path / "nope"))
    assert "no such folder" in _one_line(exc, "USEROPS_EVENTS_URL")
    with pytest.raises(ConfigError) as exc:
        preflight(_settings(tmp_path, USEROPS_EVENTS_URL=str(tmp_path / "nope")))
    _one_line(exc, "USEROPS_EVENTS_URL")


def test_a_file_is_not_an_events_folder(tmp_path):
    f = tmp_path / "events.jsonl"
    f.write_text("{}\n")
    with pytest.raises(ConfigError) as exc:
        check_events_root(str(f))
    _one_line(exc, "USEROPS_EVENTS_URL")


def test_missing_sqlite_crm_is_not_silently_created(tmp_path):
    path = tmp_path / "missing.sqlite"
    with pytest.raises(ConfigError) as exc:
        check_crm(f"sqlite:///{path}")
    assert "no such SQLite file" in _one_line(exc, "USEROPS_CRM_URL")
    assert not path.exists()


def test_unreachable_crm_and_bad_url_name_the_setting_without_the_password(tmp_path):
    with pytest.raises(ConfigError) as exc:
        check_crm("postgresql+psycopg://crm:Sup3rSecret@127.0.0.1:1/crm")
    text = _one_line(exc, "USEROPS_CRM_URL")
    assert "cannot connect" in text and "Sup3rSecret" not in text
    with pytest.raises(ConfigError) as exc:
        check_crm("not a url")
    _one_line(exc, "USEROPS_CRM_URL")


def test_unreachable_postgres_warehouse(tmp_path):
    target = WarehouseTarget.parse("postgresql://u:Wh-Secret@127.0.0.1:1/userops")
    with pytest.raises(ConfigError) as exc:
        check_warehouse(target)
    text = _one_line(exc, "USEROPS_WAREHOUSE")
    assert "cannot connect" in text and "Wh-Secret" not in text


@pytest.mark.postgres
def test_reachable_postgres_warehouse_passes():
    check_warehouse(WarehouseTarget.parse("postgresql://postgres@127.0.0.1:5432/any_new_db"))


def test_duckdb_folder_must_be_creatable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError) as exc:
        check_warehouse(WarehouseTarget.parse(str(blocker / "sub" / "userops.duckdb")))
    _one_line(exc, "USEROPS_WAREHOUSE")
    check_warehouse(WarehouseTarget.parse(str(tmp_path / "new" / "deeper" / "w.duckdb")))


def test_spark_warehouse_is_refused_until_the_pipeline_runs_on_it(tmp_path):
    target = WarehouseTarget.parse(f"spark://{tmp_path / 'spark'}")
    assert target.is_spark and target.spark_dir == tmp_path / "spark"
    with pytest.raises(ConfigError) as exc:
        check_warehouse(target)
    assert "does not run on Spark yet" in _one_line(exc, "USEROPS_WAREHOUSE")
    with pytest.raises(ConfigError) as exc:
        WarehouseTarget.parse("spark://")
    _one_line(exc, "USEROPS_WAREHOUSE")


def test_one_output_folder_per_warehouse(tmp_path):
    from userops.preflight import OWNER_FILE, check_output_dir

    duck = _settings(tmp_path)
    check_output_dir(duck)  # a check alone claims nothing
    assert not (duck.output_dir / OWNER_FILE).exists()
    check_output_dir(duck, claim=True)
    check_output_dir(duck, claim=True)  # the same warehouse again: fine
    pg = _settings(tmp_path, USEROPS_WAREHOUSE="postgresql://u:Pw-Secret@127.0.0.1:5432/w")
    with pytest.raises(ConfigError) as exc:
        check_output_dir(pg, claim=True)
    text = _one_line(exc, "USEROPS_OUTPUT_DIR")
    assert "duckdb:" in text and "Pw-Secret" not in text
    with pytest.raises(ConfigError):
        preflight(pg)
