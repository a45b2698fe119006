"""``s3://`` event roots against a local S3 server (moto): the unchanged loader, same rows.

One ``ThreadedMotoServer`` on 127.0.0.1 per module, reached the way production
reaches S3: s3fs/botocore read ``AWS_ENDPOINT_URL`` and the other standard
``AWS_*`` variables (set per test with ``monkeypatch``); every test gets its own
bucket.  The data are the sample generator's ``.jsonl.gz`` partitions plus plain
``.jsonl`` files of hand-made bad lines, with ``_SUCCESS`` markers everywhere; the
reference is the same tree loaded from a local folder.
"""

from __future__ import annotations

import gzip
import importlib
import shutil
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from loadtest_sources import events_snapshot, query, write_partition
from test_load_events import MIXED_LINES, event

from tests.warehouses import new_target
from userops.config import ConfigError, WarehouseTarget
from userops.extract.events import events_filesystem, is_event_file
from userops.load.events import load_events
from userops.sources.generate import GeneratorConfig, generate
from userops.windows import BusinessDay

END = date(2026, 3, 31)
DAY = BusinessDay(END)  # received partitions: 2026-03-30, 2026-03-31
#: Gzipped partitions with the generator's deliberate bad lines; the last week is kept.
SAMPLE = GeneratorConfig(users=150, days=7, reps=3, gzip=True, end_date=END)
KEEP_FROM = date(2026, 3, 24)
MARKER = "_SUCCESS"
MARKER_TEXT = "marker, not data"  # would be quarantined as invalid_json if it were read


@pytest.fixture(scope="module")
def s3_endpoint(request: pytest.FixtureRequest) -> str:
    """A moto S3 server on a free port of 127.0.0.1, stopped when the module is done."""
    server_mod = pytest.importorskip("moto.server")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    request.addfinalizer(server.stop)
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"


@dataclass
class Bucket:
    """A fresh bucket on the local server, written with boto3 (not through s3fs)."""

    name: str
    client: Any

    def url(self, prefix: str) -> str:
        return f"s3://{self.name}/{prefix}"

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=body)

    def upload_tree(self, local: Path, prefix: str) -> str:
        """Every file under ``local`` (markers and temp files too) below ``prefix``."""
        for path in sorted(p for p in local.rglob("*") if p.is_file()):
            self.put(f"{prefix}/{path.relative_to(local).as_posix()}", path.read_bytes())
        return self.url(prefix)


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Bucket]:
    """Standard AWS variables pointing at the local server, and an empty bucket."""
    s3fs = pytest.importorskip("s3fs")
    boto3 = pytest.importorskip("boto3")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    # s3fs caches instances (with their client and listings) per process: none may
    # leak from one test's environment into the next.
    s3fs.S3FileSystem.clear_instance_cache()
    client = boto3.client("s3")
    bucket = Bucket(f"userops-{uuid.uuid4().hex[:12]}", client)
    client.create_bucket(Bucket=bucket.name)
    yield bucket
    s3fs.S3FileSystem.clear_instance_cache()
    client.close()


@pytest.fixture(scope="module")
def sample_events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local events tree: generator ``.jsonl.gz`` + plain ``.jsonl`` + markers (read-only)."""
    base = tmp_path_factory.mktemp("sample")
    root = base / "events"
    generate(SAMPLE, f"sqlite:///{base / 'crm.sqlite'}", root)
    for folder in root.glob("dt=*"):  # the last week is plenty (each file costs a query)
        if folder.name < f"dt={KEEP_FROM.isoformat()}":
            shutil.rmtree(folder)
    mixed = [line for line, _ in MIXED_LINES]
    # plain files next to the generator's gzipped ones, in the received partitions
    write_partition(root, date(2026, 3, 31), "part-90000.jsonl", mixed)
    write_partition(root, date(2026, 3, 30), "part-90000.jsonl", [event("p1") + "\r", "{"])
    # a partition of its own, older than the generated span: one plain, one gzipped file
    write_partition(root, date(2025, 11, 30), "part-00000.jsonl", [event("old1"), "oops"])
    write_partition(root, date(2025, 11, 30), "part-00001.jsonl.gz", mixed, gz=True)
    for folder in [root, *root.glob("dt=*")]:
        (folder / MARKER).write_text(MARKER_TEXT + "\n")
    (root / "dt=2026-03-31" / ".part-90001.jsonl.tmp").write_text("in flight\n")
    return root


def _data_files(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("dt=*/*") if is_event_file(p.name))


def _line_count(path: Path) -> int:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)


def _reasons(target: WarehouseTarget) -> list[tuple[str, int]]:
    return query(
        target, "select reason, count(*) from raw.events__quarantine group by reason order by 1"
    )


def test_s3_root_loads_exactly_like_the_local_folder(
    s3: Bucket, sample_events: Path, duckdb_target: WarehouseTarget, tmp_path: Path
) -> None:
    url = s3.upload_tree(sample_events, "landing/events")
    assert type(events_filesystem(url)[0]).__name__ == "S3FileSystem"
    reference = new_target("duckdb", tmp_path / "local")

    local = load_events(str(sample_events), reference, DAY)
    remote = load_events(url, duckdb_target, DAY)

    # differential: the same result, rows and quarantine reasons as the local folder
    assert remote.detail["mode"] == local.detail["mode"] == "initial"
    for attr in ("rows_read", "rows_loaded", "rows_quarantined", "partitions", "files"):
        assert getattr(remote, attr) == getattr(local, attr), attr
    assert remote.detail == local.detail
    assert events_snapshot(duckdb_target) == events_snapshot(reference)
    assert _reasons(duckdb_target) == _reasons(reference)

    # and in absolute terms: every line of every data file, and nothing else, is read
    files = _data_files(sample_events)
    assert {f.name.endswith(".gz") for f in files} == {True, False}
    assert remote.files == [f"{f.parent.name}/{f.name}" for f in files]
    assert remote.rows_read == sum(_line_count(f) for f in files)
    assert remote.rows_read == remote.rows_loaded + remote.rows_quarantined
    assert remote.rows_quarantined > len([r for _, r in MIXED_LINES if r]) * 2
    reasons = {r.split(":")[0] for r, _ in _reasons(duckdb_target)}
    assert {"invalid_json", "missing_field", "bad_timestamp", "unknown_event_type"} <= reasons
    assert remote.partitions[0] == "2025-11-30" and remote.partitions[-1] == "2026-03-31"

    # markers and in-flight files are never data
    assert not [f for f in remote.files if MARKER in f or f.endswith(".tmp")]
    for table in ("raw.events__events", "raw.events__quarantine"):
        assert query(
            duckdb_target,
            f"select count(*) from {table} "
            f"where _source_file like '%{MARKER}%' or _source_file like '%.tmp'",
        ) == [(0,)]
    assert query(
        duckdb_target,
        f"select count(*) from raw.events__quarantine where raw_text = '{MARKER_TEXT}'",
    ) == [(0,)]


def test_s3_reruns_are_idempotent(
    s3: Bucket, sample_events: Path, duckdb_target: WarehouseTarget
) -> None:
    url = s3.upload_tree(sample_events, "events")
    load_events(url, duckdb_target, BusinessDay(date(2026, 3, 30)))  # initial history

    snaps = []
    for _ in range(2):
        result = load_events(url, duckdb_target, DAY)
        assert result.detail["mode"] == "window"
        assert result.partitions == ["2026-03-30", "2026-03-31"]
        assert result.rows_read == result.rows_loaded + result.rows_quarantined
        snaps.append(events_snapshot(duckdb_target))
    assert snaps[0] == snaps[1]
    assert query(
        duckdb_target,
        "select batch_id, count(*) from meta.load_batches group by batch_id order by 1",
    ) == [("events:2026-03-30", 1), ("events:2026-03-31", 1)]

    before_full = events_snapshot(duckdb_target, with_batch=False)
    full = load_events(url, duckdb_target, DAY, full=True)
    assert full.detail["mode"] == "full" and full.partitions[0] == "2025-11-30"
    assert events_snapshot(duckdb_target, with_batch=False) == before_full


def test_late_partition_and_late_file_are_seen_by_the_next_load(
    s3: Bucket, duckdb_target: WarehouseTarget
) -> None:
    """Uploaded after a first load in the same process (s3fs instance and listings cached)."""
    url = s3.url("events")

    def put(day: str, name: str, ids: list[str], gz: bool = False) -> None:
        body = b"".join(event(i).encode() + b"\n" for i in ids) + b"oops\n"
        s3.put(f"events/dt={day}/{name}", gzip.compress(body) if gz else body)
        s3.put(f"events/dt={day}/{MARKER}", MARKER_TEXT.encode() + b"\n")

    put("2026-03-30", "part-00000.jsonl.gz", ["a1", "a2"], gz=True)
    put("2026-03-31", "part-00000.jsonl", ["b1"])
    first = load_events(url, duckdb_target, DAY)
    assert first.partitions == ["2026-03-30", "2026-03-31"]
    assert (first.rows_read, first.rows_loaded, first.rows_quarantined) == (5, 3, 2)
    assert events_filesystem(url)[0] is events_filesystem(url)[0]  # the cached instance

    # An older partition that arrived late (an upstream outage) and a second file of a
    # received partition: the next night's load must list both, and read only them (the
    # files it already landed are unchanged).
    put("2026-03-20", "part-00000.jsonl", ["late1"])
    put("2026-03-31", "part-00001.jsonl.gz", ["b2", "b3"], gz=True)
    second = load_events(url, duckdb_target, DAY)

    assert second.detail["mode"] == "window"
    assert second.partitions == ["2026-03-20", "2026-03-30", "2026-03-31"]
    assert second.detail["gap_partitions"] == ["2026-03-20"]
    assert second.files == ["dt=2026-03-20/part-00000.jsonl", "dt=2026-03-31/part-00001.jsonl.gz"]
    assert second.detail["unchanged_files"] == 2
    assert (second.rows_read, second.rows_loaded, second.rows_quarantined) == (5, 3, 2)
    ids = [r[0] for r in query(duckdb_target, "select event_id from raw.events__events order by 1")]
    assert ids == ["a1", "a2", "b1", "b2", "b3", "late1"]
    assert _reasons(duckdb_target) == [("invalid_json", 4)]


def test_missing_s3_root_fails_loudly(s3: Bucket, duckdb_target: WarehouseTarget) -> None:
    with pytest.raises(FileNotFoundError, match="USEROPS_EVENTS_URL"):
        load_events(s3.url("nowhere"), duckdb_target, DAY)


def test_missing_s3fs_is_a_one_line_error_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, duckdb_target: WarehouseTarget
) -> None:
    monkeypatch.setitem(sys.modules, "s3fs", None)  # import s3fs -> ImportError
    registry = importlib.import_module("fsspec.registry")._registry  # drivers imported so far
    monkeypatch.delitem(registry, "s3", raising=False)
    with pytest.raises(ConfigError) as info:
        load_events("s3://bucket/events", duckdb_target, DAY)
    message = str(info.value)
    assert message == "USEROPS_EVENTS_URL=s3://bucket/events: Install s3fs to access S3"

    with pytest.raises(ConfigError, match=r"^USEROPS_EVENTS_URL=nosuch://x/events: "):
        load_events("nosuch://x/events", duckdb_target, DAY)
