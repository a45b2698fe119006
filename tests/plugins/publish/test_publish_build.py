"""Pure list building on hand-made frames: 271, matching, capacity, cadence, triggers, text."""

from __future__ import annotations

import pandas as pd
import pytest
from publish_world import D, World, days_ago

from userops.publish.build import LIST_COLUMNS, build_lists
from userops.publish.rules import PublishParams

P = PublishParams.from_vars()


def lists(world: World, params: PublishParams = P):
    return build_lists(world.inputs(), D, params)


def by_lead(world: World, params: PublishParams = P) -> dict[str, dict]:
    rows = lists(world, params).rows
    return {r["lead_id"]: r for r in rows.to_dict("records")}


# -- params ----------------------------------------------------------------------------
def test_params_from_dbt_vars_ignore_unknown_and_validate():
    p = PublishParams.from_vars(
        {"outreach_tier_weights": {"A": 9, "B": 5, "C": 1}, "as_of_date": "2024-05-15"},
        overdue_cap_days=1,
    )
    assert p.tier_weights == {"A": 9, "B": 5, "C": 1} and p.overdue_cap_days == 1
    assert PublishParams.from_vars({"outreach_overdue_cap_days": 5}).overdue_cap_days == 5
    with pytest.raises(ValueError, match="overdue_cap_days"):
        PublishParams.from_vars({"outreach_overdue_cap_days": -1})
    with pytest.raises(ValueError, match="tier_match"):
        PublishParams.from_vars(tier_match={"A": "top", "B": "middle", "C": ["nowhere"]})
    with pytest.raises(ValueError, match="unknown"):
        PublishParams.from_vars({}, cadence=3)


# -- 271 -------------------------------------------------------------------------------
def test_reps_come_from_the_mart_in_rank_order(world):
    # Rank, tier and capacity are dbt's (rep_performance_history, unit-tested there); the
    # list keeps active tiered reps in rank order and never re-derives them.
    world.rep("R2", tier="top").rep("R1", tier="bottom").rep("RX", active=False)
    world.rep("R3", capacity=None)
    reps = lists(world).reps
    assert reps["rep_id"].tolist() == ["R2", "R1", "R3"]
    assert reps["rep_tier"].tolist() == ["top", "bottom", "middle"]
    assert reps.set_index("rep_id").loc["R3", "daily_capacity"] == 20
    # a frame holding other days' snapshots: only D's rows count
    inputs = world.inputs()
    other = inputs.reps.assign(as_of_date=days_ago(1), rep_tier="bottom")
    mixed = type(inputs)(**{**inputs.__dict__, "reps": pd.concat([other, inputs.reps])})
    assert build_lists(mixed, D, P).reps["rep_tier"].tolist() == ["top", "bottom", "middle"]


# -- matching and capacity ---------------------------------------------------------------
def _ten_reps(world: World, capacity: int = 5) -> World:
    # With nobody converting, rank follows rep_id: R0,R1 top; R2..R8 middle; R9 bottom.
    for i in range(10):
        world.rep(f"R{i}", capacity=capacity)
    return world


def test_owner_keeps_a_lead_only_when_their_tier_is_allowed(world):
    # default matrix: A -> [top, middle], B -> [middle, top, bottom], C -> [bottom, middle]
    _ten_reps(world).rep("RX", active=False)
    world.lead("A1", "RX", tier="A").lead("B1", None, tier="B").lead("C1", "GONE", tier="C")
    world.lead("A2", "R9", tier="A")  # a bottom rep may not keep an A lead
    world.lead("B2", "R9", tier="B")  # ... but may keep a B lead
    world.lead("C2", "R0", tier="C")  # a top rep may not keep a C lead
    rows = by_lead(world)
    got = {k: (v["rep_id"], v["assignment"], v["assignment_reason"]) for k, v in rows.items()}
    assert got["A1"][0] in {"R0", "R1"} and got["A1"][1:] == ("reassigned", "owner_inactive")
    assert got["B1"][0] in {f"R{i}" for i in range(2, 9)} and got["B1"][2] == "no_owner"
    assert got["C1"] == ("R9", "reassigned", "owner_inactive")
    assert got["A2"][0] in {"R0", "R1"} and got["A2"][2] == "owner_tier_not_allowed"
    assert got["B2"] == ("R9", "owner", "owner")
    assert got["C2"][0] == "R9" and got["C2"][2] == "owner_tier_not_allowed"
    assert rows["A2"]["assignment_reason_zh"].startswith("负责人等级不在")


def test_a_callback_stays_with_the_rep_who_scheduled_it(world):
    _ten_reps(world)
    world.lead("A1", "R9", tier="A").followup("A1", days_ago(3), rep_id="R9", next_on=D)
    world.lead("A2", "R9", tier="A")  # routine: a bottom rep may not keep an A lead
    rows = by_lead(world)
    assert (rows["A1"]["rep_id"], rows["A1"]["assignment_reason"]) == ("R9", "owner")
    assert rows["A2"]["assignment_reason"] == "owner_tier_not_allowed"


def test_a_full_owner_hands_leads_over_within_the_allowed_tiers(world):
    _ten_reps(world, capacity=1)
    for i in range(3):
        world.lead(f"B{i}", "R5", tier="B")
    result = lists(world)
    got = {
        r["lead_id"]: (r["rep_id"], r["assignment_reason"]) for r in result.rows.to_dict("records")
    }
    # R5 keeps the first; the others go to the middle reps with room, best rank first
    assert got == {
        "B0": ("R5", "owner"),
        "B1": ("R2", "owner_at_capacity"),
        "B2": ("R3", "owner_at_capacity"),
    }
    assert result.reps["backlog"].sum() == 0 and result.unassigned == 0


def test_spill_over_follows_the_matrix_and_stops_at_its_end(world):
    _ten_reps(world, capacity=1)
    for i in range(4):
        world.lead(f"C{i}", None, tier="C")
    result = lists(world)
    got = dict(zip(result.rows["lead_id"], result.rows["rep_id"], strict=True))
    # bottom (R9) takes one, then the middle tier by rank, never beyond capacity 1
    assert got == {"C0": "R9", "C1": "R2", "C2": "R3", "C3": "R4"}
    assert result.reps.set_index("rep_id")["rows"].max() == 1
    # a matrix var: C leads to the top tier first, and only there
    m = PublishParams.from_vars({"rep_tier_match": {"A": ["top"], "B": ["middle"], "C": ["top"]}})
    result = lists(world, m)
    got = dict(zip(result.rows["lead_id"], result.rows["rep_id"], strict=True))
    assert got == {"C0": "R0", "C1": "R1"} and result.unassigned == 2


def test_without_owner_stickiness_every_lead_is_matched_by_tier(world):
    _ten_reps(world, capacity=5)
    world.lead("B1", "R5", tier="B").lead("B2", "R2", tier="B")
    loose = PublishParams.from_vars({"outreach_keep_owner": False})
    got = {
        r["lead_id"]: (r["rep_id"], r["assignment_reason"])
        for r in lists(world, loose).rows.to_dict("records")
    }
    # most room left in the middle tier, ties -> rank: R2, then R3 (R2 had one fewer slot)
    assert got == {"B1": ("R2", "matched_by_tier"), "B2": ("R3", "matched_by_tier")}
    got = {r["lead_id"]: r["rep_id"] for r in lists(world).rows.to_dict("records")}
    assert got == {"B1": "R5", "B2": "R2"}
    with pytest.raises(ValueError, match="keep_owner"):
        PublishParams.from_vars({"outreach_keep_owner": "sometimes"})
    with pytest.raises(ValueError, match="tier_match"):
        PublishParams.from_vars({"rep_tier_match": {"A": ["top", "top"], "B": "middle", "C": []}})


def test_capacity_is_never_exceeded_and_cuts_are_counted(world):
    # two active reps are both middle (20/70/10 of 2 -> 0/2/0)
    world.rep("R1", capacity=3).rep("R2", capacity=2).rep("RX", active=False)
    for i in range(7):
        world.lead(f"L{i}", "R1", tier="C")
    for i in range(4):
        world.lead(f"O{i}", "RX", tier="C")  # orphans: nobody has room left for them
    result = lists(world)
    reps = result.reps.set_index("rep_id")
    assert reps.loc["R1", "rows"] == 3 and reps.loc["R1", "backlog"] == 2
    assert reps.loc["R2", "rows"] == 2 and reps.loc["R2", "backlog"] == 0
    assert result.unassigned == 4
    assert (reps["rows"] <= reps["daily_capacity"]).all()
    # highest priority first: all C never-contacted, same created date -> lowest lead_ids
    assert result.rep_rows("R1")["lead_id"].tolist() == ["L0", "L1", "L2"]
    assert result.rep_rows("R2")["lead_id"].tolist() == ["L3", "L4"]


@pytest.mark.parametrize("seed", range(30))
def test_no_lead_is_cut_while_an_allowed_rep_has_room(seed):
    """Fairness of the matching on random days: a due lead is left out only when every
    rep of its allowed tiers is full, and no rep ever exceeds capacity."""
    import random

    from userops.publish.build import assign_items

    rnd = random.Random(seed)
    n = rnd.randint(1, 12)
    tiers = ["top"] * 2 + ["middle"] * max(n - 3, 0) + ["bottom"]
    reps = pd.DataFrame(
        {
            "rep_id": [f"R{i:02d}" for i in range(n)],
            "rep_tier": tiers[:n],
            "rep_rank": range(1, n + 1),
            "daily_capacity": [rnd.randint(0, 4) for _ in range(n)],
        }
    )
    lead_ids = [f"L{i:03d}" for i in range(rnd.randint(0, 60))]
    leads = pd.DataFrame({"lead_id": pd.Series(lead_ids, dtype=object)})
    leads["lead_tier"] = [rnd.choice("ABC") for _ in range(len(leads))]
    leads["priority_score"] = [rnd.randint(0, 200) for _ in range(len(leads))]
    leads["suggested_action"] = [
        rnd.choice(["scheduled_callback", "routine_followup"]) for _ in range(len(leads))
    ]
    owner_pool = [*reps["rep_id"], None, "GONE"]
    owners = pd.Series({lead: rnd.choice(owner_pool) for lead in leads["lead_id"]}, dtype=object)
    params = PublishParams.from_vars({"outreach_keep_owner": rnd.random() < 0.7})
    assigned, backlog, unassigned = assign_items(leads, owners, reps, params)
    load = assigned["rep_id"].value_counts()
    cap = reps.set_index("rep_id")["daily_capacity"]
    assert (load <= cap.reindex(load.index)).all()
    cut = leads[~leads["lead_id"].isin(assigned["lead_id"])]
    assert sum(backlog.values()) + unassigned == len(cut)
    full = {r for r in cap.index if load.get(r, 0) == cap[r]}
    for tier in cut["lead_tier"]:
        allowed = reps[reps["rep_tier"].isin(params.tier_match[tier])]["rep_id"]
        assert set(allowed) <= full, (tier, set(allowed) - full)
    kept = assigned[assigned["assignment"] == "owner"]
    assert (kept["rep_id"] == owners.reindex(kept["lead_id"]).to_numpy()).all()


def test_the_adr_worked_example():
    """docs/decisions/0009-271-matching.md, row by row."""
    from userops.publish.build import assign_items

    reps = pd.DataFrame(
        {
            "rep_id": ["R1", "R2", "R3", "R4", "R5"],
            "rep_tier": ["top", "middle", "middle", "middle", "bottom"],
            "rep_rank": [1, 2, 3, 4, 5],
            "daily_capacity": [2, 2, 1, 2, 2],
        }
    )
    leads = [
        ("A1", "A", "R5"), ("A2", "A", "R1"), ("A3", "A", "R1"), ("B1", "B", "R3"),
        ("B2", "B", "R3"), ("C1", "C", None), ("C2", "C", "R1"), ("C3", "C", "RX"),
        ("C4", "C", "R5"), ("B3", "B", None),
    ]  # fmt: skip
    due = pd.DataFrame(
        {
            "lead_id": pd.Series([lead for lead, _, _ in leads], dtype=object),
            "lead_tier": [tier for _, tier, _ in leads],
            "priority_score": range(200, 200 - 10 * len(leads), -10),
            "suggested_action": "routine_followup",
        }
    )
    owners = pd.Series({lead: owner for lead, _, owner in leads}, dtype=object)
    assigned, backlog, unassigned = assign_items(due, owners, reps, P)
    got = {r["lead_id"]: (r["rep_id"], r["assignment_reason"]) for r in assigned.to_dict("records")}
    assert got == {
        "A1": ("R1", "owner_tier_not_allowed"),
        "A2": ("R1", "owner"),
        "A3": ("R2", "owner_at_capacity"),
        "B1": ("R3", "owner"),
        "B2": ("R4", "owner_at_capacity"),
        "C1": ("R5", "no_owner"),
        "C2": ("R5", "owner_tier_not_allowed"),
        "C3": ("R2", "owner_inactive"),
        "C4": ("R4", "owner_at_capacity"),
    }
    assert unassigned == 1 and sum(backlog.values()) == 0


def test_a_reps_list_holds_only_their_own_leads(world):
    _ten_reps(world).rep("RX", active=False)
    for i in range(30):
        owner = "RX" if i % 5 == 0 else f"R{i % 10}"
        world.lead(f"L{i:02d}", owner, tier="ABC"[i % 3])
    result = lists(world)
    owners = {lead["lead_id"]: lead["owner_rep_id"] for lead in world.leads}
    for row in result.rows.to_dict("records"):
        if row["assignment"] == "owner":
            assert owners[row["lead_id"]] == row["rep_id"]
        elif owners[row["lead_id"]] == "RX":
            assert row["assignment_reason"] == "owner_inactive"
        else:
            assert row["assignment_reason"] == "owner_tier_not_allowed"
    assert result.rows["lead_id"].is_unique
    for rep_id in result.reps["rep_id"]:
        assert set(result.rep_rows(rep_id)["rep_id"]) <= {rep_id}


# -- cadence, callbacks, cooldown ----------------------------------------------------------
@pytest.mark.parametrize(("tier", "cadence"), [("A", 3), ("B", 7), ("C", 14)])
def test_cadence_per_tier(world, tier, cadence):
    world.rep("R1")
    world.lead("DUE", "R1", tier=tier).followup("DUE", days_ago(cadence))
    world.lead("LATE", "R1", tier=tier).followup("LATE", days_ago(cadence + 2))
    world.lead("EARLY", "R1", tier=tier).followup("EARLY", days_ago(cadence - 1))
    world.lead("NEW", "R1", tier=tier)
    rows = by_lead(world)
    assert set(rows) == {"DUE", "LATE", "NEW"}
    assert (
        rows["DUE"]["reason_zh"] == f"{tier} 类线索，距上次跟进已 {cadence} 天（周期 {cadence} 天）"
    )
    assert rows["DUE"]["reason_code"] == "cadence_due"
    assert rows["NEW"]["reason_zh"] == f"{tier} 类线索，尚未跟进过"
    assert rows["LATE"]["suggested_action"] == "routine_followup"
    assert rows["LATE"]["suggested_action_zh"] == "例行跟进"
    assert rows["DUE"]["last_followup_date"] == days_ago(cadence).isoformat()


def test_next_followup_at_is_honoured(world):
    world.rep("R1")
    # yesterday's call set a callback for today: due despite cadence and cooldown
    world.lead("TODAY", "R1", tier="C").followup("TODAY", days_ago(1), next_on=D)
    # a callback 2 days overdue
    world.lead("OVERDUE", "R1", tier="C").followup("OVERDUE", days_ago(9), next_on=days_ago(2))
    # cadence says due (A, 5 days) but the rep scheduled next week: not due
    world.lead("LATER", "R1", tier="A").followup("LATER", days_ago(5), next_on=days_ago(-5))
    # a later follow-up without a date supersedes an old scheduled one: cadence applies
    world.lead("SUPERSEDED", "R1", tier="B").followup(
        "SUPERSEDED", days_ago(20), next_on=days_ago(15)
    )
    world.followup("SUPERSEDED", days_ago(2))
    rows = by_lead(world)
    assert set(rows) == {"TODAY", "OVERDUE"}
    assert rows["TODAY"]["suggested_action"] == "scheduled_callback"
    assert rows["TODAY"]["suggested_action_zh"] == "预约回访"
    assert rows["TODAY"]["reason_zh"] == f"销售预约 {D.isoformat()} 回访"
    assert rows["TODAY"]["next_followup_date"] == D.isoformat()
    assert rows["OVERDUE"]["reason_zh"] == f"销售预约 {days_ago(2).isoformat()} 回访，已逾期 2 天"


def test_next_followup_at_uses_the_business_date(world):
    # 2024-05-14 20:00 UTC is 2024-05-15 04:00 in Shanghai: due on D, not on D-1.
    world.rep("R1").lead("L1", "R1", tier="C").followup("L1", days_ago(3))
    world.followups[-1]["next_followup_at"] = pd.Timestamp("2024-05-14 20:00:00")
    assert "L1" in by_lead(world)
    before = World(day=days_ago(1))
    before.rep("R1").lead("L1", "R1", tier="C").followup("L1", days_ago(3))
    before.followups[-1]["next_followup_at"] = pd.Timestamp("2024-05-14 20:00:00")
    assert build_lists(before.inputs(), days_ago(1), P).rows.empty


def test_not_interested_waits_its_own_cadence(world):
    world.rep("R1")
    world.lead("N", "R1", tier="A").followup("N", days_ago(10), outcome="not_interested")
    world.lead("Y", "R1", tier="A").followup("Y", days_ago(10), outcome="interested")
    rows = by_lead(world)
    assert set(rows) == {"Y"}  # A's 3 days passed; a "no" waits 30
    assert rows["Y"]["last_outcome_zh"] == "有兴趣"
    world.followups.clear()
    world.followup("N", days_ago(31), outcome="not_interested")
    row = by_lead(world)["N"]
    assert row["reason_zh"] == "A 类线索，距上次跟进已 31 天（周期 30 天，上次结果：暂无兴趣）"
    assert (row["last_outcome"], row["last_outcome_zh"]) == ("not_interested", "暂无兴趣")
    world.followups.clear()
    world.followup("N", days_ago(10), outcome="not_interested")
    world.rules["followup_outcome_cadence_days"] = {}
    row = by_lead(world)["N"]  # without the override: the tier's 3 days
    assert row["reason_zh"] == "A 类线索，距上次跟进已 10 天（周期 3 天）"


def test_a_callback_without_a_date_is_due_two_days_later(world):
    world.rep("R1")
    world.lead("C", "R1", tier="C").followup("C", days_ago(1), outcome="callback")
    world.lead("L", "R1", tier="C").followup("L", days_ago(5), outcome="callback")
    world.lead("S", "R1", tier="C", status="signed").followup("S", days_ago(2), outcome="callback")
    rows = by_lead(world)
    assert set(rows) == {"L", "S"}  # C's call was yesterday: due tomorrow
    assert rows["L"]["suggested_action"] == "scheduled_callback"
    assert rows["L"]["reason_code"] == "callback_undated"
    assert rows["L"]["reason_zh"] == f"{days_ago(5)} 跟进时客户要求回访（未约定日期），已逾期 3 天"
    assert rows["L"]["next_followup_date"] == ""  # no date is made up in its column
    assert rows["S"]["reason_zh"] == f"{days_ago(2)} 跟进时客户要求回访（未约定日期）"
    # a later call with another outcome ends it (C cadence: 14 days, not yet due)
    world.followup("L", days_ago(3), outcome="interested")  # past the cooldown
    assert "L" not in by_lead(world)


def test_a_converted_outcome_makes_a_customer(world):
    world.rep("R1")
    world.lead("W", "R1", tier="B").followup("W", days_ago(20), outcome="converted")
    world.followup("W", days_ago(15), outcome="no_answer")  # the latest outcome may differ
    world.lead("P", "R1", tier="B").followup("P", days_ago(20), outcome="interested")
    assert set(by_lead(world)) == {"P"}  # a customer gets no routine cadence
    world.rules["outreach_customer_outcomes"] = []
    assert "W" in by_lead(world)


def test_a_company_called_under_its_duplicate_record_is_not_called_again(world):
    world.rep("R1").rep("R2")
    world.lead("L1", "R1", tier="A").followup("L1", days_ago(10))
    world.duplicate("D1", of="L1", owner="R2")
    assert by_lead(world)["L1"]["last_followup_date"] == str(days_ago(10))
    world.followup("D1", days_ago(1), rep_id="R2", outcome="interested")  # yesterday, as D1
    assert by_lead(world) == {}  # cooling down: the company was called yesterday
    world.followup("D1", days_ago(1), rep_id="R2", next_on=D)  # a callback set on D1
    row = by_lead(world)["L1"]
    assert row["reason_code"] == "callback_due" and row["last_followup_date"] == str(days_ago(1))


def test_a_company_paying_under_its_duplicate_record_is_a_customer(world):
    world.rep("R1")
    world.lead("L1", "R1", tier="B").followup("L1", days_ago(30))
    assert "L1" in by_lead(world)
    world.duplicate("D1", of="L1", user_id="U7")
    world.contract("D1", days_ago(3))
    assert by_lead(world) == {}  # a customer: no routine cadence
    world.contracts.clear()
    world.contract(None, days_ago(3), user_id="U7")  # paid by the duplicate's platform user
    assert by_lead(world) == {}


def test_cooldown(world):
    world.rep("R1")
    world.lead("L1", "R1", tier="A").followup("L1", days_ago(1))
    world.lead("L2", "R1", tier="A").followup("L2", days_ago(2))
    world.rules["followup_cadence_days"] = {"A": 1, "B": 7, "C": 14}
    assert set(by_lead(world)) == {"L2"}  # L1 contacted yesterday: cooling down
    world.rules["followup_cooldown_days"] = 0
    assert set(by_lead(world)) == {"L1", "L2"}
    world.rules["followup_cooldown_days"] = 2
    # triggers cool down too
    world.lead("W", "R1", tier="B", user_id="UW").followup("W", days_ago(0))
    world.user(
        "UW", lead_id="W", stage="dormant", segment="important_value", last_active=days_ago(30)
    )
    world.stage("UW", D, "dormant", "growth")
    assert "W" not in by_lead(world)


# -- triggers ------------------------------------------------------------------------------
def _winback(world: World, segment: str = "important_keep", previous: str = "growth") -> World:
    world.rep("R1")
    world.lead("W", "R1", tier="C", user_id="U1", status="signed").followup("W", days_ago(40))
    world.contract("W", days_ago(200))
    world.user("U1", lead_id="W", stage="dormant", segment=segment, last_active=days_ago(34))
    return world.stage("U1", D, "dormant", previous)


def test_winback_trigger_for_important_customer_turned_dormant(world):
    rows = by_lead(_winback(world))
    assert rows["W"]["suggested_action"] == "winback_call"
    assert rows["W"]["suggested_action_zh"] == "挽回电话"
    assert rows["W"]["reason_code"] == "important_turned_dormant"
    assert rows["W"]["reason_zh"] == "重要保持客户，已 34 天未活跃"
    assert rows["W"]["rfm_segment_zh"] == "重要保持客户"
    assert rows["W"]["lifecycle_stage"] == "dormant"
    assert rows["W"]["lifecycle_stage_zh"] == "休眠期"


@pytest.mark.parametrize(
    ("segment", "previous"),
    [("general_keep", "growth"), ("important_keep", "churned"), (None, "growth")],
)
def test_no_winback_for_general_segments_or_from_churned(world, segment, previous):
    # a signed customer gets only triggers: no trigger -> not on the list at all
    assert by_lead(_winback(world, segment, previous)) == {}


def test_winback_segments_are_a_var(world):
    assert by_lead(_winback(world))["W"]["reason_code"] == "important_turned_dormant"
    world.rules["winback_segments"] = ["important_winback"]
    assert by_lead(world) == {}  # important_keep no longer qualifies


def test_winback_when_a_customer_turns_important_winback(world):
    world.rep("R1")
    world.lead("W", "R1", tier="B", user_id="U1", status="signed").contract("W", days_ago(200))
    world.user("U1", lead_id="W", stage="growth", segment="important_winback")
    world.segment("U1", days_ago(3), "important_value").segment(
        "U1", days_ago(2), "important_value"
    )
    world.segment("U1", days_ago(1), "important_winback", 91)
    world.segment("U1", D, "important_winback", 92)
    row = by_lead(world)["W"]
    assert (row["suggested_action"], row["reason_code"]) == ("winback_call", "segment_changed")
    assert row["reason_zh"] == (
        f"价值分群由重要价值客户转为重要挽留客户，已 92 天未下单（{days_ago(1)} 触发）"
    )
    # a call on/after the change ends it; so does leaving the segment again
    world.followup("W", days_ago(1))
    assert by_lead(world) == {}
    world.followups.clear()
    world.segments[-1]["rfm_segment"] = "important_value"
    assert by_lead(world) == {}


def test_no_segment_trigger_without_a_change_in_the_window(world):
    world.rep("R1")
    world.lead("W", "R1", tier="B", user_id="U1", status="signed").contract("W", days_ago(200))
    world.user("U1", lead_id="W", stage="growth", segment="important_winback")
    world.segment("U1", D, "important_winback")  # first snapshot: nothing to compare with
    assert by_lead(world) == {}
    world.segment("U1", days_ago(8), "important_value")  # changed before the 7-day window
    world.segment("U1", days_ago(7), "important_winback")
    assert by_lead(world) == {}
    world.segments[-2]["as_of_date"] = days_ago(7)  # ... now inside it
    world.segments[-1]["as_of_date"] = days_ago(6)
    assert by_lead(world)["W"]["reason_code"] == "segment_changed"
    world.rules["winback_segment_changes"] = []
    assert by_lead(world) == {}


def test_a_trigger_row_shows_the_account_it_fired_for(world):
    # one company, two platform accounts: U1 is the lead's own, U2 turned dormant
    world.rep("R1")
    world.lead("W", "R1", tier="C", user_id="U1", status="signed").contract("W", days_ago(200))
    world.user("U1", lead_id="W", stage="growth", segment="general_keep")
    world.user(
        "U2", lead_id="W", stage="dormant", segment="important_value", last_active=days_ago(33)
    )
    world.stage("U2", D, "dormant", "growth")
    row = by_lead(world)["W"]
    assert row["reason_code"] == "important_turned_dormant"
    assert (row["user_id"], row["rfm_segment"], row["lifecycle_stage"]) == (
        "U2",
        "important_value",
        "dormant",
    )


def test_a_contract_without_a_readable_status_is_not_a_payment(world):
    # as in dbt (int_contracts__classified): a null status is not paid, so the lead stays
    # a prospect and gets its routine follow-up
    world.rep("R1").lead("P", "R1", tier="B").contract("P", days_ago(20), status=None)
    assert by_lead(world)["P"]["reason_code"] == "never_contacted"
    world.contract("P", days_ago(10))  # a paid one makes it a customer: no routine cadence
    assert by_lead(world) == {}


def test_a_contract_by_user_credits_the_same_lead_whatever_the_row_order(world):
    world.rep("R1")
    for lead in ("L2", "L1", "L3"):
        world.lead(lead, "R1", tier="B", user_id="U")
    world.contract(None, days_ago(5), user_id="U")
    listed = set(by_lead(world))
    world.leads.reverse()
    assert set(by_lead(world)) == listed == {"L2", "L3"}  # L1, the lowest id, is the customer


def test_trigger_lasts_the_window_until_someone_calls(world):
    world.rep("R1").lead("W", "R1", tier="C", user_id="U1", status="signed")
    world.user(
        "U1", lead_id="W", stage="dormant", segment="important_value", last_active=days_ago(32)
    )
    world.stage("U1", days_ago(2), "dormant", "growth").stage(
        "U1", days_ago(1), "dormant", "dormant"
    )
    world.stage("U1", D, "dormant", "dormant")
    assert by_lead(world)["W"]["reason_code"] == "important_turned_dormant"
    world.followup("W", days_ago(2))  # called on the transition day: done (and past cooldown)
    assert by_lead(world) == {}
    world.followups.clear()
    world.rules["trigger_window_days"] = 3  # D-2 .. D
    assert by_lead(world)["W"]["reason_code"] == "important_turned_dormant"
    world.rules["trigger_window_days"] = 2  # fired two days ago: out of D-1 .. D
    assert by_lead(world) == {}


def test_onboarding_trigger_for_inactive_new_signups(world):
    world.rep("R1")
    for n in (2, 3, 4, 6, 7):
        world.lead(f"S{n}", "R1", tier="B", user_id=f"U{n}", status="member")
        world.contract(f"S{n}", days_ago(n))  # customers: only triggers can list them
        world.user(
            f"U{n}",
            lead_id=f"S{n}",
            stage="introduction",
            signup=days_ago(n),
            last_active=days_ago(n),
        )
    world.lead("ACT", "R1", tier="B", user_id="UA").contract("ACT", days_ago(4))
    world.user(
        "UA", lead_id="ACT", stage="introduction", signup=days_ago(4), last_active=days_ago(1)
    )
    rows = by_lead(world)
    assert set(rows) == {"S3", "S4", "S6"}
    assert rows["S4"]["reason_zh"] == "新注册 4 天仍未活跃"
    assert rows["S4"]["suggested_action"] == "onboarding_call"
    assert rows["S4"]["suggested_action_zh"] == "新手引导电话"


def test_upsell_trigger_on_growth_to_mature(world):
    world.rep("R1").lead("M", "R1", tier="A", user_id="UM", status="signed").contract(
        "M", days_ago(300)
    )
    world.user("UM", lead_id="M", stage="mature", segment="general_value")
    world.stage("UM", D, "mature", "growth", active_days_30d=12)
    world.lead("X", "R1", tier="A", user_id="UX", status="signed").contract("X", days_ago(300))
    world.user("UX", lead_id="X", stage="mature").stage("UX", D, "mature", "dormant")
    rows = by_lead(world)
    assert set(rows) == {"M"}
    assert rows["M"]["suggested_action"] == "upsell"
    assert rows["M"]["suggested_action_zh"] == "升级推荐"
    assert rows["M"]["reason_zh"] == "已由成长期进入成熟期（近 30 天活跃 12 天），可推荐升级"


def test_trigger_users_without_a_lead_are_counted(world):
    world.rep("R1").user("U9", stage="introduction", signup=days_ago(4), last_active=days_ago(4))
    result = lists(world)
    assert result.rows.empty and result.triggers_without_lead == 1


# -- exclusions ----------------------------------------------------------------------------
def test_exclusions(world):
    world.rep("R1")
    world.lead("DEL", "R1", tier="A", deleted=True)
    world.lead("LOST", "R1", tier="A", status="lost")
    world.lead("LOSTCB", "R1", tier="A", status="lost").followup("LOSTCB", days_ago(5), next_on=D)
    world.lead("SIGNED", "R1", tier="A", status="signed")
    world.lead("PAID", "R1", tier="A", status="qualified").contract("PAID", days_ago(100))
    world.lead("UNSCORED", "R1", tier=None)
    world.lead("FUTURE", "R1", tier="A", created=days_ago(-1))
    world.lead("OK", "R1", tier="A")
    # a lost lead still gets its trigger
    world.lead("LOSTW", "R1", tier="C", status="lost", user_id="UL")
    world.user(
        "UL",
        lead_id="LOSTW",
        stage="dormant",
        segment="important_winback",
        last_active=days_ago(31),
    )
    world.stage("UL", D, "dormant", "growth")
    rows = by_lead(world)
    assert set(rows) == {"OK", "LOSTW"}
    assert rows["LOSTW"]["reason_zh"] == "重要挽留客户，已 31 天未活跃"


def test_future_follow_ups_and_contracts_are_ignored(world):
    # a backfill of D must not see what happened after D
    world.rep("R1").lead("L1", "R1", tier="A").followup("L1", days_ago(5))
    world.followup("L1", days_ago(-1))
    world.contract("L1", days_ago(-1))
    assert by_lead(world)["L1"]["reason_code"] == "cadence_due"


# -- priority, reasons, order ----------------------------------------------------------------
def test_priority_classes_and_combined_reasons(world):
    world.rep("R1", capacity=20)
    _winback(world)
    world.lead("CB", "R1", tier="C").followup("CB", days_ago(4), next_on=days_ago(1))
    world.lead("ON", "R1", tier="C", user_id="UO")
    world.user(
        "UO", lead_id="ON", stage="introduction", signup=days_ago(5), last_active=days_ago(5)
    )
    world.lead("UP", "R1", tier="A", user_id="UP1").followup("UP", days_ago(50))
    world.user("UP1", lead_id="UP", stage="mature").stage("UP1", D, "mature", "growth", 9)
    world.lead("RA", "R1", tier="A").followup("RA", days_ago(70))  # 67 overdue, capped at 29
    world.lead("RB", "R1", tier="B").followup("RB", days_ago(7))
    world.lead("RB2", "R1", tier="B").followup("RB2", days_ago(7))
    rows = lists(world).rep_rows("R1")
    assert rows["lead_id"].tolist() == ["W", "CB", "ON", "UP", "RA", "RB", "RB2"]
    assert rows["priority"].tolist() == list(range(1, 8))
    # action weight + tier weight (A 60, B 30, C 0) + overdue days (capped at 29)
    scores = [400 + 0 + 0, 300 + 0 + 1, 200 + 0 + 2, 100 + 60 + 0, 60 + 29, 30, 30]
    assert rows["priority_score"].tolist() == scores
    on = rows.set_index("lead_id").loc["ON"]
    assert on["reason_zh"] == "新注册 5 天仍未活跃；C 类线索，尚未跟进过"
    up = rows.set_index("lead_id").loc["UP"]
    assert (
        up["reason_zh"].startswith("已由成长期进入成熟期")
        and "距上次跟进已 50 天" in up["reason_zh"]
    )


def test_rows_have_every_column_and_unmasked_contact_details(world):
    world.rep("R1", name="王伟").lead("L1", "R1", tier="A", user_id="U1")
    world.user("U1", lead_id="L1", segment="general_develop")
    rows = lists(world).rows
    assert list(rows.columns) == list(LIST_COLUMNS)
    row = rows.iloc[0].to_dict()
    assert row["business_date"] == D.isoformat() and row["rep_name"] == "王伟"
    assert row["phone"] == "+8613800000000" and row["email"] == "l1@corp.example.cn"
    assert row["company_name"] == "L1 科技有限公司" and row["contact_name"] == "联系人L1"
    assert row["rfm_segment_zh"] == "一般发展客户" and row["lifecycle_stage_zh"] == "成长期"


def test_same_inputs_in_any_row_order_give_identical_lists(world):
    _ten_reps(world, capacity=3).rep("RX", active=False)
    for i in range(40):
        world.lead(f"L{i:02d}", "RX" if i % 4 == 0 else f"R{i % 10}", tier="ABC"[i % 3])
        if i % 2:
            world.followup(f"L{i:02d}", days_ago(i % 17))
    first = lists(world).rows
    shuffled = world.inputs()
    shuffled = type(shuffled)(
        **{k: v.sample(frac=1, random_state=7) for k, v in vars(shuffled).items()}
    )
    second = build_lists(shuffled, D, P).rows
    pd.testing.assert_frame_equal(first, second)
    assert len(first) > 10


def test_churn_share(world):
    for i in range(8):
        world.stage(f"U{i}", D, "growth", "growth")
    world.stage("U8", D, "dormant", "growth").stage("U9", D, "churned", "dormant")
    world.stage("U7", days_ago(1), "dormant", "growth")  # yesterday does not count
    assert lists(world.rep("R1")).churn_share == pytest.approx(2 / 10)


def test_a_var_set_in_dbt_project_yml_changes_the_list(world, tmp_path, monkeypatch):
    """The one config surface: edit dbt_project.yml, and the run's params (read the way
    the publish step reads them) and so the list follow."""
    import userops.config
    from userops.config import DBT_PROJECT_DIR, load_settings
    from userops.pipeline import dbt_vars_for
    from userops.windows import BusinessDay

    world.rep("R1").lead("L1", "R1", tier="B").followup("L1", days_ago(4))
    settings = load_settings({"USEROPS_DATA_DIR": str(tmp_path)})
    day = BusinessDay(D, settings.timezone)

    def listed() -> set[str]:
        return set(by_lead(world, PublishParams.from_vars(dbt_vars_for(day, settings))))

    assert listed() == set()  # B is due 7 days after its last follow-up
    text = (DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8")
    assert "followup_cadence_days: {A: 3, B: 7, C: 14}" in text
    edited = tmp_path / "project"
    edited.mkdir()
    (edited / "dbt_project.yml").write_text(
        text.replace(
            "followup_cadence_days: {A: 3, B: 7, C: 14}",
            "followup_cadence_days: {A: 3, B: 4, C: 14}",
        ),
        encoding="utf-8",
    )
    monkeypatch.setattr(userops.config, "DBT_PROJECT_DIR", edited)
    assert listed() == {"L1"}


def test_labels_come_from_the_seeds(tmp_path, monkeypatch):
    import shutil

    import userops.config
    from userops.publish.rules import seed_labels

    project = tmp_path / "dbt_project"
    shutil.copytree(userops.config.DBT_PROJECT_DIR / "seeds", project / "seeds")
    seed = project / "seeds" / "outreach_actions.csv"
    seed.write_text(
        seed.read_text(encoding="utf-8").replace("升级推荐", "增购推荐"), encoding="utf-8"
    )
    monkeypatch.setattr(userops.config, "DBT_PROJECT_DIR", project)
    assert seed_labels("outreach_actions")["upsell"] == "增购推荐"
    assert next(iter(seed_labels("assignment_reasons"))) == "owner"  # sort_order


def test_prospect_tiers_keep_customers_from_crowding_tier_a(world):
    # a paying A customer and a B prospect called 4 days ago: by lead tier the prospect
    # waits B's 7 days; with outreach_prospect_tiers it is the best prospect, an A
    world.rep("R1")
    world.lead("CU", "R1", tier="A", status="signed")
    world.lead("PR", "R1", tier="B").followup("PR", days_ago(4))
    assert by_lead(world) == {}
    world.rules["outreach_prospect_tiers"] = True
    row = by_lead(world)["PR"]
    assert (row["lead_tier"], row["reason_code"]) == ("A", "cadence_due")
    assert row["reason_zh"] == "A 类线索，距上次跟进已 4 天（周期 3 天）"


def test_repeated_no_answer_suggests_another_channel(world):
    world.rep("R1")
    world.lead("N", "R1", tier="A")
    for n in (12, 9, 6):
        world.followup("N", days_ago(n), outcome="no_answer")
    world.lead("M", "R1", tier="A").followup("M", days_ago(12), outcome="no_answer")
    world.followup("M", days_ago(9), outcome="interested")
    world.followup("M", days_ago(6), outcome="no_answer")
    rows = by_lead(world)
    assert rows["N"]["reason_zh"].endswith("；已连续 3 次未接通，建议换渠道联系")
    assert "换渠道" not in rows["M"]["reason_zh"]  # one no_answer since an answer
    world.rules["outreach_no_answer_streak"] = 1
    assert "已连续 1 次未接通" in by_lead(world)["M"]["reason_zh"]


def test_predicted_value_breaks_ties_and_is_quoted(world):
    # two leads due alike (same tier, never contacted): the one expected to be worth
    # more comes first; the row quotes the value model (marts.user_value)
    world.rep("R1")
    world.lead("L1", "R1", tier="B", user_id="U1").lead("L2", "R1", tier="B", user_id="U2")
    world.lead("L3", "R1", tier="B")  # no platform account: no prediction
    assert [r["lead_id"] for r in lists(world).rep_rows("R1").to_dict("records")] == [
        "L1", "L2", "L3",
    ]  # fmt: skip
    world.value("U1", 100.0, 0.5).value("U2", 50000.4, 0.123)
    rows = lists(world).rep_rows("R1").to_dict("records")
    assert [r["lead_id"] for r in rows] == ["L2", "L1", "L3"]
    assert rows[0]["priority_score"] == rows[1]["priority_score"] == rows[2]["priority_score"]
    assert rows[0]["reason_zh"].endswith("；预计未来一年价值 ¥50,000，流失概率 12%")
    assert (rows[0]["expected_value_cny"], rows[0]["churn_probability"]) == (50000.0, 0.123)
    assert rows[2]["expected_value_cny"] is None and "预计" not in rows[2]["reason_zh"]


def test_the_top_need_of_the_company_is_shown(world):
    # lead_need_themes of D: the row says what the company cares about; another day's
    # snapshot does not count, and a company with no known need says nothing
    world.rep("R1")
    world.lead("L1", "R1", tier="A").lead("L2", "R1", tier="A")
    world.need("L1", "price_concern", "价格顾虑")
    world.need("L2", "after_sales", "售后服务", on=days_ago(1))
    rows = by_lead(world)
    assert rows["L1"]["reason_zh"].endswith("；客户关注：价格顾虑")
    assert rows["L1"]["top_need"] == "价格顾虑"
    assert "客户关注" not in rows["L2"]["reason_zh"] and rows["L2"]["top_need"] is None
