"""append_day reveals the next day without touching what was written before."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sources_testkit import Sources, make_sources

from userops.load.schema import CRM_KEYS, CRM_TABLES
from userops.sources.generate import append_day, generate
from userops.windows import BusinessDay


@pytest.fixture
def sources(tmp_path) -> Sources:
    return make_sources(tmp_path)


def _stat(sources: Sources) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(sources.events_dir)): (p.stat().st_mtime_ns, p.stat().st_size)
        for p in sources.events_dir.glob("dt=*/part-*")
    }


def test_append_day_adds_arrivals_and_crm_changes(sources: Sources) -> None:
    before_files = sources.files()
    before_stat = _stat(sources)
    before_crm = {t: {r[CRM_KEYS[t]]: r for r in sources.table(t)} for t in CRM_TABLES}
    day = sources.config.end_date + timedelta(days=1)
    window = BusinessDay(day)

    summary = append_day(sources.config, sources.crm_url, sources.events_dir, day)

    after_files = sources.files()
    assert _stat(sources).items() >= before_stat.items()  # older files untouched
    assert {k: after_files[k] for k in before_files} == before_files
    new_files = sorted(set(after_files) - set(before_files))
    assert new_files == sorted(summary.partitions)
    assert f"dt={day.isoformat()}/part-00000.jsonl" in new_files  # a new partition
    assert (
        f"dt={sources.config.end_date.isoformat()}/part-00001.jsonl" in new_files
    )  # same UTC date

    sources._lines = None
    appended = [line for line in sources.lines() if line.file in new_files and line.problem is None]
    assert len(appended) == summary.events_written > 0
    for line in appended:
        received = datetime.fromisoformat(line.obj["received_at"])
        assert window.start_utc <= received < window.end_utc
        assert received.astimezone(UTC).date() == line.partition
    assert any(
        datetime.fromisoformat(line.obj["occurred_at"]) < window.start_utc for line in appended
    )

    start, end = window.start_utc.replace(tzinfo=None), window.end_utc.replace(tzinfo=None)
    for table in CRM_TABLES:
        rows = {r[CRM_KEYS[table]]: r for r in sources.table(table)}
        changed = {k for k, r in rows.items() if r["updated_at"] >= start}
        assert all(rows[k]["updated_at"] < end for k in changed)
        assert summary.crm_rows[table] == len(changed)
        unchanged = set(rows) - changed
        assert {k: rows[k] for k in unchanged} == {k: before_crm[table][k] for k in unchanged}
        assert set(before_crm[table]) <= set(rows)  # nothing disappears
    assert summary.crm_rows["followups"] > 0
    lead_ids = {r["lead_id"] for r in sources.table("leads")}
    new_leads = lead_ids - set(before_crm["leads"])
    assert new_leads  # new leads arrived
    assert summary.crm_rows["leads"] > len(new_leads)  # and existing leads changed

    # The next day appends again; the same or a skipped day is refused.
    with pytest.raises(ValueError, match="next day"):
        append_day(sources.config, sources.crm_url, sources.events_dir, day)
    with pytest.raises(ValueError, match="next day"):
        append_day(sources.config, sources.crm_url, sources.events_dir, day + timedelta(days=2))
    with pytest.raises(ValueError, match="config"):
        append_day(replace(sources.config, seed=1), sources.crm_url, sources.events_dir, day)
    second = append_day(
        sources.config, sources.crm_url, sources.events_dir, day + timedelta(days=1)
    )
    assert f"dt={(day + timedelta(days=1)).isoformat()}/part-00000.jsonl" in second.partitions


def test_append_day_is_deterministic(tmp_path) -> None:
    results = []
    for name in ("a", "b"):
        s = make_sources(tmp_path / name)
        append_day(s.config, s.crm_url, s.events_dir, s.config.end_date + timedelta(days=1))
        results.append((s.files(), {t: s.table(t) for t in CRM_TABLES}))
    assert results[0] == results[1]


def test_generate_refuses_foreign_or_protected_outputs(sources: Sources, tmp_path) -> None:
    with pytest.raises(FileExistsError):
        generate(sources.config, sources.crm_url, sources.events_dir, replace=False)
    foreign = tmp_path / "not-ours"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        generate(sources.config, f"sqlite:///{tmp_path / 'other.sqlite'}", foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"
    # Regenerating over our own output replaces it with the same content.
    before = sources.files()
    (sources.events_dir / "dt=2020-01-01").mkdir()
    (sources.events_dir / "dt=2020-01-01" / "part-00000.jsonl").write_text("{}\n")
    generate(sources.config, sources.crm_url, sources.events_dir)
    assert sources.files() == before
