"""publish_day end to end: a real warehouse (DuckDB and PostgreSQL) and a real SMTP server."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from publish_world import D, World, days_ago, write_world

from userops.publish.build import build_lists
from userops.publish.deliver import SmtpSettings
from userops.publish.files import content_hash, csv_bytes, list_dir, read_manifest
from userops.publish.log import read_log
from userops.publish.rules import PublishParams
from userops.publish.run import InputsNotAsOfError, publish_day
from userops.warehouse import Warehouse

OPS = "ops@example.com"


def day_world(day: date = D, *, extra_lead: bool = False, turned_dormant: int = 0) -> World:
    """Three active reps (R3 without room), one inactive rep's lead to reassign."""
    w = World(day=day)
    w.rep("R1", name="王伟", capacity=5).rep("R2", name="李娜", capacity=5)
    w.rep("R3", name="张敏", capacity=0).rep("RX", active=False)
    w.lead("L1", "R1", tier="A").followup("L1", days_ago(4, day))
    w.lead("L2", "R1", tier="B")
    w.lead("L3", "R2", tier="C", user_id="U3", status="signed").contract("L3", days_ago(200, day))
    w.user(
        "U3", lead_id="L3", stage="dormant", segment="important_keep", last_active=days_ago(34, day)
    )
    w.stage("U3", day, "dormant", "growth")
    w.lead("L4", "RX", tier="B")  # reassigned to the middle tier
    w.lead("L5", "R3", tier="A").followup("L5", days_ago(1, day))  # cooling down
    if extra_lead:
        w.lead("L6", "R1", tier="B")
    for i in range(20):  # a stable population keeps the churn share low
        w.user(f"S{i}").stage(f"S{i}", day, "dormant" if i < turned_dormant else "growth", "growth")
    return w


def smtp_for(port: int) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, mail_from="userops@example.com")


def publish(target, out, port, day=D, **kw):
    kw.setdefault("alert_recipients", [OPS])
    kw.setdefault("today", day + timedelta(days=1))  # the morning after D: lists are current
    return publish_day(target, day, out, PublishParams.from_vars(), smtp_for(port), **kw)


def load(target, world: World) -> None:
    with Warehouse(target) as wh:
        write_world(wh, world)


def attachment(msg):
    (part,) = [p for p in msg.iter_attachments()]
    return part.get_filename(), part.get_content()


def test_each_rep_receives_exactly_their_own_list(duckdb_target, tmp_path, smtp_server):
    inbox, port = smtp_server
    load(duckdb_target, day_world())
    result = publish(duckdb_target, tmp_path, port)
    assert result.count("sent") == 2 and result.count("skipped_empty") == 1 and not result.holds
    assert len(inbox.messages) == 2  # R3 has nothing due: no mail; no alert
    folder = list_dir(tmp_path, D)
    for rep_id, name in (("R1", "王伟"), ("R2", "李娜")):
        (msg,) = inbox.to(f"{rep_id.lower()}@example.com")
        assert D.isoformat() in msg["Subject"] and name in msg["Subject"]
        body = msg.get_body(("plain",)).get_content()
        assert "跟进名单" in body and "优先处理：" in body
        filename, data = attachment(msg)
        assert filename == f"outreach_{D.isoformat()}_{rep_id}.xlsx"
        ws = load_workbook(io.BytesIO(data))["明细"]
        values = list(ws.iter_rows(min_row=2, values_only=True))
        assert {v[1] for v in values} == {rep_id}  # rep_id column: only this rep's rows
        text = (folder / f"{rep_id}.csv").read_bytes().decode("utf-8-sig")
        csv_ids = [r["lead_id"] for r in csv.DictReader(io.StringIO(text, newline=""))]
        assert [v[4] for v in values] == csv_ids
    by_rep = {r.rep_id: r for r in result.reps}
    assert csv_ids == ["L3", "L4"]  # R2: win-back first, then the reassigned lead
    assert "1. L3 科技有限公司（联系人L3）｜挽回电话｜" in body  # the e-mail lists the top items
    manifest = read_manifest(folder)
    digest = hashlib.sha256((folder / "R1.csv").read_bytes()).hexdigest()
    assert manifest["reps"]["R1"]["content_hash"] == digest == by_rep["R1"].content_hash
    assert manifest["reps"]["R1"]["status"] == "sent"
    assert manifest["reps"]["R3"]["status"] == "skipped_empty"
    assert (folder / "R3.csv").exists()
    json.dumps(result.to_dict())


def test_three_publishes_of_a_date_send_one_mail_per_rep_and_rewrite_nothing(
    duckdb_target, tmp_path, smtp_server
):
    inbox, port = smtp_server
    load(duckdb_target, day_world())
    publish(duckdb_target, tmp_path, port)
    folder = list_dir(tmp_path, D)
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}
    for _ in range(2):
        again = publish(duckdb_target, tmp_path, port)
        assert again.count("sent") == 0 and again.count("skipped_duplicate") == 2
    assert sorted(r for rcpts, _ in inbox.messages for r in rcpts) == [
        "r1@example.com",
        "r2@example.com",
    ]
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}
    assert after == before
    with Warehouse(duckdb_target) as wh:
        log = read_log(wh, D)
    assert log["R1"].status == "skipped_duplicate"
    assert log["R1"].sent_content_hash == log["R1"].content_hash and log["R1"].sent_at
    assert log["R1"].sent_lead_ids == ("L1", "L2")


@pytest.mark.parametrize("age_days", [2, 400])
def test_a_backfill_writes_and_logs_but_sends_nothing_unless_forced(
    duckdb_target, tmp_path, smtp_server, age_days
):
    """A date older than publish_send_max_age_days (1) is nobody's morning any more."""
    inbox, port = smtp_server
    load(duckdb_target, day_world())
    today = D + timedelta(days=age_days)
    result = publish(duckdb_target, tmp_path, port, today=today)
    assert result.backfill and result.age_days == age_days
    assert result.count("backfill") == 2 and result.count("sent") == 0
    assert inbox.messages == []  # not even an alert
    folder = list_dir(tmp_path, D)
    assert (folder / "R1.csv").exists() and (folder / "R1.xlsx").exists()
    with Warehouse(duckdb_target) as wh:
        log = read_log(wh, D)
    assert log["R1"].status == "backfill" and "backfill" in log["R1"].reason
    assert log["R1"].sent_content_hash is None
    assert publish(duckdb_target, tmp_path, port, today=today).count("backfill") == 2
    assert inbox.messages == []

    forced = publish(duckdb_target, tmp_path, port, today=today, force=True)
    assert forced.count("sent") == 2
    again = publish(duckdb_target, tmp_path, port, today=today, force=True)
    assert again.count("sent") == 0 and again.count("skipped_duplicate") == 2
    assert sorted(r for rcpts, _ in inbox.messages for r in rcpts) == [
        "r1@example.com",
        "r2@example.com",
    ]


def test_the_morning_after_and_the_same_day_are_current(duckdb_target, tmp_path, smtp_server):
    _inbox, port = smtp_server
    load(duckdb_target, day_world())
    assert publish(duckdb_target, tmp_path, port, today=D).count("sent") == 2
    assert not publish(duckdb_target, tmp_path, port, today=D + timedelta(days=1)).backfill


def test_a_hold_alerts_instead_of_sending_and_force_publishes(duckdb_target, tmp_path, smtp_server):
    inbox, port = smtp_server
    load(duckdb_target, day_world())
    held = publish(duckdb_target, tmp_path, port, validation_passed=False)
    assert [h.code for h in held.holds] == ["validation_failed"] and held.alert_sent
    assert held.count("held") == 3
    (alert,) = inbox.to(OPS)
    assert len(inbox.messages) == 1 and "告警" in alert["Subject"]
    assert "validation_failed" in alert.get_body(("plain",)).get_content()
    assert (list_dir(tmp_path, D) / "R1.csv").exists()  # written for inspection, not sent
    with Warehouse(duckdb_target) as wh:
        log = read_log(wh, D)
    assert {e.status for e in log.values()} == {"held"}
    assert log["R1"].reason == "validation_failed" and log["R1"].recipients == OPS
    assert log["R1"].sent_content_hash is None

    again = publish(duckdb_target, tmp_path, port, validation_passed=False)
    assert again.count("held") == 3 and not again.alert_sent and len(inbox.messages) == 1

    forced = publish(duckdb_target, tmp_path, port, validation_passed=False, force=True)
    assert forced.count("sent") == 2 and {r.reason for r in forced.reps if r.status == "sent"} == {
        "forced"
    }
    assert len(inbox.to("r1@example.com")) == 1 and len(inbox.to("r2@example.com")) == 1
    rerun = publish(duckdb_target, tmp_path, port)
    assert rerun.count("sent") == 0 and len(inbox.messages) == 3


def test_other_hold_rules(duckdb_target, tmp_path, smtp_server):
    inbox, port = smtp_server
    world = day_world(turned_dormant=10)  # 10 + U3 of 21 users turn dormant today
    load(duckdb_target, world)
    result = publish(duckdb_target, tmp_path, port, sources_fresh=False)
    assert [h.code for h in result.holds] == ["sources_stale", "churn_spike"]
    assert result.churn_share == pytest.approx(11 / 21)
    assert inbox.to("r1@example.com") == [] and len(inbox.to(OPS)) == 1

    empty = World().rep("R1")
    empty.user("S").stage("S", D, "growth", "growth")
    load(duckdb_target, empty)
    result = publish(duckdb_target, tmp_path, port, day=D)
    assert [h.code for h in result.holds] == ["all_lists_empty"]


def test_a_changed_list_after_sending_is_held_unless_forced(duckdb_target, tmp_path, smtp_server):
    inbox, port = smtp_server
    load(duckdb_target, day_world())
    publish(duckdb_target, tmp_path, port)
    sent_csv = (list_dir(tmp_path, D) / "R1.csv").read_bytes()
    load(duckdb_target, day_world(extra_lead=True))  # late CRM data changes R1's list
    changed = {r.rep_id: r for r in publish(duckdb_target, tmp_path, port).reps}
    assert changed["R1"].status == "held" and changed["R1"].reason == "changed_after_send"
    assert changed["R2"].status == "skipped_duplicate"
    assert (list_dir(tmp_path, D) / "R1.csv").read_bytes() == sent_csv  # what R1 has
    entry = read_manifest(list_dir(tmp_path, D))["reps"]["R1"]
    assert entry["status"] == "sent" and entry["content_hash"] == content_hash(sent_csv)
    assert entry["latest_attempt"]["reason"] == "changed_after_send"
    assert entry["latest_attempt"]["rows"] == 3
    assert len(inbox.to("r1@example.com")) == 1 and len(inbox.to(OPS)) == 1
    forced = {r.rep_id: r for r in publish(duckdb_target, tmp_path, port, force=True).reps}
    assert forced["R1"].status == "sent" and forced["R2"].status == "skipped_duplicate"
    assert len(inbox.to("r1@example.com")) == 2 and len(inbox.to("r2@example.com")) == 1
    assert (list_dir(tmp_path, D) / "R1.csv").read_bytes() != sent_csv
    entry = read_manifest(list_dir(tmp_path, D))["reps"]["R1"]
    assert entry["reason"] == "forced" and "latest_attempt" not in entry


def test_publish_log_and_daily_diff_on_both_warehouses(any_target, tmp_path, smtp_server):
    inbox, port = smtp_server
    load(any_target, day_world())
    first = publish(any_target, tmp_path, port)
    assert first.count("sent") == 2
    d2 = D + timedelta(days=1)
    nxt = day_world(d2)
    nxt.followup("L2", days_ago(1, d2))  # L2 was called: off tomorrow's list
    nxt.lead("L7", "R1", tier="A")
    load(any_target, nxt)
    second = publish(any_target, tmp_path, port, day=d2)
    r1 = {r.rep_id: r for r in second.reps}["R1"]
    assert r1.diff["previous_date"] == D.isoformat()
    assert (r1.diff["added"], r1.diff["kept"], r1.diff["removed"]) == (["L7"], ["L1"], ["L2"])
    manifest = read_manifest(list_dir(tmp_path, d2))
    assert manifest["reps"]["R1"]["diff"]["counts"] == {"added": 1, "kept": 1, "removed": 1}
    assert "新增 1 条" in inbox.to("r1@example.com")[-1].get_body(("plain",)).get_content()
    with Warehouse(any_target) as wh:
        day1, day2 = read_log(wh, D), read_log(wh, d2)
        assert wh.fetchall("select count(*) from meta.publish_log")[0][0] == 6
    assert {k: v.status for k, v in day1.items()} == {
        "R1": "sent",
        "R2": "sent",
        "R3": "skipped_empty",
    }
    assert day2["R1"].rows == 2 and day2["R1"].sent_lead_ids == ("L7", "L1")
    assert day2["R1"].recipients == "r1@example.com" and day2["R1"].business_date == d2
    again = publish(any_target, tmp_path, port, day=d2)
    assert again.count("skipped_duplicate") == 2 and len(inbox.messages) == 4
    # meta.outreach_assignments: each date's list rows once, a rerun replaces its date
    with Warehouse(any_target) as wh:
        got = wh.fetchall(
            "select business_date, rep_id, priority, lead_id, assignment_reason "
            "from meta.outreach_assignments order by business_date, rep_id, priority"
        )
    by_day = {
        day: [(r.rep_id, r.rows) for r in res.reps if r.rows]
        for day, res in ((D, first), (d2, again))
    }
    assert [(str(d), rep) for d, rep, *_ in got].count((str(d2), "R1")) == 2
    assert len(got) == sum(n for reps in by_day.values() for _, n in reps)
    r1_d2 = [(p, lead) for d, rep, p, lead, _ in got if str(d) == str(d2) and rep == "R1"]
    assert r1_d2 == [(1, "L7"), (2, "L1")]


def test_backfill_ignores_rows_after_the_day_and_refuses_marts_of_another_day(
    duckdb_target, tmp_path, smtp_server
):
    _, port = smtp_server
    world = day_world()
    expected = build_lists(world.inputs(), D, PublishParams.from_vars()).rows
    world.followup("L1", D + timedelta(days=1))  # in staging, but after D
    world.contract("L2", D + timedelta(days=2))
    load(duckdb_target, world)
    result = publish(duckdb_target, tmp_path, port, dry_run=True)
    assert sum(r.rows for r in result.reps) == len(expected) == 4
    for rep in result.reps:
        rows = expected[expected["rep_id"] == rep.rep_id].reset_index(drop=True)
        assert rep.content_hash == content_hash(csv_bytes(rows))
    with pytest.raises(InputsNotAsOfError, match="marts"):
        publish(duckdb_target, tmp_path, port, day=D - timedelta(days=1))


def test_dry_run_touches_nothing(duckdb_target, tmp_path, smtp_server):
    inbox, port = smtp_server
    load(duckdb_target, day_world())
    result = publish(duckdb_target, tmp_path, port, dry_run=True)
    assert result.count("sent") == 2 and result.dry_run
    assert inbox.messages == [] and not list_dir(tmp_path, D).exists()
    with Warehouse(duckdb_target) as wh:
        assert not wh.table_exists("meta", "publish_log")
        assert not wh.table_exists("meta", "outreach_assignments")
