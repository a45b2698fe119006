"""``publish_day``: read inputs as of D, build, write files, diff, hold or send, record.

The one function the nightly DAG's publish task calls.  Per rep, in this order:

1. the list's canonical CSV hash equals what the rep already has (publish log)
   -> ``skipped_duplicate``: no mail, no file touched;
2. a day-level hold (stale sources, failed validation, over capacity, all lists
   empty, churn spike) and not ``force`` -> ``held``;
3. the rep already has a *different* list for D and not ``force`` -> ``held``
   (``changed_after_send``): a rerun never sends a second copy on its own;
4. nothing due -> ``skipped_empty`` (files written, no mail);
5. D is a backfill (more than ``send_max_age_days`` before ``today``) and not
   ``force`` -> ``backfill``: files written and logged, nothing sent (a rep must
   never get an old morning's list);
6. no rep e-mail / no SMTP configured -> ``held`` with that reason;
7. otherwise -> ``sent``, logged right after the server accepted the message.

Holds alert ``alert_recipients`` once per distinct hold (never for a backfill).
``force=True`` overrides 2, 3 and 5 (a held or past date is published; a corrected
list replaces the sent one) but never re-sends an identical list.  ``dry_run=True`` computes everything (lists,
holds, diffs) and touches nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from userops.config import WarehouseTarget
from userops.faults import checkpoint
from userops.publish.build import (
    BuildResult,
    PublishInputs,
    build_lists,
)
from userops.publish.deliver import (
    RepList,
    SmtpSettings,
    send_alert,
    send_lists,
    top_item_lines,
)
from userops.publish.files import (
    content_hash,
    csv_bytes,
    list_dir,
    read_manifest,
    remove_partial_files,
    rep_file_names,
    write_manifest,
    write_rep_files,
)
from userops.publish.log import (
    Hold,
    LogEntry,
    diff_lists,
    ensure_publish_log,
    evaluate_holds,
    hold_reason,
    previous_alerted,
    previous_sent,
    read_log,
    write_assignments,
    write_log,
)
from userops.publish.rules import PublishParams
from userops.warehouse import Warehouse


class InputsNotAsOfError(RuntimeError):
    """The marts hold another day than D: publishing would send someone else's night."""


# -- reading -------------------------------------------------------------------------------
_QUERIES = {
    "reps": "select perf.as_of_date, perf.rep_id, perf.rep_name, reps.rep_email, "
    "perf.is_active, perf.daily_capacity, perf.conversion_rate, perf.converted_leads, "
    "perf.followed_up_leads, perf.rep_rank, perf.rep_tier "
    "from marts.rep_performance_history as perf "
    "left join staging.stg_crm__sales_reps as reps on perf.rep_id = reps.rep_id "
    "where perf.as_of_date = {p}",
    "candidates": "select * from marts.outreach_candidates_history where as_of_date = {p}",
    # contact details unmasked (the marts mask them for BI): a rep's own list shows them
    "contacts": "select lead_id, company_name, contact_name, phone, email "
    "from staging.stg_crm__leads",
    "users": "select as_of_date, user_id, lead_id, signup_date, last_active_date, "
    "days_since_last_active, lifecycle_stage, rfm_segment from marts.users_history "
    "where as_of_date = {p}",
    "lifecycle": "select user_id, as_of_date, lifecycle_stage, previous_stage "
    "from marts.user_lifecycle_daily where as_of_date = {p}",
    "triggers": "select * from marts.outreach_triggers_history where as_of_date = {p}",
    "values": "select user_id, expected_value_cny, churn_probability, horizon_days "
    "from marts.user_value_history where as_of_date = {p}",
    "needs": "select lead_id, top_theme_id, top_theme_label "
    "from marts.lead_need_themes_history where as_of_date = {p}",
}


#: Histories the lists read D's snapshot of; each must hold D once it holds anything.
_AS_OF_TABLES = (
    "marts.users_history",
    "marts.outreach_candidates_history",
    "marts.outreach_triggers_history",
    "marts.user_lifecycle_daily",
    "marts.rep_performance_history",
)


def _check_as_of(wh: Warehouse, table: str, day: date) -> None:
    p = wh.param
    total, on_day = wh.fetchall(
        f"select count(*), sum(case when as_of_date = {p} then 1 else 0 end) from {table}", [day]
    )[0]
    if total and not on_day:
        raise InputsNotAsOfError(
            f"{table} has no rows as of {day}: build the marts for {day} before publishing"
        )


def read_inputs(wh: Warehouse, day: date, params: PublishParams) -> PublishInputs:
    """Staging and marts as of ``day`` (marts must have been built for ``day``): the
    snapshot histories, so a backfill publishes its own day, not the latest one."""
    for table in _AS_OF_TABLES:
        _check_as_of(wh, table, day)
    p = wh.param
    args: dict[str, list[Any]] = {
        "reps": [day],
        "candidates": [day],
        "users": [day],
        "lifecycle": [day],
        "triggers": [day],
        "values": [day],
        "needs": [day],
    }
    frames = {name: wh.fetch_df(sql.format(p=p), args.get(name)) for name, sql in _QUERIES.items()}
    return PublishInputs(**frames)


# -- result --------------------------------------------------------------------------------
@dataclass
class RepOutcome:
    """What happened to one rep's list."""

    rep_id: str
    rep_name: str
    rep_email: str
    rows: int
    backlog: int
    daily_capacity: int
    rep_tier: str
    content_hash: str
    status: str
    reason: str
    recipients: str
    files: list[str]
    diff: dict[str, Any]
    files_written: bool = False  # the files on disk hold this attempt's list


@dataclass
class PublishResult:
    """Outcome of :func:`publish_day`; :meth:`to_dict` is JSON-serialisable."""

    business_date: date
    list_dir: Path
    holds: list[Hold]
    forced: bool
    dry_run: bool
    backfill: bool
    age_days: int
    churn_share: float
    unassigned: int
    triggers_without_lead: int
    reps: list[RepOutcome] = field(default_factory=list)
    alert_sent: bool = False

    def count(self, status: str) -> int:
        return sum(1 for r in self.reps if r.status == status)

    @property
    def held(self) -> bool:
        return bool(self.holds) and not self.forced

    def to_dict(self) -> dict[str, Any]:
        return {
            "business_date": self.business_date.isoformat(),
            "list_dir": str(self.list_dir),
            "holds": [h.to_dict() for h in self.holds],
            "forced": self.forced,
            "dry_run": self.dry_run,
            "backfill": self.backfill,
            "age_days": self.age_days,
            "churn_share": round(self.churn_share, 6),
            "unassigned": self.unassigned,
            "triggers_without_lead": self.triggers_without_lead,
            "alert_sent": self.alert_sent,
            "counts": {
                s: self.count(s)
                for s in ("sent", "held", "backfill", "skipped_duplicate", "skipped_empty")
            },
            "rows": sum(r.rows for r in self.reps),
            "reps": [asdict(r) for r in self.reps],
        }


# -- decisions -----------------------------------------------------------------------------
def _decide(
    entry: LogEntry | None,
    digest: str,
    rows: int,
    holds: Sequence[Hold],
    force: bool,
    rep_email: str,
    smtp: SmtpSettings | None,
    backfill_reason: str = "",
) -> tuple[str, str, bool]:
    """(status, reason, write files) for one rep; see the module docstring."""
    has_other = entry is not None and entry.sent_content_hash is not None
    if has_other and entry.sent_content_hash == digest:  # type: ignore[union-attr]
        return "skipped_duplicate", "already_sent", False
    if holds and not force:
        return "held", hold_reason(holds), not has_other
    if has_other and not force:
        return "held", "changed_after_send", False
    if rows == 0:
        return "skipped_empty", "nothing_due", True
    if backfill_reason and not force:
        return "backfill", backfill_reason, True
    if not rep_email:
        return "held", "no_rep_email", True
    if smtp is None:
        return "held", "delivery_disabled", True
    return "sent", "forced" if force and (holds or has_other) else "", True


def _alert_body(day: date, holds: Sequence[Hold], outcomes: Sequence[RepOutcome]) -> str:
    lines = [f"userops：{day.isoformat()} 的跟进名单未发送给以下销售，请处理。", ""]
    if holds:
        lines.append("暂停原因：")
        lines += [f"  - {h.code}: {h.detail}" for h in holds]
        lines.append("")
    lines.append("名单：")
    for o in outcomes:
        if o.status == "held":
            lines.append(f"  - {o.rep_id} {o.rep_name}：{o.rows} 条，原因 {o.reason}")
    lines += [
        "",
        "核实后可用 force=True 重新发布该日期（已发送的相同名单不会重复发送）。",
    ]
    return "\n".join(lines) + "\n"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def business_today(tz: str) -> date:
    """Today's calendar date in the business time zone (the clock; only the send rule)."""
    return datetime.now(ZoneInfo(tz)).date()


def _manifest(
    previous: dict[str, Any],
    build: BuildResult,
    params: PublishParams,
    holds: Sequence[Hold],
    outcomes: Sequence[RepOutcome],
    sent_reasons: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The date's manifest: per rep, the list whose files are on disk.

    A rep whose files were not rewritten (already sent) keeps their entry; if this
    attempt was held rather than skipped, the entry says so in ``latest_attempt``.
    """
    old_reps = previous.get("reps", {}) if previous else {}
    sent_reasons = sent_reasons or {}
    reps: dict[str, Any] = {}
    for o in outcomes:
        old = old_reps.get(o.rep_id)
        if not o.files_written and old is not None:
            entry = {k: v for k, v in old.items() if k != "latest_attempt"}
            if o.status != "skipped_duplicate":
                entry["latest_attempt"] = {
                    "status": o.status,
                    "reason": o.reason,
                    "rows": o.rows,
                    "content_hash": o.content_hash,
                }
            reps[o.rep_id] = entry
            continue
        status, reason = o.status, o.reason
        if status == "skipped_duplicate":
            # sent by an attempt that died before writing the manifest: record the send
            status, reason = "sent", sent_reasons.get(o.rep_id, "")
        reps[o.rep_id] = {
            "rep_name": o.rep_name,
            "rep_tier": o.rep_tier,
            "rows": o.rows,
            "backlog": o.backlog,
            "daily_capacity": o.daily_capacity,
            "content_hash": o.content_hash,
            "files": o.files,
            "status": status,
            "reason": reason,
            "diff": o.diff,
        }
    return {
        "business_date": build.business_date.isoformat(),
        "holds": [h.to_dict() for h in holds],
        "churn_share": round(build.churn_share, 6),
        "unassigned": build.unassigned,
        "triggers_without_lead": build.triggers_without_lead,
        "params": params.to_dict(),
        "reps": reps,
    }


# -- the entry point -----------------------------------------------------------------------
def publish_day(
    target: WarehouseTarget,
    day: date,
    output_dir: Path,
    params: PublishParams | None = None,
    smtp: SmtpSettings | None = None,
    validation_passed: bool = True,
    sources_fresh: bool = True,
    force: bool = False,
    *,
    alert_recipients: Sequence[str] = (),
    dry_run: bool = False,
    today: date | None = None,
) -> PublishResult:
    """Publish business day ``day``'s lists (see the module docstring for the rules).

    ``today`` is the calendar date of the morning being served (default: the clock in
    the business time zone); it decides whether D is current or a backfill.
    """
    params = params or PublishParams.from_vars()
    today = today or business_today(params.timezone)
    age_days = (today - day).days
    backfill = age_days > params.send_max_age_days
    backfill_reason = (
        f"backfill: {day.isoformat()} is {age_days} days old "
        f"(publish_send_max_age_days={params.send_max_age_days})"
        if backfill
        else ""
    )
    folder = list_dir(output_dir, day)
    if not dry_run:
        remove_partial_files(folder)  # a killed run's half-written temp files
    with Warehouse(target) as wh:
        if not dry_run:
            ensure_publish_log(wh)
        has_log = wh.table_exists("meta", "publish_log")
        inputs = read_inputs(wh, day, params)
        build = build_lists(inputs, day, params)
        log = read_log(wh, day) if has_log else {}
        prev = previous_sent(wh, day) if has_log else {}
        holds = evaluate_holds(
            build, params, validation_passed=validation_passed, sources_fresh=sources_fresh
        )
        result = PublishResult(
            business_date=day,
            list_dir=folder,
            holds=holds,
            forced=force,
            dry_run=dry_run,
            backfill=backfill,
            age_days=age_days,
            churn_share=build.churn_share,
            unassigned=build.unassigned,
            triggers_without_lead=build.triggers_without_lead,
        )

        to_send: list[RepList] = []
        lead_ids_of: dict[str, tuple[str, ...]] = {}
        for rep in build.reps.sort_values("rep_id").to_dict("records"):
            rep_id = str(rep["rep_id"])
            rep_email = "" if pd.isna(rep["rep_email"]) else str(rep["rep_email"])
            rep_name = "" if pd.isna(rep["rep_name"]) else str(rep["rep_name"])
            rows = build.rep_rows(rep_id)
            digest = content_hash(csv_bytes(rows))
            lead_ids = [str(x) for x in rows["lead_id"]]
            status, reason, write = _decide(
                log.get(rep_id), digest, len(rows), holds, force, rep_email, smtp, backfill_reason
            )
            xlsx = b""
            if write and not dry_run:
                xlsx = write_rep_files(output_dir, day, rep_id, rows, rep_name).xlsx
                checkpoint("publish.files_written")
            lead_ids_of[rep_id] = tuple(lead_ids)
            diff = diff_lists(prev.get(rep_id), lead_ids)
            outcome = RepOutcome(
                rep_id=rep_id,
                rep_name=rep_name,
                rep_email=rep_email,
                rows=len(rows),
                backlog=int(rep["backlog"]),
                daily_capacity=int(rep["daily_capacity"]),
                rep_tier=str(rep["rep_tier"]),
                content_hash=digest,
                status=status,
                reason=reason,
                recipients=rep_email if status == "sent" else "",
                files=list(rep_file_names(rep_id)),
                diff=diff,
                files_written=write and not dry_run,
            )
            result.reps.append(outcome)
            if status == "sent":
                counts = rows["suggested_action"].value_counts().to_dict()
                to_send.append(
                    RepList(
                        business_date=day,
                        rep_id=rep_id,
                        rep_name=rep_name,
                        rep_email=rep_email,
                        rows=len(rows),
                        content_hash=digest,
                        xlsx=xlsx,
                        action_counts={str(k): int(v) for k, v in counts.items()},
                        diff_counts=diff["counts"],  # type: ignore[arg-type]
                        previous_date=diff["previous_date"],  # type: ignore[arg-type]
                        top_items=top_item_lines(rows),
                    )
                )
        if dry_run:
            return result

        by_rep = {o.rep_id: o for o in result.reps}

        def record_sent(lst: RepList) -> None:
            now = _now()
            write_log(
                wh,
                [
                    LogEntry(
                        business_date=day,
                        rep_id=lst.rep_id,
                        rows=lst.rows,
                        content_hash=lst.content_hash,
                        status="sent",
                        reason=by_rep[lst.rep_id].reason,
                        recipients=lst.rep_email,
                        published_at=now,
                        sent_content_hash=lst.content_hash,
                        sent_at=now,
                        sent_lead_ids=lead_ids_of[lst.rep_id],
                    )
                ],
            )
            checkpoint("publish.after_first_send")

        if to_send:
            assert smtp is not None
            send_lists(smtp, to_send, on_sent=record_sent)

        # Alert once per distinct hold (same held reps, reasons and hashes -> no new alert).
        held = {o.rep_id: (o.reason, o.content_hash) for o in result.reps if o.status == "held"}
        alert_to = ""
        # A backfill is nobody's morning: its holds are in the log, not in an alert.
        alerting = (held or result.held) and not (backfill and not force)
        if alerting and smtp is not None and alert_recipients:
            if not previous_alerted(log, held):
                subject = f"【userops 告警】{day.isoformat()} 跟进名单暂停发送"
                body = _alert_body(day, holds if result.held else [], result.reps)
                result.alert_sent = send_alert(smtp, alert_recipients, subject, body)
            alert_to = ", ".join(alert_recipients)

        now = _now()
        others = []
        for o in result.reps:
            if o.status == "sent":
                continue
            old = log.get(o.rep_id)
            if o.status == "held":
                o.recipients = alert_to
            others.append(
                LogEntry(
                    business_date=day,
                    rep_id=o.rep_id,
                    rows=o.rows,
                    content_hash=o.content_hash,
                    status=o.status,
                    reason=o.reason,
                    recipients=o.recipients,
                    published_at=now,
                    sent_content_hash=old.sent_content_hash if old else None,
                    sent_at=old.sent_at if old else None,
                    sent_lead_ids=old.sent_lead_ids if old else (),
                )
            )
        write_log(wh, others)
        write_assignments(wh, day, build.rows)

    if any(o.status != "skipped_duplicate" for o in result.reps):
        sent_reasons = {r: e.reason for r, e in log.items() if e.status == "sent"}
        manifest = _manifest(read_manifest(folder), build, params, holds, result.reps, sent_reasons)
        write_manifest(folder, manifest)
    return result
