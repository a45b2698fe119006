"""The gate's results as one self-contained HTML page that reads offline.

GX Data Docs load their CSS, JavaScript and status icons from CDNs, so on a
machine without internet the page is blank (the validation list is built by
JavaScript).  This page is rendered from the gate's own results instead: inline
CSS, no JavaScript, no image, no URL outside the page itself, every text
escaped.  It is written next to the Data Docs
(``<output_dir>/data_docs/validation.html``, :func:`validation_report_path`) and
is the page the pipeline summary points at.  It shows the latest gate run of
the output directory; the history stays in ``meta.validation_results`` and the
Data Docs.

The page is deterministic: the same results give the same bytes (no wall-clock
time; suites in gate order, expectations in suite order), so a rerun of a date
with the same data rewrites an identical file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from userops.quality.gx_runtime import validation_report_path
from userops.quality.results import RESULTS_TABLE, ExpectationOutcome
from userops.quality.suites import CRITICAL

if TYPE_CHECKING:
    from userops.quality.gate import GateResult, SuiteSummary

#: Suite status words, as shown on the page (and in each section's ``data-status``).
PASSED = "passed"
PASSED_WITH_WARNINGS = "passed with warnings"
FAILED = "failed"

#: ``<meta>`` naming the business date of the page (read by :func:`report_for_date`).
_DATE_META = "userops-business-date"

_CSS = """
body{font:14px/1.45 "Liberation Sans",Arial,Helvetica,sans-serif;color:#1f2328;
background:#fff;margin:24px;max-width:1150px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0;display:inline}
p.meta{color:#57606a;margin:0 0 16px}
table{border-collapse:collapse;width:100%;margin:8px 0 4px}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px/1.4 "Liberation Mono",Menlo,Consolas,monospace;overflow-wrap:anywhere}
table.expectations{table-layout:fixed}
section{border:1px solid #d0d7de;border-left-width:6px;border-radius:4px;
padding:10px 14px;margin:16px 0}
section.passed{border-left-color:#1a7f37}section.warning{border-left-color:#bf8700}
section.failed{border-left-color:#cf222e}
.badge{display:inline-block;border-radius:10px;padding:1px 10px;margin-left:8px;
font-weight:bold;font-size:12px;color:#fff;vertical-align:2px}
.badge.passed{background:#1a7f37}.badge.warning{background:#9a6700}
.badge.failed{background:#cf222e}
tr.failed-critical td{background:#ffebe9}tr.failed-warning td{background:#fff8c5}
td.res{white-space:nowrap;font-weight:bold}
tr.passed td.res{color:#1a7f37}tr.failed-critical td.res,tr.failed td.res{color:#cf222e}
tr.failed-warning td.res,tr.warning td.res{color:#9a6700}
tr.failed td{background:#ffebe9}tr.warning td{background:#fff8c5}
footer{color:#57606a;margin-top:24px;font-size:12px}
""".strip()


#: Column widths of an expectation table (fixed layout: every suite's table lines up).
_COLGROUP = (
    "<colgroup>"
    + "".join(f'<col style="width:{w}%">' for w in (11, 26, 12, 8, 23, 20))
    + "</colgroup>"
)


def suite_status(summary: SuiteSummary) -> str:
    """:data:`FAILED` on a critical failure, else with or without warnings."""
    if summary.failed_critical:
        return FAILED
    return PASSED_WITH_WARNINGS if summary.failed_warning else PASSED


def _css_class(status: str) -> str:
    return {PASSED: "passed", PASSED_WITH_WARNINGS: "warning", FAILED: "failed"}[status]


def _anchor(suite: str) -> str:
    return "suite-" + "".join(c if c.isalnum() else "-" for c in suite)


def _badge(status: str) -> str:
    return f'<span class="badge {_css_class(status)}">{escape(status.upper())}</span>'


def _e(value: object) -> str:
    return "" if value is None else escape(str(value))


def _name(value: str) -> str:
    """An identifier, escaped, that may wrap after each underscore (never mid-word)."""
    return escape(value).replace("_", "_<wbr>")


def _outcome_row(o: ExpectationOutcome) -> str:
    if o.success:
        css, label = "passed", "pass"
    elif o.severity == CRITICAL:
        css, label = "failed-critical", "FAIL (critical)"
    else:
        css, label = "failed-warning", f"FAIL ({o.severity})"
    args = "" if o.expectation_args in ("", "{}") else o.expectation_args
    return (
        f'<tr class="{css}"><td class="res">{escape(label)}</td>'
        f"<td><code>{_name(o.expectation)}</code></td><td>{_name(o.column_name or '')}</td>"
        f"<td>{_e(o.severity)}</td><td><code>{_e(args)}</code></td>"
        f"<td><code>{_e(o.observed_value)}</code></td></tr>"
    )


def _suite_section(summary: SuiteSummary, outcomes: Sequence[ExpectationOutcome]) -> str:
    status = suite_status(summary)
    rows = summary.row_count if summary.row_count is not None else "table not found"
    body = "\n".join(_outcome_row(o) for o in outcomes) or (
        '<tr><td colspan="6">no expectation evaluated</td></tr>'
    )
    return (
        f'<section id="{_anchor(summary.suite)}" class="{_css_class(status)}" '
        f'data-suite="{escape(summary.suite)}" data-status="{escape(status)}">\n'
        f"<h2>{escape(summary.suite)}</h2>{_badge(status)}\n"
        f'<p class="meta">rows: {_e(rows)} &middot; {summary.passed} of {summary.evaluated} '
        f"expectations passed &middot; {summary.failed_critical} critical and "
        f"{summary.failed_warning} warning failure(s)</p>\n"
        f'<table class="expectations">{_COLGROUP}<thead><tr><th>result</th>'
        "<th>expectation</th><th>column</th><th>severity</th><th>arguments</th>"
        "<th>observed</th></tr></thead>\n"
        f"<tbody>\n{body}\n</tbody></table>\n</section>"
    )


def _overview(result: GateResult) -> str:
    rows = []
    for name, s in result.suites.items():
        status = suite_status(s)
        rows.append(
            f'<tr class="{_css_class(status)}">'
            f'<td><a href="#{_anchor(name)}">{escape(name)}</a></td>'
            f'<td class="res">{escape(status)}</td>'
            f'<td class="num">{_e(s.row_count if s.row_count is not None else "-")}</td>'
            f'<td class="num">{s.passed}/{s.evaluated}</td>'
            f'<td class="num">{s.failed_critical}</td><td class="num">{s.failed_warning}</td></tr>'
        )
    return (
        "<table><thead><tr><th>suite</th><th>status</th><th>rows</th><th>passed</th>"
        "<th>critical failures</th><th>warnings</th></tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody></table>"
    )


def render_report(result: GateResult, outcomes: Sequence[ExpectationOutcome]) -> str:
    """The page for one gate run: an overview, then one section per suite."""
    by_suite: dict[str, list[ExpectationOutcome]] = {name: [] for name in result.suites}
    for o in outcomes:
        by_suite.setdefault(o.suite, []).append(o)
    gate = PASSED if result.passed else FAILED
    if result.passed and result.warnings:
        gate = PASSED_WITH_WARNINGS
    title = f"userops validation {result.business_date.isoformat()}"
    sections = "\n".join(_suite_section(s, by_suite[name]) for name, s in result.suites.items())
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="{_DATE_META}" content="{result.business_date.isoformat()}">\n'
        f"<title>{escape(title)}</title>\n<style>\n{_CSS}\n</style></head>\n<body>\n"
        f"<h1>Quality gate {escape(result.business_date.isoformat())}{_badge(gate)}</h1>\n"
        f'<p class="meta">run {escape(result.run_id)} &middot; {len(result.suites)} suite(s) '
        f"&middot; {len(result.failed_critical)} critical failure(s), "
        f"{len(result.warnings)} warning(s)</p>\n"
        f"{_overview(result)}\n{sections}\n"
        f"<footer>Every result is also a row of <code>{escape(RESULTS_TABLE)}</code>. "
        'The GX Data Docs (<a href="index.html">index.html</a>) hold the history but need '
        "internet for their styles and scripts.</footer>\n"
        "</body></html>\n"
    )


def write_report(
    output_dir: Path, result: GateResult, outcomes: Sequence[ExpectationOutcome]
) -> Path:
    """Render and write the page under ``output_dir``; returns its path."""
    path = validation_report_path(output_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(render_report(result, outcomes), encoding="utf-8")
    tmp.replace(path)  # readers never see half a page
    return path


def report_for_date(output_dir: Path, day: date) -> Path | None:
    """The offline report of ``output_dir`` if its latest gate run was for ``day``."""
    path = validation_report_path(output_dir)
    try:
        head = path.read_text(encoding="utf-8")[:2000]
    except OSError:
        return None
    return path if f'name="{_DATE_META}" content="{day.isoformat()}"' in head else None
