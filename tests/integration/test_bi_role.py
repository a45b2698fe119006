"""Who may read what (PostgreSQL): the read-only BI role, and no secret in any output.

One deployment, two real nights through ``userops -v run`` in a child process (the
real DAG through ``dag.test()``, every stdout/stderr line captured), on a small
generated data set, with every secret set:

- the warehouse URL carries a password: the warehouse user is a non-superuser login
  role (``CREATEROLE``, owner of the database), as in production;
- the Airflow SMTP connection carries a login and password, and the local SMTP server
  *requires* them (it rejects any other), so the lists were sent authenticated;
- ``USEROPS_BI_ROLE`` / ``USEROPS_BI_PASSWORD``: the pipeline creates the role.

What trust authentication lets this prove: the test server trusts every local TCP
login, so connecting as the BI role with its password proves the role exists, may log
in and what it may read, but not that the password is checked. That part is proven
separately: ``pg_authid.rolpassword`` holds a SCRAM-SHA-256 verifier, and the
configured password verifies against it (RFC 5802 StoredKey/ServerKey), so a server
with ``scram-sha-256`` (or ``md5``) in ``pg_hba.conf`` accepts that password and
nothing else.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import re
import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.smtp import Inbox, free_port
from tests.warehouses import (
    PG_HOST,
    PG_PORT,
    _pg_admin_conninfo,
    drop_pg_database,
    make_pg_database,
    require_postgres,
)
from userops.config import WarehouseTarget
from userops.warehouse import Warehouse

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DAY = date(2026, 3, 31)
WH_PASSWORD = "S3cr3t-wh-PW-xyz"
SMTP_LOGIN = "userops-mailer"
SMTP_PASSWORD = "S3cr3t-smtp-PW-xyz"
BI_PASSWORD = "S3cr3t-bi-PW-xyz"
SECRETS = (WH_PASSWORD, SMTP_PASSWORD, BI_PASSWORD)
#: Every schema the pipeline writes besides marts: the BI role must read none of them.
PRIVATE_SCHEMAS = ("raw", "staging", "intermediate", "meta", "seeds")
#: Column names that would carry contact data (only their ``*_masked`` forms may be in marts).
CONTACT_COLUMN = re.compile(r"phone|e_?mail|mobile|tel|wechat|contact|address", re.IGNORECASE)
PHONE_MASKED = re.compile(r"(\+86\d{3}\*{4}\d{4}|\*{4})")
EMAIL_MASKED = re.compile(r"([^@*]\*{3}@[^@\s]+|\*{3})")


# -- fixtures -------------------------------------------------------------------------------
@contextlib.contextmanager
def authenticating_smtp(login: str, password: str) -> Iterator[tuple[Inbox, int]]:
    """A local SMTP server that accepts mail only after AUTH with ``login``/``password``."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == login.encode() and auth_data.password == password.encode()
        return AuthResult(success=ok)

    inbox = Inbox()
    port = free_port()
    # plain SMTP on 127.0.0.1 (as the other tests): aiosmtpd warns about AUTH without TLS
    warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _admin(sql: str, params=None, dbname: str = "postgres") -> list[tuple]:
    import psycopg

    conninfo = _pg_admin_conninfo().replace("dbname=postgres", f"dbname={dbname}")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def _bi_connect(world: dict):
    import psycopg

    return psycopg.connect(
        host=PG_HOST,  # TCP, the way a BI tool connects
        port=PG_PORT,
        user=world["bi_role"],
        password=BI_PASSWORD,
        dbname=world["target"].pg_dbname,
        autocommit=True,
        connect_timeout=5,
    )


def _relations(world: dict, schemas: tuple[str, ...]) -> list[tuple[str, str]]:
    """(schema, name) of every table and view in ``schemas``, read as the admin."""
    return _admin(
        "select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = any(%s) and c.relkind in ('r', 'v', 'm', 'p', 'f') order by 1, 2",
        [list(schemas)],
        dbname=world["target"].pg_dbname,
    )


def _mart_oids(world: dict) -> dict[str, int]:
    rows = _admin(
        "select c.relname, c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'marts' and c.relkind in ('r', 'v', 'm', 'p')",
        dbname=world["target"].pg_dbname,
    )
    return {name: int(oid) for name, oid in rows}


def _bi_can_read(world: dict) -> dict[str, bool]:
    import psycopg

    out = {}
    with _bi_connect(world) as conn:
        for schema, name in _relations(world, ("marts",)):
            try:
                conn.execute(f'select * from {schema}."{name}" limit 1').fetchall()
                out[name] = True
            except psycopg.errors.InsufficientPrivilege:
                out[name] = False
    return out


@pytest.fixture(scope="module")
def world(airflow_db, tmp_path_factory) -> Iterator[dict]:
    """Two runs of the same night with every secret set; what they printed and wrote."""
    from userops.sources.generate import GeneratorConfig, generate

    require_postgres()
    tmp = tmp_path_factory.mktemp("bi-role")
    sources = tmp / "sources"
    generate(
        GeneratorConfig(seed=5, users=300, days=30, end_date=DAY, dirty_rate=0.02),
        f"sqlite:///{sources / 'crm.sqlite'}",
        sources / "events",
    )
    suffix = uuid.uuid4().hex[:8]
    wh_user, bi_role = f"userops_wh_{suffix}", f"userops_bi_{suffix}"
    admin_target = make_pg_database("userops_bi")
    db = admin_target.pg_dbname
    stack = contextlib.ExitStack()
    try:
        _admin(f"create role {wh_user} login createrole password '{WH_PASSWORD}'")
        _admin(f'alter database "{db}" owner to {wh_user}')
        inbox, port = stack.enter_context(authenticating_smtp(SMTP_LOGIN, SMTP_PASSWORD))
        out = tmp / "output"
        env = {
            **os.environ,
            "USEROPS_CRM_URL": f"sqlite:///{sources / 'crm.sqlite'}",
            "USEROPS_EVENTS_URL": str(sources / "events"),
            "USEROPS_WAREHOUSE": f"postgresql://{wh_user}:{WH_PASSWORD}@{PG_HOST}:{PG_PORT}/{db}",
            "USEROPS_OUTPUT_DIR": str(out),
            "AIRFLOW_CONN_SMTP_DEFAULT": (
                f"smtp://{SMTP_LOGIN}:{SMTP_PASSWORD}@127.0.0.1:{port}"
                "?disable_ssl=true&disable_tls=true"
            ),
            "USEROPS_ALERT_EMAILS": "oncall@example.com",
            "USEROPS_BI_ROLE": bi_role,
            "USEROPS_BI_PASSWORD": BI_PASSWORD,
            "USEROPS_TODAY": (DAY + timedelta(days=1)).isoformat(),  # lists are mailed
        }
        world = {
            "target": WarehouseTarget(
                kind="postgres",
                pg_host=PG_HOST,
                pg_port=PG_PORT,
                pg_user=wh_user,
                pg_password=WH_PASSWORD,
                pg_dbname=db,
            ),
            "bi_role": bi_role,
            "wh_user": wh_user,
            "inbox": inbox,
            "out": out,
            "tmp": tmp,
            "runs": [],
        }
        for i in (1, 2):
            proc = subprocess.run(
                [sys.executable, "-m", "userops.cli", "-v", "run", "--date", DAY.isoformat()],
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
            (tmp / f"run{i}.stdout").write_text(proc.stdout)
            (tmp / f"run{i}.stderr").write_text(proc.stderr)
            assert proc.returncode == 0, proc.stderr[-4000:]
            world["runs"].append(
                {"proc": proc, "oids": _mart_oids(world), "readable": _bi_can_read(world)}
            )
        yield world
    finally:
        stack.close()
        drop_pg_database(admin_target)
        for role in (bi_role, wh_user):
            _admin(f"drop role if exists {role}")


# -- the BI role ----------------------------------------------------------------------------
def _scram_verifies(verifier: str, password: str) -> bool:
    """Does ``password`` match a PostgreSQL ``SCRAM-SHA-256$iter:salt$stored:server`` value?"""
    m = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)", verifier)
    if not m:
        return False
    iterations, salt, stored, server = m.groups()
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt),
                                 int(iterations))  # fmt: skip
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    return hashlib.sha256(client_key).digest() == base64.b64decode(stored) and (
        server_key == base64.b64decode(server)
    )


def test_bi_role_is_a_password_protected_read_only_login(world):
    (row,) = _admin(
        "select a.rolcanlogin, a.rolsuper, a.rolcreaterole, a.rolcreatedb, a.rolreplication, "
        "a.rolbypassrls, a.rolpassword, r.rolconfig "
        "from pg_authid a join pg_roles r on r.oid = a.oid where a.rolname = %s",
        [world["bi_role"]],
    )
    login, *powers, verifier, config = row
    assert login and not any(powers)
    assert verifier is not None and verifier.startswith("SCRAM-SHA-256$")
    assert _scram_verifies(verifier, BI_PASSWORD)
    assert not _scram_verifies(verifier, BI_PASSWORD + "x")
    assert "default_transaction_read_only=on" in (config or [])
    assert not _admin(
        "select 1 from pg_auth_members m join pg_roles u on u.oid = m.member where u.rolname = %s",
        [world["bi_role"]],
    )  # inherits nothing


def test_bi_role_reads_every_mart_after_each_run(world):
    marts = _relations(world, ("marts",))
    names = {name for _, name in marts}
    assert {"users", "users_history", "active_users_daily", "user_tags"} <= names
    assert len(names) >= 17
    for run in world["runs"]:
        assert run["readable"] == dict.fromkeys(names, True)
    with _bi_connect(world) as conn:
        visible = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema not in ('pg_catalog', 'information_schema') order by 1, 2"
        ).fetchall()
        assert [tuple(v) for v in visible] == [tuple(m) for m in marts]
        (users,) = conn.execute("select count(*) from marts.users").fetchone()
        assert users > 0


def test_second_run_recreated_the_tables_and_kept_the_grants(world):
    first, second = (run["oids"] for run in world["runs"])
    assert first.keys() == second.keys()
    recreated = {name for name in first if first[name] != second[name]}
    # table materializations are dropped and rebuilt by every dbt build (incremental
    # ones keep their table): the rebuilt ones are readable all the same
    assert {"users", "user_tags", "user_rfm", "lead_scores", "growth_accounting"} <= recreated
    assert "users_history" not in recreated
    assert world["runs"][1]["readable"] == dict.fromkeys(second, True)


def test_bi_role_is_denied_everything_else(world):
    import psycopg

    private = _relations(world, PRIVATE_SCHEMAS)
    assert {s for s, _ in private} == set(PRIVATE_SCHEMAS)  # each schema has relations
    with _bi_connect(world) as conn:
        for schema, name in private:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f'select 1 from {schema}."{name}" limit 1')
        for statement in (
            "create table marts.bi_scratch (x int)",
            "create table public.bi_scratch (x int)",
            "delete from marts.users",
            "create schema bi_scratch",
        ):
            with pytest.raises((psycopg.errors.InsufficientPrivilege,
                                psycopg.errors.ReadOnlySqlTransaction)):  # fmt: skip
                conn.execute(statement)
        # even outside the read-only default, it owns no write privilege anywhere
        conn.execute("set default_transaction_read_only = off")
        for statement in ("create table marts.bi_scratch (x int)", "delete from marts.users",
                          "create table public.bi_scratch (x int)"):  # fmt: skip
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_marts_carry_contact_data_masked_only(world):
    """Every contact column of every mart is a ``*_masked`` one, every value is masked,
    and no real phone, e-mail or contact name of a lead appears in any mart column (a
    rep's own name aside)."""
    target: WarehouseTarget = world["target"]
    with Warehouse(target) as wh:
        columns = wh.fetchall(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'marts' order by 1, 2"
        )
        leads = wh.fetch_df("select phone, email, contact_name from staging.stg_crm__leads")
        reps = wh.fetch_df("select rep_name from staging.stg_crm__sales_reps")
    contact = [(t, c) for t, c in columns if CONTACT_COLUMN.search(c)]
    assert contact, "the marts should carry masked contact columns"
    assert all(c.endswith("_masked") for _, c in contact), contact
    secrets = {v for col in ("phone", "email", "contact_name") for v in leads[col].dropna()}
    # a rep's own name (rep_performance) is staff data, not a customer's contact: a contact
    # who shares it cannot be told apart by value, so it is not searched for
    secrets -= set(reps["rep_name"].dropna())
    assert len(secrets) > 100
    with _bi_connect(world) as conn:
        for table, column in contact:
            values = [v for (v,) in conn.execute(f'select "{column}" from marts."{table}"')]
            present = [v for v in values if v is not None]
            assert present, (table, column)
            pattern = PHONE_MASKED if "phone" in column else EMAIL_MASKED
            bad = [v for v in present if not pattern.fullmatch(v)]
            assert not bad, (table, column, bad[:5])
        for table in sorted({t for t, _ in columns}):
            df = pd.DataFrame(conn.execute(f'select * from marts."{table}"').fetchall())
            found = {str(v) for v in df.to_numpy().ravel() if v is not None} & secrets
            assert not found, (table, sorted(found)[:5])
    # ... and unmasked only in the reps' own lists: the files and the e-mails
    lists = sorted((world["out"] / "outreach" / DAY.isoformat()).glob("*.csv"))
    assert lists
    listed = pd.concat([pd.read_csv(p, dtype=str) for p in lists])
    phones = [c for c in listed.columns if c in ("phone", "电话")]
    assert phones and set(listed[phones[0]].dropna()) <= secrets
    assert not listed[phones[0]].dropna().str.contains(r"\*").any()
    assert world["inbox"].messages  # sent, through the authenticated relay


# -- secrets ----------------------------------------------------------------------------------
def _files_under(*roots: Path) -> list[Path]:
    return sorted(p for root in roots if root.exists() for p in root.rglob("*") if p.is_file())


def test_no_secret_in_logs_summaries_manifests_data_docs_or_output(world):
    airflow_home = Path(os.environ["AIRFLOW_HOME"])
    captured = _files_under(world["tmp"])  # run1/run2 stdout+stderr, output dir, sources
    airflow = _files_under(airflow_home)  # task logs, dbt target/ and logs/, metadata DB
    names = {p.name for p in captured + airflow}
    # the places searched hold what they should: dbt artefacts and log, Data Docs, the
    # run logs; dag.test() runs tasks in-process, so their logs are in the captured
    # output and <output>/logs (AIRFLOW_HOME/logs is searched too, empty or not)
    assert {"run1.stdout", "run1.stderr", "manifest.json", "run_results.json"} <= names
    assert {"dbt.log", "index.html", "airflow.db"} <= names
    assert list((world["out"] / "logs").glob("*.log"))
    for i in (1, 2):
        printed = (world["tmp"] / f"run{i}.stdout").read_text()
        printed += (world["tmp"] / f"run{i}.stderr").read_text()
        assert "[DAG TEST] end task" in printed  # task logs, at INFO (-v)
        assert "Outreach lists" in printed  # the run summary
        assert f"BI role {world['bi_role']}: read-only" in printed  # the search sees our logs
    leaks = []
    for path in captured + airflow:
        data = path.read_bytes()
        leaks += [(str(path), s) for s in SECRETS if s.encode() in data]
    # what the run wrote to the warehouse's bookkeeping tables, and the e-mails sent
    with Warehouse(world["target"]) as wh:
        for (table,) in wh.fetchall(
            "select table_name from information_schema.tables where table_schema = 'meta'"
        ):
            text = wh.fetch_df(f'select * from meta."{table}"').to_csv()
            leaks += [(f"meta.{table}", s) for s in SECRETS if s in text]
    for i, (_, msg) in enumerate(world["inbox"].messages):
        leaks += [(f"e-mail {i}", s) for s in SECRETS if s.encode() in msg.as_bytes()]
    assert not leaks, leaks
