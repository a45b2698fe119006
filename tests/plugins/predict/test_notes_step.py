"""The nightly need-theme step (userops.predict.notes) on both warehouses.

Generated notes (``userops.sources.vocab.followup_note``) in a table shaped like dbt's
``staging.stg_crm__followups`` stand in for the CRM (the dbt model and the whole DAG
run in the end-to-end tests). Dates are in 1999: nothing assumes dates near today.
The step must assign every note up to D exactly once, fit each period once, do
nothing on a rerun or a backfill, reassign a note re-entered with new text, and leave
the same tables whichever order the dates ran in.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from userops.config import DBT_PROJECT_DIR, project_vars
from userops.predict.notes import FITS, FOLLOWUPS, NOTE_THEMES, period_start, run_need_themes
from userops.sources.vocab import followup_note
from userops.warehouse import Warehouse

SEED = DBT_PROJECT_DIR / "seeds" / "need_themes.csv"
VARS = project_vars()
REFIT = int(VARS["need_theme_refit_days"])
#: Notes from 1998-11-01 to 1999-03-31: several fit periods, the first one too thin.
FIRST, LAST = date(1998, 11, 1), date(1999, 3, 31)
D1, D2 = date(1999, 3, 20), LAST


def _notes() -> list[dict]:
    rng = np.random.default_rng(3)
    rows = []
    days = (LAST - FIRST).days + 1
    for i in range(2400):
        # few notes in the first weeks (a thin first period), then a steady stream
        offset = int(days * rng.random() ** 0.6)
        day = FIRST + timedelta(days=offset)
        lead = int(rng.integers(0, 300))
        text, _ = followup_note(int(rng.integers(0, 5)), int(rng.integers(0, 1 << 20)), lead)
        at = datetime.combine(day, datetime.min.time()) + timedelta(hours=3)
        rows.append({"followup_id": f"fu_{i:05d}", "lead_id": f"ld_{lead:05d}",
                     "occurred_date": day, "updated_at": at, "note": text})  # fmt: skip
    return rows


def _write_followups(wh: Warehouse, rows: list[dict]) -> None:
    wh.execute("create schema if not exists staging")
    wh.execute(f"drop table if exists {FOLLOWUPS}")
    wh.execute(
        f"create table {FOLLOWUPS} (followup_id varchar, lead_id varchar, "
        "occurred_date date, updated_at timestamp, note varchar)"
    )
    schema = pa.schema([("followup_id", pa.string()), ("lead_id", pa.string()),
                        ("occurred_date", pa.date32()), ("updated_at", pa.timestamp("us")),
                        ("note", pa.string())])  # fmt: skip
    wh.bulk_insert(FOLLOWUPS, pa.Table.from_pylist(rows, schema=schema))


def _run(wh: Warehouse, day: date, tmp: Path) -> dict:
    return run_need_themes(wh, day, VARS, cache_dir=tmp / "jieba", seed=SEED)


def _state(wh: Warehouse) -> tuple[list[tuple], list[tuple]]:
    themes = wh.fetchall(
        f"select followup_id, theme_id, theme_rank, round(cast(score as numeric), 9), fit_date, model_run_id "
        f"from {NOTE_THEMES} order by followup_id, theme_rank"
    )
    fits = wh.fetchall(
        f"select fit_date, status, notes, model_run_id, model from {FITS} order by fit_date"
    )
    return themes, fits


def test_every_note_once_each_period_fitted_once_and_reruns_do_nothing(any_target, tmp_path):
    notes = _notes()
    with Warehouse(any_target) as wh:
        _write_followups(wh, notes)
        first = _run(wh, D1, tmp_path)
        upto_d1 = [n for n in notes if n["occurred_date"] <= D1]
        assert first["notes"] == len(upto_d1)
        assert first["assigned"] + first["unassigned"] == len(upto_d1)
        ids = [r[0] for r in wh.fetchall(f"select followup_id from {NOTE_THEMES} "
                                         "where theme_rank = 1")]  # fmt: skip
        assert sorted(ids) == sorted(n["followup_id"] for n in upto_d1)  # read = written
        periods = sorted({period_start(n["occurred_date"], REFIT) for n in upto_d1})
        fits = wh.fetchall(f"select fit_date, status, notes from {FITS} order by fit_date")
        assert [f[0] for f in fits] == periods
        statuses = {f[1] for f in fits}
        assert statuses == {"fitted", "too_few_notes"}  # the thin first period
        # a period without a fit leaves its notes unassigned, never guessed
        thin = [f[0] for f in fits if f[1] == "too_few_notes"]
        rows = wh.fetchall(
            f"select distinct theme_id, fit_date from {NOTE_THEMES} as t where "
            f"t.occurred_date < {wh.param}",
            [max(thin) + timedelta(days=REFIT)],
        )
        assert {r[0] for r in rows} == {"unassigned"} and {r[1] for r in rows} == {None}
        # a model fits from notes up to its period's first day only
        for fit_date, status, n_notes in fits:
            known = sum(1 for n in notes if n["occurred_date"] <= fit_date)
            assert n_notes <= known, (fit_date, status)
        before = _state(wh)
        again = _run(wh, D1, tmp_path)  # a rerun: nothing new
        assert again["notes"] == 0 and again["fits"] == []
        assert _state(wh) == before
        later = _run(wh, D2, tmp_path)  # the next nights: only the new notes
        assert later["notes"] == len(notes) - len(upto_d1)
        after = _state(wh)
        assert set(before[0]) <= set(after[0])
        assert _run(wh, D1, tmp_path)["notes"] == 0  # a backfill of an older date
        assert _state(wh) == after


def test_a_note_re_entered_with_new_text_is_reassigned(any_target, tmp_path):
    notes = _notes()
    with Warehouse(any_target) as wh:
        _write_followups(wh, notes)
        _run(wh, D2, tmp_path)
        p = wh.param
        (note_id, theme), *_ = wh.fetchall(
            f"select followup_id, theme_id from {NOTE_THEMES} where theme_id = 'price_concern' "
            f"and theme_rank = 1 and occurred_date > {p} order by followup_id",
            [D1],
        )
        edited = [
            {**n, "note": "客户要求私有化部署，担心客户资料泄露",
             "updated_at": n["updated_at"] + timedelta(days=1)}
            if n["followup_id"] == note_id else n
            for n in notes
        ]  # fmt: skip
        _write_followups(wh, edited)
        out = _run(wh, D2, tmp_path)
        assert out["notes"] == 1
        rows = wh.fetchall(
            f"select theme_id, theme_rank from {NOTE_THEMES} where followup_id = {p}", [note_id]
        )
    assert theme == "price_concern" and rows == [("data_security", 1)]


def test_the_tables_do_not_depend_on_the_order_of_the_dates(tmp_path):
    from userops.config import WarehouseTarget

    notes = _notes()
    states = []
    for name, order in (("in_order", [D1, D2]), ("reversed", [D2, D1])):
        target = WarehouseTarget(kind="duckdb", duckdb_path=tmp_path / f"{name}.duckdb")
        with Warehouse(target) as wh:
            _write_followups(wh, notes)
            for day in order:
                _run(wh, day, tmp_path)
            states.append(_state(wh))
    assert states[0] == states[1]
    assert len(states[0][0]) >= len(notes)


def test_a_bad_refit_period_fails_in_one_line(any_target, tmp_path):
    with Warehouse(any_target) as wh:
        _write_followups(wh, _notes()[:50])
        with pytest.raises(ValueError, match="need_theme_refit_days must be >= 1"):
            run_need_themes(wh, D1, {**VARS, "need_theme_refit_days": 0},
                            cache_dir=tmp_path, seed=SEED)  # fmt: skip
