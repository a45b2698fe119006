"""Independent pandas reference of ``marts.outreach_candidates_history`` (one day).

Written from SPEC §2 ("Follow-up cadence") and the vars of ``dbt_project.yml``, from
the CRM tables as staging exposes them: the tests compare the mart with it, and the
outreach-list tests use it to stand in for the mart in their hand-made worlds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

#: Columns of the mart (and of :func:`candidates`), in order.
CANDIDATE_COLUMNS = (
    "as_of_date", "lead_id", "user_id", "owner_rep_id", "lead_status", "created_date",
    "lead_score", "lead_tier", "prospect_tier", "outreach_tier", "is_customer", "customer_reason", "first_paid_date", "is_lost",
    "followups_to_date", "last_followup_date", "days_since_followup", "last_outcome",
    "no_answer_streak", "is_channel_change_suggested", "next_followup_date", "is_in_cooldown", "callback_due_date", "callback_reason_code",
    "is_callback_due", "callback_overdue_days", "cadence_days", "is_cadence_from_outcome",
    "cadence_reason_code", "is_cadence_due", "cadence_overdue_days",
)  # fmt: skip


@dataclass(frozen=True)
class CadenceRules:
    """The vars the mart reads (names as in ``dbt_project.yml``)."""

    followup_cadence_days: Mapping[str, int]
    followup_outcome_cadence_days: Mapping[str, int]
    followup_cooldown_days: int
    followup_callback_default_days: int
    outreach_customer_statuses: tuple[str, ...]
    outreach_customer_outcomes: tuple[str, ...]
    business_timezone: str
    outreach_no_answer_streak: int
    outreach_prospect_tiers: bool
    tier_splits: tuple[float, float, float]

    @classmethod
    def from_vars(cls, overrides: Mapping[str, Any] | None = None) -> CadenceRules:
        from userops.config import project_vars

        values = {**project_vars(), **dict(overrides or {})}
        return cls(
            followup_cadence_days={k: int(v) for k, v in values["followup_cadence_days"].items()},
            followup_outcome_cadence_days={
                k: int(v) for k, v in (values["followup_outcome_cadence_days"] or {}).items()
            },
            followup_cooldown_days=int(values["followup_cooldown_days"]),
            followup_callback_default_days=int(values["followup_callback_default_days"]),
            outreach_customer_statuses=tuple(values["outreach_customer_statuses"] or ()),
            outreach_customer_outcomes=tuple(values["outreach_customer_outcomes"] or ()),
            business_timezone=str(values["business_timezone"]),
            outreach_no_answer_streak=int(values["outreach_no_answer_streak"]),
            outreach_prospect_tiers=bool(values["outreach_prospect_tiers"]),
            tier_splits=tuple(float(v) for v in values["tier_splits"]),
        )


def _days(s: pd.Series) -> pd.Series:
    out = pd.to_datetime(s)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_localize(None)
    return out.dt.normalize()


def _business_days(s: pd.Series, tz: str) -> pd.Series:
    out = pd.to_datetime(s)
    out = out.dt.tz_localize("UTC") if out.dt.tz is None else out.dt.tz_convert("UTC")
    return out.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()


def candidates(
    *,
    leads: pd.DataFrame,
    followups: pd.DataFrame,
    contracts: pd.DataFrame,
    resolved: pd.DataFrame,
    scores: pd.DataFrame,
    day: date,
    rules: CadenceRules,
) -> pd.DataFrame:
    """Rows of the mart for ``day``: one per lead with a tier in ``scores`` on ``day``.

    ``leads``/``followups``/``contracts``: staging rows (lead_id, user_id, lead_status,
    owner_rep_id, created_date, is_deleted / followup_id, lead_id, outcome,
    next_followup_at, occurred_at, occurred_date / lead_id, user_id, amount_cny,
    signed_date, contract_status); ``resolved``: lead_id -> surviving_lead_id;
    ``scores``: lead_scores_history rows (as_of_date, lead_id, lead_score, lead_tier).
    """
    d = pd.Timestamp(day)
    leads, followups, contracts, scores = (
        f.astype({c: object for c in ("lead_id", "user_id") if c in f.columns})
        for f in (leads, followups, contracts, scores)
    )
    surviving = dict(zip(resolved["lead_id"], resolved["surviving_lead_id"], strict=True))

    live = leads[~leads["is_deleted"].fillna(False).astype(bool)].copy()
    live["created_date"] = _days(live["created_date"])
    live = live[~(live["created_date"] > d)].drop_duplicates("lead_id", keep="last")

    fu = followups.copy()
    fu["lead_id"] = fu["lead_id"].map(surviving)
    fu["occurred_date"] = _days(fu["occurred_date"])
    fu["occurred_at"] = pd.to_datetime(fu["occurred_at"])
    fu["next_followup_date"] = _business_days(fu["next_followup_at"], rules.business_timezone)
    fu = fu[fu["lead_id"].notna() & (fu["occurred_date"] <= d)]
    latest = (
        fu.sort_values(["lead_id", "occurred_at", "followup_id"], kind="stable")
        .groupby("lead_id")
        .tail(1)
        .set_index("lead_id")
    )
    stats = pd.DataFrame(
        {
            "last_followup_date": fu.groupby("lead_id")["occurred_date"].max(),
            "followups_to_date": fu.groupby("lead_id").size(),
        }
    )
    stats["last_outcome"] = latest["outcome"]
    stats["next_followup_date"] = latest["next_followup_date"]
    won = set(fu[fu["outcome"].isin(rules.outreach_customer_outcomes)]["lead_id"])
    streaks: dict[str, int] = {}
    newest_first = fu.sort_values(["lead_id", "occurred_at", "followup_id"], ascending=False)
    for lead, outcomes in newest_first.groupby("lead_id", sort=False)["outcome"]:
        n = 0
        for outcome in outcomes:
            if outcome != "no_answer":
                break
            n += 1
        streaks[lead] = n

    # paid: a known status other than cancelled and a positive amount, by D; a contract
    # without a lead counts for the company of the lowest live lead of its user.
    con = contracts.copy()
    con["signed_date"] = _days(con["signed_date"])
    status = con["contract_status"].fillna("")
    amount = pd.to_numeric(con["amount_cny"], errors="coerce").fillna(0)
    con = con[(amount > 0) & (status != "") & (status != "cancelled") & (con["signed_date"] <= d)]
    by_user = (
        live.dropna(subset=["user_id"])
        .sort_values("lead_id")
        .drop_duplicates("user_id")
        .set_index("user_id")["lead_id"]
    )
    con_lead = con["lead_id"].where(con["lead_id"].notna(), con["user_id"].map(by_user))
    con = con.assign(company=con_lead.map(surviving)).dropna(subset=["company"])
    first_paid = con.groupby("company")["signed_date"].min().to_dict()

    sc = scores[_days(scores["as_of_date"]) == d].dropna(subset=["lead_tier"])
    out = sc[["lead_id", "lead_score", "lead_tier"]].merge(
        live[["lead_id", "user_id", "owner_rep_id", "lead_status", "created_date"]],
        on="lead_id",
        how="inner",
    )
    stats.index = stats.index.astype(object)
    out = out.merge(stats, left_on="lead_id", right_index=True, how="left")
    out["followups_to_date"] = out["followups_to_date"].fillna(0).astype(int)
    out["first_paid_date"] = pd.to_datetime(
        pd.Series([first_paid.get(v) for v in out["lead_id"]], index=out.index, dtype=object)
    )
    status_customer = out["lead_status"].isin(rules.outreach_customer_statuses)
    out["customer_reason"] = None
    out.loc[out["lead_id"].isin(won), "customer_reason"] = "followup_outcome"
    out.loc[status_customer, "customer_reason"] = "lead_status"
    out.loc[out["first_paid_date"].notna(), "customer_reason"] = "paid_contract"
    out["is_customer"] = out["customer_reason"].notna()
    out["is_lost"] = out["lead_status"] == "lost"
    out["no_answer_streak"] = [streaks.get(v, 0) for v in out["lead_id"]]
    out["is_channel_change_suggested"] = out["no_answer_streak"] >= rules.outreach_no_answer_streak
    # 271 among prospects only (ceil at each boundary, as lead_scores splits all leads)
    prospects = out[~out["is_customer"] & ~out["is_lost"]].sort_values(
        ["lead_score", "lead_id"], ascending=[False, True]
    )
    n = len(prospects)
    a_max = math.ceil(round(n * rules.tier_splits[0], 9))
    b_max = math.ceil(round(n * (rules.tier_splits[0] + rules.tier_splits[1]), 9))
    ranks = dict(zip(prospects["lead_id"], range(1, n + 1), strict=True))
    out["prospect_tier"] = [
        None if k is None else "A" if k <= a_max else "B" if k <= b_max else "C"
        for k in (ranks.get(v) for v in out["lead_id"])
    ]
    use = out["prospect_tier"].notna() & rules.outreach_prospect_tiers
    out["outreach_tier"] = out["prospect_tier"].where(use, out["lead_tier"])
    out["days_since_followup"] = (d - out["last_followup_date"]).dt.days
    since = out["days_since_followup"]
    out["is_in_cooldown"] = since.notna() & (since < rules.followup_cooldown_days)

    undated = (out["last_outcome"] == "callback") & out["next_followup_date"].isna()
    out["callback_due_date"] = out["next_followup_date"].where(
        out["next_followup_date"].notna(),
        (out["last_followup_date"] + pd.Timedelta(days=rules.followup_callback_default_days)).where(
            undated
        ),
    )
    out["callback_reason_code"] = None
    out.loc[undated, "callback_reason_code"] = "callback_undated"
    out.loc[out["next_followup_date"].notna(), "callback_reason_code"] = "callback_due"
    cb = out["callback_due_date"]
    out["is_callback_due"] = ~out["is_lost"] & cb.notna() & (cb <= d)
    out["callback_overdue_days"] = (d - cb).dt.days.where(out["is_callback_due"])

    by_outcome = out["last_outcome"].map(rules.followup_outcome_cadence_days)
    seen = out["last_followup_date"].notna()
    out["is_cadence_from_outcome"] = seen & by_outcome.notna()
    out["cadence_days"] = by_outcome.fillna(
        out["outreach_tier"].map(rules.followup_cadence_days)
    ).where(seen)
    out["cadence_reason_code"] = seen.map({True: "cadence_due", False: "never_contacted"})
    out["is_cadence_due"] = (
        ~out["is_lost"]
        & ~out["is_customer"]
        & cb.isna()
        & ~out["is_in_cooldown"]
        & (~seen | (since >= out["cadence_days"]))
    )
    waited = (d - out["created_date"]).dt.days.fillna(0).clip(lower=0)
    overdue = waited.where(~seen, since - out["cadence_days"])
    out["cadence_overdue_days"] = overdue.where(out["is_cadence_due"])
    out["as_of_date"] = d
    return out[list(CANDIDATE_COLUMNS)].sort_values("lead_id").reset_index(drop=True)


#: Columns of marts.outreach_triggers_history (and of :func:`triggers`), in order.
TRIGGER_COLUMNS = (
    "as_of_date", "user_id", "reason_code", "suggested_action", "fired_date", "since_date",
    "lead_id", "rfm_segment", "previous_segment", "days_since_last_active", "recency_days",
    "active_days_30d",
)  # fmt: skip


@dataclass(frozen=True)
class TriggerRules:
    """The vars the triggers mart reads (names as in ``dbt_project.yml``)."""

    trigger_window_days: int
    onboarding_min_days: int
    onboarding_max_days: int
    winback_segments: tuple[str, ...]
    winback_segment_changes: tuple[str, ...]

    @classmethod
    def from_vars(cls, overrides: Mapping[str, Any] | None = None) -> TriggerRules:
        from userops.config import project_vars

        values = {**project_vars(), **dict(overrides or {})}
        return cls(
            trigger_window_days=int(values["trigger_window_days"]),
            onboarding_min_days=int(values["onboarding_min_days"]),
            onboarding_max_days=int(values["onboarding_max_days"]),
            winback_segments=tuple(values["winback_segments"]),
            winback_segment_changes=tuple(values["winback_segment_changes"]),
        )


def _latest_transitions(life: pd.DataFrame, d: pd.Timestamp, start: pd.Timestamp, to: str, ok):
    """Latest transition into ``to`` per user within [start, d] whose previous stage is ok."""
    life = life[life["as_of_date"].between(start, d)]
    prev = life["previous_stage"]
    hit = (
        (life["lifecycle_stage"] == to)
        & prev.notna()
        & (prev != life["lifecycle_stage"])
        & prev.map(lambda v: isinstance(v, str) and bool(ok(v)))
    )
    out = life[hit].sort_values(["user_id", "as_of_date"]).drop_duplicates("user_id", keep="last")
    return out[["user_id", "as_of_date", "active_days_30d"]].rename(
        columns={"as_of_date": "fired_date"}
    )


def triggers(
    *,
    users: pd.DataFrame,
    lifecycle: pd.DataFrame,
    segments: pd.DataFrame,
    candidates: pd.DataFrame,
    day: date,
    rules: TriggerRules,
) -> pd.DataFrame:
    """Rows of the triggers mart for ``day``.

    ``users``: users_history rows (D's are used); ``lifecycle``: user_lifecycle_daily
    rows; ``segments``: user_rfm_history rows; ``candidates``: the candidates mart's rows
    of D (lead_id, user_id).
    """
    d = pd.Timestamp(day)
    start = d - pd.Timedelta(days=rules.trigger_window_days - 1)
    users = users.copy()
    for col in ("as_of_date", "signup_date", "last_active_date"):
        users[col] = _days(users[col])
    users = users[users["as_of_date"] == d]
    life = lifecycle.assign(as_of_date=_days(lifecycle["as_of_date"]))
    found: list[pd.DataFrame] = []

    dormant = _latest_transitions(
        life, d, start, "dormant", lambda s: s not in ("dormant", "churned")
    )
    win = dormant.drop(columns="active_days_30d").merge(users, on="user_id")
    win = win[
        (win["lifecycle_stage"] == "dormant") & win["rfm_segment"].isin(rules.winback_segments)
    ]
    found.append(
        win.assign(reason_code="important_turned_dormant", suggested_action="winback_call",
                   since_date=win["fired_date"], previous_segment=None, recency_days=None,
                   active_days_30d=None)
    )  # fmt: skip

    seg = segments.assign(as_of_date=_days(segments["as_of_date"]))
    seg = seg[seg["as_of_date"].between(d - pd.Timedelta(days=rules.trigger_window_days), d)]
    seg = seg.sort_values(["user_id", "as_of_date"]).drop_duplicates(["user_id", "as_of_date"])
    seg = seg.assign(previous_segment=seg.groupby("user_id")["rfm_segment"].shift())
    targets = list(rules.winback_segment_changes)
    hit = (
        seg["as_of_date"].between(start, d)
        & seg["rfm_segment"].isin(targets)
        & seg["previous_segment"].notna()
        & (seg["previous_segment"] != seg["rfm_segment"])
    )
    on_d = seg[seg["as_of_date"] == d]
    still = on_d[on_d["rfm_segment"].isin(targets)]["user_id"]
    changed = seg[hit & seg["user_id"].isin(still)].drop_duplicates("user_id", keep="last")
    recency = dict(zip(on_d["user_id"], on_d["recency_days"], strict=True))
    found.append(
        pd.DataFrame(
            {
                "user_id": changed["user_id"], "reason_code": "segment_changed",
                "suggested_action": "winback_call", "fired_date": changed["as_of_date"],
                "since_date": changed["as_of_date"], "rfm_segment": changed["rfm_segment"],
                "previous_segment": changed["previous_segment"], "days_since_last_active": None,
                "recency_days": [recency.get(u) for u in changed["user_id"]],
                "active_days_30d": None,
            }
        )
    )  # fmt: skip

    lo = d - pd.Timedelta(days=rules.onboarding_max_days)
    hi = d - pd.Timedelta(days=rules.onboarding_min_days)
    new = users[users["signup_date"].between(lo, hi)]
    new = new[new["last_active_date"].isna() | (new["last_active_date"] <= new["signup_date"])]
    found.append(
        new.assign(reason_code="signup_inactive", suggested_action="onboarding_call",
                   fired_date=new["signup_date"] + pd.Timedelta(days=rules.onboarding_min_days),
                   since_date=new["signup_date"], previous_segment=None, recency_days=None,
                   active_days_30d=None)
    )  # fmt: skip

    mature = _latest_transitions(life, d, start, "mature", lambda s: s == "growth")
    up = mature.merge(users, on="user_id")
    up = up[up["lifecycle_stage"] == "mature"]
    found.append(
        up.assign(reason_code="turned_mature", suggested_action="upsell",
                  since_date=up["fired_date"], previous_segment=None, recency_days=None)
    )  # fmt: skip

    cols = [c for c in TRIGGER_COLUMNS if c not in ("as_of_date", "lead_id")]
    parts = [f[cols] for f in found if len(f)]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    # the company to call: the users mart's lead when it is a candidate, else the lowest
    # candidate lead of the user
    cand = candidates[["lead_id", "user_id"]]
    from_mart = users[["user_id", "lead_id"]].dropna()
    from_mart = from_mart[from_mart["lead_id"].isin(cand["lead_id"])].assign(_pref=0)
    both = pd.concat([from_mart, cand.dropna(subset=["user_id"]).assign(_pref=1)])
    picked = both.sort_values(["user_id", "_pref", "lead_id"]).drop_duplicates("user_id")
    out = out.merge(picked[["user_id", "lead_id"]], on="user_id", how="left")
    out["as_of_date"] = d
    return out[list(TRIGGER_COLUMNS)].sort_values(["user_id", "reason_code"]).reset_index(drop=True)
