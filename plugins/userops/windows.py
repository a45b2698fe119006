"""Data interval -> the business day a run covers.

A run of ``userops_nightly`` covers one business day D in the business time zone
(default Asia/Shanghai).  The DAG's timetable fires at 02:00 local time on D+1 with
the data interval [D 02:00, D+1 02:00); the business day is the local date of the
interval start.  Everything downstream reads the window from here, never from
``now()``, so a rerun or backfill of D computes exactly the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class BusinessDay:
    """Business day ``day`` in ``tz``, with its UTC bounds [start_utc, end_utc)."""

    day: date
    tz: str = "Asia/Shanghai"

    @property
    def start_utc(self) -> datetime:
        local = datetime.combine(self.day, time.min, tzinfo=ZoneInfo(self.tz))
        return local.astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        local = datetime.combine(self.day + timedelta(days=1), time.min, tzinfo=ZoneInfo(self.tz))
        return local.astimezone(UTC)

    @property
    def received_partitions(self) -> list[date]:
        """UTC ``dt=`` partitions that can hold events received during this day."""
        first = self.start_utc.date()
        last = (self.end_utc - timedelta(microseconds=1)).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def dbt_vars(self) -> dict[str, str]:
        """The as-of vars every dbt invocation for this day receives."""
        return {
            "as_of_date": self.day.isoformat(),
            "as_of_end_utc": self.end_utc.strftime("%Y-%m-%d %H:%M:%S"),
            "business_timezone": self.tz,
        }


def business_day_from_interval(data_interval_start: datetime, tz: str) -> BusinessDay:
    """The business day of a run: local date of its data interval start."""
    if data_interval_start.tzinfo is None:
        raise ValueError("data_interval_start must be timezone-aware")
    local = data_interval_start.astimezone(ZoneInfo(tz))
    return BusinessDay(date(local.year, local.month, local.day), tz)


def run_after_for(day: date, tz: str, hour: int = 2) -> datetime:
    """When the nightly run covering ``day`` fires: ``hour``:00 local time on the next day.

    A manual run (``dag.test``, ``airflow dags test``) with this logical date gets the
    data interval [day hour:00, day+1 hour:00), i.e. business day ``day``.
    """
    return datetime.combine(day + timedelta(days=1), time(hour), tzinfo=ZoneInfo(tz))


def nightly_timetable(tz: str, hour: int = 2):  # -> CronDataIntervalTimetable
    """The nightly schedule: fires at ``hour``:00 local time, interval = previous day."""
    from airflow.sdk import CronDataIntervalTimetable

    return CronDataIntervalTimetable(f"0 {hour} * * *", timezone=tz)
