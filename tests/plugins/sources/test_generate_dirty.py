"""Deliberate defects: every kind occurs at the default dirty rate, none at 0."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from sources_testkit import Sources

from userops.sources import vocab

CLEAN_PHONE = re.compile(r"^1\d{10}$")
FULLWIDTH = re.compile("[０-９]")


def _company_key(name: str) -> str:
    return re.sub(r"\s+", "", name).lower()


def _event_defects(sources: Sources) -> dict[str, int]:
    """Defects found by reading the files (not the generator's own counts)."""
    lines = sources.lines()
    found = Counter(line.problem for line in lines if line.problem)
    good = [line for line in lines if line.problem is None]
    ids = Counter(line.obj["event_id"] for line in good)
    found["duplicate_delivery"] = sum(n - 1 for n in ids.values())
    parts: dict[str, set] = {}
    for line in good:
        parts.setdefault(line.obj["event_id"], set()).add(line.partition)
    found["duplicate_in_later_partition"] = sum(len(p) > 1 for p in parts.values())
    late = 0
    for line in good:
        occurred = datetime.fromisoformat(line.obj["occurred_at"])
        received = datetime.fromisoformat(line.obj["received_at"])
        if received - occurred >= timedelta(hours=1):
            late += 1
            found["late_in_later_partition"] += occurred.astimezone(UTC).date() < line.partition
    found["late"] = late
    return found


def _crm_defects(sources: Sources) -> dict[str, int]:
    leads = sources.table("leads")
    found: Counter[str] = Counter()
    names: dict[str, set[str]] = {}
    for lead in leads:
        names.setdefault(_company_key(lead["company_name"]), set()).add(lead["company_name"])
    found["duplicate_company"] = sum(1 for v in names.values() if len(v) > 1)
    found["duplicate_lead_rows"] = len(leads) - len(names)
    for lead in leads:
        phone = lead["phone"]
        if phone is not None and not CLEAN_PHONE.match(phone):
            if FULLWIDTH.search(phone):
                found["phone_fullwidth"] += 1
            elif phone.startswith(("+86", "86-")) or re.search(r"[ -]", phone):
                found["phone_format"] += 1
            else:
                found["phone_invalid"] += 1
        email = lead["email"]
        if email is not None and email != email.strip().lower():
            found["email_case_space"] += 1
        for column in ("company_name", "contact_name", "city", "industry"):
            if lead[column] != lead[column].strip():
                found[f"spaces_{column}"] += 1
        if (
            lead["source_channel"] not in vocab.SOURCE_CHANNELS
            or lead["status"] not in vocab.LEAD_STATUSES
        ):
            found["enum_case"] += 1
    found["spaces_note"] = sum(f["note"] != f["note"].strip() for f in sources.table("followups"))
    return found


def test_every_event_defect_occurs(dirty_sources: Sources) -> None:
    found = _event_defects(dirty_sources)
    for kind in (
        "invalid_json", "missing_field", "unknown_event_type", "bad_timestamp",
        "duplicate_delivery", "duplicate_in_later_partition", "late", "late_in_later_partition",
    ):  # fmt: skip
        assert found[kind] > 0, kind


def test_every_crm_defect_occurs(dirty_sources: Sources) -> None:
    found = _crm_defects(dirty_sources)
    for kind in (
        "duplicate_company", "phone_format", "phone_fullwidth", "phone_invalid", "email_case_space",
        "spaces_company_name", "spaces_contact_name", "spaces_city", "spaces_industry", "spaces_note",
        "enum_case",
    ):  # fmt: skip
        assert found[kind] > 0, kind
    phones = {lead["phone"] for lead in dirty_sources.table("leads")}
    assert any(p and p.startswith("+86 ") and "-" in p for p in phones)  # +86 138-1234-5678
    assert any(p and re.fullmatch(r"1\d\d \d{4} \d{4}", p) for p in phones)  # 138 1234 5678


def test_summary_counts_match_the_files(dirty_sources: Sources) -> None:
    lines = dirty_sources.lines()
    summary = dirty_sources.summary
    found = Counter(line.problem for line in lines if line.problem)
    assert summary.bad_lines == {kind: found[kind] for kind in summary.bad_lines}
    assert summary.events_written == sum(line.problem is None for line in lines)
    assert sum(summary.partitions.values()) == len(lines) == summary.lines_written
    assert summary.duplicate_deliveries == _event_defects(dirty_sources)["duplicate_delivery"]
    assert summary.crm_dirty["duplicate_lead"] == _crm_defects(dirty_sources)["duplicate_lead_rows"]
    assert all(count > 0 for count in summary.crm_dirty.values()), summary.crm_dirty


def test_dirty_rate_zero_gives_clean_sources(clean_sources: Sources) -> None:
    found = _event_defects(clean_sources)
    assert {k: v for k, v in found.items() if v} == {}
    assert {k: v for k, v in _crm_defects(clean_sources).items() if v} == {}
    summary = clean_sources.summary
    assert set(summary.bad_lines.values()) == {0}
    assert set(summary.crm_dirty.values()) == {0}
    assert summary.duplicate_deliveries == summary.late_events == 0
    leads = clean_sources.table("leads")
    assert all(lead["phone"] is None or CLEAN_PHONE.match(lead["phone"]) for lead in leads)
