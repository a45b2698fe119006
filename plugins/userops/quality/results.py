"""Expectation results as rows of ``meta.validation_results``.

One row per evaluated expectation: what was checked, how severe a failure is,
whether it passed and what was observed, as text an analyst can read in SQL.
Writes replace the (business_date, suite) rows in one transaction, so a rerun of
a date leaves exactly one set of results for it (STYLE rule 4); ``run_id`` says
which run wrote them.  The table is also the memory of the gate: a suite's row
count is compared with its previous successful run read from here.

``column_name`` rather than ``column``: ``column`` is a reserved word in both
warehouses and would need quoting in every query an analyst writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from userops.quality.suites import CRITICAL, ROW_COUNT_EXPECTATION
from userops.warehouse import Warehouse

RESULTS_TABLE = "meta.validation_results"

#: Kwargs that name the checked column(s) or the batch, not the rule's arguments.
_COLUMN_KWARGS = ("column", "column_list", "column_A", "column_B")
_SKIPPED_KWARGS = ("batch_id", *_COLUMN_KWARGS)
#: Example unexpected values quoted per result.
_MAX_EXAMPLES = 5
#: Longest observed_value text kept (a long value list is not a report).
_MAX_OBSERVED_CHARS = 500

_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("business_date", pa.date32()),
        ("suite", pa.string()),
        ("expectation", pa.string()),
        ("column_name", pa.string()),
        ("expectation_args", pa.string()),
        ("severity", pa.string()),
        ("success", pa.bool_()),
        ("observed_value", pa.string()),
        ("validated_at", pa.timestamp("us")),
    ]
)


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result, flattened for the results table and reports."""

    suite: str
    expectation: str
    column_name: str | None
    expectation_args: str
    severity: str
    success: bool
    observed_value: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """``suite: expectation(column) args -> observed`` for messages and logs."""
        column = f"({self.column_name})" if self.column_name else ""
        args = "" if self.expectation_args in ("{}", "") else f" {self.expectation_args}"
        return f"{self.suite}: {self.expectation}{column}{args} -> observed {self.observed_value}"


# --------------------------------------------------------------------------------------
# GX result -> outcome
# --------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """numpy / pandas scalars and timestamps as plain JSON-friendly values."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, str | bool):
        return value
    if pd.isna(value):  # NaN, NaT, pd.NA
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _text(value: Any) -> str:
    value = _plain(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _MAX_OBSERVED_CHARS else text[: _MAX_OBSERVED_CHARS - 3] + "..."


def _exception_message(exception_info: Any) -> str | None:
    """The first raised exception's message (GX keys exception_info by metric)."""
    if not exception_info:
        return None
    infos = [exception_info] if "raised_exception" in exception_info else exception_info.values()
    for info in infos:
        if isinstance(info, Mapping) and info.get("raised_exception"):
            return str(info.get("exception_message") or "exception")
    return None


def describe_observed(result: Mapping[str, Any], exception_info: Any = None) -> str | None:
    """What the expectation saw, as text: a value, or the unexpected rows, or an error."""
    error = _exception_message(exception_info)
    if error:
        return _text(f"error: {error}")
    if "observed_value" in result:
        return None if result["observed_value"] is None else _text(result["observed_value"])
    if "unexpected_count" in result:
        count = int(result.get("unexpected_count") or 0)
        total = int(result.get("element_count") or 0)
        text = f"{count} of {total} unexpected"
        if count:
            examples = [
                f"{_text(item['value'])} x{item['count']}"
                for item in (result.get("partial_unexpected_counts") or [])[:_MAX_EXAMPLES]
            ]
            if examples:
                text += ": " + ", ".join(examples)
        return _text(text)
    if not result:
        return "no result (a column is missing?)"
    return _text(result)


def _column_name(kwargs: Mapping[str, Any]) -> str | None:
    if kwargs.get("column") is not None:
        return str(kwargs["column"])
    if kwargs.get("column_list"):
        return ",".join(map(str, kwargs["column_list"]))
    if kwargs.get("column_A") is not None:
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    return None


def outcomes_from_validation(suite: str, validation: Any) -> list[ExpectationOutcome]:
    """Flatten a GX ``ExpectationSuiteValidationResult`` (one row per expectation)."""
    out: list[ExpectationOutcome] = []
    for res in validation.results:
        config = res.expectation_config
        kwargs = dict(config.kwargs)
        args = {k: _plain(v) for k, v in sorted(kwargs.items()) if k not in _SKIPPED_KWARGS}
        severity = getattr(config, "severity", None) or CRITICAL
        out.append(
            ExpectationOutcome(
                suite=suite,
                expectation=config.type,
                column_name=_column_name(kwargs),
                expectation_args=json.dumps(args, ensure_ascii=False, default=str),
                severity=str(getattr(severity, "value", severity)),
                success=bool(res.success),
                observed_value=describe_observed(res.result or {}, res.exception_info),
            )
        )
    return out


def missing_table_outcome(suite: str) -> ExpectationOutcome:
    """A table the gate was asked to check does not exist: a critical failure."""
    return ExpectationOutcome(
        suite=suite,
        expectation="expect_table_to_exist",
        column_name=None,
        expectation_args="{}",
        severity=CRITICAL,
        success=False,
        observed_value="table not found",
    )


# --------------------------------------------------------------------------------------
# The results table
# --------------------------------------------------------------------------------------


def ensure_results_table(wh: Warehouse) -> None:
    """Create ``meta.validation_results`` if missing (same DDL on both warehouses)."""
    wh.execute("create schema if not exists meta")
    wh.execute(
        f"create table if not exists {RESULTS_TABLE} ("
        "run_id varchar not null, business_date date not null, suite varchar not null, "
        "expectation varchar not null, column_name varchar, expectation_args varchar, "
        "severity varchar not null, success boolean not null, observed_value varchar, "
        "validated_at timestamp not null)"
    )


def replace_results(
    wh: Warehouse,
    *,
    run_id: str,
    business_date: date,
    suites: Sequence[str],
    outcomes: Iterable[ExpectationOutcome],
    validated_at: datetime,
) -> int:
    """Delete the date's rows of ``suites`` and insert ``outcomes``, in one transaction."""
    rows = list(outcomes)
    unknown = {o.suite for o in rows} - set(suites)
    if unknown:
        raise ValueError(f"outcomes for suites not being replaced: {sorted(unknown)}")
    table = pa.Table.from_pylist(
        [
            {
                "run_id": run_id,
                "business_date": business_date,
                "validated_at": validated_at,
                **{k: v for k, v in o.to_dict().items()},
            }
            for o in rows
        ],
        schema=_SCHEMA,
    )
    ensure_results_table(wh)
    with wh.transaction():
        if suites:
            wh.execute(
                f"delete from {RESULTS_TABLE} where business_date = {wh.param} "
                f"and suite in ({', '.join([wh.param] * len(suites))})",
                [business_date, *suites],
            )
        wh.bulk_insert(RESULTS_TABLE, table)
    return table.num_rows


def previous_row_count(wh: Warehouse, suite: str, business_date: date) -> int | None:
    """Row count of ``suite`` on its latest earlier date without a critical failure.

    Earlier *business dates* (not earlier wall-clock runs), so a rerun or backfill
    of a date compares with the same baseline every time.  None: no such run.
    """
    if not wh.table_exists("meta", "validation_results"):
        return None
    p = wh.param
    rows = wh.fetchall(
        f"select r.observed_value from {RESULTS_TABLE} as r "
        f"where r.suite = {p} and r.expectation = {p} and r.business_date < {p} "
        "and r.observed_value is not null "
        f"and not exists (select 1 from {RESULTS_TABLE} as f where f.suite = r.suite "
        f"and f.business_date = r.business_date and f.severity = {p} and not f.success) "
        "order by r.business_date desc limit 1",
        [suite, ROW_COUNT_EXPECTATION, business_date, CRITICAL],
    )
    if not rows:
        return None
    try:
        return int(rows[0][0])
    except (TypeError, ValueError):
        return None
