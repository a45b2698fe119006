"""The nightly quality gate: validate a business day's data, record it, stop on critical.

``run_quality_gate`` is the one entry point (the DAG's ``validate`` task and the
CLI call it).  For each dataset it fetches the run's rows (``datasets``),
validates them with the dataset's suite (``suites``), then

1. replaces the day's rows in ``meta.validation_results`` (``results``),
2. builds the Data Docs site under ``<output_dir>/data_docs/`` and, next to it,
   the self-contained ``validation.html`` that reads offline (``offline_report``;
   the Data Docs load their styles and scripts from CDNs),
3. raises :class:`QualityGateFailed` if any *critical* expectation failed, so
   publishing never runs on data that broke a contract.  Warnings are recorded,
   logged and returned, and do not block.

Each dataset is validated with its ``ValidationDefinition`` and the Data Docs are
built once at the end for all of them.  A GX ``Checkpoint`` would pass the same
``batch_parameters`` (one dataframe) to every validation, so it would take one
checkpoint per dataset, and an ``UpdateDataDocsAction`` on each would rebuild the
site index (which reads every listed result) once per dataset instead of once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from userops.config import WarehouseTarget
from userops.quality.datasets import events_lines_read, fetch_dataset
from userops.quality.gx_runtime import (
    DATA_DOCS_SITE,
    DATASOURCE,
    data_docs_dir,
    import_gx,
    make_context,
)
from userops.quality.offline_report import write_report
from userops.quality.results import (
    RESULTS_TABLE,
    ExpectationOutcome,
    missing_table_outcome,
    outcomes_from_validation,
    previous_row_count,
    replace_results,
)
from userops.quality.suites import (
    CRITICAL,
    SUITE_NAMES,
    build_suite,
    get_spec,
    suite_parameters,
)
from userops.quality.thresholds import QualityThresholds, load_thresholds
from userops.warehouse import Warehouse
from userops.windows import BusinessDay

log = logging.getLogger(__name__)

#: GX result detail: counts plus up to 20 example unexpected values per expectation.
RESULT_FORMAT = "SUMMARY"
#: Failures listed in the exception message (all are in the table and the docs).
_MAX_LISTED = 25


@dataclass
class SuiteSummary:
    """Counts of one suite's run."""

    suite: str
    row_count: int | None
    evaluated: int = 0
    passed: int = 0
    failed_critical: int = 0
    failed_warning: int = 0

    @property
    def success(self) -> bool:
        return self.failed_critical == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "row_count": self.row_count,
            "evaluated": self.evaluated,
            "passed": self.passed,
            "failed_critical": self.failed_critical,
            "failed_warning": self.failed_warning,
            "success": self.success,
        }


@dataclass
class GateResult:
    """Outcome of one gate run; ``to_dict()`` is plain JSON (the task's XCom)."""

    run_id: str
    business_date: date
    suites: dict[str, SuiteSummary] = field(default_factory=dict)
    failed_critical: list[ExpectationOutcome] = field(default_factory=list)
    warnings: list[ExpectationOutcome] = field(default_factory=list)
    data_docs_index: Path | None = None
    #: The offline page (``offline_report``): what to open on a machine without internet.
    report_path: Path | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failed_critical

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "business_date": self.business_date.isoformat(),
            "passed": self.passed,
            "suites": {name: s.to_dict() for name, s in self.suites.items()},
            "failed_critical": [o.to_dict() for o in self.failed_critical],
            "warnings": [o.to_dict() for o in self.warnings],
            "data_docs_index": str(self.data_docs_index) if self.data_docs_index else None,
            "report_path": str(self.report_path) if self.report_path else None,
            "results_table": RESULTS_TABLE,
            "seconds": round(self.seconds, 3),
        }


class QualityGateFailed(RuntimeError):
    """A critical expectation failed; ``result`` holds everything that was checked."""

    def __init__(self, result: GateResult):
        self.result = result
        lines = [o.describe() for o in result.failed_critical[:_MAX_LISTED]]
        more = len(result.failed_critical) - len(lines)
        if more > 0:
            lines.append(f"... and {more} more in {RESULTS_TABLE}")
        docs = f"\nReport: {result.report_path}" if result.report_path else ""
        if result.data_docs_index:
            docs += f"\nData Docs: {result.data_docs_index}"
        super().__init__(
            f"quality gate failed for {result.business_date} (run {result.run_id}): "
            f"{len(result.failed_critical)} critical expectation(s) failed:\n  - "
            + "\n  - ".join(lines)
            + docs
        )


class SuiteRunner:
    """One ephemeral Data Context holding every suite and a dataframe asset per dataset.

    All suites are registered even when only some are validated, so the Data Docs
    index always lists every suite.
    """

    def __init__(self, output_dir: Path | None = None):
        gx = import_gx()
        self.output_dir = output_dir
        self.context = make_context(output_dir)
        source = self.context.data_sources.add_pandas(DATASOURCE)
        self._definitions: dict[str, Any] = {}
        for name in SUITE_NAMES:
            suite = self.context.suites.add(build_suite(name))
            batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(
                "run_slice"
            )
            self._definitions[name] = self.context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=batch, suite=suite)
            )
        self._result_ids: list[Any] = []

    def validate(
        self,
        name: str,
        frame: pd.DataFrame,
        parameters: Mapping[str, Any],
        business_date: date | None = None,
    ) -> Any:
        """Validate ``frame`` with suite ``name``; returns the GX suite validation result.

        With ``business_date`` the result is stored under (suite, date): a rerun of
        the date overwrites its page in the Data Docs instead of adding one.
        """
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        run_id = None
        if business_date is not None:
            run_id = RunIdentifier(
                run_name=business_date.isoformat(),
                run_time=datetime(
                    business_date.year, business_date.month, business_date.day, tzinfo=UTC
                ),
            )
        definition = self._definitions[get_spec(name).name]
        validation = definition.run(
            batch_parameters={"dataframe": frame},
            expectation_parameters=dict(parameters),
            result_format=RESULT_FORMAT,
            run_id=run_id,
        )
        if run_id is not None:
            self._result_ids.append(
                ValidationResultIdentifier(
                    expectation_suite_identifier=ExpectationSuiteIdentifier(name=name),
                    run_id=run_id,
                    batch_identifier=validation.batch_id,
                )
            )
        return validation

    def build_data_docs(self) -> Path | None:
        """Render this run's results and the index; returns the index path."""
        if self.output_dir is None:
            return None
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
        )

        # Never an empty list: GX reads "no identifiers" as "re-render every stored result".
        suites = [ExpectationSuiteIdentifier(name=name) for name in SUITE_NAMES]
        self.context.build_data_docs(
            site_names=[DATA_DOCS_SITE], resource_identifiers=[*suites, *self._result_ids]
        )
        return data_docs_dir(self.output_dir.resolve()) / "index.html"


def _select(datasets: Sequence[str] | None) -> list[str]:
    if datasets is None:
        return list(SUITE_NAMES)
    for name in datasets:
        get_spec(name)  # raises KeyError naming the known suites
    return [n for n in SUITE_NAMES if n in set(datasets)]


def run_quality_gate(
    target: WarehouseTarget,
    day: BusinessDay,
    output_dir: Path,
    run_id: str,
    datasets: list[str] | None = None,
    *,
    dbt_vars: Mapping[str, Any] | None = None,
    thresholds: QualityThresholds | None = None,
) -> GateResult:
    """Validate ``datasets`` (default: every suite) for ``day``; raise on a critical failure.

    ``dbt_vars`` are the run's dbt vars (e.g. ``pipeline.dbt_vars_for(day, settings)``)
    on top of ``dbt_project.yml``'s; ``thresholds`` overrides both (tests).
    Results are written even when the gate fails, then :class:`QualityGateFailed`
    is raised with the :class:`GateResult` attached.
    """
    t0 = time.perf_counter()
    names = _select(datasets)
    limits = thresholds or load_thresholds(dbt_vars)
    runner = SuiteRunner(output_dir)
    result = GateResult(run_id=run_id, business_date=day.day)
    outcomes: list[ExpectationOutcome] = []

    with Warehouse(target) as wh:
        lines_read = events_lines_read(wh, day) if "raw.events__quarantine" in names else None
        for name in names:
            frame = fetch_dataset(wh, name, day)
            if frame is None:
                suite_outcomes = [missing_table_outcome(name)]
                row_count = None
            else:
                params = suite_parameters(
                    day,
                    limits,
                    row_count_baseline=previous_row_count(wh, name, day.day),
                    lines_read=lines_read,
                )
                validation = runner.validate(name, frame, params, business_date=day.day)
                suite_outcomes = outcomes_from_validation(name, validation)
                row_count = len(frame)
                del frame
            result.suites[name] = _summarise(name, row_count, suite_outcomes)
            outcomes += suite_outcomes
        replace_results(
            wh,
            run_id=run_id,
            business_date=day.day,
            suites=names,
            outcomes=outcomes,
            validated_at=datetime.now(UTC).replace(tzinfo=None),  # bookkeeping only
        )

    result.failed_critical = [o for o in outcomes if not o.success and o.severity == CRITICAL]
    result.warnings = [o for o in outcomes if not o.success and o.severity != CRITICAL]
    result.data_docs_index = runner.build_data_docs()
    result.report_path = write_report(output_dir.resolve(), result, outcomes)
    result.seconds = time.perf_counter() - t0
    _log(result)
    if not result.passed:
        raise QualityGateFailed(result)
    return result


def _summarise(
    name: str, row_count: int | None, outcomes: list[ExpectationOutcome]
) -> SuiteSummary:
    summary = SuiteSummary(suite=name, row_count=row_count, evaluated=len(outcomes))
    for o in outcomes:
        if o.success:
            summary.passed += 1
        elif o.severity == CRITICAL:
            summary.failed_critical += 1
        else:
            summary.failed_warning += 1
    return summary


def _log(result: GateResult) -> None:
    for name, s in result.suites.items():
        log.info(
            "%s: %s rows, %d/%d passed, %d critical and %d warning failures",
            name,
            s.row_count,
            s.passed,
            s.evaluated,
            s.failed_critical,
            s.failed_warning,
        )
    for o in result.warnings:
        log.warning("quality warning: %s", o.describe())
    for o in result.failed_critical:
        log.error("quality failure: %s", o.describe())
    log.info(
        "quality gate %s for %s in %.1fs; report: %s; Data Docs: %s",
        "passed" if result.passed else "FAILED",
        result.business_date,
        result.seconds,
        result.report_path,
        result.data_docs_index,
    )
