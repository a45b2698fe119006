"""The nightly need-theme step: assign follow-up notes to need themes (``userops.predict.themes``).

Reads the follow-ups of ``staging.stg_crm__followups`` (as of D, after dbt) and writes:

- ``meta.need_theme_fits`` (fit date): one model per *period*. The periods start on
  1970-01-01 + k x ``need_theme_refit_days``; the fit of a period is made on its first
  day F from the notes that occurred in the ``need_theme_fit_window_days`` days up to
  F and were entered by the end of F, so it is a function of F alone (whichever run
  makes it, in whatever order). It stores the vocabulary, the TF-IDF weights and the
  NMF components (JSON), each theme's keywords, and a status: ``fitted``, or
  ``too_few_notes`` (fewer than ``need_theme_min_notes`` notes with words).
- ``marts.followup_note_themes`` (note x theme): each note's themes with a share >=
  ``need_theme_min_score``, ranked, by the fit of the period its ``occurred_date``
  falls in; a note with none (or in a period without a fit) gets one ``unassigned``
  row. Every note up to D has rank-1 row, so notes read = notes written.

A night assigns only the notes it has not seen (or whose text changed since: a later
``updated_at``), and fits only the periods those notes need: its cost follows the
day's new notes; onboarding years of history makes one fit per period. A backfill of
an older date finds nothing new. Model and assignment are deterministic.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from userops.predict.run import ensure_table
from userops.warehouse import Warehouse
from userops.windows import BusinessDay

log = logging.getLogger(__name__)

FOLLOWUPS = "staging.stg_crm__followups"
NOTE_THEMES = "marts.followup_note_themes"
FITS = "meta.need_theme_fits"
EPOCH = date(1970, 1, 1)

_NOTE_THEMES_SCHEMA = pa.schema(
    [
        ("followup_id", pa.string()),
        ("lead_id", pa.string()),
        ("occurred_date", pa.date32()),
        ("note_updated_at", pa.timestamp("us")),
        ("theme_id", pa.string()),
        ("theme_rank", pa.int32()),
        ("score", pa.float64()),
        ("fit_date", pa.date32()),
        ("model_run_id", pa.string()),
    ]
)
_FITS_SCHEMA = pa.schema(
    [
        ("fit_date", pa.date32()),
        ("model_run_id", pa.string()),
        ("status", pa.string()),
        ("notes", pa.int64()),
        ("vocabulary_size", pa.int32()),
        ("keywords", pa.string()),
        ("model", pa.string()),
        ("fit_seconds", pa.float64()),
        ("fitted_at", pa.timestamp("us")),
    ]
)


def ensure_theme_tables(wh: Warehouse) -> None:
    """Create the note-theme and fit tables if missing (idempotent)."""
    ensure_table(wh, NOTE_THEMES, _NOTE_THEMES_SCHEMA, "followup_id, theme_id")
    ensure_table(wh, FITS, _FITS_SCHEMA, "fit_date")


def period_start(day: date, refit_days: int) -> date:
    """The first day of the fit period holding ``day``."""
    if refit_days < 1:
        raise ValueError(f"need_theme_refit_days must be >= 1, got {refit_days}")
    return EPOCH + timedelta(days=(day - EPOCH).days // refit_days * refit_days)


def _fit_period(
    wh: Warehouse, fit_date: date, v: Mapping[str, Any], tz: str, tokens_of, themes
) -> dict[str, Any]:
    from userops.predict.themes import ThemeFitError, fit_themes

    p = wh.param
    first = fit_date - timedelta(days=int(v["need_theme_fit_window_days"]) - 1)
    end_utc = BusinessDay(fit_date, tz).end_utc.replace(tzinfo=None)
    notes = wh.fetch_df(
        f"select followup_id, note from {FOLLOWUPS} where occurred_date between {p} and {p} "
        f"and updated_at < {p} and note is not null order by followup_id",
        [first, fit_date, end_utc],
    )
    started = time.perf_counter()
    row: dict[str, Any] = {"fit_date": fit_date, "notes": len(notes), "status": "fitted"}
    try:
        model = fit_themes(
            (tokens_of(f, n) for f, n in zip(notes.followup_id, notes.note, strict=True)),
            themes,
            background=int(v["need_theme_background_components"]),
            min_df=int(v["need_theme_min_df"]),
            min_notes=int(v["need_theme_min_notes"]),
        )
    except ThemeFitError as exc:
        log.info("no need-theme fit for the period from %s: %s", fit_date, exc)
        row.update(status="too_few_notes", model_run_id=None, model=None)
    else:
        text = model.to_json()
        row.update(
            model=text,
            model_run_id=hashlib.sha256(f"{fit_date}|{text}".encode()).hexdigest()[:16],
            vocabulary_size=len(model.vocabulary),
            keywords=json.dumps(model.keywords(10), ensure_ascii=False),
        )
    row["fit_seconds"] = time.perf_counter() - started
    row["fitted_at"] = datetime.now(UTC).replace(tzinfo=None)
    with wh.transaction():
        wh.execute(f"delete from {FITS} where fit_date = {p}", [fit_date])
        wh.bulk_insert(FITS, pa.Table.from_pylist([row], schema=_FITS_SCHEMA))
    return row


def run_need_themes(
    wh: Warehouse, day: date, dbt_vars: Mapping[str, Any], *, cache_dir: Path, seed: Path
) -> dict[str, Any]:
    """Assign the notes up to ``day`` not assigned yet; fit the periods they need."""
    from userops.predict.themes import UNASSIGNED, ThemeModel, load_seed_themes, tokenize

    ensure_theme_tables(wh)
    p = wh.param
    refit = int(dbt_vars["need_theme_refit_days"])
    min_score = float(dbt_vars["need_theme_min_score"])
    themes = load_seed_themes(seed)
    pending = wh.fetch_df(
        f"select f.followup_id, f.lead_id, f.occurred_date, f.updated_at, f.note "
        f"from {FOLLOWUPS} as f left join {NOTE_THEMES} as t "
        f"on f.followup_id = t.followup_id and t.theme_rank = 1 "
        f"where f.occurred_date <= {p} "
        f"and (t.followup_id is null or f.updated_at > t.note_updated_at) "
        f"order by f.followup_id",
        [day],
    )
    out: dict[str, Any] = {"business_date": day.isoformat(), "notes": len(pending), "fits": []}
    if pending.empty:
        out.update(assigned=0, unassigned=0)
        return out
    pending["occurred_date"] = pd.to_datetime(pending["occurred_date"]).dt.date
    pending["period"] = [period_start(d, refit) for d in pending["occurred_date"]]
    cache: dict[str, list[str]] = {}

    def tokens_of(followup_id: str, note: str | None) -> list[str]:
        if followup_id not in cache:
            cache[followup_id] = tokenize(note, cache_dir)
        return cache[followup_id]

    for f, n in zip(pending.followup_id, pending.note, strict=True):
        tokens_of(f, n)
    periods = sorted(set(pending["period"]))
    stored = {
        pd.Timestamp(d).date(): (status, run_id, model)
        for d, status, run_id, model in wh.fetchall(
            f"select fit_date, status, model_run_id, model from {FITS}"
        )
    }
    tz = str(dbt_vars.get("business_timezone", "Asia/Shanghai"))
    for period in periods:
        if period not in stored:
            row = _fit_period(wh, period, dbt_vars, tz, tokens_of, themes)
            stored[period] = (row["status"], row["model_run_id"], row["model"])
            out["fits"].append({k: row.get(k) for k in ("status", "notes", "model_run_id")}
                               | {"fit_date": period.isoformat()})  # fmt: skip

    rows: list[dict[str, Any]] = []
    for period in periods:
        part = pending[pending["period"] == period]
        status, run_id, model_text = stored[period]
        if status == "fitted":
            model = ThemeModel.from_json(model_text)
            tokens = [cache[f] for f in part.followup_id]
            shares = model.scores(tokens)  # one NNLS per note, used twice
            assigned = model.themes_of(shares, min_score)
            best = shares[:, : len(model.theme_ids)].max(axis=1, initial=0.0)
        else:
            assigned, best = [[] for _ in range(len(part))], [0.0] * len(part)
        for i, note in enumerate(part.itertuples(index=False)):
            base = {
                "followup_id": note.followup_id, "lead_id": note.lead_id,
                "occurred_date": note.occurred_date, "note_updated_at": note.updated_at,
                "fit_date": period if status == "fitted" else None,
                "model_run_id": run_id,
            }  # fmt: skip
            found = assigned[i] or [(UNASSIGNED, float(best[i]))]
            for rank, (theme, score) in enumerate(found, start=1):
                rows.append({**base, "theme_id": theme, "theme_rank": rank, "score": score})
    data = pa.Table.from_pylist(rows, schema=_NOTE_THEMES_SCHEMA)
    with wh.transaction():
        wh.execute(
            f"delete from {NOTE_THEMES} where followup_id in "
            f"(select f.followup_id from {FOLLOWUPS} as f join {NOTE_THEMES} as t "
            f"on f.followup_id = t.followup_id and t.theme_rank = 1 "
            f"where f.occurred_date <= {p} and f.updated_at > t.note_updated_at)",
            [day],
        )
        wh.bulk_insert(NOTE_THEMES, data)
    unassigned = sum(1 for r in rows if r["theme_id"] == UNASSIGNED)
    out.update(assigned=len(pending) - unassigned, unassigned=unassigned)
    log.info("need themes %s: %s", day, out)
    return out
