"""Run dbt in-process against a warehouse target.

Why in-process (``dbt.cli.main.dbtRunner``) rather than a ``dbt`` subprocess: the
caller gets structured results (which nodes failed and why) without parsing logs,
and an Airflow task or test needs nothing on ``PATH``.

Connection settings reach ``dbt_project/profiles.yml`` only through environment
variables (``WarehouseTarget.dbt_env()``), set for the duration of one invocation
and restored afterwards. DuckDB allows one writer per file, so a DuckDB run holds
:func:`userops.warehouse.duckdb_lock` for its whole duration; do not call this while
the same process holds an open :class:`~userops.warehouse.Warehouse` on that file
(the lock is per open file, so that would wait forever).

dbt keeps global state per invocation, so invocations in one process are
serialised by a module lock; parallel work belongs in separate processes, each
with its own ``target_path``/``log_path`` so artefacts never clash.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from userops.config import DBT_PROJECT_DIR, WarehouseTarget
from userops.warehouse import duckdb_lock, spark_session
from userops.windows import BusinessDay

__all__ = [
    "DBT_PROJECT_DIR",
    "LATEST_ONLY_TAG",
    "PREDICTED_TAG",
    "DbtError",
    "DbtNodeResult",
    "DbtRunSummary",
    "build",
    "build_days",
    "built_dates",
    "run_dbt",
]

#: Models restated as of the latest business date run; a run for an older date skips them.
LATEST_ONLY_TAG = "latest_only"
#: The history whose dates say which business days the project was built for.
BUILT_DATES_RELATION = ("marts", "users_history")
#: Models on the predict steps' outputs: built by a second pass after them.
PREDICTED_TAG = "predicted"
PREDICTED_DATES_RELATION = ("marts", "segment_personas_history")

#: Statuses that make a run unsuccessful (``warn`` and ``skipped`` do not by themselves).
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})

_INVOCATION_LOCK = threading.Lock()

#: Vars that change with every business day. dbt re-parses the whole project when
#: ``--vars`` change (~6 s for this project), so these travel in the environment as
#: ``USEROPS_DBT_<NAME>`` and the project reads them only when a node runs (macro
#: ``run_var``, ADR 0007); ``--vars`` then stay the same night after night.
RUN_VARS = ("as_of_date", "as_of_end_utc", "data_test_since")
#: Nodes listed, slowest first, in a dbt step's summary (its XCom).
SLOWEST_NODES = 10


def run_var_env(vars: Mapping[str, Any] | None) -> dict[str, str]:
    """``USEROPS_DBT_<NAME>`` for every :data:`RUN_VARS` name ("" = not given, so a
    value left in the caller's environment never reaches the invocation)."""
    vars = vars or {}
    return {
        f"USEROPS_DBT_{name.upper()}": str(vars[name]) if vars.get(name) is not None else ""
        for name in RUN_VARS
    }


@dataclass(frozen=True)
class DbtNodeResult:
    """Outcome of one node (model, test, unit test, seed...) in a dbt run."""

    unique_id: str
    status: str
    message: str | None = None
    failures: int | None = None
    execution_time: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES


@dataclass(frozen=True)
class DbtRunSummary:
    """What one dbt invocation did; ``result`` is dbt's own result object."""

    args: tuple[str, ...]
    success: bool
    nodes: tuple[DbtNodeResult, ...] = ()
    exception: BaseException | None = None
    result: Any = field(default=None, repr=False)

    @property
    def failed_nodes(self) -> tuple[DbtNodeResult, ...]:
        return tuple(n for n in self.nodes if n.failed)

    def count(self, status: str) -> int:
        """Number of nodes with ``status`` (``success``, ``pass``, ``warn``, ``error``...)."""
        return sum(1 for n in self.nodes if n.status == status)

    def status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for n in self.nodes:
            counts[n.status] = counts.get(n.status, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (the dbt task's XCom)."""
        slowest = sorted(self.nodes, key=lambda n: -n.execution_time)[:SLOWEST_NODES]
        return {
            "args": list(self.args),
            "success": self.success,
            "status_counts": self.status_counts(),
            "failed_nodes": [n.unique_id for n in self.failed_nodes],
            "elapsed_s": round(float(getattr(self.result, "elapsed_time", 0.0) or 0.0), 1),
            # where a slow night went, without opening run_results.json
            "slowest_nodes": {n.unique_id: round(n.execution_time, 2) for n in slowest},
        }


class DbtError(RuntimeError):
    """A dbt invocation did not succeed; ``summary.failed_nodes`` says which nodes."""

    def __init__(self, summary: DbtRunSummary):
        self.summary = summary
        lines = [f"dbt {' '.join(summary.args[:1])} failed"]
        for node in summary.failed_nodes:
            msg = (node.message or "").strip().replace("\n", " ")
            lines.append(f"  {node.status.upper()} {node.unique_id}: {msg[:500]}")
        if summary.exception is not None:
            lines.append(f"  exception: {type(summary.exception).__name__}: {summary.exception}")
        if len(lines) == 1:
            lines.append("  (no failing node reported; see the dbt log)")
        super().__init__("\n".join(lines))


@contextlib.contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _node_results(result: Any) -> tuple[DbtNodeResult, ...]:
    """Per-node outcomes of a run-like command; other commands have none."""
    nodes: list[DbtNodeResult] = []
    for r in getattr(result, "results", None) or ():
        node = getattr(r, "node", None)
        status = getattr(r, "status", "")
        nodes.append(
            DbtNodeResult(
                unique_id=getattr(node, "unique_id", "?"),
                status=str(getattr(status, "value", status)).lower(),
                message=getattr(r, "message", None),
                failures=getattr(r, "failures", None),
                execution_time=float(getattr(r, "execution_time", 0.0) or 0.0),
            )
        )
    return tuple(nodes)


def dbt_command(
    args: Sequence[str],
    target: WarehouseTarget,
    vars: Mapping[str, Any] | None = None,
    project_dir: Path = DBT_PROJECT_DIR,
    target_path: Path | None = None,
    log_path: Path | None = None,
) -> list[str]:
    """The full argument list of one invocation (subcommand first, then our flags;
    :data:`RUN_VARS` are left out: :func:`run_var_env` carries them)."""
    if not args:
        raise ValueError("run_dbt needs a dbt subcommand, e.g. ['build']")
    cmd = [
        *args,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target",
        target.dbt_target,
    ]
    cli_vars = {k: v for k, v in (vars or {}).items() if k not in RUN_VARS}
    if cli_vars:
        cmd += ["--vars", json.dumps(cli_vars, sort_keys=True, default=str)]
    if target_path is not None:
        cmd += ["--target-path", str(target_path)]
    if log_path is not None:
        cmd += ["--log-path", str(log_path)]
    return cmd


def run_dbt(
    args: Sequence[str],
    target: WarehouseTarget,
    vars: Mapping[str, Any] | None = None,
    project_dir: Path = DBT_PROJECT_DIR,
    *,
    target_path: Path | None = None,
    log_path: Path | None = None,
    raise_on_failure: bool = True,
) -> DbtRunSummary:
    """Invoke dbt (``args`` = subcommand and its selection flags) on ``target``.

    ``target_path``/``log_path`` default to dbt's own (``target/`` and ``logs/`` in
    the project dir, or ``DBT_TARGET_PATH``/``DBT_LOG_PATH``); pass separate ones
    for runs that may overlap. Raises :class:`DbtError` when dbt reports failure,
    unless ``raise_on_failure`` is false.
    """
    from dbt.cli.main import dbtRunner  # heavy import, only when dbt actually runs

    cmd = dbt_command(args, target, vars, project_dir, target_path, log_path)
    env = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "False", **target.dbt_env(), **run_var_env(vars)}
    with contextlib.ExitStack() as stack:
        if target.is_duckdb:
            assert target.duckdb_path is not None
            stack.enter_context(duckdb_lock(target.duckdb_path))
        elif target.is_spark:
            # dbt's session method takes the process's active session: make it this
            # target's (and hold its folder's lock) before dbt starts one of its own
            spark_session(target)
        stack.enter_context(_INVOCATION_LOCK)
        stack.enter_context(_environ(env))
        try:
            res = dbtRunner(callbacks=_fault_callbacks()).invoke(cmd)
        finally:
            if target.is_duckdb:
                _release_duckdb_file()
    summary = DbtRunSummary(
        args=tuple(args),
        success=bool(res.success),
        nodes=_node_results(res.result),
        exception=res.exception,
        result=res.result,
    )
    if raise_on_failure and not summary.success:
        raise DbtError(summary)
    return summary


def _fault_callbacks() -> list:
    """A dbt event callback that dies after the armed model (``userops.faults``)."""
    from userops import faults

    if not os.environ.get(faults.ENV, "").startswith("dbt.after:"):
        return []

    def on_event(event: Any) -> None:
        if event.info.name != "NodeFinished":
            return
        node = event.data.node_info
        if node.resource_type == "model":
            faults.checkpoint(faults.dbt_model_point(node.node_name))

    return [on_event]


def _release_duckdb_file() -> None:
    """Close dbt-duckdb's process-wide DuckDB environment after an invocation.

    dbt-duckdb keeps the database open in a class attribute after ``invoke`` returns,
    so another *process* (the next task, a BI tool, the CLI) could not open the file
    until this one exits. Closing it here makes the file lock above mean what it says.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # dbt-duckdb not installed: nothing to release
        return
    with DuckDBConnectionManager._LOCK:
        env, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
        if env is not None:
            with contextlib.suppress(Exception):
                env.close()


def build(
    day: BusinessDay,
    target: WarehouseTarget,
    extra_vars: Mapping[str, Any] | None = None,
    *,
    select: Sequence[str] = (),
    exclude: Sequence[str] = (),
    full_refresh: bool = False,
    unit_tests: bool = True,
    project_dir: Path = DBT_PROJECT_DIR,
    target_path: Path | None = None,
    log_path: Path | None = None,
) -> DbtRunSummary:
    """``dbt build`` for business day ``day`` (models, data tests, and unit tests unless
    ``unit_tests=False``: they check SQL logic on fixed inputs, which a night's data
    cannot change, so nights leave them to CI).

    ``extra_vars`` are the settings' dbt vars (``Settings.dbt_vars``); the day's
    as-of vars are merged over them, so a run can never be told a different date
    than the one it builds.
    """
    args = ["build"]
    if select:
        args += ["--select", *select]
    if exclude:
        args += ["--exclude", *exclude]
    if full_refresh:
        args.append("--full-refresh")
    if not unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    merged = {**dict(extra_vars or {}), **day.dbt_vars()}
    merged.setdefault("data_test_since", data_test_since(day.day, merged, project_dir))
    return run_dbt(args, target, merged, project_dir, target_path=target_path, log_path=log_path)


def data_test_since(
    day: date, vars_: Mapping[str, Any], project_dir: Path = DBT_PROJECT_DIR
) -> str:
    """First day of the slice the nightly data tests check: D - ``data_test_slice_days``.

    A negative ``data_test_slice_days`` checks the whole history (ADR 0007).
    """
    days = vars_.get("data_test_slice_days")
    if days is None:
        import yaml

        with open(project_dir / "dbt_project.yml", encoding="utf-8") as fh:
            days = (yaml.safe_load(fh).get("vars") or {}).get("data_test_slice_days", -1)
    days = int(days)
    return "0001-01-01" if days < 0 else (day - timedelta(days=days)).isoformat()


def built_dates(
    target: WarehouseTarget, relation: tuple[str, str] = BUILT_DATES_RELATION
) -> list[date]:
    """Business dates the marts were built for (the snapshots in ``marts.users_history``,
    or in ``relation``)."""
    from userops.warehouse import Warehouse

    schema, table = relation
    with Warehouse(target) as wh:
        if not wh.table_exists(schema, table):
            return []
        rows = wh.fetchall(f"select distinct as_of_date from {schema}.{table}")
    return sorted(r[0] if isinstance(r[0], date) else date.fromisoformat(str(r[0])) for r in rows)


def days_to_build(day: date, built: Sequence[date], catchup_max_days: int) -> list[date]:
    """``day``, preceded by the nights missed since the latest day built (ADR 0006).

    A run that moves the warehouse forward past skipped nights first builds each of
    them (at most ``catchup_max_days``, the latest ones), so the snapshot histories
    hold what every night would have written. A backfill (``day`` not after the
    latest day built) builds exactly its own day. Per-day facts
    (``user_lifecycle_daily``, ``active_users_daily``) fill any gap in one run anyway.
    """
    if not built or day <= max(built):
        return [day]
    latest = max(built)
    missing = [latest + timedelta(days=i) for i in range(1, (day - latest).days)]
    keep = missing[-catchup_max_days:] if catchup_max_days > 0 else []
    return [*keep, day]


def build_days(
    day: BusinessDay,
    target: WarehouseTarget,
    extra_vars: Mapping[str, Any] | None = None,
    *,
    catchup_max_days: int = 31,
    select: Sequence[str] = (),
    exclude: Sequence[str] = (),
    unit_tests: bool = True,
    target_path: Path | None = None,
    log_path: Path | None = None,
) -> tuple[DbtRunSummary, list[date]]:
    """Build the nights missed before D, then D; (D's summary, the days caught up).

    A day older than the latest one built skips the ``latest_only`` models, which keep
    the latest date's figures: a backfill never rewinds what BI sees as current.
    """
    built = built_dates(target)
    days = days_to_build(day.day, built, catchup_max_days)
    latest = max(built) if built else None
    result: DbtRunSummary | None = None
    for d in days:
        older = (f"tag:{LATEST_ONLY_TAG}",) if latest is not None and d < latest else ()
        summary = build(
            BusinessDay(d, day.tz),
            target,
            extra_vars,
            select=select,
            exclude=(*exclude, *older),
            unit_tests=unit_tests,
            target_path=target_path,
            log_path=log_path,
        )
        latest = d if latest is None else max(latest, d)
        if d == day.day:
            result = summary
    assert result is not None
    return result, [d for d in days if d != day.day]


def build_predicted(
    day: BusinessDay,
    target: WarehouseTarget,
    extra_vars: Mapping[str, Any] | None = None,
    *,
    catchup_max_days: int = 31,
) -> tuple[DbtRunSummary, list[date]]:
    """The second pass of a night: ``dbt build`` of the ``predicted`` models (on the
    predict steps' outputs) for D, after every date the first pass built without them
    (the latest ``catchup_max_days``: nights caught up, a run killed in between)."""
    built = built_dates(target)
    done = set(built_dates(target, PREDICTED_DATES_RELATION))
    pending = [d for d in built if d not in done and d != day.day]
    days = [*(pending[-catchup_max_days:] if catchup_max_days > 0 else []), day.day]
    latest = max([*built, day.day])
    result: DbtRunSummary | None = None
    for d in sorted(days):
        older = (f"tag:{LATEST_ONLY_TAG}",) if d < latest else ()
        summary = build(
            BusinessDay(d, day.tz), target, extra_vars,
            select=(f"tag:{PREDICTED_TAG}",), exclude=older, unit_tests=False,
        )  # fmt: skip
        if d == day.day:
            result = summary
    assert result is not None
    return result, [d for d in days if d != day.day]
