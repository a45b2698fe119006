"""Line-level checks of the event reader (no warehouse needed)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from fsspec.core import url_to_fs

from userops.extract.events import (
    TRACKING_PLAN,
    iter_chunks,
    list_files,
    list_partitions,
    parse_event,
    parse_timestamp,
)


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-03-01T09:30:00+08:00", datetime(2026, 3, 1, 1, 30)),
        ("2026-03-01T01:30:00Z", datetime(2026, 3, 1, 1, 30)),
        ("2026-03-01 01:30:00.250-05:00", datetime(2026, 3, 1, 6, 30, 0, 250000)),
        ("2026-03-01T01:30:00", None),  # no offset: device-local time is ambiguous
        ("2026-03-01", None),
        ("03/01/2026 01:30 +08:00", None),
        ("", None),
        (1772328600, None),  # epoch numbers are not ISO-8601
        ("0001-01-01T00:00:00+01:00", None),  # before year 1 in UTC
    ],
)
def test_parse_timestamp(text: object, utc: datetime | None) -> None:
    assert parse_timestamp(text) == utc


def test_tracking_plan_is_the_spec_list() -> None:
    assert len(TRACKING_PLAN) == 10 and {"order_paid", "page_view"} <= TRACKING_PLAN


def test_unknown_type_reason_is_truncated_and_ids_reject_bools() -> None:
    base = '"user_id": "u", "occurred_at": "2026-03-01T00:00:00Z", "received_at": "2026-03-01T00:00:00Z"'
    long_type = "x" * 500
    reason = parse_event(f'{{"event_id": "e", "event_type": "{long_type}", {base}}}')
    assert reason == "unknown_event_type:" + "x" * 100
    assert (
        parse_event(f'{{"event_id": true, "event_type": "login", {base}}}') == "bad_field:event_id"
    )
    assert parse_event(f'{{"event_id": "e", "event_type": "Login", {base}}}') == (
        "unknown_event_type:Login"  # the tracking plan is exact: no silent case folding
    )


def test_utf8_bom_on_the_first_line_is_not_an_error(tmp_path) -> None:
    line = '{"event_id": "e", "user_id": "u", "event_type": "login", "occurred_at": "2026-03-01T00:00:00Z", "received_at": "2026-03-01T00:00:00Z"}'
    (tmp_path / "dt=2026-03-01").mkdir()
    (tmp_path / "dt=2026-03-01" / "part-0.jsonl").write_bytes(
        b"\xef\xbb\xbf" + line.encode() + b"\n" + line.encode() + b"\n"
    )
    fs, root = url_to_fs(str(tmp_path))
    chunks = list(iter_chunks(fs, list_files(fs, list_partitions(fs, root))))
    assert [c.events.num_rows for c in chunks] == [2]


def test_listing_skips_foreign_folders_and_files(tmp_path) -> None:
    for name in ["dt=2026-03-01", "dt=2026-02-30", "dt=latest", "other"]:
        (tmp_path / name).mkdir()
    (tmp_path / "dt=2026-03-01" / "part-1.jsonl").write_text("{}\n")
    (tmp_path / "dt=2026-03-01" / "part-0.jsonl.gz").write_bytes(b"")
    (tmp_path / "dt=2026-03-01" / "part-2.json").write_text("{}\n")
    (tmp_path / "dt=2026-03-02").write_text("a file, not a partition")
    fs, root = url_to_fs(f"file://{tmp_path}")

    parts = list_partitions(fs, root)

    assert list(parts) == [date(2026, 3, 1)]
    assert [f.name for f in list_files(fs, parts)] == [
        "dt=2026-03-01/part-0.jsonl.gz",
        "dt=2026-03-01/part-1.jsonl",
    ]
