"""The offline validation report: built from a real gate run, then opened in headless Chromium.

One gate run (DuckDB, hand-made tables) serves every test: ``marts.users`` has a
duplicated key (critical failure), ``raw.events__quarantine`` holds 5 of 45 lines
(warning only) and ``marts.retention_cohorts`` does not exist (critical failure);
the other suites pass.

The browser test needs ``/usr/bin/chromium`` (Debian package ``chromium``): it
skips without it on a laptop and *fails* under ``CI=true``.
"""

from __future__ import annotations

import dataclasses
import os
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from quality_samples import DAY, create_warehouse, good_frames, quarantine_rows

from userops.config import Settings, WarehouseTarget
from userops.quality.gate import GateResult, QualityGateFailed, run_quality_gate
from userops.quality.offline_report import (
    FAILED,
    PASSED,
    PASSED_WITH_WARNINGS,
    render_report,
    report_for_date,
)
from userops.quality.results import ExpectationOutcome
from userops.quality.suites import SUITE_NAMES
from userops.quality.thresholds import load_thresholds
from userops.report import print_summary
from userops.warehouse import Warehouse
from userops.windows import BusinessDay

CHROMIUM = Path("/usr/bin/chromium")
#: Suite -> status the page must show; every other suite passes.
NOT_PASSED = {
    "raw.events__quarantine": PASSED_WITH_WARNINGS,
    "marts.users": FAILED,
    "marts.retention_cohorts": FAILED,
}
EXPECTED_STATUS = {name: NOT_PASSED.get(name, PASSED) for name in SUITE_NAMES}
#: Badge colours of the page's CSS (failed, passed), looked for in the screenshot.
RED, GREEN = (0xCF, 0x22, 0x2E), (0x1A, 0x7F, 0x37)


@dataclasses.dataclass
class GateRun:
    output_dir: Path
    target: WarehouseTarget
    result: GateResult
    page: Path
    html: str


@pytest.fixture(scope="module")
def gate_run(tmp_path_factory) -> GateRun:
    tmp = tmp_path_factory.mktemp("offline_report")
    target = WarehouseTarget(kind="duckdb", duckdb_path=tmp / "warehouse.duckdb")
    frames = good_frames()
    users = frames["marts.users"]
    frames["marts.users"] = pd.concat([users, users.iloc[[1]]], ignore_index=True)
    frames["raw.events__quarantine"] = quarantine_rows(DAY, 5)  # 5 of 45 lines > 1 %
    del frames["marts.retention_cohorts"]
    create_warehouse(target, frames)

    output_dir = tmp / "out"
    with pytest.raises(QualityGateFailed) as caught:
        run_quality_gate(target, DAY, output_dir, "run-offline", thresholds=load_thresholds())
    result = caught.value.result
    assert result.report_path is not None
    return GateRun(
        output_dir, target, result, result.report_path, result.report_path.read_text("utf-8")
    )


class _Page(HTMLParser):
    """Sections (suite -> status, expectation rows) and every src/href of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: dict[str, str] = {}
        self.rows: dict[str, list[list[str]]] = {}
        self.links: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []
        self._suite: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        self.links += [v or "" for k, v in attrs.items() if k in ("src", "href")]
        if tag == "section":
            self._suite = attrs["data-suite"]
            self.sections[self._suite] = attrs["data-status"]
            self.rows[self._suite] = []
        elif tag == "tr" and self._suite:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "section":
            self._suite = None
        elif tag == "td" and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._suite:
            if self._row:  # header rows have no td
                self.rows[self._suite].append(self._row)
            self._row = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def assert_self_contained(html: str) -> None:
    page = parse(html)
    assert "http://" not in html and "https://" not in html
    remote = [link for link in page.links if not (link.startswith("#") or link == "index.html")]
    assert remote == [], f"links leaving the page: {remote}"
    assert not page.tags & {"script", "link", "img", "iframe", "object", "embed"}
    assert "url(" not in html and "@import" not in html


# --------------------------------------------------------------------------------------
# The page, from a real gate run
# --------------------------------------------------------------------------------------


def test_gate_writes_the_offline_page_next_to_the_data_docs(gate_run):
    out = gate_run.output_dir.resolve()
    assert gate_run.page == out / "data_docs" / "validation.html"
    assert gate_run.result.data_docs_index == out / "data_docs" / "index.html"
    assert gate_run.result.to_dict()["report_path"] == str(gate_run.page)
    assert report_for_date(gate_run.output_dir, DAY.day) == gate_run.page.resolve()
    assert report_for_date(gate_run.output_dir, DAY.day.replace(day=2)) is None


def test_page_names_every_suite_with_its_status(gate_run):
    page = parse(gate_run.html)
    assert page.sections == EXPECTED_STATUS
    assert list(page.sections) == list(SUITE_NAMES)  # gate order
    text = " ".join(" ".join(page.text).split())
    assert "Quality gate 2026-03-01 FAILED" in text
    for name, status in EXPECTED_STATUS.items():
        assert f"{name} {status.upper()}" in text


def test_page_lists_each_expectation_with_result_and_observed_value(gate_run):
    page = parse(gate_run.html)
    for name, summary in gate_run.result.suites.items():
        assert len(page.rows[name]) == summary.evaluated
        assert sum(r[0] == "pass" for r in page.rows[name]) == summary.passed
    # columns: result, expectation, column, severity, arguments, observed
    assert [r for r in page.rows["marts.users"] if r[0] != "pass"] == [
        [
            "FAIL (critical)",
            "expect_column_values_to_be_unique",
            "user_id",
            "critical",
            "",
            "2 of 7 unexpected: u1 x2",
        ]
    ]
    assert page.rows["marts.retention_cohorts"] == [
        ["FAIL (critical)", "expect_table_to_exist", "", "critical", "", "table not found"]
    ]
    failed = [r for r in page.rows["raw.events__quarantine"] if r[0] != "pass"]
    assert [(r[0], r[1], r[5]) for r in failed] == [
        ("FAIL (warning)", "expect_table_row_count_to_be_between", "5")
    ]
    assert (page.rows["raw.events__events"][0][:5]) == [
        "pass",
        "expect_column_values_to_not_be_null",
        "event_id",
        "critical",
        "",
    ]


def test_page_is_self_contained(gate_run):
    assert_self_contained(gate_run.html)
    assert "<style>" in gate_run.html  # inline CSS only


def recorded_outcomes(gate_run: GateRun) -> list[ExpectationOutcome]:
    fields = [f.name for f in dataclasses.fields(ExpectationOutcome)]
    with Warehouse(gate_run.target) as wh:
        rows = wh.fetchall(f"select {', '.join(fields)} from meta.validation_results")
    return [ExpectationOutcome(**dict(zip(fields, row, strict=True))) for row in rows]


def test_page_is_a_pure_function_of_the_results(gate_run):
    """Same results, same bytes: no clock, no ordering by chance."""
    outcomes = recorded_outcomes(gate_run)
    assert render_report(gate_run.result, outcomes) == gate_run.html
    assert render_report(gate_run.result, list(outcomes)) == gate_run.html


def test_every_text_is_escaped(gate_run):
    hostile = '<script>alert("x")</script> & <img src="https://cdn.example/x.png">'
    outcomes = recorded_outcomes(gate_run)
    outcomes[0] = dataclasses.replace(
        outcomes[0], observed_value=hostile, column_name="<b>col</b>", expectation_args=hostile
    )
    html = render_report(gate_run.result, outcomes)
    page = parse(html)
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img" in html
    assert not page.tags & {"script", "img", "b"}
    assert all(not link.startswith("http") for link in page.links)
    assert page.rows[outcomes[0].suite][0][5] == hostile  # shown as text, unchanged


def test_summary_prints_the_offline_page_for_its_date(gate_run, capsys):
    settings = Settings(
        crm_url="", events_url="", warehouse=gate_run.target, output_dir=gate_run.output_dir
    )
    print_summary(settings, DAY.day)
    assert f"report (reads offline): {gate_run.page}" in capsys.readouterr().out
    other = BusinessDay(DAY.day.replace(day=2), DAY.tz)
    print_summary(settings, other.day)
    assert "reads offline" not in capsys.readouterr().out  # the page is of another date


# --------------------------------------------------------------------------------------
# Headless Chromium, network denied
# --------------------------------------------------------------------------------------


def require_chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    why = f"{CHROMIUM} not found (Debian package: chromium)"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"headless Chromium is required in CI: {why}")
    pytest.skip(why)


def decode_png(data: bytes) -> np.ndarray:
    """RGB pixels (height x width x 3) of an 8-bit, non-interlaced RGB/RGBA PNG (stdlib zlib)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        (size,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + size]
        pos += 12 + size
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    assert header is not None, "no IHDR"
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and not interlace, header
    bpp = 3 if colour == 2 else 4
    stride = width * bpp
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8)
    raw = raw.reshape(height, stride + 1)
    pixels = np.empty((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, line = int(raw[y, 0]), raw[y, 1:]
        if kind == 0:  # None
            row = line.copy()
        elif kind == 1:  # Sub: a running sum per channel, modulo 256
            row = np.cumsum(line.reshape(width, bpp), axis=0, dtype=np.uint8).reshape(stride)
        elif kind == 2:  # Up
            row = line + prev
        else:  # Average / Paeth: sequential along the row
            cur, up, filt = bytearray(stride), prev.tobytes(), line.tobytes()
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                b = up[i]
                if kind == 3:
                    cur[i] = (filt[i] + ((a + b) >> 1)) & 0xFF
                    continue
                c = up[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[i] = (filt[i] + pred) & 0xFF
            row = np.frombuffer(bytes(cur), dtype=np.uint8)
        pixels[y] = row
        prev = row
    return pixels.reshape(height, width, bpp)[:, :, :3]


def count_near(pixels: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 4) -> int:
    diff = np.abs(pixels.astype(np.int16) - np.array(rgb, dtype=np.int16))
    return int((diff <= tolerance).all(axis=2).sum())


def test_chromium_renders_suites_and_statuses_offline(gate_run, tmp_path):
    chromium = require_chromium()
    png = tmp_path / "validation.png"
    command = [
        str(chromium),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        # Network denied: no host resolves and every proxied request goes to a closed port.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
        f"--screenshot={png}",
        "--window-size=1200,1600",
        "--dump-dom",
        gate_run.page.resolve().as_uri(),
    ]
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=120, env={**os.environ, "TZ": "UTC"}
    )
    assert run.returncode == 0, run.stderr[-2000:]

    dom = run.stdout
    page = parse(dom)
    assert page.sections == EXPECTED_STATUS, dom[:2000]
    text = " ".join(" ".join(page.text).split())
    for name, status in EXPECTED_STATUS.items():
        assert f"{name} {status.upper()}" in text  # heading and badge as rendered
        assert f"{name} {status} " in text  # overview row
    assert_self_contained(dom)

    assert png.exists() and png.stat().st_size > 10_000
    pixels = decode_png(png.read_bytes())
    assert pixels.shape == (1600, 1200, 3)
    rgb = pixels.astype(np.uint32)
    colours = np.unique((rgb[:, :, 0] << 16) | (rgb[:, :, 1] << 8) | rgb[:, :, 2])
    assert len(colours) > 16, f"blank screenshot: {len(colours)} colour(s)"
    assert tuple(pixels[2, 2]) == (255, 255, 255)  # white page background
    assert count_near(pixels, RED) > 200, "no FAILED badge / row in the screenshot"
    assert count_near(pixels, GREEN) > 200, "no PASSED badge / row in the screenshot"
