"""One small interface over the warehouses (DuckDB file, PostgreSQL, local Spark).

Only bulk paths: DuckDB inserts straight from an Arrow table, PostgreSQL uses
``COPY ... FROM STDIN`` (psycopg 3), Spark writes a DataFrame made from the Arrow
table.  DuckDB allows one writer per file across processes, so every DuckDB
connection here holds an exclusive ``fcntl`` lock on ``<file>.lock`` for its
lifetime: concurrent writers (two Airflow tasks, a test and dbt) queue instead of
failing.  dbt runs take the same lock (:func:`duckdb_lock`).

A local Spark warehouse (``spark://<folder>``) keeps its catalog in an embedded
(Derby) metastore that one JVM opens at a time: the process that first opens it
keeps one Spark session, shared with dbt's session method, and the lock on
``<folder>/warehouse.lock`` until it exits or opens another folder (ADR 0011).
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from userops.config import WarehouseTarget

#: Rows per Arrow record batch handed to DuckDB. DuckDB scans a registered Arrow table
#: one record batch per thread at a time, so a table in one big batch is read on one
#: core; 16k-row batches measured 2-3x faster on 2 cores (the bulk event check).
SCAN_BATCH_ROWS = 16_384


def scan_batches(table: pa.Table) -> pa.Table:
    """``table`` re-sliced (zero-copy) into :data:`SCAN_BATCH_ROWS`-row record batches."""
    return pa.Table.from_batches(table.to_batches(max_chunksize=SCAN_BATCH_ROWS), table.schema)


@contextlib.contextmanager
def duckdb_lock(path: Path) -> Iterator[None]:
    """Exclusive cross-process lock serialising writers of one DuckDB file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _naive_utc(table: pa.Table) -> pa.Table:
    """Spark's timestamps (instants, tagged UTC by Arrow) as the naive UTC values the
    other warehouses return."""
    fields = [
        pa.field(f.name, pa.timestamp(f.type.unit)) if pa.types.is_timestamp(f.type) else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields))


class _SparkHolder:
    """The process's Spark session and the lock of the folder it opened."""

    session: Any = None
    folder: Path | None = None
    lock: Any = None


def spark_session(target: WarehouseTarget) -> Any:
    """The process's Spark session on ``target``'s folder (started on first use).

    dbt's session method calls ``getOrCreate`` with the same settings (profiles.yml), so
    dbt and the Python steps of one process read and write one catalog.
    """
    assert target.spark_dir is not None
    folder = target.spark_dir.resolve()
    if _SparkHolder.session is not None and _SparkHolder.folder == folder:
        return _SparkHolder.session
    stop_spark()
    from pyspark.sql import SparkSession

    folder.mkdir(parents=True, exist_ok=True)
    fh = open(folder / "warehouse.lock", "a+")  # noqa: SIM115 - held until stop_spark
    fcntl.flock(fh, fcntl.LOCK_EX)
    builder = SparkSession.builder.appName("userops").enableHiveSupport()
    for key, value in target.spark_conf().items():
        builder = builder.config(key, value)
    try:
        _SparkHolder.session = builder.getOrCreate()
    except BaseException:
        fh.close()  # releases the lock
        raise
    _SparkHolder.folder, _SparkHolder.lock = folder, fh
    return _SparkHolder.session


def stop_spark() -> None:
    """Stop the process's Spark session (if any), its JVM, and release the lock."""
    if _SparkHolder.session is not None:
        from pyspark import SparkContext

        gateway = SparkContext._gateway  # type: ignore[attr-defined]
        _SparkHolder.session.stop()
        # the JVM keeps the embedded metastore open until it exits; pyspark's gateway
        # JVM exits when its stdin closes, and the next session starts a new one
        if gateway is not None:
            gateway.shutdown()
            proc = getattr(gateway, "proc", None)
            if proc is not None:
                proc.stdin.close()
                proc.wait(timeout=60)
        SparkContext._gateway = None  # type: ignore[attr-defined]
        SparkContext._jvm = None  # type: ignore[attr-defined]
    if _SparkHolder.lock is not None:
        _SparkHolder.lock.close()
    _SparkHolder.session = _SparkHolder.folder = _SparkHolder.lock = None


#: Type names of our DDL (written for DuckDB and PostgreSQL) in Spark's words.
_SPARK_TYPES = (
    (re.compile(r"\bdouble precision\b", re.I), "double"),
    (re.compile(r"\b(varchar|jsonb|json)\b", re.I), "string"),
)
#: Constraints Spark does not keep on Parquet tables, and quoted names in backticks.
_SPARK_CONSTRAINTS = (
    (re.compile(r"\s+not null\b", re.I), ""),
    (re.compile(r",\s*primary key\s*\([^)]*\)", re.I), ""),
    (re.compile(r"\s+primary key\b", re.I), ""),
    (re.compile(r'"(\w+)"'), r"`\1`"),
)
_CREATE_TABLE = re.compile(r"^\s*create table if not exists\s+(\S+)\s*\(", re.I)
_ADD_COLUMN = re.compile(
    r"^\s*alter table\s+(\S+)\s+add column if not exists\s+(\w+)\s+(.+?)\s*$", re.I | re.S
)


def _spark_types(sql: str) -> str:
    for pattern, repl in _SPARK_TYPES:
        sql = pattern.sub(repl, sql)
    return sql


def spark_ddl(sql: str) -> str | None:
    """``sql`` for Spark: a ``create table`` gets Spark types, no constraints and
    ``using parquet``; other statements are returned unchanged. ``None`` for
    PostgreSQL-only upkeep (``create index``), which Spark has no use for."""
    if re.match(r"^\s*create (unique )?index\b", sql, re.I):
        return None
    if not _CREATE_TABLE.match(sql):
        return sql
    sql = _spark_types(sql)
    for pattern, repl in _SPARK_CONSTRAINTS:
        sql = pattern.sub(repl, sql)
    return sql if re.search(r"\busing\s+\w+", sql, re.I) else f"{sql.rstrip()} using parquet"


class Warehouse:
    """A live connection to the warehouse; use as a context manager.

    ``execute``/``fetch_df`` take SQL with ``%(name)s``-free positional ``?``
    placeholders on DuckDB and ``%s`` on PostgreSQL; prefer :meth:`param`
    to write portable statements.
    """

    def __init__(self, target: WarehouseTarget):
        self.target = target
        self.kind = target.kind
        self._conn: Any = None
        self._lock: contextlib.ExitStack | None = None

    # -- lifecycle ---------------------------------------------------------------
    def __enter__(self) -> Warehouse:
        if self.kind == "spark":
            self._conn = spark_session(self.target)
        elif self.kind == "duckdb":
            import duckdb

            assert self.target.duckdb_path is not None
            self._lock = contextlib.ExitStack()
            self._lock.enter_context(duckdb_lock(self.target.duckdb_path))
            self._conn = duckdb.connect(str(self.target.duckdb_path))
            self._conn.execute("set TimeZone = 'UTC'")
            if self.target.duckdb_memory_limit:
                self._conn.execute(f"set memory_limit = '{self.target.duckdb_memory_limit}'")
        else:
            import psycopg

            self._conn = psycopg.connect(self.target.conninfo(), autocommit=True)
            self._conn.execute("set time zone 'UTC'")
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._conn is not None and self.kind != "spark":  # the session stays up
                self._conn.close()
        finally:
            self._conn = None
            if self._lock is not None:
                self._lock.close()
                self._lock = None

    # -- SQL ---------------------------------------------------------------------
    @property
    def connection(self) -> Any:
        """The driver's connection (DuckDB or psycopg), for what this class does not wrap."""
        return self._conn

    @property
    def param(self) -> str:
        """The positional placeholder of this warehouse's driver."""
        return "%s" if self.kind == "postgres" else "?"

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        if self.kind == "spark":
            self._spark_execute(sql, params)
            return
        self._conn.execute(sql, params) if params is not None else self._conn.execute(sql)

    def _spark_execute(self, sql: str, params: Sequence[Any] | None) -> None:
        add = _ADD_COLUMN.match(sql)
        if add:  # Spark has no "add column if not exists"
            table, column, type_ = add.groups()
            if column.lower() not in {c.lower() for c in self._conn.table(table).columns}:
                self._conn.sql(f"alter table {table} add columns ({column} {_spark_types(type_)})")
            return
        statement = spark_ddl(sql)
        if statement is not None:
            self._conn.sql(statement, args=list(params) if params is not None else None)

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        if self.kind == "spark":
            rows = self._conn.sql(sql, args=list(params) if params is not None else None)
            return [tuple(r) for r in rows.collect()]
        if self.kind == "duckdb":
            return self._conn.execute(sql, params or []).fetchall()
        with self._conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def fetch_df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        if self.kind == "spark":
            frame = self._conn.sql(sql, args=list(params) if params is not None else None)
            return _naive_utc(frame.toArrow()).to_pandas()
        if self.kind == "duckdb":
            return self._conn.execute(sql, params or []).df()
        with self._conn.cursor() as cur:
            cur.execute(sql, params)
            cols = [d.name for d in cur.description] if cur.description else []
            return pd.DataFrame(cur.fetchall(), columns=cols)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together or not at all (DuckDB, PostgreSQL).

        Spark has no transactions: its loads are idempotent by overwriting whole
        partitions instead, so a crash is mended by the rerun (ADR 0011)."""
        if self.kind == "spark":
            yield
        elif self.kind == "duckdb":
            self._conn.execute("begin transaction")
            try:
                yield
            except BaseException:
                self._conn.execute("rollback")
                raise
            self._conn.execute("commit")
        else:
            with self._conn.transaction():
                yield

    def table_exists(self, schema: str, table: str) -> bool:
        if self.kind == "spark":
            return bool(self._conn.catalog.tableExists(f"{schema}.{table}"))
        rows = self.fetchall(
            "select count(*) from information_schema.tables "
            f"where table_schema = {self.param} and table_name = {self.param}",
            [schema, table],
        )
        return rows[0][0] > 0

    def columns(self, schema: str, table: str) -> list[str]:
        """Column names of ``schema.table`` in table order ([] when it does not exist)."""
        if self.kind == "spark":
            if not self.table_exists(schema, table):
                return []
            return list(self._conn.table(f"{schema}.{table}").columns)
        rows = self.fetchall(
            "select column_name from information_schema.columns "
            f"where table_schema = {self.param} and table_name = {self.param} "
            "order by ordinal_position",
            [schema, table],
        )
        return [r[0] for r in rows]

    # -- bulk load ---------------------------------------------------------------
    def bulk_insert(self, table: str, data: pa.Table) -> int:
        """Append ``data`` to ``table`` (columns by name) through the bulk path."""
        if data.num_rows == 0:
            return 0
        cols = ", ".join(f'"{c}"' for c in data.column_names)
        if self.kind == "spark":
            self._spark_insert(table, data)
        elif self.kind == "duckdb":
            self._conn.register("_userops_bulk", scan_batches(data))
            try:
                self._conn.execute(f"insert into {table} ({cols}) select {cols} from _userops_bulk")
            finally:
                self._conn.unregister("_userops_bulk")
        else:
            buf = io.BytesIO()
            pacsv.write_csv(
                data,
                buf,
                write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed"),
            )
            with (
                self._conn.cursor() as cur,
                cur.copy(f"copy {table} ({cols}) from stdin with (format csv)") as copy,
            ):
                copy.write(buf.getvalue())
        return data.num_rows

    def _spark_insert(self, table: str, data: pa.Table) -> None:
        """Insert ``data`` into ``table`` by column name: columns ``data`` lacks are
        null, every value is cast to the table's type."""
        frame = self._conn.createDataFrame(data)
        frame.createOrReplaceTempView("_userops_bulk")
        given = set(data.column_names)
        fields = self._conn.table(table).schema.fields
        exprs = ", ".join(
            f"cast({'`' + f.name + '`' if f.name in given else 'null'} "
            f"as {f.dataType.simpleString()}) as `{f.name}`"
            for f in fields
        )
        try:
            self._conn.sql(f"insert into {table} select {exprs} from _userops_bulk")
        finally:
            self._conn.catalog.dropTempView("_userops_bulk")


def ensure_postgres_database(target: WarehouseTarget) -> None:
    """Create the PostgreSQL warehouse database if it does not exist yet."""
    if target.kind != "postgres":
        return
    import psycopg

    with psycopg.connect(target.conninfo("postgres"), autocommit=True) as conn:
        exists = conn.execute(
            "select 1 from pg_database where datname = %s", [target.pg_dbname]
        ).fetchone()
        if not exists:
            conn.execute(f'create database "{target.pg_dbname}"')
