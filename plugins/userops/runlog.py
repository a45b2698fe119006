"""Full run logs in a file, the console kept for the summary.

Airflow's ``dag.test()`` and dbt write hundreds of lines per run, from this process
and from the ones it starts. :func:`captured` points file descriptors 1 and 2 at a
pipe for the duration of a block; a thread copies the pipe into the log file and,
with ``echo``, to the console too. Whatever the block prints (Python, logging,
subprocesses) lands in the file, in order.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path


def log_path(output_dir: Path, command: str, label: str) -> Path:
    """``<output>/logs/<command>-<label>-<UTC time>.log`` (one file per invocation)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return output_dir / "logs" / f"{command}-{label}-{stamp}.log"


@contextlib.contextmanager
def captured(path: Path, echo: bool = False) -> Iterator[Path]:
    """Send stdout and stderr (file descriptors 1 and 2) to ``path`` inside the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    read_fd, write_fd = os.pipe()

    done = threading.Event()

    def pump() -> None:
        # Not "read until EOF": a child process that outlives the block (e.g. one Airflow
        # started) keeps the pipe open. Drain until the block is over and nothing is left.
        with open(path, "ab") as log:
            while True:
                ready, _, _ = select.select([read_fd], [], [], 0.2)
                if not ready:
                    if done.is_set():
                        break
                    continue
                chunk = os.read(read_fd, 65536)
                if not chunk:
                    break
                log.write(chunk)
                log.flush()
                if echo:
                    os.write(saved_out, chunk)
        os.close(read_fd)

    thread = threading.Thread(target=pump, name="userops-runlog", daemon=True)
    thread.start()
    os.dup2(write_fd, 1)
    os.dup2(write_fd, 2)
    os.close(write_fd)
    try:
        yield path
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)  # closes the pipe's last writers held on 1 and 2
        os.dup2(saved_err, 2)
        done.set()
        thread.join(timeout=30)
        os.close(saved_out)
        os.close(saved_err)
