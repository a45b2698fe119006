"""Readers for generated sources, shared by the generator tests.

Classifies every event line the way the loader must (good, or which defect), so
the tests check the files themselves rather than the generator's own counts.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text

from userops.sources.crm_db import TABLES
from userops.sources.generate import GenerationSummary, GeneratorConfig, generate

SMALL = {"users": 300, "days": 30, "end_date": date(2026, 3, 31)}
REQUIRED = (
    "event_id",
    "user_id",
    "event_type",
    "occurred_at",
    "received_at",
    "platform",
    "properties",
)
TRACKING_PLAN = {
    "signup": set(),
    "login": set(),
    "page_view": {"path"},
    "search": {"query"},
    "listing_published": {"listing_id"},
    "listing_updated": {"listing_id"},
    "profile_updated": set(),
    "inquiry_sent": {"listing_id"},
    "feature_used": {"feature"},
    "order_paid": {"order_id", "amount", "currency"},
}


@dataclass
class Line:
    """One line of an event file, classified the way the loader must classify it."""

    file: str  # relative to the events folder
    number: int
    text: str
    obj: dict[str, Any] | None  # parsed, or None when not valid JSON
    problem: str | None  # None for a good line, else the kind of defect

    @property
    def partition(self) -> date:
        return date.fromisoformat(self.file.split("/")[0].removeprefix("dt="))


def _problem(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return "invalid_json"
    if any(key not in obj for key in REQUIRED):
        return "missing_field"
    if obj["event_type"] not in TRACKING_PLAN:
        return "unknown_event_type"
    for key in ("occurred_at", "received_at"):
        value = obj[key]
        try:
            parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None or len(value) != 25:
            return "bad_timestamp"
    return None


@dataclass
class Sources:
    """A generated CRM + events folder, with readers."""

    config: GeneratorConfig
    crm_url: str
    events_dir: Path
    summary: GenerationSummary
    _lines: list[Line] | None = None

    def files(self) -> dict[str, bytes]:
        """Relative path -> bytes of every part file."""
        return {
            str(p.relative_to(self.events_dir)): p.read_bytes()
            for p in sorted(self.events_dir.glob("dt=*/part-*"))
        }

    def digest(self) -> str:
        h = hashlib.sha256()
        for name, data in self.files().items():
            h.update(name.encode() + b"\0" + data)
        return h.hexdigest()

    def lines(self) -> list[Line]:
        """Every line of every part file (parsed once, then cached)."""
        if self._lines is None:
            self._lines = self._read_lines()
        return self._lines

    def _read_lines(self) -> list[Line]:
        out = []
        for name, data in self.files().items():
            raw = gzip.decompress(data) if name.endswith(".gz") else data
            for number, text_ in enumerate(raw.decode("utf-8").splitlines(), start=1):
                try:
                    obj = json.loads(text_)
                except json.JSONDecodeError:
                    obj = None
                out.append(Line(name, number, text_, obj, _problem(obj)))
        return out

    def good(self) -> list[dict[str, Any]]:
        return [line.obj for line in self.lines() if line.problem is None and line.obj]

    def table(self, name: str) -> list[dict[str, Any]]:
        engine = create_engine(self.crm_url)
        try:
            with engine.connect() as conn:
                table = TABLES[name]  # typed read: datetimes, bools, decimals
                result = conn.execute(select(table).order_by(table.primary_key.columns.values()[0]))
                return [dict(row._mapping) for row in result]
        finally:
            engine.dispose()

    def columns(self, name: str) -> list[str]:
        engine = create_engine(self.crm_url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(f"select * from {name} where 1 = 0")).keys())
        finally:
            engine.dispose()


def make_sources(root: Path, **overrides: Any) -> Sources:
    config = GeneratorConfig(**{**SMALL, **overrides})
    crm_url = f"sqlite:///{root / 'crm.sqlite'}"
    events_dir = root / "events"
    return Sources(config, crm_url, events_dir, generate(config, crm_url, events_dir))
