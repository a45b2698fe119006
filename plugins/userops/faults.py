"""Named crash points, for proving that a run killed anywhere can simply be rerun.

``USEROPS_FAULT_KILL_AT=<point>`` makes the process SIGKILL itself when it reaches
``checkpoint(<point>)``: no cleanup handler, no ``finally``, no flush, exactly what an
OOM kill or a lost node does. Unset (always, outside tests), a checkpoint is a dict
lookup. The points:

- ``load_crm.in_transaction`` / ``load_events.in_transaction``: rows inserted,
  nothing committed;
- ``load_events.between_groups``: an event load of several partition groups
  (onboarding) committed its first group, not the others;
- ``dbt.after:<model>``: inside ``dbt build``, right after ``<model>`` was built;
- ``publish.files_written``: the first rep's files are on disk, nothing logged;
- ``publish.after_first_send``: the first rep's e-mail is sent and logged, the
  others are not.
"""

from __future__ import annotations

import os
import signal

ENV = "USEROPS_FAULT_KILL_AT"


def armed(point: str) -> bool:
    return os.environ.get(ENV) == point


def checkpoint(point: str) -> None:
    """Die here, at once, when ``point`` is the armed crash point."""
    if armed(point):
        os.kill(os.getpid(), signal.SIGKILL)


def dbt_model_point(model: str) -> str:
    return f"dbt.after:{model}"
