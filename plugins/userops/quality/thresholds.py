"""The gate's business thresholds, read from the dbt project vars.

STYLE rule 6: business thresholds are dbt ``vars``, never literals in code.  The
gate reads the same ``vars:`` block of ``dbt_project.yml`` that dbt reads, with
the run's overrides (``USEROPS_DBT_VARS`` merged by the pipeline) on top, so a
threshold is changed in one place for every tool.  The defaults below only
apply while a var is absent from the project.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from userops.config import DBT_PROJECT_DIR


@dataclass(frozen=True)
class QualityThresholds:
    """Tolerances of the quality gate (see each field's var name)."""

    #: ``quality_occurred_at_future_tolerance_hours``: how far past the end of the
    #: business day a device clock may put ``occurred_at`` before we warn.
    occurred_at_future_tolerance_hours: float = 24.0
    #: ``quality_row_count_tolerance``: allowed relative change of a suite's row
    #: count against its previous successful run (0.5 = +-50 %).
    row_count_tolerance: float = 0.5
    #: ``quality_max_quarantine_rate``: share of event lines read that may be
    #: quarantined before we warn.
    max_quarantine_rate: float = 0.01

    @classmethod
    def from_vars(cls, values: Mapping[str, Any]) -> QualityThresholds:
        """Thresholds from dbt vars (missing vars keep their defaults)."""
        default = cls()

        def pick(name: str, current: float) -> float:
            value = values.get(f"quality_{name}")
            return current if value is None else float(value)

        out = cls(
            occurred_at_future_tolerance_hours=pick(
                "occurred_at_future_tolerance_hours", default.occurred_at_future_tolerance_hours
            ),
            row_count_tolerance=pick("row_count_tolerance", default.row_count_tolerance),
            max_quarantine_rate=pick("max_quarantine_rate", default.max_quarantine_rate),
        )
        if out.occurred_at_future_tolerance_hours < 0:
            raise ValueError("quality_occurred_at_future_tolerance_hours must be >= 0")
        if out.row_count_tolerance < 0:
            raise ValueError("quality_row_count_tolerance must be >= 0")
        if not 0 <= out.max_quarantine_rate <= 1:
            raise ValueError("quality_max_quarantine_rate must be within [0, 1]")
        return out


def project_vars(project_dir: Path = DBT_PROJECT_DIR) -> dict[str, Any]:
    """The ``vars:`` mapping of ``dbt_project.yml`` (empty if the file has none)."""
    path = project_dir / "dbt_project.yml"
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    values = data.get("vars") or {}
    return dict(values) if isinstance(values, Mapping) else {}


def load_thresholds(overrides: Mapping[str, Any] | None = None) -> QualityThresholds:
    """Project vars with ``overrides`` (the run's dbt vars) on top."""
    return QualityThresholds.from_vars({**project_vars(), **dict(overrides or {})})
