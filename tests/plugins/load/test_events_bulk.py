"""The bulk event check agrees with the line-by-line definition (``parse_event``) on every line.

A corpus of contract lines, hand-written edge cases and seeded random mutations is
written to real JSONL files (plain and gzipped) and read twice: in bulk (DuckDB
query, Python fallback) and line by line.  Both must give the same good rows and
the same quarantine rows, reason by reason; and the bulk query must accept almost
every well-formed line itself (otherwise it is not a bulk path).
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np
import pytest
from fsspec.core import url_to_fs

from userops import warehouse
from userops.extract.events import iter_chunks, list_files, list_partitions, parse_event
from userops.extract.events_bulk import BulkChecker, line_array, split_lines

TS = "2026-03-01T09:30:00+08:00"


def _line(**fields: object) -> str:
    base: dict[str, object] = {
        "event_id": "e1",
        "user_id": "u1",
        "event_type": "page_view",
        "occurred_at": TS,
        "received_at": TS,
        "platform": "web",
        "properties": {"path": "/p/1"},
    }
    for key, value in fields.items():
        if value is _DROP:
            base.pop(key, None)
        else:
            base[key] = value
    return json.dumps(base, ensure_ascii=False)


_DROP = object()

EDGE_LINES = [
    _line(),
    _line(event_id=123, user_id=-5),
    _line(event_id=2**64 - 1),
    _line(event_id=2**70),  # beyond 64 bits: DuckDB reads a double, Python keeps the int
    _line(event_id=1.0),
    _line(event_id=True),
    _line(event_id=" "),
    _line(event_id="\u3000"),  # ideographic space: blank for Python
    _line(user_id="\u00a0x\u00a0"),
    _line(event_id=""),
    _line(event_id=None),
    _line(user_id=_DROP),
    _line(event_type="Login"),
    _line(event_type="login "),
    _line(event_type=7),
    _line(platform=None),
    _line(platform=_DROP),
    _line(platform=""),
    _line(platform=3),
    _line(properties=None),
    _line(properties=_DROP),
    _line(properties=[1, 2]),
    _line(properties="x"),
    _line(properties={"path": "/中文", "n": 1.5, "deep": {"a": [1, {"b": None}]}}),
    _line(occurred_at="2026-03-01T01:30:00Z"),
    _line(occurred_at="2026-03-01 01:30:00.25-05:00"),
    _line(occurred_at="2026-03-01T01:30:00.1234567+08:00"),
    _line(occurred_at="2026-03-01T01:30:00+0800"),
    _line(occurred_at="2026-03-01T01:30:00"),
    _line(occurred_at="2026-02-30T01:30:00Z"),
    _line(occurred_at="2026-03-01T24:00:00Z"),
    _line(occurred_at="2026-03-01T23:59:60Z"),
    _line(occurred_at="0999-03-01T01:30:00Z"),
    _line(occurred_at="9999-12-31T23:00:00-05:00"),
    _line(occurred_at="1996-07-04t01:30:00z"),
    _line(occurred_at="1996-07-04T01:30:00+14:00"),
    _line(occurred_at="20260301T013000Z"),
    _line(received_at=1772328600),
    _line(event_type="order_paid", properties={"order_id": "o1", "amount": 99.5}),
    _line(event_type="order_paid", properties={"order_id": 17, "amount": "1,000"}),
    _line(event_type="order_paid", properties={"order_id": "o1", "amount": " 12.5 "}),
    _line(event_type="order_paid", properties={"order_id": "o1", "amount": "1e3"}),
    _line(event_type="order_paid", properties={"order_id": "o1", "amount": "12.50"}),
    _line(event_type="order_paid", properties={"order_id": "o1", "amount": True}),
    _line(event_type="order_paid", properties={"order_id": "o1"}),
    _line(event_type="order_paid", properties={"order_id": " ", "amount": 1}),
    _line(event_type="order_paid", properties={"order_id": [1], "amount": 1}),
    _line(event_type="order_paid", properties={"order_id": 1.5, "amount": 1}),
    _line(event_type="order_paid", properties=None),
    _line(event_type="order_paid", properties={"order_id": "o1", "amount": 10**400}),
    '{"event_id":"e1","event_id":"e2","user_id":"u","event_type":"login",'
    f'"occurred_at":"{TS}","received_at":"{TS}"}}',
    '{"event_id":"e1","user_id":"u","event_type":"login",'
    f'"occurred_at":"{TS}","received_at":"{TS}","properties":{{"a":1,"a":2}}}}',
    _line(properties={"v": 1}).replace('"v": 1', '"v": NaN'),
    _line(properties={"v": 1}).replace('"v": 1', '"v": inf'),
    _line(properties={"v": 1}).replace('"v": 1', '"v": -Infinity'),
    _line(properties={"v": 1}).replace('"v": 1', '"v": 1e400'),
    _line(properties={"v": 1}).replace('"v": 1', '"v": 1,'),
    _line(properties={"q": "nan, inf and ,}"}),  # lenient-looking text inside a string
    _line().replace("}", ",}", 1),
    _line(properties={"q": "tab\there"}),
    _line(properties={"q": "x"}).replace('"x"', '"\tx"'),  # raw control character
    _line(properties={"q": "\\u00e9"}).replace("\\\\u", "\\u"),
    _line(properties={"q": "x"}).replace('"x"', '"\\ud800"'),  # lone surrogate escape
    _line(properties={"q": "x"}).replace('"x"', '"\\u0000"'),
    _line(properties={"q": "x"}).replace('"x"', '"a\x00b"'),
    _line() + " ",
    _line() + "\r",
    " " + _line(),
    _line() + _line(),
    _line() + " junk",
    "",
    "   ",
    "\t",
    "[1, 2]",
    '"text"',
    "null",
    "{}",
    "{'event_id': 'e1'}",
    "\ufeff" + _line(),  # a BOM that is not at the start of the file
    "not json at all",
]


def _mutations(seed: int, n: int) -> list[str]:
    rnd = random.Random(seed)
    alphabet = [*'{}[]":,.-+0123456789eE tnfaluNI\\', "\u3000", "中", "\x01"]
    types = ["login", "order_paid", "search", "signup", "Login"]
    out = []
    for i in range(n):
        etype = rnd.choice(types)
        props: object = {"path": f"/p/{i}", "q": rnd.choice(["a", "nan", "1e5", "中文"])}
        if etype == "order_paid":
            props = {
                "order_id": rnd.choice([f"o{i}", i, "", None, 1.5]),
                "amount": rnd.choice([12.5, 3, "8.80", "x", None, -1, "1e2"]),
            }
        text = _line(
            event_id=rnd.choice([f"e{i}", i, "", " ", None]),
            user_id=rnd.choice([f"u{i % 37}", i % 37]),
            event_type=etype,
            occurred_at=rnd.choice(
                [TS, "2026-03-01T01:30:00Z", "2026-03-01", "2026-13-01T00:00:00Z"]
            ),
            properties=props,
        )
        for _ in range(rnd.choice([0, 0, 1, 2])):  # some lines stay well-formed
            pos = rnd.randrange(len(text))
            op = rnd.randrange(3)
            if op == 0:
                text = text[:pos] + text[pos + 1 :]
            elif op == 1:
                text = text[:pos] + rnd.choice(alphabet) + text[pos:]
            else:
                text = text[:pos] + text[pos:][: rnd.randrange(1, 8)] + text[pos:]
        out.append(text.replace("\n", " "))
    return out


def _write(root: Path, lines: list[str]) -> None:
    part = root / "dt=2026-03-01"
    part.mkdir(parents=True)
    body = "\n".join(lines).encode("utf-8", "surrogatepass")
    half = len(lines) // 2
    (part / "part-0.jsonl").write_bytes(b"\xef\xbb\xbf" + "\n".join(lines[:half]).encode() + b"\n")
    with gzip.open(part / "part-1.jsonl.gz", "wb") as fh:
        fh.write("\r\n".join(lines[half:]).encode())  # CRLF, no final newline
    # a file with bytes that are not UTF-8 goes line by line as a whole
    (part / "part-2.jsonl").write_bytes(body[:2000] + b"\n\xff\xfe" + _line().encode() + b"\n")


def _rows(root: Path, bulk: bool) -> tuple[list[tuple], list[tuple]]:
    fs, base = url_to_fs(str(root))
    files = list_files(fs, list_partitions(fs, base))
    good: list[tuple] = []
    bad: list[tuple] = []
    for chunk in iter_chunks(fs, files, chunk_rows=700, bulk=bulk):
        for row in chunk.events.to_pylist():
            props = row.pop("properties")
            row["properties"] = None if props is None else json.loads(props)
            good.append(tuple(sorted((k, json.dumps(v, default=str)) for k, v in row.items())))
        bad += [
            (r["_source_file"], r["_line_number"], r["reason"], r["raw_text"])
            for r in chunk.quarantine.to_pylist()
        ]
    return sorted(good), sorted(bad)


@pytest.mark.parametrize("scan_batch", [None, 64], ids=["default-batches", "many-batches"])
def test_bulk_and_line_by_line_agree_on_every_line(tmp_path, monkeypatch, scan_batch) -> None:
    if scan_batch:  # a slice of 700 lines reaches DuckDB as 11 record batches, scanned in parallel
        monkeypatch.setattr(warehouse, "SCAN_BATCH_ROWS", scan_batch)
    lines = EDGE_LINES + _mutations(seed=11, n=3000)
    _write(tmp_path, lines)
    good_bulk, bad_bulk = _rows(tmp_path, bulk=True)
    good_ref, bad_ref = _rows(tmp_path, bulk=False)
    assert good_bulk == good_ref
    assert bad_bulk == bad_ref
    # the corpus exercises both sides and most reasons
    assert len(good_ref) > 200 and len(bad_ref) > 1000
    assert len({reason.split(":")[0] for _, _, reason, _ in bad_ref}) >= 9


def test_every_bulk_accepted_line_is_good_by_definition() -> None:
    lines = EDGE_LINES + _mutations(seed=5, n=3000)
    data = "\n".join(lines).encode()
    split = split_lines(data)
    with BulkChecker() as checker:
        accepted = checker.check(line_array(split, 0, len(split)), 1).to_pylist()
    assert accepted
    for row in accepted:
        parsed = parse_event(lines[row["line_number"] - 1])
        assert not isinstance(parsed, str), (row, parsed)
        assert (row["event_id"], row["user_id"], row["event_type"]) == parsed[:3]
        assert (row["occurred_at"], row["received_at"], row["occurred_at_raw"]) == parsed[3:6]
        assert row["platform"] == parsed[6]
        props = row["properties"]
        assert (None if props is None else json.loads(props)) == (
            None if parsed[7] is None else json.loads(parsed[7])
        )


def test_bulk_accepts_almost_every_contract_line_itself() -> None:
    rnd = np.random.default_rng(3)
    lines = [
        _line(
            event_id=f"e{i}",
            user_id=int(rnd.integers(1, 10**6)) if i % 3 else f"u{i}",
            event_type="order_paid" if i % 10 == 0 else "login",
            properties={"order_id": f"o{i}", "amount": round(float(rnd.uniform(1, 999)), 2)}
            if i % 10 == 0
            else {"path": f"/中/{i}"},
        )
        for i in range(5000)
    ]
    split = split_lines("\n".join(lines).encode())
    with BulkChecker() as checker:
        accepted = checker.check(line_array(split, 0, len(split)), 1)
    assert accepted.num_rows == len(lines)
