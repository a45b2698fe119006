"""Running the README's entry points the way a user runs them (``make …``, ``userops …``).

Each ``make`` call gets a throwaway data folder (``USEROPS_DATA_DIR``) and Airflow home
(``AIRFLOW_HOME=…`` on the command line, as a user would override it), so the tests
leave the repository's ``data/`` and ``.airflow/`` alone; everything else is the
Makefile as shipped.  Used by ``test_entry_points_demo.py`` and
``test_entry_points_tools.py`` (two files, so a parallel run spreads them).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
USEROPS = Path(sys.executable).with_name("userops")


def env_for(data_dir: Path) -> dict[str, str]:
    """The caller's environment minus any userops setting or SMTP connection, plus a
    private data folder: what a user's shell looks like on a fresh clone."""
    env = {
        k: v
        for k, v in os.environ.items()
        # not inherited from `make test` either: a nested make prints "Entering directory"
        if not k.startswith(("USEROPS_", "AIRFLOW_CONN_", "PYTEST_", "MAKE"))
    }
    env["USEROPS_DATA_DIR"] = str(data_dir)
    return env


def make(target: str, env: dict[str, str], airflow_home: Path, *args: str, timeout=900):
    return subprocess.run(
        ["make", target, f"AIRFLOW_HOME={airflow_home}", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def explain(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n{proc.stdout[-5000:]}\n{proc.stderr[-3000:]}"


@contextlib.contextmanager
def serving(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """Start a long-running command in its own process group; stop the whole group."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
                try:
                    proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue


def get(url: str, headers: dict[str, str] | None = None, data: bytes | None = None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


def wait_for(url: str, proc: subprocess.Popen, log: Path, seconds: float) -> bytes:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"exited with {proc.returncode} before serving:\n{log.read_text()[-4000:]}")
        with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError):
            status, body = get(url)
            if status == 200:
                return body
        time.sleep(2)
    pytest.fail(f"{url} did not answer within {seconds:.0f}s:\n{log.read_text()[-4000:]}")
