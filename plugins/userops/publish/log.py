"""``meta.publish_log``, list diffs and hold rules: what makes publishing safe to rerun.

``meta.publish_log`` holds one row per (business_date, rep_id):

- ``rows``, ``content_hash``, ``status``, ``reason``, ``recipients``, ``published_at``
  describe the latest publish attempt for the key.  ``status`` is one of
  ``sent`` (mailed to the rep), ``held`` (a hold rule or a missing prerequisite
  stopped it; ``reason`` says which), ``skipped_duplicate`` (this exact list was
  already sent), ``skipped_empty`` (nothing due: no mail), ``backfill`` (a past
  date published after its morning: files written, nothing sent);
- ``sent_content_hash``, ``sent_at``, ``sent_lead_ids`` (JSON array, priority order)
  record what the rep actually has; they survive later attempts and are what the
  idempotency check and tomorrow's diff read.

Rows are replaced per key (delete + bulk insert in one transaction), never appended.

``meta.outreach_assignments`` holds the rows of D's lists as the latest publish of D
built them: one row per (business_date, lead_id) with the rep it went to, priority,
tier, reason, action and why that rep (``assignment``, ``assignment_reason``).  A rerun
of D replaces D's rows.  Whether a rep actually received their list is
``meta.publish_log`` (``sent_content_hash = content_hash``).  BI reads both through
``marts.outreach_outcomes`` (what happened after each listed row).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
import pyarrow as pa

from userops.publish.build import BuildResult
from userops.publish.rules import PublishParams
from userops.warehouse import Warehouse

TABLE = "meta.publish_log"
STATUSES = ("sent", "held", "backfill", "skipped_duplicate", "skipped_empty")

_DDL = f"""
create table if not exists {TABLE} (
    business_date date not null,
    rep_id varchar not null,
    "rows" integer not null,
    content_hash varchar not null,
    status varchar not null,
    reason varchar,
    recipients varchar,
    published_at timestamp not null,
    sent_content_hash varchar,
    sent_at timestamp,
    sent_lead_ids varchar,
    primary key (business_date, rep_id)
)
"""

_SCHEMA = pa.schema(
    [
        ("business_date", pa.date32()),
        ("rep_id", pa.string()),
        ("rows", pa.int32()),
        ("content_hash", pa.string()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("recipients", pa.string()),
        ("published_at", pa.timestamp("us")),
        ("sent_content_hash", pa.string()),
        ("sent_at", pa.timestamp("us")),
        ("sent_lead_ids", pa.string()),
    ]
)


@dataclass(frozen=True)
class LogEntry:
    """One row of ``meta.publish_log`` (timestamps naive UTC)."""

    business_date: date
    rep_id: str
    rows: int
    content_hash: str
    status: str
    reason: str
    recipients: str
    published_at: datetime
    sent_content_hash: str | None = None
    sent_at: datetime | None = None
    sent_lead_ids: tuple[str, ...] = ()


ASSIGNMENTS_TABLE = "meta.outreach_assignments"

#: Columns of ``meta.outreach_assignments`` (list columns of the same names).
_ASSIGNMENT_SCHEMA = pa.schema(
    [
        ("business_date", pa.date32()),
        ("lead_id", pa.string()),
        ("rep_id", pa.string()),
        ("priority", pa.int32()),
        ("priority_score", pa.int32()),
        ("user_id", pa.string()),
        ("lead_tier", pa.string()),
        ("reason_code", pa.string()),
        ("suggested_action", pa.string()),
        ("assignment", pa.string()),
        ("assignment_reason", pa.string()),
    ]
)

_ASSIGNMENTS_DDL = f"""
create table if not exists {ASSIGNMENTS_TABLE} (
    business_date date not null,
    lead_id varchar not null,
    rep_id varchar not null,
    priority integer not null,
    priority_score integer not null,
    user_id varchar,
    lead_tier varchar,
    reason_code varchar not null,
    suggested_action varchar not null,
    assignment varchar not null,
    assignment_reason varchar not null,
    primary key (business_date, lead_id)
)
"""


def ensure_publish_log(wh: Warehouse) -> None:
    """Create ``meta.publish_log`` and ``meta.outreach_assignments`` if missing (same
    DDL on DuckDB and PostgreSQL; dbt's outreach_outcomes views read both)."""
    wh.execute("create schema if not exists meta")
    wh.execute(_DDL)
    wh.execute(_ASSIGNMENTS_DDL)


def write_assignments(wh: Warehouse, day: date, rows: pd.DataFrame) -> None:
    """Replace D's rows of ``meta.outreach_assignments`` with the list rows of D."""
    data = pa.Table.from_pylist(
        [
            {f.name: rec[f.name] for f in _ASSIGNMENT_SCHEMA}
            for rec in rows.assign(business_date=day).to_dict("records")
        ],
        schema=_ASSIGNMENT_SCHEMA,
    )
    p = wh.param
    with wh.transaction():
        wh.execute(f"delete from {ASSIGNMENTS_TABLE} where business_date = {p}", [day])
        wh.bulk_insert(ASSIGNMENTS_TABLE, data)


def _as_date(value: object) -> date:
    return pd.Timestamp(value).date()


def _as_ts(value: object) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()


def _text(value: object) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def _entries(frame: pd.DataFrame) -> list[LogEntry]:
    out = []
    for rec in frame.to_dict("records"):
        ids = _text(rec["sent_lead_ids"])
        out.append(
            LogEntry(
                business_date=_as_date(rec["business_date"]),
                rep_id=str(rec["rep_id"]),
                rows=int(rec["rows"]),
                content_hash=str(rec["content_hash"]),
                status=str(rec["status"]),
                reason=_text(rec["reason"]) or "",
                recipients=_text(rec["recipients"]) or "",
                published_at=_as_ts(rec["published_at"]),  # type: ignore[arg-type]
                sent_content_hash=_text(rec["sent_content_hash"]),
                sent_at=_as_ts(rec["sent_at"]),
                sent_lead_ids=tuple(json.loads(ids)) if ids else (),
            )
        )
    return out


_COLUMNS = ", ".join(f'"{f.name}"' for f in _SCHEMA)


def read_log(wh: Warehouse, day: date) -> dict[str, LogEntry]:
    """Log rows of ``day`` by rep_id."""
    frame = wh.fetch_df(f"select {_COLUMNS} from {TABLE} where business_date = {wh.param}", [day])
    return {e.rep_id: e for e in _entries(frame)}


def previous_sent(wh: Warehouse, day: date) -> dict[str, tuple[date, tuple[str, ...]]]:
    """Per rep, the latest list sent for a date before ``day``: (date, lead_ids)."""
    frame = wh.fetch_df(
        f"select {_COLUMNS} from {TABLE} "
        f"where business_date < {wh.param} and sent_content_hash is not null "
        "order by rep_id, business_date",
        [day],
    )
    out: dict[str, tuple[date, tuple[str, ...]]] = {}
    for entry in _entries(frame):  # ascending dates: the last one per rep wins
        out[entry.rep_id] = (entry.business_date, entry.sent_lead_ids)
    return out


def write_log(wh: Warehouse, entries: Sequence[LogEntry]) -> None:
    """Replace the rows of these keys (one transaction: all or nothing)."""
    if not entries:
        return
    table = pa.Table.from_pylist(
        [
            {
                "business_date": e.business_date,
                "rep_id": e.rep_id,
                "rows": e.rows,
                "content_hash": e.content_hash,
                "status": e.status,
                "reason": e.reason,
                "recipients": e.recipients,
                "published_at": e.published_at,
                "sent_content_hash": e.sent_content_hash,
                "sent_at": e.sent_at,
                "sent_lead_ids": json.dumps(list(e.sent_lead_ids)) if e.sent_content_hash else None,
            }
            for e in entries
        ],
        schema=_SCHEMA,
    )
    p = wh.param
    with wh.transaction():
        for e in entries:
            wh.execute(
                f"delete from {TABLE} where business_date = {p} and rep_id = {p}",
                [e.business_date, e.rep_id],
            )
        wh.bulk_insert(TABLE, table)


# -- diff ----------------------------------------------------------------------------------
def diff_lists(
    previous: tuple[date, Sequence[str]] | None, current: Iterable[str]
) -> dict[str, object]:
    """Added / kept / removed lead ids against the rep's previous sent list (sorted ids)."""
    now = list(current)
    before = list(previous[1]) if previous else []
    added = sorted(set(now) - set(before))
    kept = sorted(set(now) & set(before))
    removed = sorted(set(before) - set(now))
    return {
        "previous_date": previous[0].isoformat() if previous else None,
        "added": added,
        "kept": kept,
        "removed": removed,
        "counts": {"added": len(added), "kept": len(kept), "removed": len(removed)},
    }


# -- holds ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Hold:
    """A reason not to send today's lists: ``code`` for machines, ``detail`` for people."""

    code: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail}


def evaluate_holds(
    build: BuildResult,
    params: PublishParams,
    *,
    validation_passed: bool,
    sources_fresh: bool,
) -> list[Hold]:
    """Day-level hold rules; any hold stops every rep e-mail and alerts instead.

    A list over capacity cannot happen after capping, which is exactly why it is
    checked: if it does, the builder is wrong and nobody should get its output.
    """
    holds: list[Hold] = []
    if not sources_fresh:
        holds.append(Hold("sources_stale", "来源数据未按时更新（sources stale）"))
    if not validation_passed:
        holds.append(Hold("validation_failed", "数据质量校验未通过（validation failed）"))
    over = build.reps[build.reps["rows"] > build.reps["daily_capacity"]]
    if len(over):
        detail = ", ".join(
            f"{r}: {n} > {c}"
            for r, n, c in zip(over["rep_id"], over["rows"], over["daily_capacity"], strict=True)
        )
        holds.append(Hold("over_capacity", f"名单超出每日容量（{detail}）"))
    if build.rows.empty:
        holds.append(Hold("all_lists_empty", "所有销售名单均为空"))
    if build.churn_share > params.churn_hold_share:
        holds.append(
            Hold(
                "churn_spike",
                f"今日转入休眠/流失的用户占比 {build.churn_share:.1%}，"
                f"超过阈值 {params.churn_hold_share:.1%}",
            )
        )
    return holds


def hold_reason(holds: Sequence[Hold]) -> str:
    return ",".join(h.code for h in holds)


def previous_alerted(
    entries: Mapping[str, LogEntry], reasons: Mapping[str, tuple[str, str]]
) -> bool:
    """True when every (rep -> (reason, hash)) is already logged as held for that reason and hash.

    Used to alert once per distinct hold, not on every retry of a held date.
    """
    if not reasons:
        return False
    for rep_id, (reason, digest) in reasons.items():
        e = entries.get(rep_id)
        if e is None or e.status != "held" or e.reason != reason or e.content_hash != digest:
            return False
        if not e.recipients:  # held but nobody was told
            return False
    return True
