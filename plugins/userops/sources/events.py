"""Product events of one business day, simulated as numpy columns (no strings yet).

One call covers every event that *occurred* on business day ``d`` (local time),
whenever it is received: normally seconds later, for a few offline user-days up
to 7 days later.  Strings are made only when a partition is written
(:mod:`userops.sources.jsonl`), so a day of a million users stays a few columns
of integers in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from userops.sources.vocab import (
    EVENT_TYPES,
    FEATURES,
    PAGE_PATHS,
    SEARCH_QUERIES,
    UNKNOWN_EVENT_TYPES,
)
from userops.sources.world import (
    CHURNED,
    DECLINING,
    RESURRECTED,
    WEEKEND_ACTIVITY,
    World,
    business_seconds,
)

(
    SIGNUP,
    LOGIN,
    PAGE_VIEW,
    SEARCH,
    LISTING_PUBLISHED,
    LISTING_UPDATED,
    PROFILE_UPDATED,
    INQUIRY_SENT,
    FEATURE_USED,
    ORDER_PAID,
) = range(len(EVENT_TYPES))
#: Codes >= this are event types outside the tracking plan.
FIRST_UNKNOWN = len(EVENT_TYPES)
#: Types of the events after the first one of a session, and their shares.
SESSION_TYPES = np.array(
    [LOGIN, PAGE_VIEW, SEARCH, LISTING_PUBLISHED, LISTING_UPDATED, PROFILE_UPDATED, INQUIRY_SENT, FEATURE_USED]
)  # fmt: skip
SESSION_P = np.array([0.02, 0.42, 0.16, 0.05, 0.07, 0.03, 0.10, 0.15])
PATH_P = 1.0 / np.arange(1, len(PAGE_PATHS) + 1) ** 0.8
PATH_P /= PATH_P.sum()
QUERY_P = 1.0 / np.arange(1, len(SEARCH_QUERIES) + 1) ** 0.7
QUERY_P /= QUERY_P.sum()
LISTING_BLOCK = 10_000_000  # listing ids: (day + 1) * block + sequence

# Line defects (column "defect"); names are the kinds reported in summaries.
CLEAN, INVALID_JSON, MISSING_FIELD, BAD_TIMESTAMP, UNKNOWN_TYPE = range(5)
DEFECT_NAMES = {
    INVALID_JSON: "invalid_json",
    MISSING_FIELD: "missing_field",
    BAD_TIMESTAMP: "bad_timestamp",
    UNKNOWN_TYPE: "unknown_event_type",
}
#: Per-line probability of each defect, as a multiple of dirty_rate.
DEFECT_RATES = {INVALID_JSON: 0.05, MISSING_FIELD: 0.05, BAD_TIMESTAMP: 0.05, UNKNOWN_TYPE: 0.08}
DUPLICATE_RATE = 0.5  # redelivered lines, x dirty_rate
LATE_RATE = 1.0  # offline user-days uploaded hours to days later, x dirty_rate
MAX_DELAY = 7 * 86400  # the collector never receives an event more than 7 days late
LATE_THRESHOLD = 3600  # received this long after it occurred counts as "late"


@dataclass
class EventBatch:
    """Columns of equal length; ``eid`` is (n, 16) uuid bytes."""

    cols: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.cols["user"])

    def take(self, idx: np.ndarray) -> EventBatch:
        return EventBatch({k: v[idx] for k, v in self.cols.items()})

    @staticmethod
    def concat(batches: list[EventBatch]) -> EventBatch:
        keys = batches[0].cols
        return EventBatch({k: np.concatenate([b.cols[k] for b in batches]) for k in keys})


def activity_probability(world: World, d: int, n: int) -> np.ndarray:
    """Chance that each of the first ``n`` accounts is active on day ``d``."""
    c = world.population.cols
    t = d - c["signup_day"][:n]
    arch = c["archetype"][:n]
    rate = c["rate"][:n].astype(np.float64)
    life = c["life"][:n]
    p = np.where(arch == DECLINING, rate * np.exp(-t / c["tau"][:n]), rate)
    p = np.where((arch == CHURNED) & (t >= life), 0.0, p)
    resting = (arch == RESURRECTED) & (t >= life) & (t < life + c["gap"][:n])
    p = np.where(resting, 0.0, p)
    if world.span.is_weekend(d):
        p = p * WEEKEND_ACTIVITY
    p[t == 0] = 1.0  # everyone is active on the day they sign up
    return p


def simulate_day(world: World, d: int) -> EventBatch:
    """Every event that occurred on business day ``d``, with its delivery time(s)."""
    cfg, span, c = world.config, world.span, world.population.cols
    rng = world.rng("events", d)
    n = world.population.signed_up_by(d)
    active = np.flatnonzero(rng.random(n) < activity_probability(world, d, n))
    k = len(active)
    first_day = c["signup_day"][active] == d

    # Sessions: one per active user-day.
    n_events = np.minimum(3 + rng.poisson(c["extra_events"][active]), 15)
    pays = rng.random(k) < c["pay_q"][active]
    total = n_events + pays
    start = np.where(first_day, c["signup_sec"][active], business_seconds(rng, k))
    platform = np.where(rng.random(k) < 0.85, c["platform"][active], rng.integers(0, 4, k))
    late_day = rng.random(k) < cfg.dirty_rate * LATE_RATE
    late_delay = rng.uniform(LATE_THRESHOLD, 6.5 * 86400, k).astype(np.int64)
    head_u = rng.random(k)
    profile_u = rng.random(k)

    # Events: expand sessions.
    e = int(total.sum())
    owner = np.repeat(np.arange(k), total)
    first = np.cumsum(total) - total
    last = first + total - 1
    pos = np.arange(e) - first[owner]
    gaps = rng.exponential(80.0, e) + 3.0
    gaps[first] = 0.0
    cum = np.cumsum(gaps)
    sec = np.minimum(start[owner] + (cum - cum[first][owner]).astype(np.int64), 86399)
    occurred = span.day_start(d) + sec

    etype = SESSION_TYPES[rng.choice(len(SESSION_TYPES), e, p=SESSION_P)].astype(np.int8)
    signup = first_day & c["has_signup_event"][active]
    etype[first] = np.where(signup, SIGNUP, np.where(head_u < 0.85, LOGIN, PAGE_VIEW))
    etype[(first + 1)[first_day & (profile_u < 0.7)]] = PROFILE_UPDATED
    etype[last[pays]] = ORDER_PAID

    prop = _properties(rng, world, d, etype, e)
    user = active[owner].astype(np.int32)
    amount = np.maximum(
        np.round(np.exp(c["amount_mu"][user] + 0.6 * rng.standard_normal(e)) * 100), 990
    ).astype(np.int64)

    received = occurred + 1 + rng.exponential(2.5, e).astype(np.int64)
    upload = np.minimum(occurred[last] + late_delay, occurred[first] + MAX_DELAY - 60)
    received = np.where(late_day[owner], upload[owner] + pos, received)

    eid = rng.integers(0, 256, (e, 16), dtype=np.uint8)
    defect_u = rng.random(e)
    param = rng.integers(0, 2**31 - 1, e).astype(np.int64)
    dup_u = rng.random(e)
    dup_shift = rng.integers(1, 2 * 86400, e)

    defect = np.zeros(e, dtype=np.int8)
    edge = 0.0
    for kind, mult in DEFECT_RATES.items():
        band = (defect_u >= edge) & (defect_u < edge + mult * cfg.dirty_rate)
        defect[band] = kind
        edge += mult * cfg.dirty_rate
    unknown = defect == UNKNOWN_TYPE
    etype[unknown] = FIRST_UNKNOWN + param[unknown] % len(UNKNOWN_EVENT_TYPES)

    batch = EventBatch(
        {
            "user": user,
            "etype": etype,
            "occurred": occurred,
            "received": received,
            "device_utc": c["device_utc"][user],
            "platform": platform[owner].astype(np.int8),
            "prop": prop,
            "amount": amount,
            "eid": eid,
            "defect": defect,
            "param": param,
            "dup": np.zeros(e, dtype=bool),
        }
    )
    redeliver = np.flatnonzero((dup_u < cfg.dirty_rate * DUPLICATE_RATE) & (defect == CLEAN))
    if len(redeliver):
        copy = batch.take(redeliver)
        copy.cols["received"] = np.minimum(
            received[redeliver] + dup_shift[redeliver], occurred[redeliver] + MAX_DELAY
        )
        copy.cols["dup"][:] = True
        batch = EventBatch.concat([batch, copy])
    # Stable order key across days: the collector writes in arrival order, ties by this.
    batch.cols["seq"] = (np.int64(d) << 32) + np.arange(len(batch), dtype=np.int64)
    return batch


def _properties(
    rng: np.random.Generator, world: World, d: int, etype: np.ndarray, e: int
) -> np.ndarray:
    """One integer per event that the writer turns into its ``properties`` object.

    page_view/search/feature_used: index into the vocabulary; listing events: the
    listing number; order_paid: the order number ``YYYYMMDD * 1e6 + sequence``.
    """
    path = rng.choice(len(PAGE_PATHS), e, p=PATH_P)
    query = rng.choice(len(SEARCH_QUERIES), e, p=QUERY_P)
    feature = rng.integers(0, len(FEATURES), e)
    old_listing = (rng.integers(0, d + 1, e) + 1) * LISTING_BLOCK + rng.integers(0, 400, e)
    published = etype == LISTING_PUBLISHED
    new_listing = (d + 1) * LISTING_BLOCK + np.cumsum(published) - 1
    is_order = etype == ORDER_PAID
    ymd = int((world.span.start + timedelta(days=d)).strftime("%Y%m%d"))
    order_no = ymd * 1_000_000 + np.cumsum(is_order) - 1
    return np.select(
        [
            etype == PAGE_VIEW,
            etype == SEARCH,
            etype == FEATURE_USED,
            published,
            (etype == LISTING_UPDATED) | (etype == INQUIRY_SENT),
            is_order,
        ],
        [path, query, feature, new_listing, old_listing, order_no],
        0,
    ).astype(np.int64)
