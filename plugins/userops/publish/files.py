"""List files: canonical CSV (whose sha256 is the list's identity), XLSX, ``manifest.json``.

Layout: ``<output_dir>/outreach/<YYYY-MM-DD>/<rep_id>.csv|.xlsx`` and ``manifest.json``.

Everything is byte-deterministic: the CSV is written by hand-picked rules (UTF-8
with BOM so Excel shows Chinese, ``\\r\\n``, minimal quoting, ``None`` -> empty);
the XLSX gets its document times from D and fixed zip entry times; the manifest is
sorted JSON without wall-clock times.  So "same inputs" means "same bytes", and a
file is only replaced when its bytes change: a rerun of a published date rewrites
nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from userops.publish.build import LIST_COLUMNS

MANIFEST_NAME = "manifest.json"
_BOM = "\ufeff"

#: XLSX column widths (characters; a Chinese character counts about two).
_WIDTHS: Mapping[str, int] = {
    "business_date": 12, "rep_id": 10, "rep_name": 10, "priority": 8, "lead_id": 12,
    "user_id": 12, "company_name": 30, "contact_name": 12, "phone": 16, "email": 28,
    "lead_tier": 10, "rfm_segment": 18, "rfm_segment_zh": 14, "lifecycle_stage": 14,
    "lifecycle_stage_zh": 10, "reason_code": 24, "reason_zh": 56, "suggested_action": 20,
    "suggested_action_zh": 14, "last_followup_date": 14, "next_followup_date": 14,
    "priority_score": 8, "assignment": 12, "last_outcome_zh": 12, "assignment_reason_zh": 30,
}  # fmt: skip


def list_dir(output_dir: Path, day: date) -> Path:
    """Folder of one business date's lists."""
    return Path(output_dir) / "outreach" / day.isoformat()


def _cell(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def csv_bytes(rows: pd.DataFrame) -> bytes:
    """The canonical CSV of one list (header = column codes); its hash identifies the list."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    cols = list(LIST_COLUMNS)
    writer.writerow(cols)
    for record in rows[cols].itertuples(index=False, name=None):
        writer.writerow([_cell(v) for v in record])
    return (_BOM + buf.getvalue()).encode("utf-8")


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


#: What a rep reads first, in this order (Chinese only); the full row with every code
#: column is on the third sheet, as in the CSV.
REP_COLUMNS: tuple[str, ...] = (
    "priority", "company_name", "contact_name", "phone", "email", "reason_zh",
    "suggested_action_zh", "top_need", "last_outcome_zh", "last_followup_date", "next_followup_date",
    "lead_tier", "rfm_segment_zh", "lifecycle_stage_zh", "assignment_reason_zh",
)  # fmt: skip

#: Sheets of the workbook: (title, which rows, columns).  Routine follow-ups have their
#: own sheet so a dozen identical cadence reasons never bury the calls that matter.
SHEETS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("重点跟进", "priority", REP_COLUMNS),
    ("例行跟进", "routine", REP_COLUMNS),
    ("明细", "all", tuple(LIST_COLUMNS)),
)
ROUTINE_ACTION = "routine_followup"


def _sheet_rows(rows: pd.DataFrame, which: str) -> pd.DataFrame:
    if which == "all" or rows.empty:
        return rows
    routine = rows["suggested_action"] == ROUTINE_ACTION
    return rows[routine if which == "routine" else ~routine]


def xlsx_bytes(rows: pd.DataFrame, day: date, rep_name: str = "") -> bytes:
    """The list as a workbook for a rep (:data:`SHEETS`): the calls that matter, then the
    routine follow-ups, each with the Chinese columns a rep needs first; then every
    column as in the CSV.  Bold header, frozen below it, filters.

    Cells hold the same text as the CSV (numbers as numbers).  Document properties and
    zip entry times come from D, so the bytes depend only on the content.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook()
    wb.remove(wb.active)
    for title, which, cols in SHEETS:
        part = _sheet_rows(rows, which)
        ws = wb.create_sheet(title)
        ws.append([LIST_COLUMNS[c] for c in cols])
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(vertical="center")
        for record in part[list(cols)].itertuples(index=False, name=None):
            ws.append([v if isinstance(v, int) else _cell(v) for v in record])
        for i, col in enumerate(cols, start=1):
            ws.column_dimensions[get_column_letter(i)].width = _WIDTHS.get(col, 14)
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{max(len(part) + 1, 1)}"
    # open on the calls that matter; on the routine sheet when there are none
    wb.active = 0 if len(_sheet_rows(rows, "priority")) or rows.empty else 1

    stamp = datetime(day.year, day.month, day.day)
    props = wb.properties
    props.creator = "userops"
    props.lastModifiedBy = "userops"
    props.title = f"跟进名单 {day.isoformat()} {rep_name}".strip()
    props.created = stamp
    props.modified = stamp

    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).write_data()  # save_workbook() would stamp "now"
    return _fixed_zip_times(raw.getvalue(), (day.year, day.month, day.day, 0, 0, 0))


def _fixed_zip_times(data: bytes, stamp: tuple[int, int, int, int, int, int]) -> bytes:
    """Re-pack a zip with every entry dated ``stamp`` (zipfile stamps the wall clock)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()


def _tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


def remove_partial_files(folder: Path) -> list[Path]:
    """Delete temp files a killed writer left in ``folder`` (they never replaced a file)."""
    stale = sorted(folder.glob(".*.tmp")) if folder.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def write_if_changed(path: Path, data: bytes) -> bool:
    """Atomically replace ``path`` with ``data`` unless it already holds exactly that."""
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_path(path)
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


@dataclass(frozen=True)
class RepFiles:
    """One rep's list files; ``content_hash`` is the sha256 of the canonical CSV."""

    csv_path: Path
    xlsx_path: Path
    content_hash: str
    xlsx: bytes
    written: bool  # False when both files already held these bytes


def rep_file_names(rep_id: str) -> tuple[str, str]:
    return f"{rep_id}.csv", f"{rep_id}.xlsx"


def write_rep_files(
    output_dir: Path, day: date, rep_id: str, rows: pd.DataFrame, rep_name: str = ""
) -> RepFiles:
    """Write ``<rep_id>.csv`` and ``.xlsx`` for ``day`` (only the bytes that changed)."""
    folder = list_dir(output_dir, day)
    csv_name, xlsx_name = rep_file_names(rep_id)
    data = csv_bytes(rows)
    book = xlsx_bytes(rows, day, rep_name)
    wrote_csv = write_if_changed(folder / csv_name, data)
    wrote_xlsx = write_if_changed(folder / xlsx_name, book)
    return RepFiles(
        csv_path=folder / csv_name,
        xlsx_path=folder / xlsx_name,
        content_hash=content_hash(data),
        xlsx=book,
        written=wrote_csv or wrote_xlsx,
    )


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST_NAME
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def write_manifest(folder: Path, manifest: Mapping[str, Any]) -> bool:
    """Write ``manifest.json`` (sorted, no wall-clock times) if its bytes changed."""
    return write_if_changed(folder / MANIFEST_NAME, manifest_bytes(manifest))
