"""Event extract/load on both warehouses: quarantine, windows, history, reruns, gzip."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from loadtest_sources import D1, events_snapshot, query, write_partition

from userops.config import WarehouseTarget
from userops.extract.events import EventFile
from userops.load.batches import LoadIntegrityError
from userops.load.events import commit_groups, load_events
from userops.warehouse import Warehouse
from userops.windows import BusinessDay

DAY = BusinessDay(D1, "Asia/Shanghai")  # received partitions: 2026-02-28, 2026-03-01


def event(event_id: object = "e1", event_type: str = "login", **over: object) -> str:
    obj: dict[str, object] = {
        "event_id": event_id,
        "user_id": "u1",
        "event_type": event_type,
        "occurred_at": "2026-03-01T09:30:00+08:00",
        "received_at": "2026-03-01T01:31:00Z",
        "platform": "web",
        "properties": {"path": "/home"},
    }
    obj.update(over)
    return json.dumps({k: v for k, v in obj.items() if v is not ...}, ensure_ascii=False)


#: (line, expected quarantine reason or None for a good row), in file order.
MIXED_LINES: list[tuple[str | bytes, str | None]] = [
    (event(101, user_id=7), None),  # numeric ids are stringified
    ("", "empty_line"),
    ("   ", "empty_line"),
    ('{"event_id": "e1", ', "invalid_json"),
    ("[1, 2]", "not_an_object"),
    ('"just a string"', "not_an_object"),
    (event("e3", user_id=...), "missing_field:user_id"),
    (event(""), "missing_field:event_id"),
    (event("e4", occurred_at=None), "missing_field:occurred_at"),
    (event("e5", "page_veiw"), "unknown_event_type:page_veiw"),
    (event("e6", occurred_at="2026-03-01 10:00:00"), "bad_timestamp:occurred_at"),  # no offset
    (event("e7", received_at="yesterday"), "bad_timestamp:received_at"),
    (event("e8", "order_paid", properties={"amount": 10}), "bad_property:order_id"),
    (event("e9", "order_paid", properties={"order_id": "o9", "amount": "abc"}), "bad_property:amount"),
    (event("e10", properties=[1]), "bad_property:properties"),
    (event("e11", "order_paid").replace('{"path": "/home"}', '{"order_id": "o", "amount": NaN}'), "invalid_json"),
    (event({"id": 1}), "bad_field:event_id"),
    (event("e12", platform=3), "bad_field:platform"),
    (event("e13", properties={"q": "a\u0000b"}), "nul_character"),
    (b'{"event_id": "e14", "user_id": "\xff\xfe"}', "invalid_encoding"),
    (event("e15", properties={"q": "x"}).replace('"x"', '"\\ud800"'), "invalid_encoding"),
    (event("e16", "order_paid", properties={"order_id": 9, "amount": "99.50", "currency": "CNY"}), None),
    (event("e17", "search", properties={"query": "钢材 供应商"}, platform=None), None),
    (event(101, user_id=7), None),  # a duplicate delivery stays in raw
    (event("e18", properties=None), None),
]  # fmt: skip


def test_every_bad_line_is_quarantined_with_reason_and_line_number(
    any_target: WarehouseTarget, tmp_path: Path
) -> None:
    root = tmp_path / "events"
    write_partition(root, D1, "part-0000.jsonl", [line for line, _ in MIXED_LINES])

    result = load_events(str(root), any_target, DAY)

    expected_bad = [(n, r) for n, (_, r) in enumerate(MIXED_LINES, start=1) if r is not None]
    expected_good = [n for n, (_, r) in enumerate(MIXED_LINES, start=1) if r is None]
    quarantined = query(
        any_target, "select _line_number, reason from raw.events__quarantine order by 1"
    )
    assert quarantined == expected_bad
    good = query(any_target, "select _line_number from raw.events__events order by 1")
    assert [n for (n,) in good] == expected_good
    assert result.rows_read == len(MIXED_LINES) == result.rows_loaded + result.rows_quarantined
    assert (result.rows_loaded, result.rows_quarantined) == (len(expected_good), len(expected_bad))
    assert result.detail["quarantine_reasons"]["empty_line"] == 2
    assert json.loads(json.dumps(result.to_dict()))["file_count"] == 1

    q = query(
        any_target,
        "select source, raw_text, _partition_date, _source_file, _batch_id "
        "from raw.events__quarantine where _line_number = 4",
    )
    assert q == [
        ("events", '{"event_id": "e1", ', date(2026, 3, 1), "dt=2026-03-01/part-0000.jsonl", "events:2026-03-01")
    ]  # fmt: skip
    nul = query(any_target, "select raw_text from raw.events__quarantine where _line_number = 19")
    assert "\\u0000" in nul[0][0]

    rows = query(
        any_target,
        "select event_id, user_id, event_type, occurred_at, received_at, occurred_at_raw, "
        "platform, cast(properties as varchar) from raw.events__events where _line_number = 1",
    )
    assert rows[0][:7] == (
        "101",
        "7",
        "login",
        datetime(2026, 3, 1, 1, 30),  # 09:30 +08:00 -> UTC, naive
        datetime(2026, 3, 1, 1, 31),
        "2026-03-01T09:30:00+08:00",
        "web",
    )
    assert json.loads(rows[0][7]) == {"path": "/home"}
    paid = query(
        any_target,
        "select event_id, cast(properties as varchar) from raw.events__events "
        "where event_type = 'order_paid'",
    )
    assert paid[0][0] == "e16"
    assert json.loads(paid[0][1]) == {"order_id": 9, "amount": "99.50", "currency": "CNY"}
    assert query(any_target, "select count(*) from raw.events__events where event_id = '101'") == [
        (2,)
    ]
    assert query(
        any_target, "select properties, platform from raw.events__events where event_id = 'e18'"
    ) == [(None, "web")]


def test_gzip_and_plain_files_and_crlf(any_target: WarehouseTarget, tmp_path: Path) -> None:
    root = tmp_path / "events"
    write_partition(root, D1, "part-0000.jsonl.gz", [event("g1"), event("g2"), "{"], gz=True)
    write_partition(root, D1, "part-0001.jsonl", [event("p1") + "\r", event("p2")])
    write_partition(root, D1, "_SUCCESS", ["marker, not data"])
    (root / "dt=2026-03-01" / ".part-0002.jsonl.tmp").write_text("in flight\n")

    result = load_events(str(root), any_target, DAY)

    assert result.files == ["dt=2026-03-01/part-0000.jsonl.gz", "dt=2026-03-01/part-0001.jsonl"]
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (5, 4, 1)
    assert query(
        any_target, "select event_id, _source_file, _line_number from raw.events__events order by 1"
    ) == [
        ("g1", "dt=2026-03-01/part-0000.jsonl.gz", 1),
        ("g2", "dt=2026-03-01/part-0000.jsonl.gz", 2),
        ("p1", "dt=2026-03-01/part-0001.jsonl", 1),
        ("p2", "dt=2026-03-01/part-0001.jsonl", 2),
    ]
    assert query(any_target, "select reason, _line_number from raw.events__quarantine") == [
        ("invalid_json", 3)
    ]


def _history(root: Path) -> None:
    for d in ["2026-02-20", "2026-02-25", "2026-02-28", "2026-03-01", "2026-03-02"]:
        write_partition(root, date.fromisoformat(d), "part-0000.jsonl", [event(f"e-{d}"), "oops"])


def _partitions(target: WarehouseTarget) -> list[tuple[str, str]]:
    rows = query(target, "select _partition_date, _batch_id from raw.events__events order by 1")
    return [(d.isoformat(), b) for d, b in rows]


def test_first_run_loads_history_then_windows(any_target: WarehouseTarget, tmp_path: Path) -> None:
    root = tmp_path / "events"
    _history(root)

    first = load_events(str(root), any_target, DAY)
    assert first.detail["mode"] == "initial"
    # everything up to the last received partition of D1 (2026-03-01), nothing later
    assert first.partitions == ["2026-02-20", "2026-02-25", "2026-02-28", "2026-03-01"]
    assert (first.rows_read, first.rows_loaded, first.rows_quarantined) == (8, 4, 4)

    nxt = load_events(str(root), any_target, BusinessDay(date(2026, 3, 2)))
    assert nxt.detail["mode"] == "window"
    assert nxt.partitions == ["2026-03-01", "2026-03-02"]
    # 2026-03-01's file landed unchanged the night before: only 2026-03-02 is read
    assert nxt.files == ["dt=2026-03-02/part-0000.jsonl"] and nxt.detail["unchanged_files"] == 1
    assert (nxt.rows_read, nxt.rows_loaded, nxt.rows_quarantined) == (2, 1, 1)
    assert _partitions(any_target) == [
        ("2026-02-20", "events:2026-03-01"),
        ("2026-02-25", "events:2026-03-01"),
        ("2026-02-28", "events:2026-03-01"),
        ("2026-03-01", "events:2026-03-01"),
        ("2026-03-02", "events:2026-03-02"),
    ]
    assert query(any_target, "select count(*) from raw.events__quarantine") == [(5,)]

    # A partition the warehouse never loaded (delivered late, or a night skipped) is
    # picked up by the next run; a full load rereads everything and changes nothing.
    write_partition(root, date(2026, 2, 10), "part-0000.jsonl", [event("late")])
    normal = load_events(str(root), any_target, BusinessDay(date(2026, 3, 2)))
    assert normal.partitions == ["2026-02-10", "2026-03-01", "2026-03-02"]
    assert normal.detail["gap_partitions"] == ["2026-02-10"]
    assert len(_partitions(any_target)) == 6
    after_gap = events_snapshot(any_target, with_batch=False)
    full = load_events(str(root), any_target, BusinessDay(date(2026, 3, 2)), full=True)
    assert full.detail["mode"] == "full" and full.partitions[0] == "2026-02-10"
    assert full.rows_read == 11 and len(_partitions(any_target)) == 6
    assert events_snapshot(any_target, with_batch=False) == after_gap

    # Missing partitions are reported and leave landed data alone.
    before = events_snapshot(any_target)
    gap = load_events(str(root), any_target, BusinessDay(date(2026, 3, 5)))
    assert gap.detail["missing_partitions"] == ["2026-03-04", "2026-03-05"]
    assert gap.rows_read == 0 and events_snapshot(any_target) == before


def test_three_reruns_leave_identical_raw_tables(
    any_target: WarehouseTarget, tmp_path: Path
) -> None:
    root = tmp_path / "events"
    _history(root)
    write_partition(root, D1, "part-0001.jsonl", [line for line, _ in MIXED_LINES])
    load_events(str(root), any_target, BusinessDay(date(2026, 2, 28)))  # initial history

    snaps = []
    for _ in range(3):
        load_events(str(root), any_target, DAY)
        snaps.append(events_snapshot(any_target))
    assert snaps[0] == snaps[1] == snaps[2]
    assert len(snaps[0][0]) > 0 and len(snaps[0][1]) > 0
    assert query(
        any_target,
        "select batch_id, count(*) from meta.load_batches group by batch_id order by 1",
    ) == [("events:2026-02-28", 1), ("events:2026-03-01", 1)]


def _load_stamps(target: WarehouseTarget) -> dict[str, set[object]]:
    rows = query(
        target,
        "select _source_file, _loaded_at from raw.events__events union all "
        "select _source_file, _loaded_at from raw.events__quarantine",
    )
    stamps: dict[str, set[object]] = {}
    for name, at in rows:
        stamps.setdefault(name, set()).add(at)
    return stamps


def test_a_reload_reads_only_new_or_changed_files_and_drops_vanished_ones(
    any_target: WarehouseTarget, tmp_path: Path
) -> None:
    """A night reloads the partition the night before loaded: files whose content already
    landed keep their rows (and load time, so staging does not restage them); a changed
    file is replaced whole, a vanished file loses its rows, a new file lands. The result
    equals a full reload of the same files."""
    root = tmp_path / "events"
    keep = write_partition(root, D1, "part-0000.jsonl", [event("k1"), "oops"])
    change = write_partition(root, D1, "part-0001.jsonl", [event("c1"), event("c2")])
    vanish = write_partition(root, D1, "part-0002.jsonl", [event("v1"), "{"], gz=False)
    first = load_events(str(root), any_target, DAY)
    assert (first.rows_read, first.detail["unchanged_files"]) == (6, 0)
    stamps = _load_stamps(any_target)

    rerun = load_events(str(root), any_target, DAY)
    assert (rerun.rows_read, rerun.files, rerun.detail["unchanged_files"]) == (0, [], 3)
    assert _load_stamps(any_target) == stamps

    change.write_text(event("c1") + "\n" + event("c3") + "\nnot json\n")
    vanish.unlink()
    write_partition(root, D1, "part-0003.jsonl", [event("n1")])
    again = load_events(str(root), any_target, DAY)
    assert again.files == ["dt=2026-03-01/part-0001.jsonl", "dt=2026-03-01/part-0003.jsonl"]
    assert (again.rows_read, again.rows_loaded, again.rows_quarantined) == (4, 3, 1)
    assert again.detail["unchanged_files"] == 1
    after = _load_stamps(any_target)
    assert after[f"dt=2026-03-01/{keep.name}"] == stamps[f"dt=2026-03-01/{keep.name}"]
    assert f"dt=2026-03-01/{vanish.name}" not in after
    assert sorted(r[0] for r in query(any_target, "select event_id from raw.events__events")) == [
        "c1",
        "c3",
        "k1",
        "n1",
    ]
    assert query(
        any_target,
        "select source_file, rows_loaded, rows_quarantined from meta.event_files order by 1",
    ) == [
        ("dt=2026-03-01/part-0000.jsonl", 1, 1),
        ("dt=2026-03-01/part-0001.jsonl", 2, 1),
        ("dt=2026-03-01/part-0003.jsonl", 1, 0),
    ]
    assert query(
        any_target,
        "select partition_date, rows_loaded, rows_quarantined from meta.event_partitions",
    ) == [(D1, 4, 2)]
    reloaded = events_snapshot(any_target, with_batch=False)
    full = load_events(str(root), any_target, DAY, full=True)
    assert full.rows_read == 6 and events_snapshot(any_target, with_batch=False) == reloaded


def test_count_mismatch_rolls_back(
    duckdb_target: WarehouseTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: a bulk path that silently drops a row must fail the batch."""
    root = tmp_path / "events"
    write_partition(root, D1, "part-0000.jsonl", [event("a"), event("b")])
    original = Warehouse.bulk_insert

    def lossy(self: Warehouse, table: str, data):  # type: ignore[no-untyped-def]
        return original(self, table, data.slice(1) if table == "raw.events__events" else data)

    monkeypatch.setattr(Warehouse, "bulk_insert", lossy)
    with pytest.raises(LoadIntegrityError, match="read 2 lines"):
        load_events(str(root), duckdb_target, DAY)
    monkeypatch.undo()
    assert query(duckdb_target, "select count(*) from raw.events__events") == [(0,)]
    assert query(duckdb_target, "select count(*) from meta.load_batches") == [(0,)]


def test_missing_events_root_fails_loudly(duckdb_target: WarehouseTarget, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_events(str(tmp_path / "nowhere"), duckdb_target, DAY)


def test_skipped_nights_are_loaded_by_the_next_run(
    any_target: WarehouseTarget, tmp_path: Path
) -> None:
    """D, three nights skipped, D+4: the gap's partitions land with D+4's (nothing lost)."""
    root = tmp_path / "events"
    days = [date(2026, 3, 1 + i) for i in range(6)]
    for i, d in enumerate(days):
        write_partition(root, d, "part-0000.jsonl", [event(f"g{i}", received_at=f"{d}T03:00:00Z")])
    load_events(str(root), any_target, BusinessDay(days[0]))
    skipped = load_events(str(root), any_target, BusinessDay(days[4]))
    assert skipped.detail["mode"] == "window"
    assert skipped.partitions == [d.isoformat() for d in days[1:5]]
    assert skipped.detail["gap_partitions"] == [d.isoformat() for d in days[1:3]]
    ids = {r[0] for r in query(any_target, "select event_id from raw.events__events")}
    assert ids == {f"g{i}" for i in range(5)}  # g5 is after D+4's window
    # Rerunning a gap day afterwards reloads its own window and changes no event.
    before = events_snapshot(any_target, with_batch=False)
    load_events(str(root), any_target, BusinessDay(days[2]))
    assert events_snapshot(any_target, with_batch=False) == before


def test_landed_partitions_are_kept_in_meta_and_rebuilt_for_older_warehouses(
    any_target: WarehouseTarget, tmp_path: Path
) -> None:
    """The gap check reads meta.event_partitions (not every raw row); counts per partition."""
    root = tmp_path / "events"
    days = [date(2026, 3, 1 + i) for i in range(5)]
    for i, d in enumerate(days):
        lines = [event(f"p{i}", received_at=f"{d}T03:00:00Z"), "not json"]
        write_partition(root, d, "part-0000.jsonl", lines)
    load_events(str(root), any_target, BusinessDay(days[0]))
    recorded = query(
        any_target,
        "select partition_date, rows_loaded, rows_quarantined from meta.event_partitions "
        "order by 1",
    )
    assert recorded == [(days[0], 1, 1)]  # the UTC partitions of D that exist
    # A warehouse from before the table existed: it is rebuilt from raw on the next run.
    with Warehouse(any_target) as wh:
        wh.execute("delete from meta.event_partitions")
    gap = load_events(str(root), any_target, BusinessDay(days[4]))
    assert gap.detail["gap_partitions"] == [days[1].isoformat(), days[2].isoformat()]
    assert [
        r[0]
        for r in query(any_target, "select partition_date from meta.event_partitions order by 1")
    ] == days


def _warehouse_url(target: WarehouseTarget) -> str:
    return str(target.duckdb_path) if target.is_duckdb else target.describe()


def test_history_commits_in_partition_groups_and_a_kill_between_groups_resumes(
    any_target: WarehouseTarget, tmp_path: Path
) -> None:
    """Onboarding holds one group of partitions per transaction (memory follows the group,
    not the history); killed after the first group committed, the rerun loads the rest as
    a gap and the warehouse equals a one-transaction load of the same files."""
    root = tmp_path / "events"
    days = [date(2026, 2, 20 + i) for i in range(6)]  # 02-20 .. 02-25
    for i, d in enumerate(days):
        lines = [event(f"h{i}-{n}", received_at=f"{d}T03:00:00Z") for n in range(3)] + ["oops"]
        write_partition(root, d, "part-0000.jsonl", lines)
    last_day = BusinessDay(date(2026, 2, 25))

    script = (
        "import sys; from datetime import date; from userops.config import WarehouseTarget; "
        "from userops.load.events import load_events; from userops.windows import BusinessDay; "
        "load_events(sys.argv[1], WarehouseTarget.parse(sys.argv[2]), "
        "BusinessDay(date(2026, 2, 25)), commit_bytes=1)"
    )
    env = {**os.environ, "USEROPS_FAULT_KILL_AT": "load_events.between_groups"}
    killed = subprocess.run(
        [sys.executable, "-c", script, str(root), _warehouse_url(any_target)], env=env
    )
    assert killed.returncode == -signal.SIGKILL
    # the first group (one partition: commit_bytes=1) committed, nothing else did
    assert query(any_target, "select partition_date from meta.event_partitions") == [(days[0],)]
    assert query(any_target, "select count(*) from raw.events__events") == [(3,)]
    assert query(any_target, "select count(*) from meta.load_batches") == [(0,)]

    resumed = load_events(str(root), any_target, last_day, commit_bytes=1)
    assert resumed.detail["mode"] == "window"
    assert resumed.detail["gap_partitions"] == [d.isoformat() for d in days[1:4]]
    assert resumed.detail["transactions"] == 5  # 02-21 .. 02-25, one partition each
    assert (resumed.rows_read, resumed.rows_loaded, resumed.rows_quarantined) == (20, 15, 5)
    # each group's rows are newer than every group committed before it (incremental
    # staging reads rows loaded after the newest it staged)
    stamps = [r[1] for r in query(
        any_target, "select partition_date, loaded_at from meta.event_partitions order by 1"
    )]  # fmt: skip
    assert len(stamps) == 6 and stamps == sorted(set(stamps))
    grouped = events_snapshot(any_target, with_batch=False)

    one = load_events(str(root), any_target, last_day, full=True)
    assert one.detail["transactions"] == 1 and one.rows_read == 24
    assert events_snapshot(any_target, with_batch=False) == grouped
    assert len(grouped[0]) == 18 and len(grouped[1]) == 6


def test_commit_groups_cut_history_by_source_bytes() -> None:
    d = [date(2026, 1, i) for i in range(1, 5)]
    files = [
        EventFile("a", "a", d[0], 300),
        EventFile("b", "b", d[1], 300),
        EventFile("c.jsonl.gz", "c", d[2], 100),  # ~800 bytes of JSON
        EventFile("e", "e", d[3], 50),
    ]
    assert commit_groups(files, d, 700) == [[d[0], d[1]], [d[2]], [d[3]]]
    assert commit_groups(files, d, 10**9) == [d]
    assert commit_groups([], [], 10) == [[]]  # a run with nothing to load still records its batch


def test_a_rerun_that_reads_nothing_new_still_finds_the_days_sources_fresh(
    any_target: WarehouseTarget, sqlite_crm, tmp_path: Path
) -> None:
    """The publish hold 'sources stale' looks at what the day's partitions hold, not at
    what the day's batch read: a rerun reads no unchanged file, and must not hold."""
    from loadtest_sources import lead, rep

    from userops.config import load_settings
    from userops.load.crm import load_crm
    from userops.pipeline import _sources_fresh

    root = tmp_path / "events"
    write_partition(root, D1, "part-0000.jsonl", [event("f1")])
    sqlite_crm.put("leads", [lead("L1", datetime(2026, 3, 1, 8, 0))])
    sqlite_crm.put("sales_reps", [rep("r1", datetime(2026, 2, 20, 1, 0))])
    settings = load_settings({"USEROPS_WAREHOUSE": _warehouse_url(any_target)})
    later = BusinessDay(date(2026, 3, 3), "Asia/Shanghai")  # its partitions never arrive

    load_crm(sqlite_crm.url, any_target, DAY)
    assert not _sources_fresh(DAY, settings)  # no event batch for the day yet
    assert load_events(str(root), any_target, DAY).rows_read == 1
    assert _sources_fresh(DAY, settings)
    assert load_events(str(root), any_target, DAY).rows_read == 0  # a rerun
    assert _sources_fresh(DAY, settings)

    load_crm(sqlite_crm.url, any_target, later)
    assert load_events(str(root), any_target, later).detail["missing_partitions"] == [
        "2026-03-02",
        "2026-03-03",
    ]
    assert not _sources_fresh(later, settings)
