"""The dbt step of ``userops_nightly``: one ``dbt build`` task vs a Cosmos task group.

Evidence for docs/decisions/0004. Loads the demo sources once per warehouse, warms
the warehouse with one ``dbt build`` (so every timed run is the steady nightly
rerun, incremental models included), writes a ``manifest.json`` with ``dbt parse``
and then times, with Airflow's ``dag.test()`` for the same business day:

* ``single`` — ``benchmarks/dags/bench_dbt_single.py``: one task doing what
  ``userops.pipeline.step_dbt_build`` does (what production runs);
* ``cosmos-after_each`` / ``cosmos-build`` — ``benchmarks/dags/bench_dbt_cosmos.py``:
  a Cosmos ``DbtTaskGroup`` rendered from the manifest, local dbtRunner execution,
  ``TestBehavior.AFTER_EACH`` (run + test task per model) or ``BUILD`` (one
  ``dbt build --select`` task per node).

Each timed run is a fresh Python process (so DAG parse times are cold, as in a DAG
processor, and no dbt/Cosmos state leaks between runs); variants are interleaved
per repetition so load from other users of the machine spreads evenly. Everything
lives under ``--work-dir`` (own data dir, own AIRFLOW_HOME with SQLite metadata,
own dbt target/log paths, a frozen copy of ``dbt_project/`` so edits to the live tree
cannot change the work mid-benchmark); the PostgreSQL run uses a throwaway database
that is dropped at the end. Figures land in ``<work-dir>/results.json``, child output
in ``<work-dir>/bench.log``. ``--reps 3`` on both warehouses takes ~35 min on 2 cores.
Usage::

    PYTHONPATH=plugins .venv/bin/python benchmarks/dbt_orchestration.py \\
        [--date 2026-06-30 --users 2000 --days 120 --reps 2 \\
         --warehouses duckdb,postgres --variants single,cosmos-after_each,cosmos-build]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH_DAGS = ROOT / "benchmarks" / "dags"
BIN = Path(sys.executable).parent
RESULT_MARK = "USEROPS_BENCH_RESULT "
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"

#: variant -> (DAG file, dag_id, Cosmos test behaviour or None)
VARIANTS: dict[str, tuple[str, str, str | None]] = {
    "single": ("bench_dbt_single.py", "bench_dbt_single", None),
    "cosmos-after_each": ("bench_dbt_cosmos.py", "bench_dbt_cosmos_after_each", "after_each"),
    "cosmos-build": ("bench_dbt_cosmos.py", "bench_dbt_cosmos_build", "build"),
}


@dataclass
class RunResult:
    """One timed ``dag.test()`` run (filled in by the child process)."""

    variant: str
    warehouse: str
    ok: bool
    tasks: int = 0
    parse_cold_s: float = 0.0
    parse_warm_s: float = 0.0
    run_s: float = 0.0
    process_s: float = 0.0
    states: dict[str, int] = field(default_factory=dict)
    error: str = ""


# -- child: one timed run in a fresh process ------------------------------------------------
def _child_run(variant: str, day: date) -> dict[str, Any]:
    """Parse the variant's DAG file (twice: cold, then warm) and ``dag.test()`` it once."""
    from airflow.dag_processing.dagbag import DagBag

    from userops.config import load_settings
    from userops.windows import run_after_for

    filename, dag_id, _ = VARIANTS[variant]
    path = str(BENCH_DAGS / filename)
    started = time.monotonic()
    bag = DagBag(dag_folder=path)
    parse_cold = time.monotonic() - started
    started = time.monotonic()
    DagBag(dag_folder=path)
    parse_warm = time.monotonic() - started
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    dag = bag.dags[dag_id]
    started = time.monotonic()
    dag_run = dag.test(logical_date=run_after_for(day, load_settings().timezone))
    run_s = time.monotonic() - started
    states: dict[str, int] = {}
    for ti in dag_run.get_task_instances():
        if ti.task_id in dag.task_ids:
            states[str(ti.state)] = states.get(str(ti.state), 0) + 1
    return {
        "ok": str(dag_run.state) == "success",
        "tasks": len(dag.tasks),
        "parse_cold_s": parse_cold,
        "parse_warm_s": parse_warm,
        "run_s": run_s,
        "states": states,
    }


# -- parent: preparation ---------------------------------------------------------------------
def _sh(cmd: list[str], env: dict[str, str], log: Path, timeout: float = 1800) -> float:
    """Run ``cmd`` with output appended to ``log``; return its wall seconds, raise on failure."""
    started = time.monotonic()
    with open(log, "a") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n")
        fh.flush()
        proc = subprocess.run(
            cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout, check=False
        )
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed (exit {proc.returncode}); see {log}")
    return time.monotonic() - started


def _base_env(work: Path) -> dict[str, str]:
    """Environment of every child: own data dir, Airflow home and dbt artefact paths."""
    env = dict(os.environ)
    env.update(
        {
            "USEROPS_DATA_DIR": str(work / "data"),
            "AIRFLOW_HOME": str(work / "airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(BENCH_DAGS),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            "AIRFLOW__COSMOS__CACHE_DIR": str(work / "cosmos-cache"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            # Keep dbt artefacts out of the shared dbt_project/target and logs. Cosmos
            # children drop these again (see _timed_run).
            "DBT_TARGET_PATH": str(work / "dbt-target"),
            "DBT_LOG_PATH": str(work / "dbt-logs"),
            "PYTHONPATH": os.pathsep.join(
                p for p in [str(ROOT / "plugins"), env.get("PYTHONPATH", "")] if p
            ),
        }
    )
    env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", None)
    env.pop("USEROPS_WAREHOUSE", None)
    return env


def _prepare_airflow(env: dict[str, str], log: Path) -> None:
    if not (Path(env["AIRFLOW_HOME"]) / "airflow.db").exists():
        _sh([str(BIN / "airflow"), "db", "migrate"], env, log)
    _sh([str(BIN / "airflow"), "pools", "set", "userops_duckdb", "1", "DuckDB writer"], env, log)


def _snapshot_project(work: Path) -> Path:
    """Freeze a copy of ``dbt_project/``: edits to the live tree must not change the work."""
    from userops.config import DBT_PROJECT_DIR

    dest = work / "dbt_project"
    ignore = shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml")
    shutil.copytree(DBT_PROJECT_DIR, dest, ignore=ignore)
    return dest


def _child_dbt(command: str, day: date, project_dir: Path, target_path: Path) -> None:
    """One ``dbt <command>`` as of ``day`` (run in a child: dbt-duckdb keeps the file open)."""
    from userops import pipeline
    from userops.config import load_settings
    from userops.transform.dbt import run_dbt

    settings = load_settings()
    dbt_vars = pipeline.dbt_vars_for(pipeline.business_day(day, settings), settings)
    run_dbt(
        [command],
        settings.warehouse,
        dbt_vars,
        project_dir,
        target_path=target_path,
        log_path=target_path / "logs",
    )


def _prepare_warehouse(
    env: dict[str, str], day: date, project_dir: Path, manifest_dir: Path, log: Path
) -> dict[str, float]:
    """Load D's sources, warm the warehouse with one build, write ``manifest.json``.

    The warm-up makes every timed run the steady nightly rerun (incremental models
    already exist), whichever variant comes first. Each step is its own process:
    dbt-duckdb keeps the DuckDB file open in the invoking process after dbt returns,
    so an in-process build here would lock the timed runs out of the file.
    """
    userops = str(BIN / "userops")
    timings = {}
    for step in ("load_crm", "load_events"):
        timings[step] = _sh([userops, "step", step, "--date", day.isoformat()], env, log)
    # ``build`` warms the warehouse; ``parse`` writes the manifest Cosmos renders from.
    for command, target_path in (("build", manifest_dir / "warm-up"), ("parse", manifest_dir)):
        cmd = [sys.executable, str(Path(__file__).resolve()), "_dbt", command, day.isoformat(),
               str(project_dir), str(target_path)]  # fmt: skip
        timings[f"dbt_{command}"] = _sh(cmd, env, log)
    return timings


def _drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN) as conn:
            conn.execute("select 1")
        return True
    except Exception:  # any failure to connect means "skip PostgreSQL"
        return False


# -- parent: timed runs ----------------------------------------------------------------------
def _timed_run(
    variant: str, warehouse: str, day: date, env: dict[str, str], log: Path
) -> RunResult:
    env = {**env}
    behavior = VARIANTS[variant][2]
    if behavior:
        env["USEROPS_BENCH_TEST_BEHAVIOR"] = behavior
        # Cosmos runs each task in its own temp copy of the project and moves
        # partial_parse.msgpack in and out of its cache itself; a global DBT_TARGET_PATH
        # would make every task share one msgpack whose root_path is a deleted temp dir.
        env.pop("DBT_TARGET_PATH", None)
        env.pop("DBT_LOG_PATH", None)
    cmd = [sys.executable, str(Path(__file__).resolve()), "_run", variant, day.isoformat()]
    started = time.monotonic()
    with open(log, "a") as fh:
        fh.write(f"\n$ {' '.join(cmd)}  [{warehouse}]\n")
        fh.flush()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
        fh.write(proc.stdout)
        fh.write(proc.stderr)
    process_s = time.monotonic() - started
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_MARK)]
    if not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return RunResult(variant, warehouse, ok=False, process_s=process_s, error=tail[0][:300])
    data = json.loads(lines[-1].removeprefix(RESULT_MARK))
    return RunResult(variant, warehouse, process_s=process_s, **data)


def _fmt_table(results: list[RunResult]) -> str:
    header = (
        f"{'variant':<18} {'warehouse':<9} {'tasks':>5} {'ok':>5} {'wall mean':>10} "
        f"{'wall min':>9} {'per task':>9} {'parse cold':>11} {'parse warm':>11} {'process':>8}"
    )
    rows = [header, "-" * len(header)]
    keys = dict.fromkeys((r.variant, r.warehouse) for r in results)
    for variant, warehouse in keys:
        group = [r for r in results if r.variant == variant and r.warehouse == warehouse]
        good = [r for r in group if r.ok] or group
        walls = [r.run_s for r in good]
        tasks = max(r.tasks for r in group)
        rows.append(
            f"{variant:<18} {warehouse:<9} {tasks:>5} "
            f"{sum(r.ok for r in group):>2}/{len(group):<2} "
            f"{statistics.mean(walls):>9.1f}s {min(walls):>8.1f}s "
            f"{statistics.mean(walls) / max(tasks, 1):>8.2f}s "
            f"{statistics.mean(r.parse_cold_s for r in group):>10.2f}s "
            f"{statistics.mean(r.parse_warm_s for r in group):>10.3f}s "
            f"{statistics.mean(r.process_s for r in group):>7.1f}s"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 6, 30))
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--reps", type=int, default=2, help="timed runs per variant")
    parser.add_argument("--warehouses", default="duckdb,postgres")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/userops-bench-dbt-orch"))
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants: {sorted(unknown)}")

    work: Path = args.work_dir
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log = work / "bench.log"
    env = _base_env(work)
    print(f"work dir {work} (log: {log}); cpus={os.cpu_count()} load={os.getloadavg()}")
    _prepare_airflow(env, log)
    gen = [str(BIN / "userops"), "generate", "--users", str(args.users), "--days", str(args.days)]
    seconds = _sh([*gen, "--end-date", args.date.isoformat()], env, log)
    print(f"sources generated in {seconds:.1f}s")
    project_dir = _snapshot_project(work)
    env["USEROPS_BENCH_DBT_PROJECT_DIR"] = str(project_dir)

    results: list[RunResult] = []
    for warehouse in [w for w in args.warehouses.split(",") if w]:
        wh_env = {**env}
        pg_db = None
        if warehouse == "postgres":
            if not _pg_available():
                print("PostgreSQL not reachable on 127.0.0.1:5432: skipped")
                continue
            pg_db = f"userops_bench_orch_{uuid.uuid4().hex[:8]}"
            wh_env["USEROPS_WAREHOUSE"] = f"postgresql://postgres@127.0.0.1:5432/{pg_db}"
        elif warehouse != "duckdb":
            parser.error(f"unknown warehouse {warehouse!r}")
        manifest_dir = work / f"manifest-{warehouse}"
        wh_env["USEROPS_BENCH_DBT_MANIFEST"] = str(manifest_dir / "manifest.json")
        try:
            prep = _prepare_warehouse(wh_env, args.date, project_dir, manifest_dir, log)
            print(f"[{warehouse}] prepared: " + ", ".join(f"{k} {v:.1f}s" for k, v in prep.items()))
            for rep in range(args.reps):
                for variant in variants:
                    r = _timed_run(variant, warehouse, args.date, wh_env, log)
                    results.append(r)
                    print(
                        f"[{warehouse}] rep {rep + 1} {variant:<18} ok={r.ok} tasks={r.tasks} "
                        f"run {r.run_s:.1f}s parse {r.parse_cold_s:.2f}s states={r.states} "
                        f"{r.error}",
                        flush=True,
                    )
        finally:
            if pg_db:
                _drop_pg_database(pg_db)

    print(
        f"\nbusiness day {args.date}, {args.users} users x {args.days} days, load={os.getloadavg()}"
    )
    print(_fmt_table(results))
    (work / "results.json").write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 0 if results and all(r.ok for r in results) else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["_run"]:  # child: one timed dag.test()
        out = _child_run(sys.argv[2], date.fromisoformat(sys.argv[3]))
        print(RESULT_MARK + json.dumps(out), flush=True)
        sys.exit(0)
    if sys.argv[1:2] == ["_dbt"]:  # child: one preparation dbt command
        _child_dbt(
            sys.argv[2], date.fromisoformat(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5])
        )
        sys.exit(0)
    sys.exit(main())
