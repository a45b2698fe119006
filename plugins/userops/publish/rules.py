"""Every threshold of the outreach lists, in one frozen dataclass, plus the Chinese labels.

Business thresholds live in dbt ``vars`` (STYLE rule 6): every one is declared,
with its meaning, in ``dbt_project.yml``; :meth:`PublishParams.from_vars` reads
that file with the run's vars on top, so one config surface serves dbt models
and lists alike.  There are no defaults in code: a var missing from the project
fails naming it, and a known var with a wrong shape fails loudly.

Priority (documented here because reps and managers ask "why is this first?"):

    priority_score = action weight + tier weight + min(overdue days, overdue cap)

with the weights of ``dbt_project.yml``, action classes never overlap (largest tier weight + cap
= 89 < 100 = the smallest gap between action weights), so a win-back call always
ranks above a scheduled callback, which ranks above onboarding, upsell and
routine follow-ups; within a class tiers never overlap either (tier gap 30 > cap
29): A beats B beats C (271: the best leads first), then the longer-waiting
item; ties go to the smaller ``lead_id``.  "Overdue days" is how long the item
has been waiting: days past the cadence due date, past the rep's
``next_followup_at``, or since the triggering transition / onboarding window start.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any


def seed_labels(seed: str) -> Mapping[str, str]:
    """code -> label_zh of ``dbt_project/seeds/<seed>.csv``: the labels live once, in the
    seeds BI joins to, and the lists read the same file."""
    from userops.config import DBT_PROJECT_DIR

    path = DBT_PROJECT_DIR / "seeds" / f"{seed}.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["sort_order"]))
    return MappingProxyType({r["code"]: r["label_zh"] for r in rows})


#: Suggested actions: code -> Chinese label (also the keys of ``action_weights``).
ACTION_LABELS_ZH: Mapping[str, str] = seed_labels("outreach_actions")
#: RFM segments (SPEC §2 table).
RFM_SEGMENT_LABELS_ZH: Mapping[str, str] = seed_labels("rfm_segments")
#: Follow-up outcomes (docs/spec.md §1, followups.outcome).
OUTCOME_LABELS_ZH: Mapping[str, str] = seed_labels("followup_outcomes")
#: Lifecycle stages (SPEC §2).
LIFECYCLE_LABELS_ZH: Mapping[str, str] = seed_labels("lifecycle_stages")
#: How a list row's rep was chosen (``assignment_reason``, ADR 0009).
ASSIGNMENT_REASON_LABELS_ZH: Mapping[str, str] = seed_labels("assignment_reasons")

REP_TIERS: tuple[str, ...] = ("top", "middle", "bottom")
LEAD_TIERS: tuple[str, ...] = ("A", "B", "C")


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


def _tiers(value: Any) -> tuple[str, ...]:
    """A tier list from YAML: one name or a list of names."""
    return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value)


def _boolean(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise ValueError(f"invalid publish params: {name} must be true or false, got {value!r}")


@dataclass(frozen=True)
class PublishParams:
    """Thresholds of the lists.  No defaults here: every value is a var in
    ``dbt_project.yml`` (documented there); build with :meth:`from_vars`."""

    #: Lead tier -> the rep tiers allowed to work it, in order: the first is the matched
    #: tier, the next ones take the spill-over when it is full (ADR 0009).
    tier_match: Mapping[str, tuple[str, ...]]
    #: An active owner keeps the lead when the owner's tier is allowed and has room;
    #: False: every due lead is matched by tier (the owner only when the match picks them).
    keep_owner: bool
    #: Hold the day when more than this share of users turned dormant/churned on D.
    churn_hold_share: float
    #: Priority weights (see module docstring).
    action_weights: Mapping[str, int]
    tier_weights: Mapping[str, int]
    overdue_cap_days: int
    #: Lists are e-mailed only while D is at most this many days old (today - D, in the
    #: business time zone); an older date is a backfill: files and log, no e-mail.
    send_max_age_days: int
    #: Business time zone: ``next_followup_at`` (UTC) -> business date.
    timezone: str

    #: dbt var name -> field name (the names a data engineer sets in dbt_project.yml).
    VAR_NAMES = MappingProxyType(
        {
            "rep_tier_match": "tier_match",
            "outreach_keep_owner": "keep_owner",
            "publish_churn_hold_share": "churn_hold_share",
            "outreach_action_weights": "action_weights",
            "outreach_tier_weights": "tier_weights",
            "outreach_overdue_cap_days": "overdue_cap_days",
            "publish_send_max_age_days": "send_max_age_days",
            "business_timezone": "timezone",
        }
    )

    def __post_init__(self) -> None:
        # Normalise shapes (YAML gives lists and plain dicts) and validate once, here.
        set_ = object.__setattr__
        set_(self, "tier_match", _frozen({k: _tiers(v) for k, v in self.tier_match.items()}))
        set_(self, "keep_owner", _boolean(self.keep_owner, "keep_owner"))
        set_(self, "action_weights", _frozen({k: int(v) for k, v in self.action_weights.items()}))
        set_(self, "tier_weights", _frozen({k: int(v) for k, v in self.tier_weights.items()}))
        problems = []
        for tier in LEAD_TIERS:
            if tier not in self.tier_weights:
                problems.append(f"tier_weights misses tier {tier}")
            allowed = self.tier_match.get(tier, ())
            if not allowed or len(set(allowed)) != len(allowed) or set(allowed) - set(REP_TIERS):
                problems.append(
                    f"tier_match[{tier}] must list distinct rep tiers of {REP_TIERS}, "
                    f"got {list(allowed)}"
                )
        missing = set(ACTION_LABELS_ZH) - set(self.action_weights)
        if missing:
            problems.append(f"action_weights misses {sorted(missing)}")
        if self.send_max_age_days < 0:
            problems.append("send_max_age_days must be >= 0")
        if self.overdue_cap_days < 0:
            problems.append("overdue_cap_days must be >= 0")
        if problems:
            raise ValueError("invalid publish params: " + "; ".join(problems))

    @classmethod
    def from_vars(
        cls, dbt_vars: Mapping[str, Any] | None = None, **overrides: Any
    ) -> PublishParams:
        """Params from ``dbt_project.yml`` vars, then ``dbt_vars`` (a run's vars; names the
        lists do not use are ignored), then keyword overrides by field name."""
        from userops.config import project_vars

        values = {**project_vars(), **dict(dbt_vars or {})}
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(overrides) - names
        if unknown:
            raise ValueError(f"unknown publish params: {sorted(unknown)}")
        kwargs: dict[str, Any] = {}
        for var, name in cls.VAR_NAMES.items():
            if name in overrides:
                continue
            if values.get(var) is None:
                raise ValueError(f"dbt var {var} is not set (dbt_project.yml vars)")
            kwargs[name] = values[var]
        kwargs.update(overrides)
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable view (for the manifest: which thresholds made this list)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Mapping):
                value = dict(sorted(value.items()))
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out
