"""The one settings module: environment variables -> typed, frozen settings.

Nothing here runs at import time; call :func:`load_settings` where settings are
needed (inside a task, a CLI command or a test), so a DAG file never reads the
environment while it is parsed and tests can change the environment freely.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse, urlsplit, urlunsplit

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

#: Earliest business day the nightly DAG accepts by default: early enough for any
#: real history (Airflow creates no task instance for a logical date before it).
DEFAULT_START_DATE = date(1970, 1, 1)


#: DuckDB's own default ``memory_limit``, spelled for ``SET memory_limit``.
DUCKDB_DEFAULT_MEMORY = "80%"
_MEMORY_LIMIT = re.compile(r"\d+(\.\d+)?\s*([KMGT]i?B|B|%)", re.IGNORECASE)


class ConfigError(ValueError):
    """A setting has a value the pipeline cannot use; the message names the setting."""


def redact_url(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***`` (for logs and summaries).

    The one helper for printing a connection URL (warehouse, CRM, SMTP...): a
    ``scheme://user:secret@host/...`` URL becomes ``scheme://user:***@host/...``;
    anything else (a path, a URL without a password) is returned unchanged.
    """
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not parseable as a URL: never echo what might be a secret
        return "***"
    if not password:
        return url
    user, _, host = parts.netloc.rpartition("@")
    user = user.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


@dataclass(frozen=True)
class WarehouseTarget:
    """Where the warehouse lives: a DuckDB file, a PostgreSQL database or a local Spark
    warehouse folder (Parquet tables, embedded metastore; ADR 0011)."""

    kind: str  # "duckdb" | "postgres" | "spark"
    duckdb_path: Path | None = None
    #: ``spark://<folder>``: the folder holding the Parquet tables and the metastore
    spark_dir: Path | None = None
    pg_host: str = "127.0.0.1"
    pg_port: int = 5432
    pg_user: str = "postgres"
    pg_password: str = field(default="", repr=False)
    pg_dbname: str = "userops"
    #: ``USEROPS_DUCKDB_MEMORY_LIMIT`` (DuckDB only): e.g. ``4GB`` or ``50%``; empty keeps
    #: DuckDB's default (80 % of the machine's memory).
    duckdb_memory_limit: str = ""

    @classmethod
    def parse(cls, value: str, base: Path = PROJECT_ROOT) -> WarehouseTarget:
        """Parse ``USEROPS_WAREHOUSE``: a ``postgresql://`` URL, a ``spark://`` folder,
        else a DuckDB path."""
        if value.startswith("spark://"):
            folder = Path(value.removeprefix("spark://")).expanduser()
            if not str(folder).strip("./"):
                raise ConfigError(f"USEROPS_WAREHOUSE={value}: a spark:// target names a folder")
            return cls(kind="spark", spark_dir=folder if folder.is_absolute() else base / folder)
        if value.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            url = urlparse(value)
            return cls(
                kind="postgres",
                pg_host=url.hostname or "127.0.0.1",
                pg_port=url.port or 5432,
                pg_user=unquote(url.username or "postgres"),
                pg_password=unquote(url.password or ""),
                pg_dbname=(url.path or "/userops").lstrip("/") or "userops",
            )
        path = value.removeprefix("duckdb:///").removeprefix("duckdb://")
        p = Path(path).expanduser()
        return cls(kind="duckdb", duckdb_path=p if p.is_absolute() else (base / p))

    @property
    def is_duckdb(self) -> bool:
        return self.kind == "duckdb"

    @property
    def is_spark(self) -> bool:
        return self.kind == "spark"

    @property
    def dbt_target(self) -> str:
        return self.kind

    def spark_conf(self) -> dict[str, str]:
        """Spark settings of the local session (Spark only): the same for dbt's session
        and the Python steps', which share one session per process."""
        assert self.spark_dir is not None
        metastore = self.spark_dir / "metastore_db"
        return {
            "spark.master": os.environ.get("USEROPS_SPARK_MASTER", "local[2]"),
            "spark.sql.warehouse.dir": str(self.spark_dir / "warehouse"),
            "spark.hadoop.javax.jdo.option.ConnectionURL": (
                f"jdbc:derby:;databaseName={metastore};create=true"
            ),
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={self.spark_dir}",
            "spark.driver.memory": os.environ.get("USEROPS_SPARK_DRIVER_MEMORY", "2g"),
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.ansi.enabled": "false",
            "spark.sql.shuffle.partitions": "4",
            "spark.sql.sources.partitionOverwriteMode": "dynamic",
            "spark.sql.sources.default": "parquet",
            "spark.sql.legacy.createHiveTableByDefault": "false",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
        }

    def conninfo(self, dbname: str | None = None) -> str:
        """libpq connection string (PostgreSQL only)."""
        parts = {
            "host": self.pg_host,
            "port": str(self.pg_port),
            "user": self.pg_user,
            "dbname": dbname or self.pg_dbname,
        }
        if self.pg_password:
            parts["password"] = self.pg_password
        return " ".join(f"{k}={v}" for k, v in parts.items())

    def dbt_env(self) -> dict[str, str]:
        """Environment variables read by ``dbt_project/profiles.yml``."""
        if self.is_duckdb:
            return {
                "USEROPS_DUCKDB_PATH": str(self.duckdb_path),
                "USEROPS_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit or DUCKDB_DEFAULT_MEMORY,
            }
        if self.is_spark:
            conf = self.spark_conf()
            return {
                "USEROPS_SPARK_MASTER": conf["spark.master"],
                "USEROPS_SPARK_WAREHOUSE_DIR": conf["spark.sql.warehouse.dir"],
                "USEROPS_SPARK_METASTORE_URL": conf["spark.hadoop.javax.jdo.option.ConnectionURL"],
                "USEROPS_SPARK_JAVA_OPTIONS": conf["spark.driver.extraJavaOptions"],
                "USEROPS_SPARK_DRIVER_MEMORY": conf["spark.driver.memory"],
            }
        return {
            "USEROPS_PG_HOST": self.pg_host,
            "USEROPS_PG_PORT": str(self.pg_port),
            "USEROPS_PG_USER": self.pg_user,
            "USEROPS_PG_DBNAME": self.pg_dbname,
            "DBT_ENV_SECRET_PG_PASSWORD": self.pg_password,
        }

    def describe(self) -> str:
        """Human-readable location, without the password."""
        if self.is_duckdb:
            return f"duckdb:{self.duckdb_path}"
        if self.is_spark:
            return f"spark:{self.spark_dir}"
        return f"postgresql://{self.pg_user}@{self.pg_host}:{self.pg_port}/{self.pg_dbname}"


@dataclass(frozen=True)
class Settings:
    """Typed settings for one process; see README "Configuration"."""

    crm_url: str
    events_url: str
    warehouse: WarehouseTarget
    output_dir: Path
    timezone: str = "Asia/Shanghai"
    dbt_vars: Mapping[str, Any] = field(default_factory=dict)
    crm_overlap_minutes: int = 60
    events_full_load: bool = False
    smtp_conn_id: str = "smtp_default"
    mail_from: str = "userops@localhost"
    alert_emails: tuple[str, ...] = ()
    data_dir: Path = PROJECT_ROOT / "data"
    start_date: date = DEFAULT_START_DATE
    #: The calendar date the send rule treats as today (None: the clock, in ``timezone``).
    today: date | None = None
    #: Read-only PostgreSQL login role for BI tools (``USEROPS_BI_ROLE``): usage on
    #: ``marts`` only. None: no BI role is managed. Ignored on DuckDB (no roles).
    bi_role: str | None = None
    bi_password: str | None = field(default=None, repr=False)


def project_vars(project_dir: Path | None = None) -> dict[str, Any]:
    """The ``vars:`` of ``dbt_project.yml``: the one place every business threshold lives.

    dbt models, the quality gate and the lists all read these (a run's
    ``USEROPS_DBT_VARS`` on top), so a threshold changes in one place for every tool.
    """
    path = (project_dir or DBT_PROJECT_DIR) / "dbt_project.yml"
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    values = data.get("vars") or {}
    return dict(values) if isinstance(values, Mapping) else {}


def _parse_vars(text: str) -> dict[str, Any]:
    """``USEROPS_DBT_VARS`` accepts JSON or YAML mapping text of vars the project declares.

    An undeclared name is refused: a misspelt override would otherwise do nothing
    while the run looked configured.
    """
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            first = str(exc).strip().splitlines()[0]
            raise ConfigError(f"USEROPS_DBT_VARS is neither JSON nor YAML: {first}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"USEROPS_DBT_VARS must be a JSON/YAML mapping, got: {text!r}")
    unknown = sorted(str(k) for k in set(value) - set(project_vars()))
    if unknown:
        raise ConfigError(
            f"USEROPS_DBT_VARS sets {', '.join(unknown)}, not a var of dbt_project/dbt_project.yml"
            " (misspelt? a new var is declared there first)"
        )
    return value


def _parse_date(env: Mapping[str, str], name: str, default: date | None) -> date | None:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{name} must be a date YYYY-MM-DD, got {text!r}") from None


def _parse_memory_limit(env: Mapping[str, str]) -> str:
    """``USEROPS_DUCKDB_MEMORY_LIMIT``: a size DuckDB's ``memory_limit`` takes, or empty."""
    text = env.get("USEROPS_DUCKDB_MEMORY_LIMIT", "").strip()
    if text and not _MEMORY_LIMIT.fullmatch(text):
        raise ConfigError(
            f"USEROPS_DUCKDB_MEMORY_LIMIT must be a size such as 4GB, 512MiB or 50%, got {text!r}"
        )
    return text


def _parse_int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {text!r}") from None


#: A PostgreSQL role name that needs no quoting (lower case, as unquoted SQL folds it).
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _parse_bi_role(
    env: Mapping[str, str], warehouse: WarehouseTarget
) -> tuple[str | None, str | None]:
    """``USEROPS_BI_ROLE`` / ``USEROPS_BI_PASSWORD``: both set, or neither."""
    role = env.get("USEROPS_BI_ROLE", "").strip()
    password = env.get("USEROPS_BI_PASSWORD", "")
    if not role:
        if password:
            raise ConfigError("USEROPS_BI_PASSWORD is set but USEROPS_BI_ROLE is not")
        return None, None
    if not _ROLE_NAME.fullmatch(role) or role.startswith("pg_") or role == "public":
        raise ConfigError(
            "USEROPS_BI_ROLE must be a lower-case PostgreSQL role name "
            f"([a-z_][a-z0-9_]*, at most 63 characters, not pg_* or public), got {role!r}"
        )
    if not password:
        raise ConfigError("USEROPS_BI_PASSWORD must be set when USEROPS_BI_ROLE is")
    if not warehouse.is_duckdb and role == warehouse.pg_user:
        raise ConfigError(
            f"USEROPS_BI_ROLE {role!r} is the warehouse user of USEROPS_WAREHOUSE: "
            "the BI role must be a separate, read-only role"
        )
    return role, password


def as_bool(value: object) -> bool:
    """Truthy spellings in environment variables and connection extras."""
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def _resolve_path(value: str) -> str:
    """Relative local paths are relative to the project root; URLs pass through."""
    if "://" in value:
        return value
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else PROJECT_ROOT / p)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from ``env`` (default: ``os.environ``)."""
    env = os.environ if env is None else env
    data_dir = Path(_resolve_path(env.get("USEROPS_DATA_DIR", "data")))
    crm_default = f"sqlite:///{data_dir / 'sources' / 'crm.sqlite'}"
    warehouse = replace(
        WarehouseTarget.parse(
            env.get("USEROPS_WAREHOUSE", str(data_dir / "warehouse" / "userops.duckdb"))
        ),
        duckdb_memory_limit=_parse_memory_limit(env),
    )
    bi_role, bi_password = _parse_bi_role(env, warehouse)
    return Settings(
        crm_url=env.get("USEROPS_CRM_URL", crm_default),
        events_url=_resolve_path(
            env.get("USEROPS_EVENTS_URL", str(data_dir / "sources" / "events"))
        ),
        warehouse=warehouse,
        output_dir=Path(_resolve_path(env.get("USEROPS_OUTPUT_DIR", str(data_dir / "output")))),
        timezone=env.get("USEROPS_TIMEZONE", "Asia/Shanghai"),
        dbt_vars=_parse_vars(env.get("USEROPS_DBT_VARS", "")),
        crm_overlap_minutes=_parse_int(env, "USEROPS_CRM_OVERLAP_MINUTES", 60),
        events_full_load=as_bool(env.get("USEROPS_EVENTS_FULL_LOAD", "false")),
        smtp_conn_id=env.get("USEROPS_SMTP_CONN_ID", "smtp_default"),
        mail_from=env.get("USEROPS_MAIL_FROM", "userops@localhost"),
        alert_emails=tuple(
            a.strip() for a in env.get("USEROPS_ALERT_EMAILS", "").split(",") if a.strip()
        ),
        data_dir=data_dir,
        start_date=_parse_date(env, "USEROPS_START_DATE", DEFAULT_START_DATE),
        today=_parse_date(env, "USEROPS_TODAY", None),
        bi_role=bi_role,
        bi_password=bi_password,
    )
