"""The generated sources honour SPEC §1 and show every case the pipeline must handle."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sources_testkit import TRACKING_PLAN, Sources

from userops.load.schema import CRM_TABLES
from userops.sources import vocab
from userops.windows import BusinessDay

SHANGHAI = ZoneInfo("Asia/Shanghai")
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def _norm(value: str) -> str:
    return value.strip().lower()


def test_crm_tables_have_exactly_the_spec_columns(dirty_sources: Sources) -> None:
    for table, columns in CRM_TABLES.items():
        assert dirty_sources.columns(table) == list(columns)


def test_good_lines_have_the_spec_fields_and_types(dirty_sources: Sources) -> None:
    good = dirty_sources.good()
    assert len(good) > 10_000
    for obj in good:
        assert set(obj) == {
            "event_id", "user_id", "event_type", "occurred_at", "received_at", "platform", "properties",
        }  # fmt: skip
        assert UUID.match(obj["event_id"])
        assert re.fullmatch(r"u\d{7}", obj["user_id"])
        assert obj["platform"] in vocab.PLATFORMS
        assert ISO_WITH_OFFSET.match(obj["occurred_at"]) and ISO_WITH_OFFSET.match(
            obj["received_at"]
        )
        assert set(obj["properties"]) == TRACKING_PLAN[obj["event_type"]]
        props = obj["properties"]
        if obj["event_type"] == "order_paid":
            assert isinstance(props["amount"], float) and props["amount"] > 0
            assert round(props["amount"], 2) == props["amount"]
            assert props["currency"] == "CNY" and props["order_id"].startswith("ord_")
        for key in TRACKING_PLAN[obj["event_type"]] - {"amount"}:
            assert isinstance(props[key], str) and props[key]


def test_partitions_are_the_utc_received_date_and_lateness_is_bounded(
    dirty_sources: Sources,
) -> None:
    end_utc = BusinessDay(dirty_sources.config.end_date).end_utc
    late = 0
    for line in dirty_sources.lines():
        if line.problem is not None:
            continue
        occurred = datetime.fromisoformat(line.obj["occurred_at"])
        received = datetime.fromisoformat(line.obj["received_at"])
        assert received.astimezone(UTC).date() == line.partition
        assert occurred <= received <= occurred + timedelta(days=7)
        assert received < end_utc  # nothing from the future of the end date
        late += received - occurred > timedelta(days=1)
    assert late > 0
    partitions = sorted({line.partition for line in dirty_sources.lines()})
    assert partitions[-1] == dirty_sources.config.end_date


def test_crm_is_as_of_the_end_date(dirty_sources: Sources) -> None:
    end_utc = BusinessDay(dirty_sources.config.end_date).end_utc.replace(tzinfo=None)
    for table in CRM_TABLES:
        rows = dirty_sources.table(table)
        assert rows
        assert all(row["updated_at"] < end_utc for row in rows)
    for lead in dirty_sources.table("leads"):
        assert lead["created_at"] <= lead["updated_at"]
    for contract in dirty_sources.table("contracts"):
        assert contract["signed_at"] <= contract["updated_at"]
        assert contract["starts_at"] < contract["ends_at"]


def test_every_enum_value_occurs(dirty_sources: Sources) -> None:
    leads = dirty_sources.table("leads")
    followups = dirty_sources.table("followups")
    contracts = dirty_sources.table("contracts")
    good = dirty_sources.good()
    assert {_norm(r["source_channel"]) for r in leads} == set(vocab.SOURCE_CHANNELS)
    assert {_norm(r["status"]) for r in leads} == set(vocab.LEAD_STATUSES)
    assert {r["channel"] for r in followups} == set(vocab.FOLLOWUP_CHANNELS)
    assert {r["outcome"] for r in followups} == set(vocab.FOLLOWUP_OUTCOMES)
    assert {r["plan"] for r in contracts} == set(vocab.CONTRACT_PLANS)
    assert {r["status"] for r in contracts} == set(vocab.CONTRACT_STATUSES)
    assert {o["event_type"] for o in good} == set(vocab.EVENT_TYPES)
    assert {o["platform"] for o in good} == set(vocab.PLATFORMS)
    # every source channel has companies that never registered
    unregistered = {_norm(r["source_channel"]) for r in leads if r["user_id"] is None}
    assert unregistered == set(vocab.SOURCE_CHANNELS)


def test_crm_shapes(dirty_sources: Sources) -> None:
    reps = dirty_sources.table("sales_reps")
    assert len(reps) == dirty_sources.config.reps
    assert {r["is_active"] for r in reps} == {True, False}
    assert all(r["team"] and r["region"] and r["daily_capacity"] > 0 for r in reps)
    followups = dirty_sources.table("followups")
    assert any(f["next_followup_at"] is not None for f in followups)
    assert any(f["next_followup_at"] is None for f in followups)
    assert any(re.search(r"[\u4e00-\u9fff]", f["note"]) for f in followups)
    contracts = dirty_sources.table("contracts")
    renewals = Counter(c["lead_id"] for c in contracts)
    assert max(renewals.values()) >= 2  # some leads renewed or upgraded
    assert all(c["amount"] > 0 and c["user_id"] for c in contracts)
    leads = dirty_sources.table("leads")
    assert any(r["is_deleted"] for r in leads) and not all(r["is_deleted"] for r in leads)
    assert all(isinstance(r["company_size"], int) and r["company_size"] > 0 for r in leads)


def test_crm_references_resolve_and_follow_time(dirty_sources: Sources) -> None:
    reps = {r["rep_id"] for r in dirty_sources.table("sales_reps")}
    leads = {r["lead_id"]: r for r in dirty_sources.table("leads")}
    assert {r["owner_rep_id"] for r in leads.values()} - {None} <= reps
    for f in dirty_sources.table("followups"):
        assert f["rep_id"] in reps and f["lead_id"] in leads
        assert leads[f["lead_id"]]["created_at"] < f["occurred_at"] <= f["updated_at"]
    for c in dirty_sources.table("contracts"):
        lead = leads[c["lead_id"]]
        assert lead["user_id"] == c["user_id"] and lead["created_at"] < c["signed_at"]


def test_leads_link_to_platform_accounts_and_some_accounts_have_no_lead(
    dirty_sources: Sources,
) -> None:
    event_users = {o["user_id"] for o in dirty_sources.good()}
    lead_users = {r["user_id"] for r in dirty_sources.table("leads") if r["user_id"]}
    assert len(lead_users & event_users) >= 0.95 * len(lead_users)
    assert len(event_users - lead_users) > 0.1 * len(event_users)


def _activity(sources: Sources) -> tuple[dict[str, date], dict[str, set[date]]]:
    signup: dict[str, date] = {}
    days: dict[str, set[date]] = {}
    for o in sources.good():
        day = datetime.fromisoformat(o["occurred_at"]).astimezone(SHANGHAI).date()
        days.setdefault(o["user_id"], set()).add(day)
        if o["event_type"] == "signup":
            signup[o["user_id"]] = min(day, signup.get(o["user_id"], day))
    return signup, days


def test_every_lifecycle_stage_occurs_at_the_end_date(dirty_sources: Sources) -> None:
    end = dirty_sources.config.end_date
    signup, days = _activity(dirty_sources)
    stages = Counter()
    for user, active in days.items():
        tenure = (end - signup.get(user, min(active))).days
        since_last = (end - max(active)).days
        recent = sum(1 for d in active if d >= end - timedelta(days=29))
        if tenure < 30:
            stages["introduction"] += 1
        elif since_last >= 90:
            stages["churned"] += 1
        elif since_last >= 30:
            stages["dormant"] += 1
        elif tenure >= 90 and recent >= 8:
            stages["mature"] += 1
        else:
            stages["growth"] += 1
    assert set(stages) == {"introduction", "growth", "mature", "dormant", "churned"}, stages


def test_every_rfm_segment_occurs_and_amounts_are_heavy_tailed(dirty_sources: Sources) -> None:
    end = dirty_sources.config.end_date
    orders: dict[str, tuple[str, date, float]] = {}
    for o in dirty_sources.good():
        if o["event_type"] == "order_paid":
            day = datetime.fromisoformat(o["occurred_at"]).astimezone(SHANGHAI).date()
            orders[o["properties"]["order_id"]] = (o["user_id"], day, o["properties"]["amount"])
    per_user: dict[str, list[tuple[date, float]]] = {}
    for user, day, amount in orders.values():
        per_user.setdefault(user, []).append((day, amount))
    r = {u: (end - max(d for d, _ in v)).days for u, v in per_user.items()}
    f = {u: len(v) for u, v in per_user.items()}
    m = {u: sum(a for _, a in v) for u, v in per_user.items()}
    mean = {k: sum(x.values()) / len(x) for k, x in (("r", r), ("f", f), ("m", m))}
    segments = {(r[u] <= mean["r"], f[u] >= mean["f"], m[u] >= mean["m"]) for u in per_user}
    assert len(segments) == 8
    amounts = sorted(a for _, _, a in orders.values())
    assert amounts[-1] > 10 * amounts[len(amounts) // 2]
