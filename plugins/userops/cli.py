"""The ``userops`` command: a thin wrapper over the same functions the DAGs call.

    userops generate [--users N --days N --end-date D --seed S --dirty-rate R]
    userops generate --append-day D          # next day's arrivals, for nightly sims
    userops run --date D                     # userops_nightly for one business day
    userops backfill --start D1 --end D2     # one run per day, in order
    userops step load_crm|load_events|dbt_build|predict_value|predict_themes|
                 dbt_build_predicted|validate|publish --date D
    userops summary --date D                 # what a run produced
    userops demo [--date D]                  # generate + run + summary

``run``/``backfill``/``demo`` execute the real DAG through Airflow's ``dag.test()``
against the project-local Airflow home (``.airflow/``, SQLite metadata).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from userops.config import PROJECT_ROOT, load_settings, redact_url


def yesterday() -> date:
    """The business day whose list is this morning's: yesterday in the business time zone."""
    from zoneinfo import ZoneInfo

    return (datetime.now(ZoneInfo(load_settings().timezone)) - timedelta(days=1)).date()


DEMO_USERS = 2000
DEMO_DAYS = 120


def _airflow_env() -> None:
    """Project-local Airflow defaults; must run before ``airflow`` is imported."""
    defaults = {
        "AIRFLOW_HOME": str(PROJECT_ROOT / ".airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        # naive times and the scheduler's display in the business time zone
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": load_settings().timezone,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    home = Path(os.environ["AIRFLOW_HOME"])
    if (
        not (home / "airflow.db").exists()
        and "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" not in os.environ
    ):
        home.mkdir(parents=True, exist_ok=True)
        airflow_bin = Path(sys.executable).with_name("airflow")
        subprocess.run([str(airflow_bin), "db", "migrate"], check=True, capture_output=True)


class DagRunFailed(RuntimeError):
    """A ``dag.test()`` run that did not run every task to success."""

    def __init__(self, summary: dict[str, Any]):
        super().__init__(f"{summary['dag_id']} for {summary['business_date']}: "
                         f"{summary['problem']}")  # fmt: skip
        self.summary = summary


def run_problem(state: str, tasks: dict[str, str], expected: set[str]) -> str | None:
    """Why a finished run is not a success (``None`` when every task succeeded).

    A run that executed no task (e.g. a logical date before the DAG's start date) or
    left a task unfinished is a failure, whatever state Airflow gave the run.
    """
    if not tasks:
        return (
            "no task ran (is the date before USEROPS_START_DATE, the DAG's start date?); "
            f"run state {state}"
        )
    bad = {t: s for t, s in sorted(tasks.items()) if s != "success"}
    missing = sorted(expected - set(tasks))
    if bad or missing or state != "success":
        parts = [f"run state {state}"]
        if bad:
            parts.append("tasks not successful: " + ", ".join(f"{t}={s}" for t, s in bad.items()))
        if missing:
            parts.append("tasks without an instance: " + ", ".join(missing))
        return "; ".join(parts)
    return None


def run_dag_for_day(
    day: date,
    dag_id: str = "userops_nightly",
    conf: dict[str, Any] | None = None,
    mark_success_pattern: str | None = None,
) -> dict[str, Any]:
    """Run ``dag_id`` for business day ``day`` with ``dag.test()``; raise when it fails.

    ``mark_success_pattern`` (a regex of task ids) marks those tasks successful
    without running them, e.g. to re-run only the tail of a day.
    """
    _airflow_env()
    from airflow.dag_processing.dagbag import DagBag

    from userops.windows import run_after_for

    settings = load_settings()
    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    dag = bag.dags[dag_id]
    started_at = datetime.now(UTC)
    started = time.monotonic()
    dag_run = dag.test(
        logical_date=run_after_for(day, settings.timezone),
        # the run id is manual__<run_after>: the start of business day D, local time
        run_after=run_after_for(day - timedelta(days=1), settings.timezone),
        run_conf=conf,
        mark_success_pattern=mark_success_pattern,
    )
    seconds = round(time.monotonic() - started, 1)
    _record_real_start(dag_run, started_at)
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    summary = {"dag_id": dag_id, "business_date": day.isoformat(), "state": str(dag_run.state),
               "seconds": seconds, "tasks": states, "run_id": dag_run.run_id}  # fmt: skip
    problem = run_problem(str(dag_run.state), states, set(dag.task_ids))
    if problem:
        raise DagRunFailed({**summary, "problem": problem})
    return summary


def _record_real_start(dag_run: Any, started_at: datetime) -> None:
    """``dag.test()`` stamps a run as started at its logical date (a run of a past day
    would show a duration of months in the UI): record when it really started."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import update

    with create_session() as session:
        session.execute(update(DagRun).where(DagRun.id == dag_run.id).values(start_date=started_at))


def _cmd_generate(args: argparse.Namespace) -> int:
    from userops.sources.generate import GeneratorConfig, append_day, generate

    settings = load_settings()
    config = GeneratorConfig(
        seed=args.seed, users=args.users, days=args.days, end_date=args.end_date or yesterday(),
        dirty_rate=args.dirty_rate, gzip=args.gzip,
    )  # fmt: skip
    started = time.monotonic()
    if args.append_day:
        summary = append_day(config, settings.crm_url, settings.events_url, args.append_day)
    else:
        summary = generate(config, settings.crm_url, settings.events_url)
    print(f"sources written in {time.monotonic() - started:.1f}s: "
          f"CRM {redact_url(settings.crm_url)}, events {redact_url(settings.events_url)}")  # fmt: skip
    print(f"  CRM rows: {summary.crm_rows}")
    print(f"  events: {summary.events_written} in {len(summary.partitions)} partition files; "
          f"bad lines on purpose: {summary.bad_lines}")  # fmt: skip
    return 0


def _run_logged(day: date, command: str, verbose: bool, conf: dict | None = None) -> dict:
    """``run_dag_for_day`` with Airflow's and dbt's output in a log file (console: -v)."""
    from userops import runlog

    path = runlog.log_path(load_settings().output_dir, command, day.isoformat())
    try:
        with runlog.captured(path, echo=verbose):
            result = run_dag_for_day(day, conf=conf)
    except DagRunFailed as exc:
        exc.summary["log_file"] = str(path)
        raise
    return {**result, "log_file": str(path)}


def _print_run(result: dict[str, Any]) -> None:
    print(f"\n{result['dag_id']} for {result['business_date']}: {result['state']} in "
          f"{result['seconds']}s (run id {result['run_id']})")  # fmt: skip
    for task_id, state in sorted(result["tasks"].items()):
        print(f"  {task_id:<16} {state}")
    print(f"  full logs: {result['log_file']}")


def _exit_status(day: date) -> int:
    """0, or :data:`~userops.report.EXIT_HELD` when lists of ``day`` were held."""
    from userops.report import EXIT_HELD, held_reasons

    return EXIT_HELD if held_reasons(load_settings(), day) else 0


def _cmd_run(args: argparse.Namespace) -> int:
    from userops.preflight import preflight
    from userops.report import print_summary

    preflight(load_settings())
    conf = {"force_publish": True} if args.force_publish else None
    _print_run(_run_logged(args.date, "run", args.verbose, conf))
    print_summary(load_settings(), args.date)
    return _exit_status(args.date)


def _cmd_backfill(args: argparse.Namespace) -> int:
    """One run per day, oldest first; stops at the first failed day (exit 1)."""
    from userops.preflight import preflight
    from userops.report import print_summary

    if args.end < args.start:
        from userops.config import ConfigError

        raise ConfigError(f"--end {args.end} is before --start {args.start}")
    preflight(load_settings())
    day, held = args.start, 0
    while day <= args.end:
        result = _run_logged(day, "backfill", args.verbose)
        print(f"{day}: {result['state']} in {result['seconds']}s (logs {result['log_file']})")
        held = max(held, _exit_status(day))
        last = day
        day += timedelta(days=1)
    print(f"\nbackfilled {args.start} .. {args.end} (lists older than publish_send_max_age_days "
          "are written and logged, not e-mailed); the last day:")  # fmt: skip
    print_summary(load_settings(), last)
    return held


def _cmd_step(args: argparse.Namespace) -> int:
    from userops import pipeline

    settings = load_settings()
    day = pipeline.business_day(args.date, settings)
    fn = {
        "load_crm": pipeline.step_load_crm,
        "load_events": pipeline.step_load_events,
        "dbt_build": pipeline.step_dbt_build,
        "predict_value": pipeline.step_predict_value,
        "predict_themes": pipeline.step_predict_themes,
        "dbt_build_predicted": pipeline.step_dbt_build_predicted,
        "validate": lambda d, s: pipeline.step_validate(d, f"manual__{d.day}", s),
        "publish": pipeline.step_publish,
    }[args.name]
    print(json.dumps(fn(day, settings), indent=2, default=str))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    """Every dbt data test over the whole history (the nightly gate checks the new slice)."""
    from userops import pipeline
    from userops.transform.dbt import run_dbt

    settings = load_settings()
    day = pipeline.business_day(args.date, settings)
    vars_ = {**pipeline.dbt_vars_for(day, settings), "data_test_since": "0001-01-01"}
    summary = run_dbt(
        ["test", "--resource-type", "test"], settings.warehouse, vars_, raise_on_failure=False
    )
    failed = summary.failed_nodes
    print(f"data tests over the whole history as of {args.date}: "
          f"{len(summary.nodes) - len(failed)} passed, {len(failed)} failed")  # fmt: skip
    for node in failed:
        print(f"  {node.status.upper()} {node.unique_id}: {node.message}")
    if summary.exception is not None:
        print(f"  dbt error: {summary.exception}")
    return 1 if failed or not summary.nodes or not summary.success else 0


def _cmd_dbt_vars(args: argparse.Namespace) -> int:
    """The vars a night passes to dbt, as one line of JSON for ``dbt ... --vars``."""
    from userops import pipeline

    settings = load_settings()
    day = pipeline.business_day(args.date, settings)
    print(json.dumps({**dict(settings.dbt_vars), **day.dbt_vars()}, sort_keys=True, default=str))
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    from userops.report import print_summary

    print_summary(load_settings(), args.date)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from userops.preflight import check_warehouse
    from userops.quality.gx_runtime import validation_report_path
    from userops.report import print_summary

    settings = load_settings()
    args.date = args.date or yesterday()
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    gen_args = argparse.Namespace(
        seed=42, users=args.users, days=args.days, end_date=args.date, dirty_rate=0.02,
        gzip=False, append_day=None,
    )  # fmt: skip
    check_warehouse(settings.warehouse)
    _cmd_generate(gen_args)
    timings["generate sample sources"] = time.monotonic() - t0
    t1 = time.monotonic()
    outbox = settings.output_dir / "outbox"
    with contextlib.ExitStack() as stack:
        if not os.environ.get(f"AIRFLOW_CONN_{settings.smtp_conn_id.upper()}"):
            # No mail relay configured: deliver to a local SMTP server filing .eml files.
            from userops.publish.outbox import local_outbox

            uri = stack.enter_context(local_outbox(outbox, settings.mail_from))
            os.environ[f"AIRFLOW_CONN_{settings.smtp_conn_id.upper()}"] = uri
            stack.callback(os.environ.pop, f"AIRFLOW_CONN_{settings.smtp_conn_id.upper()}")
        result = _run_logged(args.date, "demo", args.verbose)
    timings["userops_nightly (dag.test)"] = time.monotonic() - t1
    _print_run(result)
    print_summary(settings, args.date)
    print("\nTimings:")
    for stage, seconds in timings.items():
        print(f"  {stage:<30} {seconds:6.1f}s")
    print(f"\nWarehouse: {settings.warehouse.describe()}")
    print(f"Outputs:   {settings.output_dir}")
    print(f"  lists:      {settings.output_dir / 'outreach' / args.date.isoformat()}")
    print(f"  validation: {validation_report_path(settings.output_dir)} (reads offline)")
    if outbox.exists():
        print(f"  e-mails:    {outbox} (local demo outbox)")
    return _exit_status(args.date)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="userops", description=__doc__.split("\n")[0])
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also print the Airflow and dbt logs (always in <output>/logs)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write sample CRM database and event files")
    g.add_argument(
        "--users",
        type=int,
        default=DEMO_USERS,
        help=f"platform users to simulate (default {DEMO_USERS:,})",
    )
    g.add_argument(
        "--days",
        type=int,
        default=DEMO_DAYS,
        help=f"days of history, ending at --end-date (default {DEMO_DAYS})",
    )
    g.add_argument("--end-date", type=date.fromisoformat, default=None,
                   help="last day of the sample history (default: yesterday)")  # fmt: skip
    g.add_argument(
        "--seed",
        type=int,
        default=42,
        help="random seed: the same seed and sizes give the same sources",
    )
    g.add_argument(
        "--dirty-rate",
        type=float,
        default=0.02,
        help="share of deliberately bad event lines and CRM values (default 0.02)",
    )
    g.add_argument("--gzip", action="store_true", help="write part-*.jsonl.gz files")
    g.add_argument(
        "--append-day",
        type=date.fromisoformat,
        default=None,
        help="add the next day (YYYY-MM-DD) to existing sources (same --seed and sizes): "
        "its events, late uploads and CRM changes, as the next night would see them",
    )
    g.set_defaults(func=_cmd_generate)

    r = sub.add_parser("run", help="run userops_nightly for one business day")
    r.add_argument(
        "--date",
        type=date.fromisoformat,
        required=True,
        help="business day D (YYYY-MM-DD); its lists are sent the morning after",
    )
    r.add_argument(
        "--force-publish",
        action="store_true",
        help="publish a held or past date anyway (a list already sent is never resent)",
    )
    r.set_defaults(func=_cmd_run)

    b = sub.add_parser("backfill", help="run userops_nightly for each day in [start, end]")
    b.add_argument(
        "--start", type=date.fromisoformat, required=True, help="first business day (YYYY-MM-DD)"
    )
    b.add_argument(
        "--end", type=date.fromisoformat, required=True, help="last business day, included"
    )
    b.set_defaults(func=_cmd_backfill)

    s = sub.add_parser("step", help="run one pipeline step without Airflow (debugging)")
    s.add_argument(
        "name",
        choices=[
            "load_crm",
            "load_events",
            "dbt_build",
            "predict_value",
            "predict_themes",
            "dbt_build_predicted",
            "validate",
            "publish",
        ],
        help="the step, as the DAG's task of the same name runs it",
    )
    s.add_argument(
        "--date", type=date.fromisoformat, required=True, help="business day D (YYYY-MM-DD)"
    )
    s.set_defaults(func=_cmd_step)

    c = sub.add_parser(
        "check", help="run every data test over the whole history (nightly: the new slice)"
    )
    c.add_argument("--date", type=date.fromisoformat, required=True,
                   help="business day D the as-of vars are set to (usually the latest run)")  # fmt: skip
    c.set_defaults(func=_cmd_check)

    v = sub.add_parser(
        "dbt-vars", help="print the vars a night of D passes to dbt (JSON, for plain dbt --vars)"
    )
    v.add_argument("--date", type=date.fromisoformat, required=True, help="business day D")
    v.set_defaults(func=_cmd_dbt_vars)

    m = sub.add_parser("summary", help="print what the run of a date produced")
    m.add_argument(
        "--date",
        type=date.fromisoformat,
        required=True,
        help="business day D (YYYY-MM-DD) whose run to summarise",
    )
    m.set_defaults(func=_cmd_summary)

    d = sub.add_parser("demo", help="sample data -> nightly DAG on DuckDB -> summary")
    d.add_argument("--date", type=date.fromisoformat, default=None,
                   help="business day to run (default: yesterday, so the lists are this "
                   "morning's and get sent)")  # fmt: skip
    d.add_argument(
        "--users", type=int, default=DEMO_USERS, help=f"sample size (default {DEMO_USERS:,} users)"
    )
    d.add_argument(
        "--days",
        type=int,
        default=DEMO_DAYS,
        help=f"days of sample history ending at --date (default {DEMO_DAYS})",
    )
    d.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 success, 1 a run failed (message on stderr), 2 bad configuration,
    3 the run succeeded but lists were held (the summary says why and what to do)."""
    from userops.config import ConfigError

    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        load_settings()  # every setting checked before anything starts
        return args.func(args)
    except ConfigError as exc:
        print(f"userops: configuration error: {exc}", file=sys.stderr)
        return 2
    except DagRunFailed as exc:
        print(json.dumps(exc.summary, indent=2), file=sys.stderr)
        log_file = exc.summary.get("log_file")
        if log_file and Path(log_file).is_file():
            tail = Path(log_file).read_text(encoding="utf-8", errors="replace").splitlines()
            print(f"last lines of {log_file}:", file=sys.stderr)
            print("\n".join("  " + line for line in tail[-25:]), file=sys.stderr)
        print(f"userops: FAILED: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
