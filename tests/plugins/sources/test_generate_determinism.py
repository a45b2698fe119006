"""Same config -> byte-identical events and identical CRM rows; another seed differs."""

from __future__ import annotations

import gzip

from sources_testkit import Sources, make_sources

from userops.load.schema import CRM_TABLES


def _crm(sources: Sources) -> dict[str, list[dict]]:
    return {table: sources.table(table) for table in CRM_TABLES}


def test_same_seed_same_sources(dirty_sources: Sources, tmp_path) -> None:
    again = make_sources(tmp_path)
    assert again.config == dirty_sources.config
    assert again.files() == dirty_sources.files()
    assert _crm(again) == _crm(dirty_sources)
    assert again.summary == dirty_sources.summary


def test_another_seed_gives_other_sources(dirty_sources: Sources, tmp_path) -> None:
    other = make_sources(tmp_path, seed=dirty_sources.config.seed + 1)
    assert other.digest() != dirty_sources.digest()
    assert _crm(other)["leads"] != _crm(dirty_sources)["leads"]


def test_gzip_holds_the_same_lines(dirty_sources: Sources, tmp_path) -> None:
    zipped = make_sources(tmp_path / "a", gzip=True)
    files = zipped.files()
    assert files and all(name.endswith(".jsonl.gz") for name in files)
    plain = dirty_sources.files()
    assert {
        name.removesuffix(".gz"): gzip.decompress(data) for name, data in files.items()
    } == plain
    assert make_sources(tmp_path / "b", gzip=True).files() == files  # gzip bytes are stable too
