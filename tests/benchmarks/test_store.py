"""The SQLite results store: leases, all-or-nothing cells, clear errors for damaged files."""

from __future__ import annotations

import subprocess
import sys

import pytest
from bench_support import tiny_suite

from benchmarks.evaluation.store import Store, new_owner
from benchmarks.evaluation.suites import load_suite

RESULT = {"train": {"seconds": 0.0}, "evals": {"3.1": {"type": "3.1", "seconds": 0.1, "episodes": [
    {"seed": 5, "ret": 1.0, "length": 1, "cost": 0.0, "crash": False, "terminated": True, "events": {}}]}}}


def _registered(tmp_path):
    suite = load_suite(tiny_suite(tmp_path))
    cells = suite.cells()
    store = Store(tmp_path / "out")
    store.register([c.to_dict() for c in cells], [c.fingerprint() for c in cells])
    return store, [c.key for c in cells], suite


def test_claims_never_overlap_and_finish_needs_the_lease(tmp_path):
    store, keys, _ = _registered(tmp_path)
    a, b = new_owner(), new_owner()
    first = store.claim(a, keys, 3, lease=60)
    second = store.claim(b, keys, 100, lease=60)
    assert len(first) == 3 and len(second) == len(keys) - 3
    assert not {c["key"] for c in first} & {c["key"] for c in second}
    assert store.claim(b, keys, 100, lease=60) == []  # everything is held by a live lease
    key = first[0]["key"]
    assert not store.finish(b, key, RESULT, run_id=1)  # not b's cell: nothing written
    assert store.finish(a, key, RESULT, run_id=1)
    assert not store.finish(a, key, RESULT, run_id=1)  # already done: never stored twice
    assert store.status_counts(keys)["done"] == 1
    assert len(store.episodes()) == 1


def test_expired_or_dead_leases_are_taken_over(tmp_path):
    store, keys, _ = _registered(tmp_path)
    a = new_owner()
    assert len(store.claim(a, keys, 2, lease=-1.0)) == 2  # already expired
    b = new_owner()
    assert len(store.claim(b, keys, 2, lease=60)) == 2
    # A process of this host that no longer exists holds no lease, however long it was.
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = f"{new_owner().split(':')[0]}:{proc.stdout.strip()}:dead"
    store.release(b, keys)
    held = store.claim(dead, keys, len(keys), lease=3600)
    assert len(held) == len(keys)
    assert len(store.claim(new_owner(), keys, len(keys), lease=60)) == len(keys)


def test_changed_suite_config_is_refused(tmp_path):
    store, keys, suite = _registered(tmp_path)
    other = load_suite(tiny_suite(tmp_path, "tiny", episodes=5))
    with pytest.raises(ValueError, match="config differs from the stored one"):
        store.register([c.to_dict() for c in other.cells()], [c.fingerprint() for c in other.cells()])


def test_corrupted_store_gives_a_clear_error(tmp_path):
    store, keys, _ = _registered(tmp_path)
    store.close()
    path = tmp_path / "out" / "results.sqlite"
    data = bytearray(path.read_bytes())
    data[:100] = b"\x00garbage" * 12 + b"\x00" * 4  # the SQLite header is gone
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"results\.sqlite: not a readable results store .*another --out"):
        Store(path)
    path.write_text("just text, not a database at all " * 200)
    with pytest.raises(ValueError, match="not a readable results store"):
        Store(tmp_path / "out")


def test_damaged_pages_give_a_clear_error(tmp_path):
    store, keys, _ = _registered(tmp_path)
    conn = store.conn
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    path = tmp_path / "out" / "results.sqlite"
    data = bytearray(path.read_bytes())
    page = 4096
    for i in range(page + 8, len(data), 97):  # scribble over every page after the header
        data[i] = 0xA5
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="not a readable results store"):
        Store(path)


def test_other_schema_version_is_refused(tmp_path):
    store, _, _ = _registered(tmp_path)
    with store.transaction() as c:
        c.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    store.close()
    with pytest.raises(ValueError, match="schema_version: got 99; allowed: 1"):
        Store(tmp_path / "out")


def test_missing_store_for_report(tmp_path):
    with pytest.raises(ValueError, match="allowed: a results folder written by"):
        Store(tmp_path / "nothing", create=False)
