"""CRM tables (SPEC §1.1, exactly those columns) and their rows, via SQLAlchemy Core.

Any SQLAlchemy URL works (SQLite file by default, PostgreSQL in tests and
production-like setups).  Rows are written with bulk ``executemany`` inserts in
chunks; ``append_day`` replaces changed rows with delete-then-insert by key in
one transaction, which is portable across dialects.

Timestamps are naive ``DateTime`` values holding UTC (the SPEC says ``updated_at``
is UTC); the deliberate dirt (phone formats, full-width digits, mixed-case
e-mails, stray spaces, duplicate companies, enum case) is rendered here from
per-lead flags decided in the simulation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    inspect,
)

from userops.sources.crm_sim import NO_RENEWAL, RENEWAL, CrmState
from userops.sources.vocab import (
    BRAND_CHARS,
    CONTRACT_PLANS,
    CONTRACT_STATUSES,
    FOLLOWUP_CHANNELS,
    FOLLOWUP_OUTCOMES,
    GIVEN_NAMES,
    INDUSTRIES,
    LEAD_STATUSES,
    MOBILE_PREFIXES,
    NO_RENEWAL_NOTE,
    PLACES,
    REGIONS,
    RENEWAL_NOTE,
    SALES_TEAMS,
    SOURCE_CHANNELS,
    SURNAMES,
    followup_note,
)

CHUNK_ROWS = 10_000
_UTC_EPOCH = datetime(1970, 1, 1)

metadata = MetaData()

sales_reps = Table(
    "sales_reps",
    metadata,
    Column("rep_id", String(16), primary_key=True),
    Column("name", String(64)),
    Column("email", String(128)),
    Column("team", String(32)),
    Column("region", String(16)),
    Column("hired_at", DateTime),
    Column("is_active", Boolean),
    Column("daily_capacity", Integer),
    Column("updated_at", DateTime, nullable=False),
)
leads = Table(
    "leads",
    metadata,
    Column("lead_id", String(16), primary_key=True),
    Column("company_name", String(200)),
    Column("contact_name", String(64)),
    Column("phone", String(32)),
    Column("email", String(128)),
    Column("industry", String(32)),
    Column("company_size", Integer),
    Column("province", String(32)),
    Column("city", String(32)),
    Column("source_channel", String(16)),
    Column("user_id", String(16)),
    Column("status", String(16)),
    Column("owner_rep_id", String(16)),
    Column("created_at", DateTime),
    Column("updated_at", DateTime, nullable=False),
    Column("is_deleted", Boolean, nullable=False),
    Index("ix_leads_updated_at", "updated_at"),
)
followups = Table(
    "followups",
    metadata,
    Column("followup_id", String(16), primary_key=True),
    Column("lead_id", String(16)),
    Column("rep_id", String(16)),
    Column("channel", String(16)),
    Column("outcome", String(16)),
    Column("note", Text),
    Column("next_followup_at", DateTime),
    Column("occurred_at", DateTime),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_followups_updated_at", "updated_at"),
)
contracts = Table(
    "contracts",
    metadata,
    Column("contract_id", String(16), primary_key=True),
    Column("lead_id", String(16)),
    Column("user_id", String(16)),
    Column("plan", String(16)),
    Column("amount", Numeric(12, 2)),
    Column("signed_at", DateTime),
    Column("starts_at", DateTime),
    Column("ends_at", DateTime),
    Column("status", String(16)),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_contracts_updated_at", "updated_at"),
)
TABLES = {t.name: t for t in (sales_reps, leads, followups, contracts)}
KEYS = {
    "sales_reps": "rep_id",
    "leads": "lead_id",
    "followups": "followup_id",
    "contracts": "contract_id",
}

#: Deliberate CRM defects, as reported in GenerationSummary.crm_dirty.
CRM_DIRTY_KINDS = (
    "duplicate_lead",
    "phone_format",
    "phone_fullwidth",
    "phone_invalid",
    "email_case_space",
    "text_spaces",
    "enum_case",
)


def utc(ts: int | None) -> datetime | None:
    return None if ts is None or ts < 0 else _UTC_EPOCH + timedelta(seconds=int(ts))


def rep_id(i: int) -> str:
    return f"rep_{i + 1:03d}"


def lead_id(i: int) -> str:
    return f"ld_{i + 1:07d}"


def user_id(i: int) -> str:
    return f"u{i + 1:07d}"


# -- text of one lead -------------------------------------------------------------


def _brand(company: int) -> tuple[str, str]:
    """A company's 4-character brand and its pinyin; a bijection of the id mod 2**24."""
    code = (company * 0x9E3779B1) & 0xFFFFFF
    chars = [BRAND_CHARS[(code >> s) & 63] for s in (18, 12, 6, 0)]
    return "".join(c for c, _ in chars), "".join(p for _, p in chars)


def company_name(company: int, place: int, industry: int, latin: bool) -> str:
    brand, brand_py = _brand(company)
    _, city, city_py, _, _ = PLACES[place]
    _, word, word_en = INDUSTRIES[industry]
    if latin:
        return f"{city_py} {brand_py.capitalize()} {word_en} Co., Ltd."
    return f"{city.removesuffix('市')}{brand}{word}有限公司"


def duplicate_spelling(name: str, latin: bool, variant: int) -> str:
    """The same company typed again: spacing (and for Latin names, case) differs."""
    if latin:
        return (name.upper(), "  ".join(name.lower().split(" ")), f"  {name.title()} ")[variant]
    return (f"{name[:-4]} {name[-4:]}", f" {name} ", f"{name[:2]} {name[2:]}")[variant]


def phone_number(company: int) -> str:
    suffix = (company * 2654435761) % (1 << 24)
    return f"{MOBILE_PREFIXES[company % 10]}{suffix:08d}"


_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def dirty_phone(phone: str, variant: int) -> tuple[str, str]:
    """(dirty phone, defect kind)."""
    a, b, c = phone[:3], phone[3:7], phone[7:]
    formats = (f"+86 {a}-{b}-{c}", f"{a} {b} {c}", f"+86{phone}", f"{a}-{b}-{c}", f"86-{phone}")
    if variant < len(formats):
        return formats[variant], "phone_format"
    if variant < len(formats) + 2:
        return phone.translate(_FULLWIDTH), "phone_fullwidth"
    return phone[: 6 + variant % 3], "phone_invalid"  # too short to be a number


def email_address(company: int, surname: int, given: int, kind: int) -> str | None:
    if kind == 0:
        return None
    _, brand_py = _brand(company)
    s, g = SURNAMES[surname][1], GIVEN_NAMES[given][1]
    if kind == 1:
        return f"{g}.{s}@{brand_py}.example.com"
    return f"{g}{s}{company % 1000:03d}@mail.example.com"


def dirty_email(email: str, variant: int) -> str:
    local, _, domain = email.partition("@")
    mixed = (
        f"{local.title()}@{domain.upper()}" if variant % 2 else f"{local.upper()}@{domain.title()}"
    )
    return (f" {mixed}", f"{mixed} ", f"  {mixed}  ")[variant % 3]


def _spaced(text: str, variant: int) -> str:
    return (f" {text}", f"{text} ", f"  {text}  ")[variant % 3]


def _enum_variant(value: str, variant: int) -> str:
    return (value.upper(), f" {value}", value.capitalize(), f"{value} ")[variant % 4]


class LeadRenderer:
    """Turns simulated lead columns into ``leads`` rows, counting the dirt."""

    def __init__(self, state: CrmState) -> None:
        self.c = state.leads
        self.dirty: Counter[str] = Counter()

    def row(self, i: int) -> dict[str, Any]:
        c = self.c
        company, style = int(c["company"][i]), int(c["style"][i])
        place, industry, latin = int(c["place"][i]), int(c["industry"][i]), bool(c["latin"][i])
        province, city, _, _, _ = PLACES[place]
        name = company_name(company, place, industry, latin)
        contact = SURNAMES[int(c["surname"][i])][0] + GIVEN_NAMES[int(c["given"][i])][0]
        industry_code = INDUSTRIES[industry][0]
        channel = SOURCE_CHANNELS[int(c["channel"][i])]
        status = LEAD_STATUSES[int(c["status"][i])]
        if c["is_dup"][i]:
            name = duplicate_spelling(name, latin, (style >> 3) % 3)
            self.dirty["duplicate_lead"] += 1
        phone: str | None = phone_number(company)
        if (style >> 12) % 25 == 0:
            phone = None  # no phone on file: not a defect
        elif c["phone_dirty"][i]:
            phone, kind = dirty_phone(phone, (style >> 6) % 9)
            self.dirty[kind] += 1
        email = email_address(
            company, int(c["surname"][i]), int(c["given"][i]), int(c["email_kind"][i])
        )
        if email and c["email_dirty"][i]:
            email = dirty_email(email, style >> 9)
            self.dirty["email_case_space"] += 1
        if c["space_dirty"][i]:
            field = (style >> 15) % 4
            if field == 0:
                contact = _spaced(contact, style >> 17)
            elif field == 1:
                city = _spaced(city, style >> 17)
            elif field == 2:
                industry_code = _spaced(industry_code, style >> 17)
            else:
                name = _spaced(name, style >> 17)
            self.dirty["text_spaces"] += 1
        if c["enum_dirty"][i]:
            if (style >> 20) % 2:
                channel = _enum_variant(channel, style >> 21)
            else:
                status = _enum_variant(status, style >> 21)
            self.dirty["enum_case"] += 1
        user, owner = int(c["user"][i]), int(c["owner"][i])
        return {
            "lead_id": lead_id(i),
            "company_name": name,
            "contact_name": contact,
            "phone": phone,
            "email": email,
            "industry": industry_code,
            "company_size": int(c["company_size"][i]),
            "province": province,
            "city": city,
            "source_channel": channel,
            "user_id": user_id(user) if user >= 0 and c["visible"][i] else None,
            "status": status,
            "owner_rep_id": rep_id(owner) if owner >= 0 else None,
            "created_at": utc(int(c["created_ts"][i])),
            "updated_at": utc(int(c["updated_ts"][i])),
            "is_deleted": bool(c["deleted"][i]),
        }


def rep_rows(state: CrmState, as_of_day: int) -> list[dict[str, Any]]:
    r = state.reps
    rows = []
    for i in range(len(r)):
        surname, s_py = SURNAMES[int(r.surname[i])]
        given, g_py = GIVEN_NAMES[int(r.given[i])]
        left = bool(r.leave_day[i] <= as_of_day)
        rows.append(
            {
                "rep_id": rep_id(i),
                "name": surname + given,
                "email": f"{g_py}.{s_py}.{i + 1:03d}@sales.example.com",
                "team": SALES_TEAMS[int(r.team[i])],
                "region": REGIONS[int(r.region[i])],
                "hired_at": utc(int(r.hired_ts[i])),
                "is_active": not left,
                "daily_capacity": int(r.capacity[i]),
                "updated_at": utc(int(r.leave_ts[i] if left else r.profile_ts[i])),
            }
        )
    return rows


def followup_rows(
    state: CrmState, idx: Iterable[int], dirty: Counter[str]
) -> Iterator[dict[str, Any]]:
    f = state.followups
    for i in idx:
        outcome, note_code = int(f["outcome"][i]), int(f["note"][i])
        if note_code == RENEWAL:
            note = RENEWAL_NOTE
        elif note_code == NO_RENEWAL:
            note = NO_RENEWAL_NOTE
        else:
            note, _ = followup_note(outcome, note_code, int(f["lead"][i]))
        if f["note_dirty"][i]:
            note = _spaced(note, i)
            dirty["text_spaces"] += 1
        yield {
            "followup_id": f"fu_{i + 1:07d}",
            "lead_id": lead_id(int(f["lead"][i])),
            "rep_id": rep_id(int(f["rep"][i])),
            "channel": FOLLOWUP_CHANNELS[int(f["channel"][i])],
            "outcome": FOLLOWUP_OUTCOMES[outcome],
            "note": note,
            "next_followup_at": utc(int(f["next_ts"][i])),
            "occurred_at": utc(int(f["ts"][i])),
            "updated_at": utc(int(f["updated_ts"][i])),
        }


def contract_rows(state: CrmState, idx: Iterable[int]) -> Iterator[dict[str, Any]]:
    for i in idx:
        k = state.contracts[i]
        yield {
            "contract_id": f"ct_{k.contract_id:06d}",
            "lead_id": lead_id(k.lead),
            "user_id": user_id(k.user) if k.user >= 0 else None,
            "plan": CONTRACT_PLANS[k.plan],
            "amount": Decimal(k.amount_cents) / 100,
            "signed_at": utc(k.signed_ts),
            "starts_at": utc(k.starts_ts),
            "ends_at": utc(k.ends_ts),
            "status": CONTRACT_STATUSES[k.status],
            "updated_at": utc(k.updated_ts),
        }


# -- writing ----------------------------------------------------------------------


def existing_tables(engine: Engine) -> list[str]:
    names = set(inspect(engine).get_table_names())
    return [name for name in TABLES if name in names]


def recreate_tables(engine: Engine) -> None:
    """Drop and create the four CRM tables (only these: the generator owns them)."""
    metadata.drop_all(engine, tables=list(TABLES.values()))
    metadata.create_all(engine, tables=list(TABLES.values()))


def _chunks(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def write_rows(engine: Engine, table: str, rows: Iterable[dict[str, Any]], replace: bool) -> int:
    """Bulk-insert ``rows`` (replacing rows with the same keys when ``replace``)."""
    t, key = TABLES[table], KEYS[table]
    written = 0
    with engine.begin() as conn:
        for chunk in _chunks(rows):
            if replace:
                keys = [r[key] for r in chunk]
                for lo in range(0, len(keys), 1000):
                    conn.execute(t.delete().where(t.c[key].in_(keys[lo : lo + 1000])))
            conn.execute(t.insert(), chunk)
            written += len(chunk)
    return written


def rows_in_window(ts: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    return np.flatnonzero((ts >= window[0]) & (ts < window[1]))
