"""Who may read what: the read-only BI role (PostgreSQL).

BI tools log in as ``USEROPS_BI_ROLE`` (password ``USEROPS_BI_PASSWORD``). The role
may read every relation of the documented ``marts`` schema, where phone and e-mail
are masked, and nothing else: not ``raw``, ``staging``, ``intermediate``, ``meta``
or ``seeds``. Unmasked contact data leaves the warehouse only in each rep's own
list files and e-mail.

:func:`apply_bi_access` runs in warehouse preparation (before every load) and again
after every ``dbt build``. It is idempotent and does, in one transaction:

- create the role if missing (``LOGIN``, no other attribute), else reset its password
  to the configured one; refuse a role that could do more than read (superuser,
  CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS, or a member of another role);
- ``default_transaction_read_only`` for its sessions;
- ``CONNECT`` on the database (when PUBLIC's default was revoked), ``USAGE`` on
  ``marts``, ``SELECT`` on every table and view there, and ``ALTER DEFAULT PRIVILEGES``
  so the tables dbt creates later (a table materialization builds ``<name>__dbt_tmp``
  in ``marts`` and renames it) are readable the moment they exist;
- revoke whatever was granted to it on any other schema and its tables.

Why here and not dbt's ``grants`` config: the password cannot live in dbt anyway (dbt
does not create roles); ``grants`` with an unset role renders ``grant select ... to``
with an empty grantee (a syntax error on PostgreSQL) and warns on every DuckDB run
(dbt-duckdb has no grants); and default privileges also cover a model dbt creates in
``marts`` between two runs of this function.

The password never appears in a statement: the server receives a SCRAM-SHA-256
verifier computed client-side by libpq (``PQencryptPasswordConn``), so statement
logging on the server cannot reveal it either; nothing here logs it.

On DuckDB the settings are ignored (DuckDB has no roles; the file is the boundary:
give BI tools a read-only copy or file permissions instead).
"""

from __future__ import annotations

import logging

from userops.config import ConfigError, Settings
from userops.warehouse import Warehouse

log = logging.getLogger(__name__)

#: The one schema BI may read.
BI_SCHEMA = "marts"
#: Role attributes a read-only role must not have (pg_roles columns).
_POWERS = ("rolsuper", "rolcreaterole", "rolcreatedb", "rolreplication", "rolbypassrls")

_noted_duckdb = False


def apply_bi_access(settings: Settings) -> None:
    """Create/refresh the BI role and its grants when ``USEROPS_BI_ROLE`` is set."""
    global _noted_duckdb
    if settings.bi_role is None:
        return
    if settings.warehouse.is_duckdb:
        if not _noted_duckdb:
            log.info("USEROPS_BI_ROLE is ignored on DuckDB (no roles; the file is the boundary)")
            _noted_duckdb = True
        return
    assert settings.bi_password is not None  # load_settings requires both
    with Warehouse(settings.warehouse) as wh:
        readable = ensure_bi_role(wh, settings.bi_role, settings.bi_password)
    log.info("BI role %s: read-only, SELECT on %d relation(s) in %s, nothing elsewhere",
             settings.bi_role, readable, BI_SCHEMA)  # fmt: skip


def ensure_bi_role(wh: Warehouse, role: str, password: str) -> int:
    """Make ``role`` a read-only login role on ``marts`` (PostgreSQL); returns the number
    of relations it can read. Raises :class:`ConfigError` for a role with more powers."""
    from psycopg import sql

    if wh.kind != "postgres":
        raise ValueError("ensure_bi_role is for PostgreSQL warehouses")
    conn = wh.connection
    r = sql.Identifier(role)
    verifier = conn.pgconn.encrypt_password(
        password.encode(), role.encode(), b"scram-sha-256"
    ).decode()
    with conn.transaction():
        # roles are cluster-wide: two preparations at once (a backfill beside the
        # nightly run) must not both try to create it
        conn.execute("select pg_advisory_xact_lock(hashtext('userops.bi_role'))")
        row = conn.execute(
            f"select {', '.join(_POWERS)} from pg_roles where rolname = %s", [role]
        ).fetchone()
        if row is None:
            conn.execute(
                sql.SQL("create role {} login password {}").format(r, sql.Literal(verifier))
            )
        else:
            powers = [name.removeprefix("rol") for name, on in zip(_POWERS, row, strict=True) if on]
            if powers:
                raise ConfigError(
                    f"USEROPS_BI_ROLE {role!r} exists with {', '.join(powers)}: "
                    "a BI role must be able to read the marts and nothing more"
                )
            conn.execute(
                sql.SQL("alter role {} with login password {}").format(r, sql.Literal(verifier))
            )
        member_of = [
            name
            for (name,) in conn.execute(
                "select g.rolname from pg_auth_members m "
                "join pg_roles g on g.oid = m.roleid join pg_roles u on u.oid = m.member "
                "where u.rolname = %s order by 1",
                [role],
            ).fetchall()
        ]
        if member_of:
            raise ConfigError(
                f"USEROPS_BI_ROLE {role!r} is a member of {', '.join(member_of)}: it would "
                "inherit their privileges; use a role that belongs to no other role"
            )
        conn.execute(sql.SQL("alter role {} set default_transaction_read_only = on").format(r))

        db = conn.info.dbname
        (can_connect,) = conn.execute(
            "select has_database_privilege(%s, %s, 'CONNECT')", [role, db]
        ).fetchone()
        if not can_connect:
            conn.execute(
                sql.SQL("grant connect on database {} to {}").format(sql.Identifier(db), r)
            )
        s = sql.Identifier(BI_SCHEMA)
        conn.execute(sql.SQL("create schema if not exists {}").format(s))
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(s, r))
        conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(s, r))
        conn.execute(
            sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(
                s, r
            )
        )
        # nothing anywhere else, whatever was granted by hand before
        others = conn.execute(
            "select nspname from pg_namespace where nspname <> %s "
            "and nspname <> 'information_schema' and nspname not like 'pg\\_%%' order by 1",
            [BI_SCHEMA],
        ).fetchall()
        for (schema,) in others:
            o = sql.Identifier(schema)
            conn.execute(sql.SQL("revoke all on schema {} from {}").format(o, r))
            conn.execute(sql.SQL("revoke all on all tables in schema {} from {}").format(o, r))
        (readable,) = conn.execute(
            "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = %s and c.relkind in ('r', 'v', 'm', 'p', 'f') "
            "and has_table_privilege(%s, c.oid, 'SELECT')",
            [BI_SCHEMA, role],
        ).fetchone()
    return int(readable)
