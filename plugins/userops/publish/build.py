"""Build every rep's follow-up list for business day D: pure pandas in, pandas out.

No database, no clock, no randomness: the same frames and D give the same rows,
which is what makes a rerun idempotent and a backfill reproduce the list of that
night.  Inputs are frames shaped like the marts (see :class:`PublishInputs`); anything dated after D is ignored here as well, so a frame
holding "too much" history cannot leak the future into a past list.

Steps (SPEC §2 "271 tiering and matching", "Follow-up cadence"):

1. :func:`active_reps` -- active reps in rank order, with their 271 tier and capacity
   as dbt computed them (``marts.rep_performance_history`` of D: trailing conversion,
   rank, tier; documented in ``models/marts/sales/_sales__models.yml``).
2. :func:`due_items` -- what is due, one or more items per lead.  Callbacks and
   routine cadence come decided from ``marts.outreach_candidates_history`` of D (the
   rules and their vars: ``models/marts/sales/_sales__models.yml``): lost leads get
   no cadence or callback, customers no cadence, a scheduled or undated callback
   replaces the cadence and ignores the cooldown.  Triggered actions (win-back,
   segment change, onboarding, upsell) come decided from
   ``marts.outreach_triggers_history`` of D (lifecycle and RFM histories); they list
   any tiered company out of cooldown, until someone follows it up.
3. :func:`collapse_items` -- one item per lead: the strongest reason leads,
   the others are appended to the Chinese reason; priority score.
4. :func:`assign_items` -- 271 matching, greedy by priority (ADR 0009): an active
   owner keeps a lead when their tier is allowed for the lead's tier and they have
   room; any other due lead goes to the allowed rep tier with room (spill-over in the
   order of ``rep_tier_match``), the rep with most room first; nobody gets more than
   ``daily_capacity`` rows; each row says why its rep was chosen; what is cut is counted.
5. :func:`build_lists` -- all of the above plus contact details -> list rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from userops.publish.rules import (
    ACTION_LABELS_ZH,
    ASSIGNMENT_REASON_LABELS_ZH,
    LIFECYCLE_LABELS_ZH,
    OUTCOME_LABELS_ZH,
    RFM_SEGMENT_LABELS_ZH,
    PublishParams,
)

#: Columns of a published list, in file order, with their Chinese header labels.
LIST_COLUMNS: Mapping[str, str] = {
    "business_date": "日期",
    "rep_id": "销售编号",
    "rep_name": "销售",
    "priority": "优先级",
    "lead_id": "线索编号",
    "user_id": "用户编号",
    "company_name": "公司名称",
    "contact_name": "联系人",
    "phone": "电话",
    "email": "邮箱",
    "lead_tier": "线索等级",
    "rfm_segment": "价值分群代码",
    "rfm_segment_zh": "价值分群",
    "lifecycle_stage": "生命周期代码",
    "lifecycle_stage_zh": "生命周期",
    "reason_code": "原因代码",
    "reason_zh": "跟进原因",
    "suggested_action": "建议动作代码",
    "suggested_action_zh": "建议动作",
    "last_followup_date": "上次跟进日期",
    "last_outcome": "上次跟进结果代码",
    "last_outcome_zh": "上次跟进结果",
    "next_followup_date": "预约回访日期",
    "priority_score": "优先分",
    "expected_value_cny": "预计价值（元）",
    "churn_probability": "流失概率",
    "top_need": "客户关注",
    "assignment": "分配方式",
    "assignment_reason": "分配原因代码",
    "assignment_reason_zh": "分配原因",
}

#: Columns each input frame must have (a subset of the documented tables).
REQUIRED_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "reps": (
        "rep_id", "rep_name", "rep_email", "is_active", "daily_capacity", "conversion_rate",
        "converted_leads", "followed_up_leads", "rep_rank", "rep_tier",
    ),
    "candidates": (
        "lead_id", "user_id", "owner_rep_id", "created_date", "outreach_tier", "is_lost",
        "last_followup_date", "days_since_followup", "last_outcome", "next_followup_date",
        "is_in_cooldown", "no_answer_streak", "is_channel_change_suggested", "callback_reason_code", "is_callback_due", "callback_overdue_days",
        "cadence_days", "is_cadence_from_outcome", "cadence_reason_code", "is_cadence_due",
        "cadence_overdue_days",
    ),
    "contacts": ("lead_id", "company_name", "contact_name", "phone", "email"),
    "users": (
        "user_id", "lead_id", "signup_date", "last_active_date", "days_since_last_active",
        "lifecycle_stage", "rfm_segment",
    ),
    "lifecycle": ("user_id", "as_of_date", "lifecycle_stage", "previous_stage"),
    "values": ("user_id", "expected_value_cny", "churn_probability", "horizon_days"),
    "needs": ("lead_id", "top_theme_id", "top_theme_label"),
    "triggers": (
        "user_id", "reason_code", "suggested_action", "fired_date", "since_date", "lead_id",
        "rfm_segment", "previous_segment", "days_since_last_active", "recency_days",
        "active_days_30d",
    ),
}  # fmt: skip

CALLBACK_ACTION = "scheduled_callback"
#: A due item; ``user_id`` is the platform account a trigger fired for (None for
#: lead-level items), so the row shows that account's segment and stage;
#: ``lead_pos`` is the lead's row in the candidates of D; ``trigger_row`` the trigger's
#: position in the due triggers (-1: a lead-level item).
ITEM_COLUMNS = (
    "lead_id", "lead_pos", "action", "reason_code", "overdue_days", "user_id", "trigger_row",
)  # fmt: skip
_ITEM_NUMBERS = ("lead_pos", "overdue_days", "trigger_row")
_INACTIVE_STAGES = ("dormant", "churned")


@dataclass(frozen=True)
class PublishInputs:
    """The frames a list is built from, as of D (extra columns are ignored).

    - ``reps``: ``marts.rep_performance_history`` for D (rank, tier, capacity) with each
      rep's ``rep_email`` from ``staging.stg_crm__sales_reps``;
    - ``candidates``: ``marts.outreach_candidates_history`` for D: every tiered company
      with its last follow-up, outcome, customer/lost flags, cooldown, and whether a
      callback or a routine follow-up is due (the cadence rules live there);
    - ``contacts``: ``staging.stg_crm__leads`` contact columns (the marts mask phone and
      e-mail for BI; only a rep's own list shows them unmasked);
    - ``users``: ``marts.users`` for D;
    - ``lifecycle``: ``marts.user_lifecycle_daily`` rows of D (the churn hold);
    - ``triggers``: ``marts.outreach_triggers_history`` for D: each triggered action
      with the company to call and the date it fired;
    - ``values``: ``marts.user_value_history`` for D (expected value and churn
      probability per paying user; empty when the model was not fitted);
    - ``needs``: ``marts.lead_need_themes_history`` for D (each company's top need theme
      from its follow-up notes; empty when none is known).
    """

    reps: pd.DataFrame
    candidates: pd.DataFrame
    contacts: pd.DataFrame
    users: pd.DataFrame
    lifecycle: pd.DataFrame
    triggers: pd.DataFrame
    values: pd.DataFrame
    needs: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(REQUIRED_COLUMNS["needs"]))
    )

    def validate(self) -> None:
        """Fail early, naming the frame and columns, instead of a KeyError deep inside."""
        problems = []
        for name, cols in REQUIRED_COLUMNS.items():
            frame = getattr(self, name)
            missing = [c for c in cols if c not in frame.columns]
            if missing:
                problems.append(f"{name}: missing {missing}")
        if problems:
            raise ValueError("publish inputs incomplete: " + "; ".join(problems))


@dataclass(frozen=True)
class BuildResult:
    """Lists of one day: ``rows`` (all reps, :data:`LIST_COLUMNS`) and per-rep figures.

    ``reps`` holds every active rep (so a rep with nothing due still appears) with
    rep_id, rep_name, rep_email, daily_capacity, conversion_rate, converted_leads,
    followed_up_leads, rep_rank, rep_tier, rows (list length) and backlog (due items
    of the rep's own leads cut by capacity).  ``unassigned`` counts due items of
    orphaned leads no rep had room for; ``triggers_without_lead`` counts triggered
    users with no (scored, live) lead to put on a list.
    """

    business_date: date
    rows: pd.DataFrame
    reps: pd.DataFrame
    unassigned: int
    triggers_without_lead: int
    churn_share: float

    def rep_rows(self, rep_id: str) -> pd.DataFrame:
        """One rep's list, in priority order."""
        out = self.rows[self.rows["rep_id"] == rep_id]
        return out.sort_values("priority", kind="stable").reset_index(drop=True)


# -- normalisation ---------------------------------------------------------------------
def _ids(s: pd.Series) -> pd.Series:
    """Ids as text (``None`` when missing), whatever the warehouse handed back."""
    texts = (
        pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")
        if s.dtype == object
        else pd.api.types.is_string_dtype(s.dtype)
    )
    if not texts:  # numbers and mixed values: one by one, as ``str(v)``
        return s.map(lambda v: None if pd.isna(v) else str(v).strip() or None).astype(object)
    stripped = s.str.strip()
    out = stripped.astype(object).to_numpy(copy=True)
    out[(stripped.isna() | (stripped == "")).to_numpy(dtype=bool)] = None
    return pd.Series(out, index=s.index, dtype=object)


def _days(s: pd.Series) -> pd.Series:
    """Dates/timestamps -> naive midnight timestamps (NaT when missing)."""
    out = pd.to_datetime(s)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_localize(None)
    return out.dt.normalize()


def _flag(s: pd.Series) -> pd.Series:
    """Booleans with missing -> False (``is_deleted`` null means not deleted)."""
    if pd.api.types.is_bool_dtype(s.dtype):  # numpy or nullable booleans
        return s.fillna(False).astype(bool)
    return s.map(lambda v: False if pd.isna(v) else bool(v)).astype(bool)


def _iso(ts: pd.Timestamp | None) -> str:
    return "" if ts is None or pd.isna(ts) else ts.strftime("%Y-%m-%d")


def _lookup(keys: pd.Series, values: pd.Series) -> list:
    """``values[key]`` per key (None when absent); safe on empty frames, unlike ``map``."""
    found = values.reindex(keys.to_numpy())
    return [None if pd.isna(v) else v for v in found.tolist()]


# -- inputs as of D ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Prepared:
    day: pd.Timestamp
    reps: pd.DataFrame
    leads: pd.DataFrame  # the candidates mart's rows of D (one per tiered company, 0..n-1)
    contacts: pd.DataFrame  # lead_id -> company_name, contact_name, phone, email
    users: pd.DataFrame
    triggers: pd.DataFrame
    values: pd.DataFrame  # user_id -> expected_value_cny, churn_probability, horizon_days
    needs: pd.DataFrame  # lead_id -> top_theme_id, top_theme_label


def _of_day(frame: pd.DataFrame, d: pd.Timestamp, key: str) -> pd.DataFrame:
    """The rows of D (when the frame is a history), one per ``key``."""
    out = frame.copy()
    out[key] = _ids(out[key])
    if "as_of_date" in out.columns:
        out = out[_days(out["as_of_date"]) == d]
    return out.dropna(subset=[key]).drop_duplicates(key, keep="last")


def _prepare(inputs: PublishInputs, day: date) -> _Prepared:
    inputs.validate()
    d = pd.Timestamp(day)
    reps = _of_day(inputs.reps, d, "rep_id")

    leads = _of_day(inputs.candidates, d, "lead_id").reset_index(drop=True)
    # the tier the lists use (var outreach_prospect_tiers): lead_tier or the prospect tier
    leads["lead_tier"] = leads["outreach_tier"]
    for col in ("user_id", "owner_rep_id"):
        leads[col] = _ids(leads[col])
    for col in ("created_date", "last_followup_date", "next_followup_date", "callback_due_date"):
        leads[col] = _days(leads[col])
    for col in (
        "is_lost", "is_in_cooldown", "is_callback_due", "is_cadence_due",
        "is_channel_change_suggested", "is_cadence_from_outcome",
    ):  # fmt: skip
        leads[col] = _flag(leads[col])

    contacts = inputs.contacts.copy()
    contacts["lead_id"] = _ids(contacts["lead_id"])
    contacts = contacts.dropna(subset=["lead_id"]).drop_duplicates("lead_id", keep="last")

    users = _of_day(inputs.users, d, "user_id")
    users["lead_id"] = _ids(users["lead_id"])
    users["signup_date"] = _days(users["signup_date"])
    users["last_active_date"] = _days(users["last_active_date"])

    trig = inputs.triggers.copy()
    for col in ("user_id", "lead_id"):
        trig[col] = _ids(trig[col])
    for col in ("fired_date", "since_date"):
        trig[col] = _days(trig[col])
    if "as_of_date" in trig.columns:
        trig = trig[_days(trig["as_of_date"]) == d]

    values = _of_day(inputs.values, d, "user_id")
    needs = _of_day(inputs.needs, d, "lead_id")

    return _Prepared(d, reps, leads, contacts, users, trig, values, needs)


# -- 1. reps -------------------------------------------------------------------------------
def active_reps(prep: _Prepared) -> pd.DataFrame:
    """Active, tiered reps in rank order (rank, tier and capacity come from the mart)."""
    reps = prep.reps[_flag(prep.reps["is_active"]) & prep.reps["rep_tier"].notna()].copy()
    reps["daily_capacity"] = pd.to_numeric(reps["daily_capacity"]).astype(int)
    reps["rep_rank"] = pd.to_numeric(reps["rep_rank"]).astype(int)
    reps = reps.sort_values(["rep_rank", "rep_id"], kind="stable").reset_index(drop=True)
    cols = [
        "rep_id", "rep_name", "rep_email", "daily_capacity", "conversion_rate", "converted_leads",
        "followed_up_leads", "rep_rank", "rep_tier",
    ]  # fmt: skip
    return reps[cols]


# -- 2. due items --------------------------------------------------------------------------
def _items(frame: pd.DataFrame, action: str, codes: pd.Series) -> pd.DataFrame:
    """Lead-level items of the candidates in ``frame`` (overdue days from the mart)."""
    overdue = (
        frame["callback_overdue_days"]
        if action == CALLBACK_ACTION
        else frame["cadence_overdue_days"]
    )
    out = pd.DataFrame(
        {
            "lead_id": frame["lead_id"].to_numpy(),
            "lead_pos": frame.index.to_numpy(),
            "action": action,
            "reason_code": codes.to_numpy(dtype=object),
            "overdue_days": overdue.to_numpy(dtype="int64"),
            "user_id": None,
            "trigger_row": -1,
        }
    )
    return out[list(ITEM_COLUMNS)]


def _late(days: int) -> str:
    return f"，已逾期 {days} 天" if days > 0 else ""


def _segment(code: object) -> str:
    return RFM_SEGMENT_LABELS_ZH.get(str(code), str(code))


def _callback_reason(r: Mapping) -> str:
    """The Chinese reason of a due callback (a candidates row)."""
    text = (
        f"销售预约 {_iso(r['next_followup_date'])} 回访"
        if r["callback_reason_code"] == "callback_due"
        else f"{_iso(r['last_followup_date'])} 跟进时客户要求回访（未约定日期）"
    )
    return text + _late(int(r["callback_overdue_days"]))


def _routine_reason(r: Mapping) -> str:
    """The Chinese reason of a due routine follow-up (a candidates row)."""
    tier = r["lead_tier"]
    if r["cadence_reason_code"] == "never_contacted":
        return f"{tier} 类线索，尚未跟进过"
    outcome = (
        f"，上次结果：{OUTCOME_LABELS_ZH[r['last_outcome']]}"
        if r["is_cadence_from_outcome"]
        else ""
    )
    return (
        f"{tier} 类线索，距上次跟进已 {int(r['days_since_followup'])} 天"
        f"（周期 {int(r['cadence_days'])} 天{outcome}）"
    )


def _trigger_reason(r: Mapping, d: pd.Timestamp) -> str:
    """The Chinese reason of a trigger row; one that fired before D says when."""
    code = r["reason_code"]
    if code == "important_turned_dormant":
        n = r["days_since_last_active"]
        text = (
            f"{_segment(r['rfm_segment'])}，已 {int(n)} 天未活跃"
            if pd.notna(n)
            else f"{_segment(r['rfm_segment'])}，已转入休眠期"
        )
    elif code == "segment_changed":
        n = r["recency_days"]
        text = f"价值分群由{_segment(r['previous_segment'])}转为{_segment(r['rfm_segment'])}" + (
            f"，已 {int(n)} 天未下单" if pd.notna(n) else ""
        )
    elif code == "signup_inactive":
        return f"新注册 {(d - r['since_date']).days} 天仍未活跃"
    else:
        n = r["active_days_30d"]
        text = (
            f"已由成长期进入成熟期（近 30 天活跃 {int(n)} 天），可推荐升级"
            if pd.notna(n)
            else "已由成长期进入成熟期，可推荐升级"
        )
    fired = r["fired_date"]
    return text + (f"（{_iso(fired)} 触发）" if fired < d else "")


def due_items(prep: _Prepared, params: PublishParams) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Everything due on D, possibly several items per lead (:data:`ITEM_COLUMNS`); the
    due trigger rows (an item's ``trigger_row`` is its position there, -1 for lead-level
    items); and the count of triggered users without a lead.  No text yet: a day's
    lists hold a few thousand of a million due items, so :func:`item_reasons` renders
    only the items of listed leads."""
    leads = prep.leads
    parts: list[pd.DataFrame] = []

    # Callbacks (marts.outreach_candidates decides which are due): the date the rep
    # scheduled, or a callback the customer asked for without a date.
    calls = leads[leads["is_callback_due"]]
    parts.append(_items(calls, CALLBACK_ACTION, calls["callback_reason_code"]))

    # Routine cadence (the mart decides: prospects out of cooldown, no callback pending).
    routine = leads[leads["is_cadence_due"]]
    parts.append(_items(routine, "routine_followup", routine["cadence_reason_code"]))

    # Triggers (marts.outreach_triggers_history of D) for any tiered company, lost and
    # customers included, out of cooldown, until someone followed it up since it fired.
    trig = prep.triggers
    without_lead = int(trig["lead_id"].isna().sum())
    pos = pd.Index(leads["lead_id"]).get_indexer(trig["lead_id"].to_numpy())
    trig = trig[pos >= 0].assign(lead_pos=pos[pos >= 0])
    trig = trig[~leads["is_in_cooldown"].to_numpy()[trig["lead_pos"].to_numpy()]]
    trig["last_followup_date"] = leads["last_followup_date"].to_numpy()[trig["lead_pos"]]
    done = trig["last_followup_date"].notna() & (trig["last_followup_date"] >= trig["since_date"])
    trig = trig[~done].reset_index(drop=True)
    parts.append(
        pd.DataFrame(
            {
                "lead_id": trig["lead_id"].to_numpy(),
                "lead_pos": trig["lead_pos"].to_numpy(),
                "action": trig["suggested_action"].to_numpy(dtype=object),
                "reason_code": trig["reason_code"].to_numpy(dtype=object),
                "overdue_days": (prep.day - trig["fired_date"]).dt.days.clip(lower=0),
                "user_id": trig["user_id"].to_numpy(),
                "trigger_row": np.arange(len(trig)),
            }
        )
    )

    parts = [p for p in parts if len(p)]
    if not parts:
        empty = {c: pd.Series(dtype=int if c in _ITEM_NUMBERS else object) for c in ITEM_COLUMNS}
        return pd.DataFrame(empty), trig, without_lead
    items = pd.concat(parts, ignore_index=True)
    items["overdue_days"] = items["overdue_days"].astype(int)
    items["lead_pos"] = items["lead_pos"].astype(int)
    items["trigger_row"] = items["trigger_row"].astype(int)
    return items, trig, without_lead


def item_reasons(items: pd.DataFrame, prep: _Prepared, triggers: pd.DataFrame) -> list[str]:
    """The Chinese reason of each item of :func:`due_items` (``triggers``: its trigger rows)."""
    lead_rows = prep.leads.take(items["lead_pos"].to_numpy()).to_dict("records")
    needed = np.unique(items["trigger_row"].to_numpy())
    needed = needed[needed >= 0]
    trigger_rows = dict(zip(needed.tolist(), triggers.iloc[needed].to_dict("records"), strict=True))
    return [
        _trigger_reason(trigger_rows[pos], prep.day)
        if pos >= 0
        else _callback_reason(lead)
        if action == CALLBACK_ACTION
        else _routine_reason(lead)
        for action, pos, lead in zip(items["action"], items["trigger_row"], lead_rows, strict=True)
    ]


# -- 3. one item per lead ------------------------------------------------------------------
def collapse_items(
    items: pd.DataFrame, prep: _Prepared, params: PublishParams
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per lead: the strongest reason first, a deterministic priority score.

    Returns the collapsed leads and the items they keep (one per reason code), strongest
    first within each lead: :func:`lead_reasons` joins the texts of the listed ones."""
    items = items.assign(
        _weight=items["action"].map(params.action_weights).astype(int),
        _overdue=items["overdue_days"].clip(upper=params.overdue_cap_days),
    )
    items = items.sort_values(
        ["lead_pos", "_weight", "_overdue", "reason_code", "user_id"],
        ascending=[True, False, False, True, True],
        kind="stable",
        na_position="last",
    )
    items = items.drop_duplicates(["lead_pos", "reason_code"])
    top = items.drop_duplicates("lead_pos")
    positions = top["lead_pos"].to_numpy()
    out = pd.DataFrame(
        {
            "lead_id": top["lead_id"].to_numpy(),
            "lead_pos": positions,
            "suggested_action": top["action"].to_numpy(),
            "reason_code": top["reason_code"].to_numpy(),
            "lead_tier": prep.leads["lead_tier"].to_numpy(dtype=object)[positions],
            "trigger_user_id": top["user_id"].to_numpy(),
        }
    )
    out["priority_score"] = (
        top["_weight"].to_numpy()
        + out["lead_tier"].map(params.tier_weights).astype(int).to_numpy()
        + top["_overdue"].astype(int).to_numpy()
    )
    return out, items[list(ITEM_COLUMNS)].reset_index(drop=True)


def lead_reasons(
    kept: pd.DataFrame, lead_ids: pd.Series, prep: _Prepared, triggers: pd.DataFrame
) -> pd.Series:
    """lead_id -> its Chinese reason: the texts of its kept items, strongest first,
    joined by "；" (rendered for ``lead_ids`` only)."""
    listed = kept[kept["lead_id"].isin(lead_ids)]
    texts = pd.Series(item_reasons(listed, prep, triggers), index=listed.index, dtype=object)
    return texts.groupby(listed["lead_id"], sort=False).agg("；".join)


# -- 4. assignment under capacity ----------------------------------------------------------
def _handover_reason(
    owner: str | None, tier: str, action: str, reps: _RepState, params: PublishParams
) -> str:
    """Why a due lead is not simply kept by its owner ("owner" when it is).  A callback
    the owner scheduled stays with them whatever the tiers: the customer expects that rep."""
    if owner is None:
        return "no_owner"
    if owner not in reps.room:
        return "owner_inactive"
    if not params.keep_owner:
        return "matched_by_tier"
    if action != CALLBACK_ACTION and reps.tier[owner] not in params.tier_match[tier]:
        return "owner_tier_not_allowed"
    if reps.room[owner] <= 0:
        return "owner_at_capacity"
    return "owner"


@dataclass
class _RepState:
    room: dict[str, int]
    tier: dict[str, str]
    rank: dict[str, int]

    def pick(self, tiers: tuple[str, ...]) -> str | None:
        """The rep with the most room left in the first allowed tier that has room
        (ties -> better rank), or None when every allowed tier is full."""
        for rep_tier in tiers:
            free = [r for r, t in self.tier.items() if t == rep_tier and self.room[r] > 0]
            if free:
                return min(free, key=lambda r: (-self.room[r], self.rank[r]))
        return None


def _owner_of(owners: pd.Series, lead_ids: pd.Series) -> pd.Series:
    """Each lead's owning rep id as text (None when it has none)."""
    found = owners.reindex(lead_ids.to_numpy()).to_numpy(dtype=object, copy=True)
    found[pd.isna(found)] = None
    if pd.api.types.infer_dtype(found, skipna=True) not in ("string", "empty"):
        found = np.array([None if v is None else str(v) for v in found], dtype=object)
    return pd.Series(found, dtype=object)


def assign_items(
    collapsed: pd.DataFrame, owners: pd.Series, reps: pd.DataFrame, params: PublishParams
) -> tuple[pd.DataFrame, dict[str, int], int]:
    """271 matching, greedy by (priority_score desc, lead_id) (ADR 0009).

    Each due lead goes to its active owner when ``keep_owner`` is set, the owner's tier
    is allowed for the lead's tier (``tier_match``) and the owner has room; otherwise to
    the rep with the most room left in the first allowed tier with room (ties -> better
    rank), so a full owner hands leads over instead of building a backlog.  Nobody gets
    more than ``daily_capacity`` rows.  Returns the assigned items (rep_id, assignment =
    owner | reassigned, assignment_reason), each active rep's backlog (their own due leads
    no allowed rep had room for) and the count of such leads without an active owner.
    """
    state = _RepState(
        room=dict(zip(reps["rep_id"], reps["daily_capacity"], strict=True)),
        tier=dict(zip(reps["rep_id"], reps["rep_tier"], strict=True)),
        rank=dict(zip(reps["rep_id"], reps["rep_rank"], strict=True)),
    )
    backlog = dict.fromkeys(state.room, 0)
    unassigned = 0
    # ties of priority_score: higher predicted value first (absent or unknown: 0)
    value = collapsed.get("expected_value_cny", pd.Series(0.0, index=collapsed.index))
    order = collapsed.assign(_value=pd.to_numeric(value).fillna(0.0)).sort_values(
        ["priority_score", "_value", "lead_id"], ascending=[False, False, True], kind="stable"
    )
    chosen: list[tuple[object, str, str, str]] = []
    room_left = sum(max(int(r), 0) for r in state.room.values())
    lead_owners = _owner_of(owners, order["lead_id"])
    for position, (label, tier, action, owner) in enumerate(
        zip(order.index, order["lead_tier"], order["suggested_action"], lead_owners, strict=True)
    ):
        if room_left <= 0:  # everyone is full: the rest is backlog, counted in bulk
            for rest_owner, count in lead_owners.iloc[position:].value_counts(dropna=False).items():
                if rest_owner in backlog:
                    backlog[rest_owner] += int(count)
                else:
                    unassigned += int(count)
            break
        reason = _handover_reason(owner, tier, action, state, params)
        pick = owner if reason == "owner" else state.pick(params.tier_match[tier])
        if pick is None:
            if owner in backlog:
                backlog[owner] += 1
            else:
                unassigned += 1
            continue
        state.room[pick] -= 1
        room_left -= 1
        if pick == owner:
            reason = "owner"
        chosen.append((label, pick, "owner" if pick == owner else "reassigned", reason))
    labels, rep_ids, kinds, reasons = zip(*chosen, strict=True) if chosen else ((), (), (), ())
    assigned = collapsed.loc[list(labels)].assign(
        rep_id=pd.Series(rep_ids, dtype=object).to_numpy(),
        assignment=pd.Series(kinds, dtype=object).to_numpy(),
        assignment_reason=pd.Series(reasons, dtype=object).to_numpy(),
    )
    return assigned.reset_index(drop=True), backlog, unassigned


# -- 5. rows -------------------------------------------------------------------------------
def churn_share(lifecycle: pd.DataFrame, day: date) -> float:
    """Share of users (with a stage on D) whose stage turned dormant or churned on D."""
    d = pd.Timestamp(day)
    today = lifecycle[_days(lifecycle["as_of_date"]) == d]
    if today.empty:
        return 0.0
    turned = today["lifecycle_stage"].isin(_INACTIVE_STAGES) & (
        today["previous_stage"].notna() & (today["previous_stage"] != today["lifecycle_stage"])
    )
    return float(turned.sum()) / len(today)


def _value_text(value: float, churn: float, horizon: float) -> str:
    """ "；预计未来一年价值 ¥12,345，流失概率 23%" for a user the value model scored."""
    if value is None or pd.isna(value):
        return ""
    span = "一年" if int(horizon) == 365 else f" {int(horizon)} 天"
    return f"；预计未来{span}价值 ¥{value:,.0f}，流失概率 {churn:.0%}"


def build_lists(inputs: PublishInputs, day: date, params: PublishParams) -> BuildResult:
    """All reps' lists for business day ``day`` (see the module docstring)."""
    prep = _prepare(inputs, day)
    reps = active_reps(prep)
    items, triggers, without_lead = due_items(prep, params)
    collapsed, kept = collapse_items(items, prep, params)
    leads = prep.leads.set_index("lead_id")
    # a row shows the account a trigger fired for (a company can have several), else the
    # lead's own; its predicted value (marts.user_value) breaks ties of priority_score
    trigger_users = collapsed["trigger_user_id"].to_numpy(dtype=object)
    collapsed["user_id"] = np.where(
        pd.isna(trigger_users),
        prep.leads["user_id"].to_numpy(dtype=object)[collapsed["lead_pos"].to_numpy()],
        trigger_users,
    )
    value_cols = ["expected_value_cny", "churn_probability", "horizon_days"]
    found = prep.values.set_index("user_id")[value_cols].reindex(collapsed["user_id"].to_numpy())
    for col in value_cols:
        collapsed[col] = pd.to_numeric(found[col].to_numpy(dtype=object)).astype(float)
    assigned, backlog, unassigned = assign_items(collapsed, leads["owner_rep_id"], reps, params)

    contacts = prep.contacts.set_index("lead_id")
    users = prep.users.set_index("user_id")
    rep_names = reps.set_index("rep_id")["rep_name"]
    rows = assigned.copy()
    for col in ("company_name", "contact_name", "phone", "email"):
        rows[col] = _lookup(rows["lead_id"], contacts[col])
    reasons = lead_reasons(kept, rows["lead_id"], prep, triggers)
    rows["reason_zh"] = [
        r + _value_text(v, p, h)
        for r, v, p, h in zip(
            reasons.reindex(rows["lead_id"].to_numpy()), rows["expected_value_cny"],
            rows["churn_probability"],
            rows["horizon_days"], strict=True,
        )
    ]  # fmt: skip
    # the company's top need theme (lead_need_themes): "；客户关注：价格顾虑"
    rows["top_need"] = _lookup(rows["lead_id"], prep.needs.set_index("lead_id")["top_theme_label"])
    rows["reason_zh"] = [
        r if n is None or pd.isna(n) else f"{r}；客户关注：{n}"
        for r, n in zip(rows["reason_zh"], rows["top_need"], strict=True)
    ]
    rows["expected_value_cny"] = rows["expected_value_cny"].round(0)
    rows["churn_probability"] = rows["churn_probability"].round(3)
    for col in ("last_followup_date", "next_followup_date"):
        rows[col] = [_iso(v) for v in _lookup(rows["lead_id"], leads[col])]
    rows["last_outcome"] = _lookup(rows["lead_id"], leads["last_outcome"])
    rows["last_outcome_zh"] = [OUTCOME_LABELS_ZH.get(v) for v in rows["last_outcome"]]
    # repeated no_answer (outreach_candidates, var outreach_no_answer_streak): try another channel
    streak = _lookup(rows["lead_id"], leads["no_answer_streak"])
    change = _lookup(rows["lead_id"], leads["is_channel_change_suggested"])
    rows["reason_zh"] = [
        f"{r}；已连续 {int(n)} 次未接通，建议换渠道联系" if c else r
        for r, n, c in zip(rows["reason_zh"], streak, change, strict=True)
    ]
    for col in ("rfm_segment", "lifecycle_stage"):
        rows[col] = _lookup(rows["user_id"], users[col])
    rows["rfm_segment_zh"] = [RFM_SEGMENT_LABELS_ZH.get(v) for v in rows["rfm_segment"]]
    rows["lifecycle_stage_zh"] = [LIFECYCLE_LABELS_ZH.get(v) for v in rows["lifecycle_stage"]]
    rows["suggested_action_zh"] = [ACTION_LABELS_ZH[v] for v in rows["suggested_action"]]
    rows["assignment_reason_zh"] = [
        ASSIGNMENT_REASON_LABELS_ZH[v] for v in rows["assignment_reason"]
    ]
    rows["rep_name"] = _lookup(rows["rep_id"], rep_names)
    rows["business_date"] = day.isoformat()
    rows = rows.assign(_value=rows["expected_value_cny"].fillna(0.0)).sort_values(
        ["rep_id", "priority_score", "_value", "lead_id"],
        ascending=[True, False, False, True],
        kind="stable",
    )
    rows["priority"] = rows.groupby("rep_id").cumcount() + 1
    rows = rows[list(LIST_COLUMNS)].reset_index(drop=True)
    rows = rows.astype(object).where(rows.notna(), None)
    rows["priority"] = rows["priority"].astype(int)
    rows["priority_score"] = rows["priority_score"].astype(int)

    counts = rows.groupby("rep_id").size()
    reps = reps.assign(
        rows=reps["rep_id"].map(counts).fillna(0).astype(int),
        backlog=reps["rep_id"].map(backlog).fillna(0).astype(int),
    )
    return BuildResult(
        business_date=day,
        rows=rows,
        reps=reps.reset_index(drop=True),
        unassigned=unassigned,
        triggers_without_lead=without_lead,
        churn_share=churn_share(inputs.lifecycle, day),
    )
