"""Check settings and sources before a run starts, so a permanent error fails in one line.

``userops run|backfill|demo`` call :func:`preflight` before the DAG starts; the DAG's
load tasks turn the same permanent errors (a missing folder, a bad setting) into an
immediate failure instead of retries (``AirflowFailException``). Each check raises
:class:`~userops.config.ConfigError` with a message that names the setting and never
echoes a password.
"""

from __future__ import annotations

import os
from pathlib import Path

from userops.config import ConfigError, Settings, WarehouseTarget, redact_url

#: Seconds a connection check waits before it calls a server unreachable.
CONNECT_TIMEOUT_S = 10


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def check_events_root(url: str) -> None:
    """``USEROPS_EVENTS_URL`` is a folder (local or object store) this process can list."""
    from userops.extract.events import events_filesystem

    fs, root = events_filesystem(url)
    fs.invalidate_cache()
    try:
        is_dir = fs.isdir(root)
        if is_dir:
            fs.ls(root)
    except PermissionError as exc:
        raise ConfigError(f"USEROPS_EVENTS_URL={redact_url(url)}: not readable: "
                          f"{_first_line(exc)}") from None  # fmt: skip
    except OSError as exc:
        raise ConfigError(f"USEROPS_EVENTS_URL={redact_url(url)}: cannot list: "
                          f"{_first_line(exc)}") from None  # fmt: skip
    if not is_dir:
        raise ConfigError(f"USEROPS_EVENTS_URL={redact_url(url)}: no such folder")


def check_crm(url: str) -> None:
    """``USEROPS_CRM_URL`` is a SQLAlchemy URL of a database that answers."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception as exc:  # any parse error is a bad setting
        raise ConfigError(f"USEROPS_CRM_URL is not a database URL: {_first_line(exc)}") from None
    if parsed.get_backend_name() == "sqlite":
        # SQLite would silently create an empty database at a wrong path.
        path = parsed.database or ""
        if path in ("", ":memory:") or not Path(path).is_file():
            raise ConfigError(f"USEROPS_CRM_URL={redact_url(url)}: no such SQLite file")
    connect_args = {} if parsed.get_backend_name() == "sqlite" else _timeout_args(parsed)
    try:
        engine = sa.create_engine(parsed, connect_args=connect_args)
    except Exception as exc:  # e.g. a missing DB driver
        raise ConfigError(f"USEROPS_CRM_URL={redact_url(url)}: {_first_line(exc)}") from None
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:  # every connection failure reads the same
        raise ConfigError(f"USEROPS_CRM_URL={redact_url(url)}: cannot connect: "
                          f"{_first_line(exc)}") from None  # fmt: skip
    finally:
        engine.dispose()


def _timeout_args(parsed) -> dict[str, int]:
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "mysql", "mariadb"):
        return {"connect_timeout": CONNECT_TIMEOUT_S}
    return {}


def check_warehouse(target: WarehouseTarget) -> None:
    """``USEROPS_WAREHOUSE``: the DuckDB file's folder is writable, or PostgreSQL answers.

    A ``spark://`` target is refused: its loaders, quality gate and publishing steps
    are not written yet, so a night would fail halfway (ADR 0011)."""
    if target.is_spark:
        raise ConfigError(f"USEROPS_WAREHOUSE=spark://{target.spark_dir}: the nightly pipeline "
                          "does not run on Spark yet; only the dbt models of staging and "
                          "activity do (docs/decisions/0011-spark-target.md)")  # fmt: skip
    if target.is_duckdb:
        path = target.duckdb_path
        assert path is not None
        folder = next((p for p in [path.parent, *path.parent.parents] if p.exists()), None)
        if path.exists() and not os.access(path, os.R_OK | os.W_OK):
            raise ConfigError(f"USEROPS_WAREHOUSE={path}: the DuckDB file is not writable")
        if folder is None or not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise ConfigError(f"USEROPS_WAREHOUSE={path}: cannot create the DuckDB file "
                              f"(folder {folder} is not writable)")  # fmt: skip
        return
    import psycopg

    # The pipeline creates the warehouse database when missing: reach the server through
    # the maintenance database, as ensure_postgres_database does.
    try:
        with psycopg.connect(target.conninfo("postgres"), connect_timeout=CONNECT_TIMEOUT_S):
            pass
    except psycopg.Error as exc:
        raise ConfigError(f"USEROPS_WAREHOUSE={target.describe()}: cannot connect: "
                          f"{_first_line(exc)}") from None  # fmt: skip


#: The file in an output folder naming the warehouse whose lists and manifests it holds.
OWNER_FILE = ".userops-warehouse"


def check_output_dir(settings: Settings, claim: bool = False) -> None:
    """``USEROPS_OUTPUT_DIR`` holds the outputs of this warehouse only.

    Manifests and the publish log describe what one warehouse sent: a second
    warehouse writing to the same folder would overwrite them. The first run that
    publishes (``claim=True``) records the warehouse; any other one is refused.
    """
    owner = settings.warehouse.describe()
    marker = settings.output_dir / OWNER_FILE
    if marker.is_file():
        recorded = marker.read_text(encoding="utf-8").strip()
        if recorded != owner:
            raise ConfigError(f"USEROPS_OUTPUT_DIR={settings.output_dir} holds the outputs of "
                              f"{recorded}, not {owner}: give each warehouse its own folder")  # fmt: skip
    elif claim:
        settings.output_dir.mkdir(parents=True, exist_ok=True)
        marker.write_text(owner + "\n", encoding="utf-8")


def preflight(settings: Settings) -> None:
    """Every check, cheapest first; the first failure raises ``ConfigError``."""
    check_output_dir(settings)
    check_warehouse(settings.warehouse)
    check_events_root(settings.events_url)
    check_crm(settings.crm_url)
