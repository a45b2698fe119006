"""The gate's business thresholds, read from the dbt project vars.

STYLE rule 6: business thresholds are dbt ``vars``, never literals in code.  The
gate reads the same ``vars:`` block of ``dbt_project.yml`` that dbt reads, with
the run's overrides (``USEROPS_DBT_VARS`` merged by the pipeline) on top, so a
threshold is changed in one place for every tool.  There are no defaults in
code: a var missing from the project is a configuration error naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from userops.config import project_vars

__all__ = ["QualityThresholds", "load_thresholds", "project_vars"]


@dataclass(frozen=True)
class QualityThresholds:
    """Tolerances of the quality gate (see each field's var name)."""

    #: ``quality_occurred_at_future_tolerance_hours``: how far past the end of the
    #: business day a device clock may put ``occurred_at`` before we warn.
    occurred_at_future_tolerance_hours: float
    #: ``quality_row_count_tolerance``: allowed relative change of a suite's row
    #: count against its previous successful run (0.5 = +-50 %).
    row_count_tolerance: float
    #: ``quality_max_quarantine_rate``: share of event lines read that may be
    #: quarantined before we warn.
    max_quarantine_rate: float

    @classmethod
    def from_vars(cls, values: Mapping[str, Any]) -> QualityThresholds:
        """Thresholds from dbt vars; each ``quality_<field>`` var must be set."""

        def pick(name: str) -> float:
            value = values.get(f"quality_{name}")
            if value is None:
                raise ValueError(f"dbt var quality_{name} is not set (dbt_project.yml vars)")
            return float(value)

        out = cls(
            occurred_at_future_tolerance_hours=pick("occurred_at_future_tolerance_hours"),
            row_count_tolerance=pick("row_count_tolerance"),
            max_quarantine_rate=pick("max_quarantine_rate"),
        )
        if out.occurred_at_future_tolerance_hours < 0:
            raise ValueError("quality_occurred_at_future_tolerance_hours must be >= 0")
        if out.row_count_tolerance < 0:
            raise ValueError("quality_row_count_tolerance must be >= 0")
        if not 0 <= out.max_quarantine_rate <= 1:
            raise ValueError("quality_max_quarantine_rate must be within [0, 1]")
        return out


def load_thresholds(overrides: Mapping[str, Any] | None = None) -> QualityThresholds:
    """Project vars with ``overrides`` (the run's dbt vars) on top."""
    return QualityThresholds.from_vars({**project_vars(), **dict(overrides or {})})
