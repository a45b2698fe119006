"""End to end: generated sources -> the real ``userops_nightly`` DAG (``dag.test()``) ->
warehouse, checked against an independent pandas reading of the same files.

Runs once per warehouse (DuckDB file, throwaway PostgreSQL database).  Each run uses
a real local SMTP server, so "exactly one e-mail per rep" is what a mail relay saw.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.reference import activity as ref_activity
from tests.reference import value as ref_value
from tests.reference.compare import assert_same_rows
from tests.reference.sources import dau_wau_mau, events_as_of, read_events
from tests.smtp import airflow_smtp_uri, local_smtp
from tests.warehouses import drop_pg_database, environment, new_target, warehouse_url
from userops.config import WarehouseTarget
from userops.warehouse import Warehouse

pytestmark = pytest.mark.slow

DAY = date(2026, 5, 31)
NEXT = DAY + timedelta(days=1)
RAW_TABLES = ("crm__sales_reps", "crm__leads", "crm__followups", "crm__contracts",
              "events__events", "events__quarantine")  # fmt: skip
MART_TABLES = ("active_users_daily", "user_activity", "retention_cohorts", "retention_n_day",
               "growth_accounting", "users", "user_rfm", "user_lifecycle_daily",
               "lifecycle_transitions", "lead_funnel", "lead_scores", "user_tags",
               "users_history", "user_rfm_history", "lead_scores_history", "user_tags_history",
               "user_activity_history")  # fmt: skip


def _generator_config():
    from userops.sources.generate import GeneratorConfig

    return GeneratorConfig(seed=11, users=400, days=45, end_date=DAY, dirty_rate=0.02)


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Path:
    from userops.sources.generate import generate

    root = tmp_path_factory.mktemp("sources")
    generate(_generator_config(), f"sqlite:///{root / 'crm.sqlite'}", root / "events")
    return root


@pytest.fixture(scope="module")
def next_night(sources) -> pd.DataFrame:
    """The sources after the next day's arrivals (appended once per module)."""
    from userops.sources.generate import append_day

    marker = sources / ".appended"
    if not marker.exists():
        crm = f"sqlite:///{sources / 'crm.sqlite'}"
        append_day(_generator_config(), crm, sources / "events", NEXT)
        marker.touch()
    events, _ = read_events(sources / "events")
    return events


@pytest.fixture(scope="module")
def reference(sources):
    events, bad_lines = read_events(sources / "events")
    return events_as_of(events, DAY), bad_lines


def _env(sources: Path, target: WarehouseTarget, out: Path, smtp_port: int) -> dict[str, str]:
    return {
        "USEROPS_CRM_URL": f"sqlite:///{sources / 'crm.sqlite'}",
        "USEROPS_EVENTS_URL": str(sources / "events"),
        "USEROPS_WAREHOUSE": warehouse_url(target),
        "USEROPS_OUTPUT_DIR": str(out),
        "AIRFLOW_CONN_SMTP_DEFAULT": airflow_smtp_uri(smtp_port),
        # The morning after DAY: DAY's and NEXT's lists are current, older ones backfills.
        "USEROPS_TODAY": NEXT.isoformat(),
    }


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def world(request, sources, airflow_db, tmp_path_factory) -> Iterator[dict]:
    """A warehouse, an output folder and a local SMTP server wired through the env."""
    tmp = tmp_path_factory.mktemp(f"e2e-{request.param}")
    target = new_target(request.param, tmp, "userops_e2e")
    stack = contextlib.ExitStack()
    mailbox, port = stack.enter_context(local_smtp())
    stack.enter_context(environment(_env(sources, target, tmp / "output", port)))
    try:
        yield {"target": target, "mailbox": mailbox, "out": tmp / "output", "runs": []}
    finally:
        stack.close()
        if not target.is_duckdb:
            drop_pg_database(target)


def _snapshot(target: WarehouseTarget) -> dict[str, pd.DataFrame]:
    """Every raw and mart table, load timestamps aside, in a canonical order."""
    out = {}
    with Warehouse(target) as wh:
        for schema, tables in (("raw", RAW_TABLES), ("marts", MART_TABLES)):
            for table in tables:
                df = wh.fetch_df(f"select * from {schema}.{table}")
                df = df.drop(columns=[c for c in df.columns if c == "_loaded_at"])
                df = df.astype(str).sort_values(list(df.columns)).reset_index(drop=True)
                out[f"{schema}.{table}"] = df
    return out


def _run(world: dict) -> dict:
    from userops.cli import run_dag_for_day

    result = run_dag_for_day(DAY)
    world["runs"].append(_snapshot(world["target"]))
    return result


def test_first_run_succeeds_and_reconciles(world, reference):
    result = _run(world)
    assert set(result["tasks"].values()) == {"success"}, result
    # the night's dbt build ran the data tests and left dbt unit tests to CI (tests/dbt)
    run_results = json.loads((Path(os.environ["DBT_TARGET_PATH"]) / "run_results.json").read_text())
    kinds = {r["unique_id"].split(".")[0] for r in run_results["results"]}
    assert {"model", "test"} <= kinds and "unit_test" not in kinds
    _events, bad_lines = reference
    with Warehouse(world["target"]) as wh:
        batches = wh.fetch_df(
            "select source, rows_read, rows_loaded, rows_quarantined from meta.load_batches"
        )
        quarantined = wh.fetchall("select count(*) from raw.events__quarantine")[0][0]
    assert len(batches) == 5
    assert (batches.rows_read == batches.rows_loaded + batches.rows_quarantined).all()
    # The first run onboards every partition: each bad line of the files is quarantined.
    assert quarantined == bad_lines > 0


#: Tables keyed by business date: a night deletes, reads and tests one date of each.
DAY_KEYED = {
    "marts": ("users_history", "user_tags_history", "lead_scores_history", "user_rfm_history",
              "user_activity_history", "rep_performance_history", "outreach_candidates_history",
              "outreach_triggers_history", "segment_personas_history", "lead_need_themes_history",
              "need_theme_segments_history", "user_lifecycle_daily"),
    "intermediate": ("int_leads__survivors_daily", "int_users__purchase_summary"),
}  # fmt: skip


def test_day_keyed_tables_are_indexed_and_analysed_on_postgres_only(world):
    """ADR 0007: PostgreSQL finds a night's date by index and plans with statistics
    that include it; DuckDB prunes by zone maps and gets no index to maintain."""
    tables = [(schema, t) for schema, names in DAY_KEYED.items() for t in names]
    with Warehouse(world["target"]) as wh:
        if world["target"].is_duckdb:
            rows = wh.fetchall("select schema_name, table_name from duckdb_indexes()")
            assert not set(rows) & set(tables)
            return
        indexed = set(
            wh.fetchall(
                "select schemaname, tablename from pg_indexes where indexdef like '%(as_of_date)'"
            )
        )
        analysed = set(
            wh.fetchall(
                "select schemaname, relname from pg_stat_user_tables "
                "where coalesce(last_analyze, last_autoanalyze) is not null"
            )
        )
    assert [t for t in tables if t not in indexed] == []
    assert [t for t in tables if t not in analysed] == []


def test_the_night_predicted_value_and_churn_for_every_paying_user(world):
    """predict_value ran after dbt: one marts.user_value row per user of dbt's purchase
    summary of DAY, exactly what the model gives for that snapshot."""
    from userops.config import project_vars
    from userops.predict.run import predict

    with Warehouse(world["target"]) as wh:
        p = wh.param
        summary = wh.fetch_df(
            "select user_id, frequency, recency_days, age_days, monetary_value_cny "
            f"from intermediate.int_users__purchase_summary where as_of_date = {p} "
            "order by user_id",
            [DAY],
        )
        stored = wh.fetch_df("select * from marts.user_value order by user_id")
        fits = wh.fetchall(
            f"select status, customers from meta.value_model_fits where as_of_date = {p}", [DAY]
        )
        orders = wh.fetchall(
            "select count(distinct user_id) from intermediate.int_orders__paid "
            f"where paid_date <= {p}",
            [DAY],
        )[0][0]
    assert fits == [("fitted", len(summary))] and 0 < len(summary) <= orders
    assert (pd.to_datetime(stored.as_of_date) == pd.Timestamp(DAY)).all()
    expected, fit = predict(summary, DAY, project_vars())
    assert stored.user_id.tolist() == expected.user_id.tolist()
    assert (stored.model_run_id == fit["model_run_id"]).all()
    for col in ("expected_value_cny", "churn_probability"):
        assert np.allclose(stored[col].astype(float), expected[col].astype(float)), col


def _written_need(note: str) -> str:
    """The need theme the generator wrote into a note, read from its fragments."""
    from userops.sources.vocab import NEED_THEME_PHRASES

    found = {theme for theme, parts in NEED_THEME_PHRASES if any(p in note for p in parts)}
    return found.pop() if len(found) == 1 else ("none" if not found else "mixed")


def test_the_night_assigned_need_themes_to_every_note(world):
    """predict_themes: every note up to DAY has its themes (or `unassigned`); in fitted
    periods they recover the need the generator wrote; lead_need_themes finds each
    company's latent need; personas and user_tags quote value, churn and needs."""
    from sklearn.metrics import adjusted_rand_score

    from userops.sources.vocab import NEED_THEME_PHRASES, lead_need_theme

    with Warehouse(world["target"]) as wh:
        p = wh.param
        notes = wh.fetch_df(
            "select f.followup_id, f.lead_id, f.note, t.theme_id, t.fit_date "
            "from staging.stg_crm__followups as f left join marts.followup_note_themes as t "
            f"on f.followup_id = t.followup_id and t.theme_rank = 1 where f.occurred_date <= {p}",
            [DAY],
        )
        (rows,), *_ = wh.fetchall("select count(*) from marts.followup_note_themes")
        needs = wh.fetch_df("select * from marts.lead_need_themes")
        personas = wh.fetch_df("select * from marts.segment_personas")
        (valued,), *_ = wh.fetchall("select count(*) from marts.user_value")
        value_tags = wh.fetch_df(
            "select v.user_id, v.predicted_value_band, v.churn_probability_band, "
            "b.tag_value as value_tag, c.tag_value as churn_tag from marts.user_value as v "
            "left join marts.user_tags as b on v.user_id = b.user_id "
            "and b.tag = 'predicted_value_band' "
            "left join marts.user_tags as c on v.user_id = c.user_id "
            "and c.tag = 'churn_probability_band'"
        )
        need_tags = wh.fetch_df(
            "select u.user_id, n.top_theme_id, t.tag_value from marts.users as u "
            "left join marts.lead_need_themes as n on u.lead_id = n.lead_id "
            "left join marts.user_tags as t on u.user_id = t.user_id and t.tag = 'need_theme'"
        )
    assert len(notes) > 500 and notes.theme_id.notna().all()  # notes read = notes written
    assert rows >= len(notes)
    fitted = notes[notes.fit_date.notna()]
    truth = [_written_need(str(n)) for n in fitted.note]
    assert len(fitted) > 300 and "mixed" not in truth
    ari = adjusted_rand_score(truth, fitted.theme_id.tolist())
    print(f"need themes, ARI vs the generator on {len(fitted)} notes: {ari:.3f}")
    assert ari >= 0.9
    # a company's top need is, mostly, the latent need the generator gave it
    names = [t for t, _ in NEED_THEME_PHRASES]
    sure = needs[needs.themed_note_count >= 3]
    latent = [names[lead_need_theme(int(lead[3:]) - 1)] for lead in sure.lead_id]
    assert len(sure) > 20 and (sure.top_theme_id == latent).mean() > 0.8
    assert set(needs.top_theme_label.dropna()) <= {
        "价格顾虑",
        "功能需求",
        "售后服务",
        "系统对接",
        "数据安全",
    }
    # personas: the predicted value and churn of paying segments, and each segment's need
    assert valued > 0 and personas.median_expected_value_cny.notna().any()
    assert personas.mean_churn_probability.dropna().between(0, 1).all()
    assert personas.top_need_theme_label.notna().sum() >= len(personas) // 2
    # user_tags: the value bands and the company's need as tags, exactly those values
    assert (value_tags.value_tag == value_tags.predicted_value_band).all()
    assert (value_tags.churn_tag == value_tags.churn_probability_band).all()
    assert need_tags.top_theme_id.notna().sum() > 0
    assert (need_tags.tag_value.fillna("-") == need_tags.top_theme_id.fillna("-")).all()


def test_dau_wau_mau_match_independent_reading_of_the_files(world, reference):
    events, _ = reference
    expected = dau_wau_mau(events, DAY)
    with Warehouse(world["target"]) as wh:
        row = wh.fetch_df(
            f"select dau, wau, mau from marts.active_users_daily where activity_date = {wh.param}",
            [DAY],
        ).iloc[0]
    assert {k: int(row[k]) for k in expected} == expected
    assert expected["dau"] > 0


def _compare(mart: pd.DataFrame, ref: pd.DataFrame, key: list[str], name: str) -> None:
    # The reference is shaped like the mart: every reference column is compared.
    assert set(ref.columns) <= set(mart.columns), set(ref.columns) - set(mart.columns)
    assert_same_rows(name, mart[list(ref.columns)], ref, key)


def test_marts_match_pandas_reference(world, reference):
    events, _ = reference
    orders = events[events["event_type"] == "order_paid"].assign(
        paid_at=lambda d: d["occurred_at"].dt.tz_convert(None),
        paid_date=lambda d: d["occurred_date"],
        amount_cny=lambda d: d["amount"].map(lambda a: Decimal(str(a))),
    )
    expected = {
        "user_rfm": (ref_value.user_rfm(ref_value.paid_orders(orders, DAY), DAY), ["user_id"]),
        "user_lifecycle_daily": (ref_value.user_lifecycle_daily(events, DAY), ["user_id"]),
        "retention_cohorts": (
            ref_activity.retention_cohorts(events, DAY),
            ["cohort_week", "week_number"],
        ),
        "growth_accounting": (
            ref_activity.growth_accounting(events, DAY),
            ["period_grain", "period_start"],
        ),
        "user_activity": (ref_activity.user_activity(events, DAY), ["user_id"]),
    }
    with Warehouse(world["target"]) as wh:
        for table, (ref, key) in expected.items():
            where = " where as_of_date = " + wh.param if table == "user_lifecycle_daily" else ""
            mart = wh.fetch_df(f"select * from marts.{table}{where}", [DAY] if where else None)
            assert len(ref) > 0, table
            _compare(mart, ref, key, table)


def test_each_rep_got_exactly_their_list(world):
    mailbox = world["mailbox"]
    with Warehouse(world["target"]) as wh:
        log = wh.fetch_df("select rep_id, rows, status from meta.publish_log")
        reps = wh.fetch_df("select rep_id, rep_email from staging.stg_crm__sales_reps")
    sent = log[log.status == "sent"]
    assert len(sent) > 0
    emails = dict(zip(reps.rep_id, reps.rep_email, strict=True))
    recipients = sorted(r for rcpts, _ in mailbox.messages for r in rcpts)
    assert recipients == sorted(emails[r] for r in sent.rep_id)
    for rcpts, msg in mailbox.messages:
        rep_id = next(r for r, e in emails.items() if e == rcpts[0])
        attachments = list(msg.iter_attachments())
        assert len(attachments) == 1  # the rep's own list, nobody else's
        assert (attachments[0].get_filename() or "").endswith(f"{rep_id}.xlsx")
        assert attachments[0].get_content()[:2] == b"PK"  # a real XLSX (zip) file


def test_lists_agree_with_the_marts(world):
    """Every list row shows the tier, segment and stage the marts hold for DAY, and each
    rep's tier is the one rep_performance ranked (the lists re-derive none of them)."""
    folder = world["out"] / "outreach" / DAY.isoformat()
    rows = pd.concat(
        [pd.read_csv(f, dtype=str, encoding="utf-8-sig") for f in sorted(folder.glob("*.csv"))]
    )
    assert len(rows) > 0
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    with Warehouse(world["target"]) as wh:
        p = wh.param
        scores = wh.fetch_df(
            f"select lead_id, lead_tier from marts.lead_scores_history where as_of_date = {p}",
            [DAY],
        )
        users = wh.fetch_df(
            "select user_id, rfm_segment, lifecycle_stage from marts.users_history "
            f"where as_of_date = {p}",
            [DAY],
        )
        reps = wh.fetch_df(
            "select rep_id, rep_tier from marts.rep_performance_history "
            f"where as_of_date = {p} and rep_tier is not null",
            [DAY],
        )
        candidates = wh.fetch_df(
            f"select * from marts.outreach_candidates_history where as_of_date = {p}", [DAY]
        )
    # last follow-up, outcome and scheduled callback: the mart's, row for row
    facts = rows.merge(candidates, on="lead_id", how="left", suffixes=("", "_mart"))
    assert len(facts) == len(rows) and facts["lead_tier_mart"].notna().all()
    for col in ("last_followup_date", "next_followup_date"):
        mart = [
            v.date().isoformat() if pd.notna(v) else ""
            for v in pd.to_datetime(facts[f"{col}_mart"])
        ]
        assert facts[col].fillna("").tolist() == mart, col
    assert (
        facts["last_outcome"].fillna("").tolist() == facts["last_outcome_mart"].fillna("").tolist()
    )
    # a callback or routine row is listed only when the mart says it is due
    code = facts["reason_code"]
    assert facts.loc[code.isin(["callback_due", "callback_undated"]), "is_callback_due"].all()
    assert facts.loc[code.isin(["cadence_due", "never_contacted"]), "is_cadence_due"].all()
    assert code.isin(["cadence_due", "never_contacted"]).any()
    tiers = dict(zip(scores.lead_id, scores.lead_tier, strict=True))
    assert [tiers[lead] for lead in rows.lead_id] == rows.lead_tier.tolist()
    with_user = rows[rows.user_id.notna()].merge(users, on="user_id", suffixes=("", "_mart"))
    assert len(with_user) == rows.user_id.notna().sum() > 0
    for col in ("rfm_segment", "lifecycle_stage"):
        assert with_user[col].fillna("").tolist() == with_user[f"{col}_mart"].fillna("").tolist()
    listed = {rep_id: entry["rep_tier"] for rep_id, entry in manifest["reps"].items()}
    assert listed == dict(zip(reps.rep_id, reps.rep_tier, strict=True))
    assert set(listed.values()) == {"top", "middle", "bottom"}


def test_reruns_leave_the_warehouse_identical_and_send_nothing(world):
    reruns = 2 if world["target"].is_duckdb else 1
    before = len(world["mailbox"].messages)
    for _ in range(reruns):
        _run(world)
    first, *later = world["runs"]
    for snap in later:
        assert snap.keys() == first.keys()
        for name in first:
            pd.testing.assert_frame_equal(snap[name], first[name], obj=name)
    assert len(world["mailbox"].messages) == before
    with Warehouse(world["target"]) as wh:
        statuses = {s for (s,) in wh.fetchall("select distinct status from meta.publish_log")}
    assert statuses <= {"sent", "skipped_duplicate", "skipped_empty"}


def test_next_night_is_incremental_and_matches_reference(world, next_night):
    """Nightly simulation: D+1's arrivals (new CRM rows, a new partition) -> the D+1 run
    loads only the increment, and both D and D+1 match the files as known at D+1.
    (Late events re-counted through the lookback: tests/dbt/test_staging_and_activity.py.)"""
    from userops.cli import run_dag_for_day

    with Warehouse(world["target"]) as wh:
        leads_before = wh.fetchall("select count(*) from raw.crm__leads")[0][0]
    result = run_dag_for_day(NEXT)
    assert set(result["tasks"].values()) == {"success"}, result
    known = events_as_of(next_night, NEXT)
    assert (pd.to_datetime(known["occurred_date"]) == pd.Timestamp(NEXT)).sum() > 0
    with Warehouse(world["target"]) as wh:
        rows = wh.fetch_df(
            "select activity_date, dau, wau, mau from marts.active_users_daily "
            f"where activity_date in ({wh.param}, {wh.param}) order by activity_date",
            [DAY, NEXT],
        )
        batch = wh.fetch_df(
            f"select source, rows_read from meta.load_batches where business_date = {wh.param}",
            [NEXT],
        )
        leads_after = wh.fetchall("select count(*) from raw.crm__leads")[0][0]
    assert len(rows) == 2
    for _, row in rows.iterrows():
        expected = dau_wau_mau(known, pd.Timestamp(row.activity_date).date())
        assert {k: int(row[k]) for k in expected} == expected, row.activity_date
    crm_read = batch[batch.source.str.startswith("crm.")].rows_read.sum()
    assert 0 < crm_read < leads_before  # the increment (plus overlap), not a full reload
    assert leads_after > leads_before


def test_outcomes_follow_the_lists_into_the_next_night(world):
    """After NEXT ran, marts.outreach_outcomes holds every row of DAY's lists once, as
    received, observed through NEXT's candidates snapshot (the 7-day window is open)."""
    folder = world["out"] / "outreach" / DAY.isoformat()
    lists = pd.concat(
        [pd.read_csv(f, dtype=str, encoding="utf-8-sig") for f in sorted(folder.glob("*.csv"))]
    )
    with Warehouse(world["target"]) as wh:
        p = wh.param
        out = wh.fetch_df(f"select * from marts.outreach_outcomes where business_date = {p}", [DAY])
        nxt = wh.fetch_df(
            "select lead_id, last_followup_date from marts.outreach_candidates_history "
            f"where as_of_date = {p}",
            [NEXT],
        )
        effectiveness = wh.fetchall("select count(*) from marts.outreach_effectiveness")[0][0]
    got = sorted(zip(out.rep_id, out.priority.astype(int), out.lead_id, strict=True))
    want = sorted(zip(lists.rep_id, lists.priority.astype(int), lists.lead_id, strict=True))
    assert got == want and len(got) > 0
    assert out.was_delivered.all()  # DAY's lists were mailed (the morning after)
    assert (pd.to_datetime(out.window_end) == pd.Timestamp(DAY + timedelta(days=7))).all()
    seen = out[out.observed_through.notna()]
    assert len(seen) > 0.9 * len(out)
    assert (pd.to_datetime(seen.observed_through) == pd.Timestamp(NEXT)).all()
    assert not out.is_window_complete.any() and effectiveness == 0
    last = dict(zip(nxt.lead_id, pd.to_datetime(nxt.last_followup_date), strict=True))
    called = [
        bool(pd.notna(last[lead]) and last[lead] > pd.Timestamp(DAY)) for lead in seen.lead_id
    ]
    assert seen.is_followed_up.astype(bool).tolist() == called


def test_full_history_check_finds_an_old_defect_the_nightly_slice_skips(world, capsys):
    """The nightly gate tests the new slice of the big tables; ``userops check`` all of it."""
    from userops import pipeline
    from userops.cli import main
    from userops.config import load_settings
    from userops.transform.dbt import run_dbt

    not_null_user = "not_null_stg_events__events_user_id"
    assert main(["check", "--date", NEXT.isoformat()]) == 0
    assert " 0 failed" in capsys.readouterr().out
    with Warehouse(world["target"]) as wh:
        # an old defect in staging: an event received weeks before the nightly slice
        old, user = wh.fetchall(
            "select event_id, user_id from staging.stg_events__events "
            f"where received_date < {wh.param} order by event_id limit 1",
            [DAY - timedelta(days=20)],
        )[0]
        wh.execute(
            f"update staging.stg_events__events set user_id = null where event_id = {wh.param}",
            [old],
        )
    try:
        vars_ = pipeline.dbt_vars_for(pipeline.business_day(NEXT), load_settings())
        nightly = run_dbt(
            ["test", "--select", not_null_user],
            world["target"],
            {**vars_, "data_test_since": (NEXT - timedelta(days=7)).isoformat()},
            raise_on_failure=False,
        )
        assert nightly.success and nightly.count("pass") == 1  # outside the slice
        assert main(["check", "--date", NEXT.isoformat()]) == 1
        out = capsys.readouterr().out
        assert not_null_user in out and " 1 failed" in out
    finally:
        with Warehouse(world["target"]) as wh:
            wh.execute(
                f"update staging.stg_events__events set user_id = {wh.param} "
                f"where event_id = {wh.param}",
                [user, old],
            )


def test_injected_defect_stops_before_publishing(world):
    """A duplicated user that slipped into marts.users: the gate fails, nothing is sent."""
    from userops import pipeline
    from userops.cli import DagRunFailed, run_dag_for_day

    day = date(2026, 5, 30)  # a date not yet published on this warehouse (age 2: a backfill)
    bd = pipeline.business_day(day)
    built = (
        pipeline.step_load_crm, pipeline.step_load_events, pipeline.step_dbt_build,
        pipeline.step_predict_value, pipeline.step_predict_themes,
        pipeline.step_dbt_build_predicted,
    )  # fmt: skip
    for step in built:
        step(bd)
    with Warehouse(world["target"]) as wh:
        wh.execute(
            "insert into marts.users_history select * from marts.users_history "
            f"where as_of_date = {wh.param} limit 1",
            [day],
        )
    before = len(world["mailbox"].messages)
    with pytest.raises(DagRunFailed) as failed:
        run_dag_for_day(
            day,
            mark_success_pattern="^(load_crm|load_events|dbt_build|predict_value|"
            "predict_themes|dbt_build_predicted)$",
        )
    tasks = failed.value.summary["tasks"]
    assert tasks["validate"] == "failed"
    assert tasks["publish"] == "upstream_failed"
    assert len(world["mailbox"].messages) == before
    assert not (world["out"] / "outreach" / day.isoformat()).exists()
    with Warehouse(world["target"]) as wh:
        published = wh.fetchall(
            f"select count(*) from meta.publish_log where business_date = {wh.param}", [day]
        )[0][0]
        failed_checks = wh.fetch_df(
            "select suite, expectation, column_name from meta.validation_results "
            f"where business_date = {wh.param} and not success and severity = 'critical'",
            [day],
        )
    assert published == 0
    assert ("marts.users", "user_id") in set(
        zip(failed_checks.suite, failed_checks.column_name, strict=True)
    )
