"""Run every benchmark with modest default sizes and print their figures.

    .venv/bin/python benchmarks/run_all.py            # what `make bench` runs
    .venv/bin/python benchmarks/generator.py --users 1000000 --days 90   # the big one
    .venv/bin/python benchmarks/load.py --events 1000000
    .venv/bin/python benchmarks/dbt_orchestration.py

Benchmarks print figures; no test asserts on time.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    print("== generator: 100,000 users x 90 days ==")
    _module("generator").main(["--users", "100000", "--days", "90"])
    print("\n== loads: 200,000 event lines, 20,000 leads, DuckDB and PostgreSQL ==")
    _module("load").main(["--events", "200000", "--crm", "20000"])
    print(
        "\n== dbt orchestration: single task vs Cosmos (1 rep, DuckDB; ADR 0004 ran 3 reps x 2) =="
    )
    _module("dbt_orchestration").main(["--reps", "1", "--warehouses", "duckdb"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
