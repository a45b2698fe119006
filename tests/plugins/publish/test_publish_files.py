"""List files: CSV bytes are canonical, XLSX is readable by people (and by openpyxl)."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from publish_world import D, World, days_ago

from userops.publish.build import LIST_COLUMNS, build_lists
from userops.publish.files import (
    content_hash,
    csv_bytes,
    list_dir,
    read_manifest,
    write_manifest,
    write_rep_files,
    xlsx_bytes,
)
from userops.publish.rules import PublishParams


def _world() -> World:
    w = World().rep("R1", name="王伟").rep("R2", name="李娜")
    w.lead("L1", "R1", tier="A").followup("L1", days_ago(4))
    w.lead("L2", "R1", tier="B")
    w.lead("L3", "R2", tier="C", user_id="U3").lead("L4", "R2", tier="A")
    w.user("U3", lead_id="L3", segment="important_value", stage="growth")
    w.leads[0]["company_name"] = 'Acme "东方", 有限公司'  # quoting must survive
    return w


def _rows(rep_id: str):
    return build_lists(_world().inputs(), D, PublishParams.from_vars()).rep_rows(rep_id)


def test_csv_is_utf8_with_bom_and_byte_identical_across_builds():
    first, second = csv_bytes(_rows("R1")), csv_bytes(_rows("R1"))
    assert first == second
    assert first.startswith(b"\xef\xbb\xbf")
    text = first.decode("utf-8-sig")
    records = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(records[0]) == list(LIST_COLUMNS)
    assert [r["lead_id"] for r in records] == ["L1", "L2"]
    assert records[0]["company_name"] == 'Acme "东方", 有限公司'
    assert records[0]["reason_zh"] == "A 类线索，距上次跟进已 4 天（周期 3 天）"
    assert content_hash(first) == content_hash(second) and len(content_hash(first)) == 64


def test_xlsx_has_chinese_bold_header_frozen_pane_and_widths(tmp_path):
    rows = _rows("R2")
    files = write_rep_files(tmp_path, D, "R2", rows, "李娜")
    assert files.csv_path == list_dir(tmp_path, D) / "R2.csv"
    assert files.xlsx_path.name == "R2.xlsx" and files.written
    wb = load_workbook(files.xlsx_path)
    assert wb.sheetnames == ["重点跟进", "例行跟进", "明细"]
    ws = wb.active
    assert ws.title == "例行跟进"  # nothing but routine follow-ups: open on those
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    assert header[:7] == ["优先级", "公司名称", "联系人", "电话", "邮箱", "跟进原因", "建议动作"]
    assert "上次跟进结果" in header and "价值分群代码" not in header  # codes: sheet 明细
    assert all(c.font.bold for c in ws[1])
    col = {name: i for i, name in enumerate(header, start=1)}
    assert ws.cell(2, col["公司名称"]).value == "L4 科技有限公司"  # A before C
    assert ws.cell(3, col["价值分群"]).value == "重要价值客户"
    assert ws.cell(2, col["优先级"]).value == 1
    assert ws.column_dimensions["F"].width > ws.column_dimensions["A"].width  # reason is wide
    full = wb["明细"]
    assert [c.value for c in full[1]] == list(LIST_COLUMNS.values())
    assert full.max_row == len(rows) + 1 and ws.max_row == len(rows) + 1
    assert wb["重点跟进"].max_row == 1  # header only
    assert wb.properties.created.date() == D


def test_calls_that_matter_come_first_and_routine_has_its_own_sheet():
    w = _world()
    w.lead("W", "R1", tier="C", user_id="UW", status="signed").contract("W", days_ago(90))
    w.user("UW", lead_id="W", stage="dormant", segment="important_keep", last_active=days_ago(40))
    w.stage("UW", D, "dormant", "growth")
    rows = build_lists(w.inputs(), D, PublishParams.from_vars()).rep_rows("R1")
    wb = load_workbook(io.BytesIO(xlsx_bytes(rows, D)))
    assert wb.active.title == "重点跟进"
    first = [[c.value for c in r] for r in wb["重点跟进"].iter_rows(min_row=2)]
    routine = [[c.value for c in r] for r in wb["例行跟进"].iter_rows(min_row=2)]
    assert [r[1] for r in first] == ["W 科技有限公司"] and first[0][6] == "挽回电话"
    assert [r[0] for r in routine] == [2, 3]  # priorities continue where the first sheet ends
    assert {r[6] for r in routine} == {"例行跟进"}


def test_xlsx_bytes_are_deterministic_too():
    assert xlsx_bytes(_rows("R1"), D) == xlsx_bytes(_rows("R1"), D)


def test_files_are_only_rewritten_when_their_bytes_change(tmp_path):
    rows = _rows("R1")
    assert write_rep_files(tmp_path, D, "R1", rows).written
    assert not write_rep_files(tmp_path, D, "R1", rows).written
    assert write_rep_files(tmp_path, D, "R1", rows.head(1)).written
    manifest = {"business_date": D.isoformat(), "reps": {"R1": {"rows": 1}}}
    folder = list_dir(tmp_path, D)
    assert write_manifest(folder, manifest)
    assert not write_manifest(folder, dict(manifest))
    assert read_manifest(folder) == manifest


def test_empty_list_still_has_a_header():
    empty = _rows("R9")
    assert empty.empty
    text = csv_bytes(empty).decode("utf-8-sig")
    assert text == ",".join(LIST_COLUMNS) + "\r\n"
    ws = load_workbook(io.BytesIO(xlsx_bytes(empty, D))).active
    assert ws.max_row == 1
