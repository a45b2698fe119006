"""CRM simulation: reps, leads, follow-ups and contracts, stepped day by day.

The CRM is a *current-state* database: one row per key, ``updated_at`` = the last
change.  We simulate each day's changes in order (new leads, registrations,
assignments, follow-ups and their outcomes, contract signings, cancellations,
renewals, expiries), so the state at the end of any day ``T`` is well defined and
identical whether we stop at ``T`` or later: ``append_day`` re-runs the
simulation one day further and writes the rows whose ``updated_at`` falls in
the new day.

Leads are numpy columns (a million-user world has ~1.2M leads); follow-ups and
contracts are few (bounded by the reps' daily capacity) and kept as small
columns / Python records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from userops.sources.vocab import (
    CONTRACT_PLANS,
    FOLLOWUP_CHANNELS,
    LEAD_STATUSES,
    REGIONS,
    SALES_TEAMS,
    SOURCE_CHANNELS,
)
from userops.sources.world import (
    ENGAGEMENT,
    LEAD_SHARE,
    UNREGISTERED_CHANNEL_P,
    UNREGISTERED_SHARE,
    World,
    business_seconds,
    draw_company,
)

NEW, CONTACTED, QUALIFIED, MEMBER, SIGNED, LOST = range(len(LEAD_STATUSES))
NO_ANSWER, INTERESTED, NOT_INTERESTED, CALLBACK, CONVERTED = range(5)
BASIC, PRO, ENTERPRISE = range(len(CONTRACT_PLANS))
ACTIVE, EXPIRED, CANCELLED = range(3)
NEVER = 2**31 - 1
FIRST_LEAD_DAY = -30  # the CRM is older than the event history
UNREGISTERED_COMPANY_BASE = 1 << 23  # company ids of companies without an account

#: Outcome probabilities by status group: new/contacted, qualified, member/signed.
OUTCOME_P = np.array(
    [
        [0.34, 0.22, 0.16, 0.26, 0.02],
        [0.18, 0.30, 0.14, 0.26, 0.12],
        [0.22, 0.35, 0.10, 0.29, 0.04],
    ]
)
FOLLOWUP_CHANNEL_P = np.array([0.50, 0.30, 0.12, 0.08])
PLAN_P = np.array([0.60, 0.30, 0.10])
#: Yearly list prices (CNY) and the term lengths (months, probability) per plan.
PLAN_PRICE = (5800, 15800, 49800)
PLAN_TERMS = (((1, 0.25), (3, 0.35), (12, 0.40)), ((3, 0.30), (12, 0.70)), ((12, 1.0),))
TERM_DAYS = {1: 30, 3: 91, 12: 365}
TERM_FACTOR = {1: 0.12, 3: 0.3, 12: 1.0}
CANCEL_P = 0.10


@dataclass
class Reps:
    """Sales reps: static columns plus the day each one leaves (NEVER if active)."""

    team: np.ndarray
    region: np.ndarray
    capacity: np.ndarray
    hired_ts: np.ndarray
    leave_day: np.ndarray
    leave_ts: np.ndarray
    profile_ts: np.ndarray
    surname: np.ndarray
    given: np.ndarray

    def __len__(self) -> int:
        return len(self.team)

    def active_on(self, d: int) -> np.ndarray:
        return np.flatnonzero(self.leave_day > d)


def build_reps(world: World) -> Reps:
    """Reps with team/region/capacity; ~15% leave during the span (inactive)."""
    n, span = world.config.reps, world.span
    rng = world.rng("reps")
    team = rng.integers(0, len(SALES_TEAMS), n)
    key_accounts = team == SALES_TEAMS.index("大客户组")
    capacity = np.where(key_accounts, rng.integers(8, 16, n), rng.integers(20, 41, n))
    leave_day = np.full(n, NEVER, dtype=np.int64)
    leavers = round(0.15 * n) if n >= 3 else 0
    if leavers:
        who = rng.choice(n, max(1, leavers), replace=False)
        leave_day[who] = rng.integers(
            span.n_days // 4, max(span.n_days // 4 + 1, span.n_days - 3), len(who)
        )
    start = span.day_start(0)
    hired_ts = start - rng.integers(60, 2000, n) * 86400 + rng.integers(9 * 3600, 11 * 3600, n)
    leave_ts = np.where(
        leave_day < NEVER, span.day_start(np.minimum(leave_day, 10**6)) + 18 * 3600, 0
    )
    return Reps(
        team=team,
        region=np.arange(n) % len(REGIONS),
        capacity=capacity,
        hired_ts=hired_ts,
        leave_day=leave_day,
        leave_ts=leave_ts,
        profile_ts=hired_ts + rng.integers(1, 40, n) * 86400,
        surname=rng.integers(0, 30, n),
        given=rng.integers(0, 32, n),
    )


def build_leads(world: World, through: int) -> dict[str, np.ndarray]:
    """Every lead created up to day ``through``, sorted by creation time.

    Registered companies' leads come from the population (created up to 30 days
    before or 10 after signup, by channel); companies that never register arrive
    daily; a ``dirty_rate`` share of leads gets a duplicate row a few days later.
    """
    span, c = world.span, world.population.cols
    cfg = world.config
    has = np.flatnonzero(c["has_lead"])
    created_day = c["signup_day"][has].astype(np.int64) + c["lead_offset"][has]
    keep = created_day <= through
    ui, created_day = has[keep], created_day[keep]
    register_ts = span.day_start(c["signup_day"][ui].astype(np.int64)) + c["signup_sec"][ui] + 300
    company_cols = ("industry", "company_size", "place", "surname", "given", "latin", "email_kind")
    defect_cols = (
        "style",
        "dup",
        "dup_delay",
        "phone_dirty",
        "email_dirty",
        "space_dirty",
        "enum_dirty",
    )
    linked = {k: c[k][ui] for k in company_cols + defect_cols}
    linked.update(
        company=ui.astype(np.int64),
        user=ui.astype(np.int32),
        register_ts=register_ts,
        created_ts=span.day_start(created_day) + c["lead_sec"][ui],
        channel=c["lead_channel"][ui],
        engagement=ENGAGEMENT[c["archetype"][ui]].astype(np.float32),
    )
    parts = [linked]

    daily = cfg.users * LEAD_SHARE * UNREGISTERED_SHARE / (1 - UNREGISTERED_SHARE) / span.n_days
    next_company = UNREGISTERED_COMPANY_BASE
    for d in range(FIRST_LEAD_DAY, through + 1):
        rng = world.rng("leads", d)
        n = int(rng.poisson(daily * (0.5 if span.is_weekend(d) else 1.15)))
        part = draw_company(rng, n, cfg.dirty_rate)
        part.update(
            company=np.arange(next_company, next_company + n, dtype=np.int64),
            user=np.full(n, -1, dtype=np.int32),
            register_ts=np.full(n, NEVER * 4, dtype=np.int64),
            created_ts=span.day_start(d) + business_seconds(rng, n),
            channel=rng.choice(len(SOURCE_CHANNELS), n, p=UNREGISTERED_CHANNEL_P).astype(np.int8),
            engagement=np.full(n, 0.6, dtype=np.float32),
        )
        next_company += n
        parts.append(part)
    base = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    nb = len(base["company"])
    base["is_dup"] = np.zeros(nb, dtype=bool)

    # Duplicate rows of one company: different lead_id, name spacing/case varies.
    src = np.flatnonzero(base["dup"])
    dup = {k: v[src].copy() for k, v in base.items()}
    style = dup["style"]
    dup["created_ts"] = dup["created_ts"] + dup["dup_delay"].astype(np.int64) * 86400 + 1800
    dup["is_dup"][:] = True
    dup["channel"] = ((dup["channel"] + 1 + style % 5) % len(SOURCE_CHANNELS)).astype(np.int8)
    dup["user"] = np.where(style % 2 == 0, dup["user"], -1).astype(np.int32)
    dup["phone_dirty"] = dup["phone_dirty"] | (style % 3 == 0)
    dup["email_dirty"] = dup["email_dirty"] | (style % 4 == 0)
    leads = {k: np.concatenate([base[k], dup[k]]) for k in base}
    leads["created_day"] = (leads["created_ts"] + span.offset_seconds) // 86400 - (
        span.day_start(0) + span.offset_seconds
    ) // 86400
    within = leads["created_day"] <= through
    leads = {k: v[within] for k, v in leads.items()}
    order = np.lexsort((leads["is_dup"], leads["company"], leads["created_ts"]))
    leads = {k: v[order] for k, v in leads.items()}

    # Soft deletes: half the duplicates after a while, a few spam crawl leads.
    style = leads["style"].astype(np.int64)
    delete_after = np.where(
        leads["is_dup"] & (style % 7 < 3),
        3 + style % 28,
        np.where((leads["user"] < 0) & (leads["channel"] == 0) & (style % 100 < 3), 1 + style % 14, -1),
    )  # fmt: skip
    leads["delete_day"] = np.where(delete_after >= 0, leads["created_day"] + delete_after, NEVER)
    return leads


@dataclass
class Contract:
    contract_id: int
    lead: int
    user: int
    plan: int
    months: int
    amount_cents: int
    signed_ts: int
    starts_ts: int
    ends_ts: int
    status: int = ACTIVE
    updated_ts: int = 0


@dataclass
class CrmState:
    """The CRM at the end of the last simulated day."""

    reps: Reps
    leads: dict[str, np.ndarray]
    followups: dict[str, np.ndarray]
    contracts: list[Contract] = field(default_factory=list)


#: Follow-up note codes below zero: the renewal notes (vocab) instead of followup_note.
RENEWAL, NO_RENEWAL = -1, -2
FOLLOWUP_KEYS = (
    "lead",
    "rep",
    "channel",
    "outcome",
    "note",
    "note_dirty",
    "next_ts",
    "ts",
    "updated_ts",
)


class CrmSimulation:
    """Steps the CRM from ``FIRST_LEAD_DAY`` through ``through`` (inclusive)."""

    def __init__(self, world: World, through: int) -> None:
        self.world = world
        self.span = world.span
        self.through = through
        self.reps = build_reps(world)
        self.leads = build_leads(world, through)
        n = len(self.leads["company"])
        self.status = np.zeros(n, dtype=np.int8)
        self.owner = np.full(n, -1, dtype=np.int32)
        self.next_touch = np.full(n, NEVER, dtype=np.int64)
        self.explicit = np.zeros(n, dtype=bool)  # next touch set by a rep (next_followup_at)
        self.touches = np.zeros(n, dtype=np.int16)
        self.updated_ts = self.leads["created_ts"].copy()
        self.deleted = np.zeros(n, dtype=bool)
        self.visible = np.zeros(n, dtype=bool)  # user_id shown (company has registered)
        self.contracts: list[Contract] = []
        self.active_contracts: dict[int, list[int]] = {}  # lead -> indexes of active contracts
        self.agenda: dict[int, list[tuple[str, int]]] = {}  # day -> (action, contract index)
        self.day_last = 0  # last second of the day being simulated
        self.followup_parts: list[dict[str, np.ndarray]] = []

    def run(self) -> CrmState:
        for d in range(FIRST_LEAD_DAY, self.through + 1):
            self._step(d)
        parts = self.followup_parts or [{k: np.zeros(0, np.int64) for k in FOLLOWUP_KEYS}]
        followups = {
            k: np.concatenate([np.asarray(p[k]) for p in parts]).astype(np.int64)
            for k in FOLLOWUP_KEYS
        }
        leads = dict(self.leads)
        leads.update(
            status=self.status,
            owner=self.owner,
            updated_ts=self.updated_ts,
            deleted=self.deleted,
            visible=self.visible,
        )
        return CrmState(self.reps, leads, followups, self.contracts)

    # -- one day ------------------------------------------------------------------

    def _step(self, d: int) -> None:
        rng = self.world.rng("crm", d)
        day0 = int(self.span.day_start(d))
        # Every change of day d is stamped within d, so the rows a day changes are
        # exactly those whose updated_at falls in it (what append_day writes).
        self.day_last = day0 + 86399
        lead = self.leads
        lo, hi = np.searchsorted(lead["created_day"], [d, d + 1])
        active_reps = self.reps.active_on(d)
        weights = self.reps.capacity[active_reps] / self.reps.capacity[active_reps].sum()

        def pick_reps(k: int) -> np.ndarray:
            return active_reps[rng.choice(len(active_reps), k, p=weights)]

        # Reps leaving today hand their open leads to colleagues.
        for rep in np.flatnonzero(self.reps.leave_day == d):
            mine = np.flatnonzero(
                (self.owner[:lo] == rep) & ~self.deleted[:lo] & (self.status[:lo] != LOST)
            )
            self.owner[mine] = pick_reps(len(mine))
            self._touch_row(mine, day0 + 18 * 3600 + 60)

        # New leads: 60% get an owner at once, the rest wait for assignment.
        # The first call is from the next day on, so a follow-up never precedes its lead.
        new = np.arange(lo, hi)
        assign = new[rng.random(len(new)) < 0.6]
        self.owner[assign] = pick_reps(len(assign))
        self.next_touch[assign] = d + rng.integers(1, 3, len(assign))
        self.visible[new] = lead["register_ts"][new] <= lead["created_ts"][new]

        # Companies registering on the platform today: the CRM syncs their user_id.
        reg_ts = lead["register_ts"][:hi]
        registering = np.flatnonzero(
            (reg_ts >= day0) & (reg_ts < day0 + 86400) & ~self.visible[:hi]
        )
        self.visible[registering] = True
        self._touch_row(registering, reg_ts[registering])

        # Soft deletes.
        gone = np.flatnonzero(lead["delete_day"][:hi] == d)
        self.deleted[gone] = True
        self.next_touch[gone] = NEVER
        self._touch_row(gone, day0 + 11 * 3600 + rng.integers(0, 3600, len(gone)))

        # Operations assign waiting leads.
        waiting = np.flatnonzero(
            (self.owner[:lo] < 0) & ~self.deleted[:lo] & (self.status[:lo] == NEW)
        )
        waiting = waiting[rng.random(len(waiting)) < 0.12]
        self.owner[waiting] = pick_reps(len(waiting))
        self.next_touch[waiting] = d + rng.integers(0, 3, len(waiting))
        self._touch_row(waiting, day0 + 9 * 3600 + rng.integers(0, 3600, len(waiting)))

        self._contracts_step(d, day0, rng, pick_reps)
        self._followups_step(d, day0, hi, rng)

    def _touch_row(self, idx: np.ndarray, ts: np.ndarray | int) -> None:
        self.updated_ts[idx] = np.maximum(self.updated_ts[idx], np.minimum(ts, self.day_last))

    def _followups_step(self, d: int, day0: int, hi: int, rng: np.random.Generator) -> None:
        due = np.flatnonzero(
            (self.next_touch[:hi] <= d) & (self.owner[:hi] >= 0) & ~self.deleted[:hi] & (self.status[:hi] != LOST)
        )  # fmt: skip
        if self.span.is_weekend(d):
            due = due[rng.random(len(due)) < 0.15]
        # Within each rep's daily capacity: explicit call-backs first, then hotter leads.
        prio = self.explicit[due] * 10 + self.status[due]
        order = np.lexsort((rng.random(len(due)), -prio, self.owner[due]))
        due = due[order]
        owners = self.owner[due]
        group_start = np.searchsorted(owners, owners, side="left")
        rank = np.arange(len(due)) - group_start
        due = np.sort(due[rank < self.reps.capacity[owners]])
        k = len(due)
        if k == 0:
            return
        status = self.status[due]
        group = np.where(status <= CONTACTED, 0, np.where(status == QUALIFIED, 1, 2))
        cum = OUTCOME_P.cumsum(axis=1)[group]
        u = rng.random((6, k))
        outcome = (u[0][:, None] >= cum).sum(axis=1).clip(0, 4)
        can_convert = (
            self.visible[due] & (self.leads["user"][due] >= 0) & ~self.leads["is_dup"][due]
        )
        blocked = (outcome == CONVERTED) & (
            ~can_convert | (u[1] > 0.6 * self.leads["engagement"][due])
        )
        outcome[blocked] = INTERESTED
        ts = day0 + np.clip(business_seconds(rng, k), 8 * 3600, 20 * 3600)
        rep = self.owner[due].copy()
        covering = u[2] < 0.05
        active_reps = self.reps.active_on(d)
        rep[covering] = active_reps[rng.integers(0, len(active_reps), int(covering.sum()))]
        entry_delay = rng.integers(30, 3600, k)
        next_day = d + rng.integers(1, 8, k)
        cadence = np.select(
            [status <= CONTACTED, status == QUALIFIED], [rng.integers(3, 8, k), rng.integers(2, 6, k)],
            rng.integers(20, 46, k),
        )  # fmt: skip
        set_next = (
            (outcome == CALLBACK)
            | ((outcome == INTERESTED) & (u[3] < 0.6))
            | ((outcome == NO_ANSWER) & (u[3] < 0.3))
        )

        new_status = status.copy()
        new_status[status == NEW] = CONTACTED
        new_status[(outcome == INTERESTED) & (status <= CONTACTED)] = QUALIFIED
        new_status[(outcome == NOT_INTERESTED) & (status <= QUALIFIED) & (u[4] < 0.5)] = LOST
        self.touches[due] += 1
        new_status[(self.touches[due] >= 10) & (new_status <= CONTACTED) & (u[5] < 0.3)] = LOST
        for i in np.flatnonzero(outcome == CONVERTED).tolist():
            lead = int(due[i])
            if status[i] <= QUALIFIED:
                plan = int(rng.choice(3, p=PLAN_P))
                new_status[i] = SIGNED if plan == ENTERPRISE else MEMBER
            else:
                current = max(
                    (self.contracts[j].plan for j in self.active_contracts.get(lead, [])), default=0
                )
                plan = min(current + 1, ENTERPRISE)
                new_status[i] = SIGNED
            signed_ts = min(int(ts[i]) + 600, self.day_last)
            self._sign(lead, plan, signed_ts, d, rng, first=status[i] <= QUALIFIED)

        changed = new_status != status
        self.status[due] = new_status
        self._touch_row(due[changed], ts[changed] + 120)
        lost = new_status == LOST
        self.next_touch[due] = np.where(set_next, next_day, d + cadence)
        self.next_touch[due[lost]] = NEVER
        self.explicit[due] = set_next & ~lost
        self.followup_parts.append(
            {
                "lead": due,
                "rep": rep,
                "channel": rng.choice(len(FOLLOWUP_CHANNELS), k, p=FOLLOWUP_CHANNEL_P),
                "outcome": outcome,
                "note": rng.integers(0, 1 << 20, k),  # vocab.followup_note
                "note_dirty": rng.random(k) < self.world.config.dirty_rate,
                "next_ts": np.where(
                    set_next & ~lost, self.span.day_start(next_day) + business_seconds(rng, k), -1
                ),
                "ts": ts,
                "updated_ts": np.minimum(ts + entry_delay, day0 + 86399),
            }
        )

    def _sign(
        self, lead: int, plan: int, signed_ts: int, d: int, rng: np.random.Generator, first: bool
    ) -> None:
        """A conversion: a first contract (10% cancelled within weeks) or an upgrade."""
        terms = PLAN_TERMS[plan]
        months = terms[int(rng.choice(len(terms), p=[p for _, p in terms]))][0]
        starts = int(self.span.day_start(d + int(rng.integers(0, 4))))
        index = self._add_contract(lead, plan, months, signed_ts, starts, rng)
        if first and rng.random() < CANCEL_P:
            self.agenda.setdefault(d + int(rng.integers(2, 21)), []).append(("cancel", index))

    def _add_contract(
        self,
        lead: int,
        plan: int,
        months: int,
        signed_ts: int,
        starts_ts: int,
        rng: np.random.Generator,
    ) -> int:
        price = PLAN_PRICE[plan] * TERM_FACTOR[months]
        if plan == ENTERPRISE:
            price *= rng.uniform(1.0, 2.5)
        price *= 1 - rng.uniform(0, 0.2)
        contract = Contract(
            contract_id=len(self.contracts) + 1,
            lead=lead,
            user=int(self.leads["user"][lead]),
            plan=plan,
            months=months,
            amount_cents=round(price / 10) * 1000,  # whole tens of CNY
            signed_ts=signed_ts,
            starts_ts=starts_ts,
            ends_ts=starts_ts + TERM_DAYS[months] * 86400,
            updated_ts=signed_ts,
        )
        index = len(self.contracts)
        self.contracts.append(contract)
        self.active_contracts.setdefault(lead, []).append(index)
        ends_day = (contract.ends_ts - int(self.span.day_start(0))) // 86400
        self.agenda.setdefault(ends_day - 5, []).append(("renewal", index))
        self.agenda.setdefault(ends_day, []).append(("expire", index))
        return index

    def _end_contract(self, index: int, status: int, ts: int) -> None:
        contract = self.contracts[index]
        contract.status, contract.updated_ts = status, ts
        self.active_contracts[contract.lead].remove(index)

    def _contracts_step(self, d: int, day0: int, rng: np.random.Generator, pick_reps) -> None:
        """Scheduled contract changes of day ``d``: cancellations, renewals, expiries."""
        extra: list[tuple[int, int, int, int, int]] = []  # lead, rep, outcome, note, ts
        for action, index in self.agenda.pop(d, []):
            contract = self.contracts[index]
            if contract.status != ACTIVE:
                continue
            lead = contract.lead
            if action == "cancel":
                ts = day0 + 14 * 3600 + int(rng.integers(0, 3600))
                self._end_contract(index, CANCELLED, ts)
                if not self.active_contracts[lead] and self.status[lead] in (MEMBER, SIGNED):
                    self.status[lead] = LOST
                    self.next_touch[lead] = NEVER
                    self._touch_row(np.array([lead]), ts)
            elif action == "expire":
                self._end_contract(index, EXPIRED, day0 + 600)
                if not self.active_contracts[lead] and self.status[lead] != LOST:
                    self.next_touch[lead] = d + int(rng.integers(1, 6))  # win-back call
            else:  # renewal decision 5 days before the end
                ts = day0 + int(np.clip(business_seconds(rng, 1)[0], 9 * 3600, 19 * 3600))
                owner = int(self.owner[lead])
                rep = (
                    owner if owner >= 0 and self.reps.leave_day[owner] > d else int(pick_reps(1)[0])
                )
                p = float(np.clip(0.35 * self.leads["engagement"][lead], 0.1, 0.85))
                if rng.random() < p and not self.deleted[lead]:
                    upgrade = contract.plan < ENTERPRISE and rng.random() < 0.2
                    plan = contract.plan + 1 if upgrade else contract.plan
                    self._add_contract(lead, plan, contract.months, ts + 600, contract.ends_ts, rng)
                    self.status[lead] = SIGNED
                    self._touch_row(np.array([lead]), ts + 720)
                    extra.append((lead, rep, CONVERTED, RENEWAL, ts))
                else:
                    extra.append((lead, rep, NOT_INTERESTED, NO_RENEWAL, ts))
        if extra:
            lead_a, rep_a, outcome_a, note_a, ts_a = (
                np.array(col, dtype=np.int64) for col in zip(*extra, strict=True)
            )
            self.followup_parts.append(
                {
                    "lead": lead_a,
                    "rep": rep_a,
                    "channel": np.zeros(len(extra), np.int64),  # phone
                    "outcome": outcome_a,
                    "note": note_a,
                    "note_dirty": np.zeros(len(extra), bool),
                    "next_ts": np.full(len(extra), -1),
                    "ts": ts_a,
                    "updated_ts": np.minimum(ts_a + 900, day0 + 86399),
                }
            )
