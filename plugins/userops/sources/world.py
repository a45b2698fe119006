"""The simulated world: calendar, random streams and the platform's user base.

Determinism rule: every random draw comes from a stream keyed by
``(seed, tag, day)`` (:meth:`World.rng`), never from a stream shared across days.
So for one config the events of business day *d* are the same however far we
simulate, and :func:`~userops.sources.generate.append_day` can re-simulate the
last few days and find exactly the late arrivals ``generate`` held back.

Days are integer offsets from the span start (day 0 = ``config.span_start``);
days past ``config.end_date`` are the future that ``append_day`` reveals.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from userops.sources.options import GeneratorConfig
from userops.sources.vocab import PLACES, SOURCE_CHANNELS

EPOCH = date(1970, 1, 1)

# Behaviour archetypes (codes index ARCHETYPES).
ARCHETYPES = ("engaged", "casual", "declining", "churned", "resurrected", "one_day")
ENGAGED, CASUAL, DECLINING, CHURNED, RESURRECTED, ONE_DAY = range(6)
ARCHETYPE_P = np.array([0.12, 0.30, 0.18, 0.18, 0.07, 0.15])
#: Chance an account of each archetype ever pays an order on the platform.
PAYER_P = np.array([0.60, 0.30, 0.45, 0.30, 0.40, 0.05])
#: Mean extra events (over the minimum of 3) on an active day.
EXTRA_EVENTS = np.array([5.0, 2.5, 3.0, 3.0, 3.0, 2.0])
#: How much a linked user's behaviour lifts its lead's chance to convert.
ENGAGEMENT = np.array([2.0, 1.0, 0.8, 0.5, 1.0, 0.4])

PLATFORM_P = np.array([0.45, 0.15, 0.20, 0.20])
WEEKEND_ACTIVITY = 0.35
#: Lead channels of registered accounts (SOURCE_CHANNELS order).
LINKED_CHANNEL_P = np.array([0.22, 0.18, 0.25, 0.15, 0.10, 0.10])
PRE_SIGNUP_CHANNELS = (0, 4, 5)  # crawl, cold_call, event: the lead precedes signup
#: Channels of companies that never register.
UNREGISTERED_CHANNEL_P = np.array([0.40, 0.12, 0.05, 0.08, 0.25, 0.10])
LEAD_SHARE = 0.70  # accounts that have a CRM lead
UNREGISTERED_SHARE = 0.40  # share of all leads that never register
PLACE_P = np.array([p[4] for p in PLACES], dtype=float) / sum(p[4] for p in PLACES)

# Per-config multipliers of dirty_rate for each CRM defect (per lead).
DIRTY_DUPLICATE = 1.5
DIRTY_PHONE = 3.0
DIRTY_EMAIL = 1.5
DIRTY_SPACES = 2.0
DIRTY_ENUM = 0.75


def _tag(text: str) -> int:
    return zlib.crc32(text.encode())


@dataclass(frozen=True)
class Span:
    """Business calendar: integer day offsets <-> dates and UTC epoch seconds."""

    start: date
    n_days: int  # days up to and including config.end_date
    offset_seconds: int  # business time zone's fixed UTC offset

    @classmethod
    def from_config(cls, config: GeneratorConfig) -> Span:
        tz = ZoneInfo(config.timezone)
        offset = tz.utcoffset(datetime.combine(config.end_date, datetime.min.time()))
        assert offset is not None
        return cls(config.span_start, config.span_days, int(offset.total_seconds()))

    @property
    def end(self) -> int:
        """Offset of config.end_date."""
        return self.n_days - 1

    def date_of(self, d: int) -> date:
        return self.start + timedelta(days=int(d))

    def offset_of(self, day: date) -> int:
        return (day - self.start).days

    def day_start(self, d: int | np.ndarray) -> int | np.ndarray:
        """UTC epoch seconds of local midnight starting business day ``d``."""
        return ((self.start - EPOCH).days + d) * 86400 - self.offset_seconds

    def weekday(self, d: int) -> int:
        return self.date_of(d).weekday()

    def is_weekend(self, d: int) -> bool:
        return self.weekday(d) >= 5


def business_seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds into the local day of B2B activity: office-hour peaks, a long tail."""
    kind = rng.random(n)
    morning = rng.normal(10.3 * 3600, 1.3 * 3600, n)
    afternoon = rng.normal(15.2 * 3600, 1.8 * 3600, n)
    anytime = rng.uniform(0, 86400, n)
    sec = np.where(kind < 0.45, morning, np.where(kind < 0.88, afternoon, anytime))
    return np.clip(sec, 0, 86399 - 1800).astype(np.int64)


class Population:
    """Platform accounts (one per company), sorted by signup day.

    Account *i* has user_id ``u{i+1:07d}``.  The first ``config.users`` accounts
    sign up within the span; later ones are daily cohorts after ``end_date``,
    created lazily (each from its own day's stream) up to ``through``.
    """

    def __init__(self, config: GeneratorConfig, span: Span, through: int) -> None:
        self.config = config
        self.span = span
        weights = _signup_weights(span, np.arange(span.n_days))
        rng = World.stream(config.seed, "users")
        counts = rng.multinomial(config.users, weights / weights.sum())
        signup_day = np.repeat(np.arange(span.n_days, dtype=np.int32), counts)
        parts = [_draw_accounts(rng, signup_day, config.dirty_rate)]
        daily_rate = config.users / weights.sum()
        for d in range(span.n_days, through + 1):
            crng = World.stream(config.seed, "cohort", d)
            n = int(crng.poisson(daily_rate * _signup_weights(span, np.array([d]))[0]))
            parts.append(_draw_accounts(crng, np.full(n, d, dtype=np.int32), config.dirty_rate))
        #: column name -> array over accounts (see ``_draw_accounts``)
        self.cols: dict[str, np.ndarray] = {
            key: np.concatenate([p[key] for p in parts]) for key in parts[0]
        }
        self.size = len(self.cols["signup_day"])

    def signed_up_by(self, d: int) -> int:
        """Number of accounts with signup day <= d (a prefix: accounts are sorted)."""
        return int(np.searchsorted(self.cols["signup_day"], d, side="right"))


def _signup_weights(span: Span, days: np.ndarray) -> np.ndarray:
    """Relative daily signups: growing over the span, fewer at weekends."""
    growth = 1.0 + np.minimum(days, span.n_days * 1.5) / span.n_days
    weekday = np.array([span.weekday(int(d)) for d in days])
    return growth * np.where(weekday >= 5, 0.5, 1.0)


def _draw_accounts(rng: np.random.Generator, signup_day: np.ndarray, dirty: float) -> dict:
    """Per-account behaviour and (if it has a lead) company attributes."""
    n = len(signup_day)
    arch = rng.choice(len(ARCHETYPES), n, p=ARCHETYPE_P).astype(np.int8)
    rate = np.select(
        [arch == ENGAGED, arch == CASUAL, arch == DECLINING, arch == CHURNED, arch == RESURRECTED],
        [rng.beta(6, 4, n), rng.beta(2, 12, n), rng.beta(5, 4, n), rng.beta(4, 4, n), rng.beta(4, 5, n)],
        0.0,
    ).astype(np.float32)  # fmt: skip
    payer = rng.random(n) < PAYER_P[arch]
    pay_q = np.clip(rng.lognormal(np.log(0.10), 0.9, n), 0.01, 0.6)
    pay_q = np.where(arch == ONE_DAY, 0.6, pay_q)
    channel = rng.choice(len(SOURCE_CHANNELS), n, p=LINKED_CHANNEL_P).astype(np.int8)
    pre = np.isin(channel, PRE_SIGNUP_CHANNELS)
    lead_offset = np.where(
        pre, -rng.integers(0, 31, n), np.where(channel == 1, -rng.integers(0, 6, n), rng.integers(0, 11, n))
    )  # fmt: skip
    return {
        "signup_day": signup_day,
        "signup_sec": business_seconds(rng, n).astype(np.int32),
        "archetype": arch,
        "rate": rate,
        "tau": rng.uniform(12, 60, n).astype(np.float32),
        "life": rng.integers(1, 50, n).astype(np.int16),
        "gap": rng.integers(30, 80, n).astype(np.int16),
        "extra_events": (EXTRA_EVENTS[arch] * rng.uniform(0.6, 1.4, n)).astype(np.float32),
        "pay_q": np.where(payer, pay_q, 0.0).astype(np.float32),
        "amount_mu": rng.normal(np.log(160.0), 1.0, n).astype(np.float32),
        "platform": rng.choice(4, n, p=PLATFORM_P).astype(np.int8),
        "device_utc": rng.random(n) < 0.03,
        "has_signup_event": rng.random(n) >= 0.01,
        # CRM side (used only when has_lead)
        "has_lead": rng.random(n) < LEAD_SHARE,
        "lead_channel": channel,
        "lead_offset": lead_offset.astype(np.int16),
        "lead_sec": business_seconds(rng, n).astype(np.int32),
        **draw_company(rng, n, dirty),
    }


def draw_company(rng: np.random.Generator, n: int, dirty: float) -> dict[str, np.ndarray]:
    """Company, contact and deliberate-defect attributes of ``n`` leads.

    Defects are thresholds on uniform draws made whatever ``dirty`` is, so the
    same seed gives the same companies at any dirty rate (only the dirt differs).
    """
    size = np.clip(np.round(rng.lognormal(np.log(35), 1.2, n)), 1, 20000).astype(np.int32)
    u_dup, u_phone, u_email, u_space, u_enum = rng.random((5, n))
    return {
        "industry": rng.integers(0, 12, n).astype(np.int8),
        "company_size": size,
        "place": rng.choice(len(PLACES), n, p=PLACE_P).astype(np.int8),
        "surname": rng.integers(0, 30, n).astype(np.int8),
        "given": rng.integers(0, 32, n).astype(np.int8),
        "latin": rng.random(n) < 0.08,
        "email_kind": rng.choice(3, n, p=[0.3, 0.5, 0.2]).astype(np.int8),  # none, work, personal
        "style": rng.integers(0, 1 << 30, n).astype(np.int32),  # picks variants of defects
        "dup": u_dup < dirty * DIRTY_DUPLICATE,
        "dup_delay": rng.integers(0, 21, n).astype(np.int16),
        "phone_dirty": u_phone < dirty * DIRTY_PHONE,
        "email_dirty": u_email < dirty * DIRTY_EMAIL,
        "space_dirty": u_space < dirty * DIRTY_SPACES,
        "enum_dirty": u_enum < dirty * DIRTY_ENUM,
    }


class World:
    """Config + calendar + population, shared by the event and CRM simulations."""

    def __init__(self, config: GeneratorConfig, through: int | None = None) -> None:
        self.config = config
        self.span = Span.from_config(config)
        self.through = self.span.end if through is None else max(through, self.span.end)
        # CRM leads can precede a signup by up to 30 days: know 31 days ahead.
        self.population = Population(config, self.span, self.through + 31)

    @staticmethod
    def stream(seed: int, tag: str, *keys: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([seed, _tag(tag), *keys]))

    def rng(self, tag: str, *keys: int) -> np.random.Generator:
        """The random stream for ``tag`` (and e.g. a day offset); see module doc."""
        return self.stream(self.config.seed, tag, *(int(k) + 100_000 for k in keys))
