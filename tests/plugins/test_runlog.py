"""Run logs: everything a run prints (Python, logging, child processes) lands in the file."""

from __future__ import annotations

import os
import subprocess
import sys

from userops.config import PROJECT_ROOT
from userops.runlog import log_path

PLUGINS = PROJECT_ROOT / "plugins"


_SCRIPT = """
import logging, subprocess, sys
from pathlib import Path
from userops.runlog import captured
logging.basicConfig(level=logging.INFO)
with captured(Path(sys.argv[1]), echo=sys.argv[2] == "echo"):
    print("from python")
    logging.getLogger("x").warning("from logging")
    subprocess.run([sys.executable, "-c", "print('from a child')"], check=True)
print("after")
"""


def _run(tmp_path, echo: str) -> tuple[str, str]:
    path = log_path(tmp_path, "run", "2001-02-03")
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(path), echo],
        capture_output=True, text=True, check=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(PLUGINS)},
    )  # fmt: skip
    return path.read_text(), proc.stdout + proc.stderr


def test_output_of_python_logging_and_children_goes_to_the_file(tmp_path):
    assert log_path(tmp_path, "run", "D").parent == tmp_path / "logs"
    text, console = _run(tmp_path, "quiet")
    lines = [line for line in text.splitlines() if "from" in line]
    assert len(lines) == 3 and "from python" in lines[0] and "from a child" in lines[2]
    assert "from logging" in lines[1]
    assert "from" not in console and console.strip() == "after"  # the console is back


def test_echo_copies_to_the_console(tmp_path):
    text, console = _run(tmp_path, "echo")
    for line in ("from python", "from logging", "from a child"):
        assert line in text and line in console
