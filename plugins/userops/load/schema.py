"""DDL of the landing (``raw``) and bookkeeping (``meta``) schemas.

One definition serves both warehouses; the only dialect difference is the JSON
column type.  CRM columns land as text exactly as received (the CRM may be
SQLite, MySQL or PostgreSQL, with dirty values): typing and cleaning is the job of
the dbt staging layer, so a bad value never makes a load fail or get lost.

Naming follows STYLE rule 5: ``raw.crm__leads`` is staged by ``stg_crm__leads``.
"""

from __future__ import annotations

from userops.warehouse import Warehouse

#: CRM source tables and their columns, per SPEC 1.1 (order as in the contract).
CRM_TABLES: dict[str, tuple[str, ...]] = {
    "sales_reps": (
        "rep_id", "name", "email", "team", "region", "hired_at", "is_active",
        "daily_capacity", "updated_at",
    ),
    "leads": (
        "lead_id", "company_name", "contact_name", "phone", "email", "industry",
        "company_size", "province", "city", "source_channel", "user_id", "status",
        "owner_rep_id", "created_at", "updated_at", "is_deleted",
    ),
    "followups": (
        "followup_id", "lead_id", "rep_id", "channel", "outcome", "note",
        "next_followup_at", "occurred_at", "updated_at",
    ),
    "contracts": (
        "contract_id", "lead_id", "user_id", "plan", "amount", "signed_at", "starts_at",
        "ends_at", "status", "updated_at",
    ),
}  # fmt: skip

#: Primary key of each CRM table.
CRM_KEYS: dict[str, str] = {
    "sales_reps": "rep_id",
    "leads": "lead_id",
    "followups": "followup_id",
    "contracts": "contract_id",
}

#: Load columns appended to every raw table.
LOAD_COLUMNS = ("_batch_id", "_loaded_at")

EVENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("event_id", "varchar"),
    ("user_id", "varchar"),
    ("event_type", "varchar"),
    ("occurred_at", "timestamp"),  # UTC, from the ISO-8601 value with offset
    ("received_at", "timestamp"),  # UTC
    ("occurred_at_raw", "varchar"),  # as received, offset kept
    ("platform", "varchar"),
    ("properties", "{json}"),
    ("_partition_date", "date"),  # the dt= partition the line came from
    ("_source_file", "varchar"),
    ("_line_number", "integer"),
    ("_batch_id", "varchar"),
    ("_loaded_at", "timestamp"),
)

QUARANTINE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source", "varchar"),  # 'events'
    (
        "reason",
        "varchar",
    ),  # invalid_json | missing_field:<f> | unknown_event_type | bad_timestamp:<f> | ...
    ("raw_text", "varchar"),
    ("_partition_date", "date"),
    ("_source_file", "varchar"),
    ("_line_number", "integer"),
    ("_batch_id", "varchar"),
    ("_loaded_at", "timestamp"),
)


def _json_type(wh: Warehouse) -> str:
    return "json" if wh.kind == "duckdb" else "jsonb"


def _cols(wh: Warehouse, cols: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{n} {t.format(json=_json_type(wh))}" for n, t in cols)


def ensure_schemas(wh: Warehouse) -> None:
    """Create ``raw`` and ``meta`` objects if missing (idempotent), including the
    publishing tables dbt's outreach_outcomes views read and the predict steps' outputs
    (they exist before any publish or fit)."""
    from userops.predict.notes import ensure_theme_tables
    from userops.predict.run import ensure_value_tables
    from userops.publish.log import ensure_publish_log

    wh.execute("create schema if not exists raw")
    ensure_publish_log(wh)
    ensure_value_tables(wh)
    ensure_theme_tables(wh)  # the Python steps' outputs dbt's predicted models read
    for table, cols in CRM_TABLES.items():
        body = ", ".join(f"{c} varchar" for c in cols)
        wh.execute(
            f"create table if not exists raw.crm__{table} "
            f"({body}, _batch_id varchar not null, _loaded_at timestamp not null)"
        )
    # Spark: Parquet tables partitioned by the source partition, which a load replaces
    by_day = " using parquet partitioned by (_partition_date)" if wh.kind == "spark" else ""
    wh.execute(
        f"create table if not exists raw.events__events ({_cols(wh, EVENT_COLUMNS)}){by_day}"
    )
    wh.execute(
        f"create table if not exists raw.events__quarantine "
        f"({_cols(wh, QUARANTINE_COLUMNS)}){by_day}"
    )
    wh.execute(
        "create table if not exists meta.event_partitions ("
        "partition_date date primary key, batch_id varchar, rows_loaded bigint, "
        "rows_quarantined bigint, loaded_at timestamp)"
    )
    wh.execute(
        "create table if not exists meta.event_files ("
        "source_file varchar primary key, partition_date date not null, "
        "content_digest varchar not null, rows_loaded bigint, rows_quarantined bigint, "
        "batch_id varchar, loaded_at timestamp)"
    )
    if wh.kind == "postgres":
        # reloads delete by partition and staging reads new rows by load time: without
        # these a night would scan every event ever loaded (DuckDB prunes by zone maps)
        for table, column in (
            ("events__events", "_partition_date"),
            ("events__events", "_loaded_at"),
            ("events__quarantine", "_partition_date"),
        ):
            wh.execute(
                f"create index if not exists {table}__{column.strip('_')} on raw.{table} ({column})"
            )
    wh.execute(
        "create table if not exists meta.watermarks ("
        "source varchar primary key, high_watermark varchar, batch_id varchar, "
        "updated_at timestamp)"
    )
    wh.execute(
        "create table if not exists meta.load_batches ("
        "batch_id varchar, source varchar, business_date date, window_start timestamp, "
        "window_end timestamp, rows_read bigint, rows_loaded bigint, "
        "rows_quarantined bigint, started_at timestamp, finished_at timestamp, "
        "detail varchar)"
    )
