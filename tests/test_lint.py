"""Machines enforce conventions (STYLE rule 13): ruff (with the Airflow 3 ``AIR`` rules),
ruff format and SQLFluff (dbt templater) run in the test suite, so CI fails on them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(args: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, f"{' '.join(args)}\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"


def test_ruff_check():
    _run([str(BIN / "ruff"), "check", "."])


def test_ruff_format():
    _run([str(BIN / "ruff"), "format", "--check", "."])


@pytest.mark.slow
def test_sqlfluff(tmp_path):
    env = {**os.environ, "USEROPS_DUCKDB_PATH": str(tmp_path / "lint.duckdb")}
    _run([str(BIN / "sqlfluff"), "lint", "models", "macros", "tests"], ROOT / "dbt_project", env)
