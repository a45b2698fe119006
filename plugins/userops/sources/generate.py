"""Sample sources for userops: a CRM database and product-event files (SPEC §1).

Public API (the ``userops generate`` command wraps these):

- :class:`GeneratorConfig` — what to generate (seed, users, days, end_date, ...);
- :func:`generate` — write a CRM database (any SQLAlchemy URL) and an events
  folder as they stand at the end of ``config.end_date``;
- :func:`append_day` — reveal the next business day: that day's event arrivals
  (new ``part-NNNNN`` files, never rewriting existing ones) and CRM changes
  (rows with a new ``updated_at``), to simulate nightly runs and backfills.

Both are deterministic: the same config gives byte-identical event files and
identical CRM rows, whatever the machine or chunk sizes.

Ownership: ``generate`` *replaces* the four CRM tables (``sales_reps``,
``leads``, ``followups``, ``contracts``; other tables are left alone) and every
``dt=`` partition of ``events_dir``.  It refuses to touch an events folder it did
not write (one without its ``_generator.json`` manifest, or with other files),
and with ``replace=False`` it refuses to overwrite anything at all.
"""

from __future__ import annotations

import json
import logging
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, create_engine, make_url

from userops.sources import crm_db
from userops.sources.crm_sim import CrmSimulation, CrmState
from userops.sources.events import simulate_day
from userops.sources.jsonl import PartitionWriter, WriteStats
from userops.sources.options import GenerationSummary, GeneratorConfig
from userops.sources.world import World

__all__ = ["GenerationSummary", "GeneratorConfig", "append_day", "generate"]

log = logging.getLogger(__name__)

MANIFEST = "_generator.json"
MANIFEST_FORMAT = 1


def generate(
    config: GeneratorConfig,
    crm_url: str,
    events_dir: str | Path,
    *,
    replace: bool = True,
) -> GenerationSummary:
    """Write the sources as they stand at the end of business day ``config.end_date``.

    Events are simulated one business day at a time and each ``dt=`` partition
    is written as soon as no later day can add to it, so memory does not grow
    with the number of days.  Events received after the end of ``end_date``
    (late uploads) are held back for :func:`append_day`.
    """
    events_path = Path(events_dir)
    engine = _engine(crm_url)
    try:
        _claim_outputs(engine, events_path, replace)
        crm_db.recreate_tables(engine)  # first: an unreachable CRM fails before any work
        _write_manifest(events_path, config, last_day=None)
        world = World(config)
        span = world.span
        writer = PartitionWriter(
            events_path,
            (-(2**62), int(span.day_start(span.n_days))),
            span.offset_seconds,
            config.gzip,
        )
        for d in range(span.n_days):
            writer.add(simulate_day(world, d))
            writer.flush_before(int(span.day_start(d + 1)) // 86400)
        stats = writer.close()

        crm = _write_crm(engine, CrmSimulation(world, span.end).run(), span.end, None)
        summary = _summary(config.span_start, config.end_date, world, span.end, stats, crm)
        _write_manifest(events_path, config, last_day=config.end_date)
    finally:
        engine.dispose()
    log.info("generated sources: %s", json.dumps(summary.to_dict(), default=str))
    return summary


def append_day(
    config: GeneratorConfig, crm_url: str, events_dir: str | Path, day: date
) -> GenerationSummary:
    """Add business day ``day`` (the day after the last one written) to existing sources.

    Writes the events the collector received during ``day`` — including late
    uploads of earlier days and redeliveries — as a new part file per partition,
    and inserts or replaces the CRM rows whose ``updated_at`` falls in ``day``
    (new leads and follow-ups, status changes, contracts signed, cancelled,
    renewed or expired).  Raises ``ValueError`` unless ``day`` is exactly the
    next day and ``config`` is the one the sources were generated with.
    """
    events_path = Path(events_dir)
    manifest = _read_manifest(events_path)
    if manifest["config"] != config.to_dict():
        raise ValueError("config differs from the one these sources were generated with")
    last = date.fromisoformat(manifest["last_day"])
    if day != date.fromordinal(last.toordinal() + 1):
        raise ValueError(f"the sources end on {last}; the next day to append is not {day}")
    world = World(config, through=(day - config.span_start).days)
    span = world.span
    t = span.offset_of(day)
    window = (int(span.day_start(t)), int(span.day_start(t + 1)))

    engine = _engine(crm_url)
    try:  # idempotent: replaces rows by key, so a failed day can simply be retried
        crm = _write_crm(engine, CrmSimulation(world, t).run(), t, window)
    finally:
        engine.dispose()

    writer = PartitionWriter(events_path, window, span.offset_seconds, config.gzip)
    try:
        # An event arrives at most 7 days after it occurred: re-simulate those days.
        for d in range(max(0, t - 8), t + 1):
            writer.add(simulate_day(world, d))
        stats = writer.close()
    except BaseException:
        writer.discard()  # so that a retry of this day does not deliver twice
        raise
    _write_manifest(events_path, config, last_day=day)
    return _summary(day, day, world, t, stats, crm)


# -- helpers -----------------------------------------------------------------------


def _engine(crm_url: str) -> Engine:
    url = make_url(crm_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return create_engine(url)


def _summary(
    first: date,
    last: date,
    world: World,
    day: int,
    stats: WriteStats,
    crm: tuple[dict[str, int], dict[str, int]],
) -> GenerationSummary:
    return GenerationSummary(
        first_day=first,
        last_day=last,
        users=world.population.signed_up_by(day),
        crm_rows=crm[0],
        crm_dirty=crm[1],
        partitions=stats.partitions,
        events_written=stats.events_written,
        duplicate_deliveries=stats.duplicate_deliveries,
        late_events=stats.late_events,
        bad_lines=stats.bad_lines,
    )


def _write_crm(
    engine: Engine, state: CrmState, as_of: int, window: tuple[int, int] | None
) -> tuple[dict[str, int], dict[str, int]]:
    """Write all rows (``window`` None) or those updated within ``window``.

    Returns (rows written per table, dirty values written per kind).
    """

    def pick(ts: np.ndarray) -> list[int]:
        idx = np.arange(len(ts)) if window is None else crm_db.rows_in_window(ts, window)
        return idx.tolist()

    replace = window is not None
    renderer = crm_db.LeadRenderer(state)
    reps = crm_db.rep_rows(state, as_of)
    if window is not None:
        lo, hi = (crm_db.utc(w) for w in window)
        reps = [r for r in reps if lo <= r["updated_at"] < hi]
    contract_ts = np.array([k.updated_ts for k in state.contracts], dtype=np.int64)
    rows = {
        "sales_reps": crm_db.write_rows(engine, "sales_reps", reps, replace),
        "leads": crm_db.write_rows(
            engine, "leads", map(renderer.row, pick(state.leads["updated_ts"])), replace
        ),
        "followups": crm_db.write_rows(
            engine,
            "followups",
            crm_db.followup_rows(state, pick(state.followups["updated_ts"]), renderer.dirty),
            replace,
        ),
        "contracts": crm_db.write_rows(
            engine, "contracts", crm_db.contract_rows(state, pick(contract_ts)), replace
        ),
    }
    return rows, {kind: renderer.dirty.get(kind, 0) for kind in crm_db.CRM_DIRTY_KINDS}


def _claim_outputs(engine: Engine, events_path: Path, replace: bool) -> None:
    """Make sure we may (re)write the outputs; clear the events folder we own."""
    tables = crm_db.existing_tables(engine)
    entries = list(events_path.iterdir()) if events_path.exists() else []
    if not replace and (tables or entries):
        raise FileExistsError(
            f"sources exist (tables {tables}, {len(entries)} entries in {events_path}); "
            "pass replace=True to regenerate them"
        )
    if not entries:
        return
    if not (events_path / MANIFEST).is_file():
        raise FileExistsError(f"{events_path} is not empty and was not written by the generator")
    foreign = [
        e
        for e in entries
        if e.name != MANIFEST
        and not (
            e.is_dir()
            and e.name.startswith("dt=")
            and all(f.name.startswith(("part-", ".part-")) for f in e.iterdir())
        )
    ]
    if foreign:
        raise FileExistsError(
            f"{events_path} holds files the generator did not write: {foreign[:3]}"
        )
    log.warning("replacing generated events in %s", events_path)
    for e in entries:
        if e.is_dir():
            shutil.rmtree(e)
        else:
            e.unlink()


def _write_manifest(events_path: Path, config: GeneratorConfig, last_day: date | None) -> None:
    events_path.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "generator": "userops.sources",
        "format": MANIFEST_FORMAT,
        "config": config.to_dict(),
        "last_day": last_day.isoformat() if last_day else None,
    }
    tmp = events_path / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(events_path / MANIFEST)


def _read_manifest(events_path: Path) -> dict[str, Any]:
    path = events_path / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run generate() first")
    data = json.loads(path.read_text())
    if data.get("format") != MANIFEST_FORMAT or not data.get("last_day"):
        raise ValueError(f"{path}: incomplete or unknown generator output; run generate() again")
    return data
