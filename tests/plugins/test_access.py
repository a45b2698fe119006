"""The BI role settings, URL redaction and ``userops.access`` on a bare database.

The end-to-end proof (two real nights, connecting as the role, grepping every output
for secrets) is ``tests/integration/test_bi_role.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from userops.config import ConfigError, WarehouseTarget, load_settings, redact_url

PG = "postgresql://wh:pw@127.0.0.1:5432/userops"


def _settings(**env: str):
    return load_settings({"USEROPS_WAREHOUSE": PG, **env})


def test_bi_role_settings():
    s = _settings(USEROPS_BI_ROLE="bi_reader", USEROPS_BI_PASSWORD="Secret-1")
    assert (s.bi_role, s.bi_password) == ("bi_reader", "Secret-1")
    assert (_settings().bi_role, _settings().bi_password) == (None, None)


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"USEROPS_BI_PASSWORD": "x"}, "USEROPS_BI_PASSWORD"),
        ({"USEROPS_BI_ROLE": "bi_reader"}, "USEROPS_BI_PASSWORD"),
        ({"USEROPS_BI_ROLE": "BI reader", "USEROPS_BI_PASSWORD": "x"}, "USEROPS_BI_ROLE"),
        ({"USEROPS_BI_ROLE": "pg_monitor", "USEROPS_BI_PASSWORD": "x"}, "USEROPS_BI_ROLE"),
        ({"USEROPS_BI_ROLE": "public", "USEROPS_BI_PASSWORD": "x"}, "USEROPS_BI_ROLE"),
        ({"USEROPS_BI_ROLE": "wh", "USEROPS_BI_PASSWORD": "x"}, "USEROPS_BI_ROLE"),
    ],
)
def test_bad_bi_role_settings_fail_fast_naming_the_setting(env, names):
    with pytest.raises(ConfigError, match=names):
        _settings(**env)


def test_bad_bi_role_setting_exits_2_before_anything_runs(monkeypatch, capsys):
    from userops.cli import main

    monkeypatch.setenv("USEROPS_BI_ROLE", "Robert'); drop table users;--")
    monkeypatch.setenv("USEROPS_BI_PASSWORD", "x")
    assert main(["summary", "--date", "2026-01-01"]) == 2
    assert "USEROPS_BI_ROLE" in capsys.readouterr().err


def test_no_password_in_reprs():
    s = _settings(USEROPS_BI_ROLE="bi_reader", USEROPS_BI_PASSWORD="Bi-Secret-9",
                  USEROPS_WAREHOUSE="postgresql://wh:Wh-Secret-9@db:5432/w")  # fmt: skip
    assert s.warehouse.pg_password == "Wh-Secret-9"
    for text in (repr(s), str(s), repr(s.warehouse), s.warehouse.describe()):
        assert "Secret-9" not in text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://bob:s%40cret@db:5432/wh", "postgresql://bob:***@db:5432/wh"),
        (
            "smtp://mailer:pw@relay:587?disable_tls=true",
            "smtp://mailer:***@relay:587?disable_tls=true",
        ),
        ("mysql+pymysql://u:p:q@h/crm", "mysql+pymysql://u:***@h/crm"),
        ("postgresql://bob@db/wh", "postgresql://bob@db/wh"),
        ("sqlite:////tmp/crm.sqlite", "sqlite:////tmp/crm.sqlite"),
        ("/data/sources/events", "/data/sources/events"),
        ("s3://bucket/events", "s3://bucket/events"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_bi_role_is_ignored_on_duckdb(tmp_path):
    from userops.access import apply_bi_access

    s = load_settings({"USEROPS_WAREHOUSE": str(tmp_path / "w.duckdb"),
                       "USEROPS_BI_ROLE": "bi_reader", "USEROPS_BI_PASSWORD": "x"})  # fmt: skip
    apply_bi_access(s)  # no error, nothing created
    assert not (tmp_path / "w.duckdb").exists()


# -- PostgreSQL: userops.access.ensure_bi_role on a bare database -----------------------------
@pytest.fixture
def role(pg_target) -> Iterator[str]:
    name = f"userops_bi_t{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        from tests.warehouses import drop_pg_database

        drop_pg_database(pg_target)  # first: the role's privileges live in it
        _admin(f"drop role if exists {name}")


def _admin(sql: str) -> None:
    import psycopg

    from tests.warehouses import _pg_admin_conninfo

    with psycopg.connect(_pg_admin_conninfo(), autocommit=True) as conn:
        conn.execute(sql)


def _privileges(target: WarehouseTarget, role: str) -> dict[str, bool]:
    from userops.warehouse import Warehouse

    with Warehouse(target) as wh:
        rows = wh.fetchall(
            "select n.nspname || '.' || c.relname, has_table_privilege(%s, c.oid, 'SELECT') "
            "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname in ('marts', 'raw') and c.relkind in ('r', 'v')",
            [role],
        )
    return dict(rows)


@pytest.mark.postgres
def test_ensure_bi_role_grants_marts_only_now_and_later(pg_target, role):
    from userops.access import ensure_bi_role
    from userops.warehouse import Warehouse

    with Warehouse(pg_target) as wh:
        wh.execute("create schema raw")
        wh.execute("create table raw.secret (x int)")
        wh.execute("create schema marts")
        wh.execute("create table marts.before (x int)")
        assert ensure_bi_role(wh, role, "pw-1") == 1
        assert ensure_bi_role(wh, role, "pw-2") == 1  # idempotent (password reset)
        wh.execute(f"grant usage on schema raw to {role}")  # a grant by hand ...
        wh.execute(f"grant select on raw.secret to {role}")
        # tables created later (as dbt does) are readable at once: default privileges
        wh.execute("create table marts.after_tmp (x int)")
        wh.execute("alter table marts.after_tmp rename to after")
        wh.execute("create view marts.a_view as select * from marts.after")
    assert _privileges(pg_target, role) == {
        "marts.before": True, "marts.after": True, "marts.a_view": True, "raw.secret": True,
    }  # fmt: skip
    with Warehouse(pg_target) as wh:
        assert ensure_bi_role(wh, role, "pw-2") == 3
        (usage,) = wh.fetchall("select has_schema_privilege(%s, 'raw', 'USAGE')", [role])[0]
    assert usage is False  # ... is revoked: nothing outside marts
    assert _privileges(pg_target, role)["raw.secret"] is False


@pytest.mark.postgres
def test_ensure_bi_role_refuses_a_role_that_can_do_more(pg_target, role):
    from userops.access import ensure_bi_role
    from userops.warehouse import Warehouse

    _admin(f"create role {role} login createdb")
    with Warehouse(pg_target) as wh, pytest.raises(ConfigError, match="createdb"):
        ensure_bi_role(wh, role, "pw")
    _admin(f"alter role {role} nocreatedb")
    _admin(f"grant pg_read_all_data to {role}")
    with Warehouse(pg_target) as wh, pytest.raises(ConfigError, match="pg_read_all_data"):
        ensure_bi_role(wh, role, "pw")
    _admin(f"revoke pg_read_all_data from {role}")
