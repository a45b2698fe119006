"""The generator's knobs (:class:`GeneratorConfig`) and its report (:class:`GenerationSummary`).

Kept in their own module so the simulation modules can import them without
importing the orchestration in :mod:`userops.sources.generate` (which re-exports
both names: that is the public import path).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

#: Event span needed so that every lifecycle stage (SPEC §2) can occur at the end
#: date: ``churned`` needs a last active day >= 90 days back, ``mature`` a tenure
#: >= 90 days, and both need a few weeks of margin to be common enough.
MIN_SPAN_DAYS = 120


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate; equal configs give identical sources (bytes and rows).

    ``days`` is the window of daily signups and activity that ends on ``end_date``
    (the last business day generated, in ``timezone``).  ``history_days`` more days
    of the same simulation are generated before the window (the platform's
    existing user base) so that churned and mature users exist; by default just
    enough for a ``MIN_SPAN_DAYS``-day span.  ``users`` is the number of platform
    accounts signed up by ``end_date``.  ``dirty_rate`` scales every deliberate
    defect (0 gives clean data); ``gzip`` writes ``part-*.jsonl.gz``.
    """

    seed: int = 42
    users: int = 2000
    days: int = 60
    end_date: date = date(2026, 3, 31)
    dirty_rate: float = 0.02
    reps: int = 12
    gzip: bool = False
    history_days: int | None = None
    timezone: str = "Asia/Shanghai"

    MAX_USERS: ClassVar[int] = 4_000_000

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if not 1 <= self.users <= self.MAX_USERS:
            raise ValueError(f"users must be in [1, {self.MAX_USERS}], got {self.users}")
        if self.days < 1:
            raise ValueError(f"days must be >= 1, got {self.days}")
        if self.history_days is not None and self.history_days < 0:
            raise ValueError(f"history_days must be >= 0, got {self.history_days}")
        if not 0.0 <= self.dirty_rate <= 0.5:
            raise ValueError(f"dirty_rate must be in [0, 0.5], got {self.dirty_rate}")
        if not 1 <= self.reps <= 999:
            raise ValueError(f"reps must be in [1, 999], got {self.reps}")
        if not isinstance(self.end_date, date) or isinstance(self.end_date, datetime):
            raise TypeError("end_date must be a datetime.date")
        tz = ZoneInfo(self.timezone)
        # The simulation works in whole local days of a fixed UTC offset (true for
        # Asia/Shanghai); refuse a zone with DST rather than write wrong offsets.
        probe = [self.span_start + timedelta(days=k) for k in range(0, self.span_days + 400, 30)]
        offsets = {tz.utcoffset(datetime.combine(d, datetime.min.time())) for d in probe}
        if len(offsets) != 1:
            raise ValueError(f"timezone {self.timezone!r} has DST; use a fixed-offset zone")

    @property
    def effective_history_days(self) -> int:
        if self.history_days is not None:
            return self.history_days
        return max(0, MIN_SPAN_DAYS - self.days)

    @property
    def span_days(self) -> int:
        """Business days simulated up to ``end_date``: history + window."""
        return self.days + self.effective_history_days

    @property
    def span_start(self) -> date:
        return self.end_date - timedelta(days=self.span_days - 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, stored in the events folder's manifest."""
        out = asdict(self)
        out["end_date"] = self.end_date.isoformat()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GeneratorConfig:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["end_date"] = date.fromisoformat(str(kwargs["end_date"]))
        return cls(**kwargs)


@dataclass
class GenerationSummary:
    """What one ``generate`` / ``append_day`` call wrote.

    ``crm_rows``: rows written per table (inserted, or replaced with a newer
    ``updated_at`` by ``append_day``).  ``partitions``: lines per file written,
    keyed ``dt=YYYY-MM-DD/part-NNNNN.jsonl[.gz]``.  ``events_written``: good lines
    (including duplicate deliveries); ``bad_lines``: deliberately broken lines by
    kind; ``crm_dirty``: deliberately dirty CRM values by kind.
    """

    first_day: date
    last_day: date
    users: int = 0
    crm_rows: dict[str, int] = field(default_factory=dict)
    crm_dirty: dict[str, int] = field(default_factory=dict)
    partitions: dict[str, int] = field(default_factory=dict)
    events_written: int = 0
    duplicate_deliveries: int = 0
    late_events: int = 0
    bad_lines: dict[str, int] = field(default_factory=dict)

    @property
    def lines_written(self) -> int:
        return self.events_written + sum(self.bad_lines.values())

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["first_day"] = self.first_day.isoformat()
        out["last_day"] = self.last_day.isoformat()
        out["lines_written"] = self.lines_written
        return out
