"""Independent reading of the SPEC §1.2 event files with pandas (for reference checks).

Deliberately written apart from ``userops.load``: the end-to-end tests compare what
the warehouse says with what this straightforward reading of the files says.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

#: SPEC §1.2 tracking plan, written out again on purpose: the references do not import
#: production code. By default every type makes a user active (SPEC §2).
ALL_EVENT_TYPES: tuple[str, ...] = (
    "signup", "login", "page_view", "search", "listing_published", "listing_updated",
    "profile_updated", "inquiry_sent", "feature_used", "order_paid",
)  # fmt: skip
TRACKING_PLAN = frozenset(ALL_EVENT_TYPES)
REQUIRED = ("event_id", "user_id", "event_type", "occurred_at", "received_at")


def _ts(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _good(obj: object) -> bool:
    if not isinstance(obj, dict):
        return False
    if any(obj.get(f) in (None, "") for f in REQUIRED):
        return False
    if obj["event_type"] not in TRACKING_PLAN:
        return False
    if _ts(obj["occurred_at"]) is None or _ts(obj["received_at"]) is None:
        return False
    props = obj.get("properties", {})
    if props is not None and not isinstance(props, dict):
        return False
    if obj["event_type"] == "order_paid":
        props = props or {}
        amount = props.get("amount")
        if props.get("order_id") in (None, "") or isinstance(amount, bool):
            return False
        try:
            float(amount)
        except (TypeError, ValueError):
            return False
    return True


def read_events(events_dir: Path) -> tuple[pd.DataFrame, int]:
    """All good lines of every partition (duplicates kept) and the count of bad lines."""
    rows, bad = [], 0
    for path in sorted(Path(events_dir).glob("dt=*/part-*.jsonl*")):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                try:
                    obj = json.loads(line)
                except ValueError:
                    bad += 1
                    continue
                if not _good(obj):
                    bad += 1
                    continue
                props = obj.get("properties") or {}
                rows.append({
                    "event_id": str(obj["event_id"]),
                    "user_id": str(obj["user_id"]),
                    "event_type": obj["event_type"],
                    "occurred_at": _ts(obj["occurred_at"]).astimezone(UTC),
                    "received_at": _ts(obj["received_at"]).astimezone(UTC),
                    "order_id": props.get("order_id"),
                    "amount": props.get("amount"),
                })  # fmt: skip
    return pd.DataFrame(rows), bad


def events_as_of(events: pd.DataFrame, day: date, tz: str = "Asia/Shanghai") -> pd.DataFrame:
    """Events known by the end of business day ``day``, de-duplicated on event_id,
    with their business date (``occurred_date``)."""
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=ZoneInfo(tz))
    known = events[events["received_at"] < end.astimezone(UTC)]
    known = known.sort_values(["event_id", "received_at"]).drop_duplicates("event_id")
    known = known.assign(
        occurred_date=known["occurred_at"].map(lambda t: t.astimezone(ZoneInfo(tz)).date())
    )
    return known.reset_index(drop=True)


def dau_wau_mau(events: pd.DataFrame, day: date) -> dict[str, int]:
    """SPEC §2: distinct active users on d, in [d-6, d], in [d-29, d]."""

    def distinct(days: int) -> int:
        lo = day - timedelta(days=days - 1)
        sel = events[(events["occurred_date"] >= lo) & (events["occurred_date"] <= day)]
        return int(sel["user_id"].nunique())

    return {"dau": distinct(1), "wau": distinct(7), "mau": distinct(30)}
