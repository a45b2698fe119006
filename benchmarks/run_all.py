"""Run every benchmark with modest default sizes and print their figures.

    .venv/bin/python benchmarks/run_all.py            # what `make bench` runs (~15 min)
    .venv/bin/python benchmarks/run_all.py --small    # `make bench BENCH_ARGS=--small` (~3 min)
    .venv/bin/python benchmarks/generator.py --users 1000000 --days 90   # the big one
    .venv/bin/python benchmarks/load.py --events 1000000
    .venv/bin/python benchmarks/nightly.py --users 1000000 --days 90 --sources DIR
    .venv/bin/python benchmarks/value_model.py --customers 1000000
    .venv/bin/python benchmarks/need_themes.py --notes 1000000
    .venv/bin/python benchmarks/publish.py --leads 1240000

``benchmarks/dbt_orchestration.py`` (ADR 0004: one dbt task vs Cosmos) is not part of
this run: Cosmos is not in the lock any more; install ``astronomer-cosmos`` to rerun it.

Benchmarks print figures; no test asserts on time.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: size -> arguments of each benchmark
SIZES: dict[str, dict[str, list[str]]] = {
    "default": {
        "generator": ["--users", "100000", "--days", "90"],
        "load": ["--events", "200000", "--crm", "20000"],
        "nightly": ["--users", "5000", "--days", "35"],
        "value_model": ["--customers", "100000"],
        "need_themes": ["--notes", "100000", "--night", "5000"],
        "publish": ["--leads", "200000", "--reps", "150"],
    },
    "small": {
        "generator": ["--users", "2000", "--days", "31"],
        "load": ["--events", "5000", "--crm", "500"],
        "nightly": ["--users", "300", "--days", "31"],
        "value_model": ["--customers", "5000"],
        "need_themes": ["--notes", "2000", "--night", "500"],
        "publish": ["--leads", "5000", "--reps", "20"],
    },
}


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--small", action="store_true", help="tiny sizes: checks every benchmark runs (~3 min)"
    )
    args = parser.parse_args(argv)
    size = SIZES["small" if args.small else "default"]
    titles = {
        "generator": "generator: {} users x {} days",
        "load": "loads: {} event lines, {} leads, DuckDB and PostgreSQL",
        "nightly": "nights: {} users x {} days, DuckDB (onboarding, day 30, last day)",
        "value_model": "value model: CDNOW holdout, BG/NBD fit of {} simulated customers",
        "need_themes": "need themes: fit on {} generated notes, assign a night of {}",
        "publish": "lists: build a day's lists of {} candidate leads for {} reps",
    }
    for name, bench_args in size.items():
        print(f"\n== {titles[name].format(*bench_args[1::2])} ==", flush=True)
        _module(name).main(bench_args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
