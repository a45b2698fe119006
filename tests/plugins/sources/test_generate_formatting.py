"""The vectorised line formatting agrees with the standard library."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import numpy as np

from userops.sources.events import BAD_TIMESTAMP, INVALID_JSON, MISSING_FIELD
from userops.sources.jsonl import REQUIRED_FIELDS, break_line, iso_strings, uuid_strings

LINE = json.dumps(
    {
        "event_id": "0b0f7f0e-8a4b-4c4e-9d7e-1f2a3b4c5d6e",
        "user_id": "u0000042",
        "event_type": "search",
        "occurred_at": "2026-03-01T09:15:02+08:00",
        "received_at": "2026-03-01T09:15:04+08:00",
        "platform": "web",
        "properties": {"query": "钢材"},
    },
    ensure_ascii=False,
    separators=(",", ":"),
)


def test_iso_strings_match_isoformat() -> None:
    rng = np.random.default_rng(0)
    epoch = rng.integers(1_700_000_000, 1_800_000_000, 5000)
    offsets = (8 * 3600, 0, -5 * 3600, 5 * 3600 + 1800)
    which = rng.integers(0, len(offsets), len(epoch))
    got = iso_strings(epoch, offsets, which).to_pylist()
    for text, ts, k in zip(got, epoch.tolist(), which.tolist(), strict=True):
        tz = timezone(timedelta(seconds=offsets[k]))
        assert text == datetime.fromtimestamp(ts, tz).isoformat()


def test_uuid_strings_are_version_4() -> None:
    raw = np.random.default_rng(1).integers(0, 256, (500, 16), dtype=np.uint8)
    for text in uuid_strings(raw).to_pylist():
        assert uuid.UUID(text).version == 4 and str(uuid.UUID(text)) == text


def test_broken_lines_break_the_way_they_say() -> None:
    for param in range(60):
        try:
            json.loads(break_line(LINE, INVALID_JSON, param))
        except json.JSONDecodeError:
            pass
        else:
            raise AssertionError(f"still valid JSON with param {param}")
        missing = json.loads(break_line(LINE, MISSING_FIELD, param))
        assert len(set(REQUIRED_FIELDS) - set(missing)) == 1
        bad = json.loads(break_line(LINE, BAD_TIMESTAMP, param))
        values = [bad["occurred_at"], bad["received_at"]]
        broken = [v for v in values if not isinstance(v, str) or not _parses(v)]
        assert len(broken) == 1


def _parses(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False
