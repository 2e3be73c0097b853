"""Sweeps: killed at random points and restarted, shared by two runs, and on a real local Ray cluster."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from bench_support import cell_status, episode_table, tiny_suite

from benchmarks.evaluation.backends import run_suite
from benchmarks.evaluation.suites import load_suite

ROOT = Path(__file__).resolve().parents[2]


def _cli(suite: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "stori_envs.cli", "bench", "run", str(suite), "--out", str(out),
                             "--no-progress", *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


def _whole_or_nothing(store: Path, per_cell: int) -> None:
    """Every done cell has all its episodes; no other cell has any (no half rows)."""
    status = cell_status(store)
    counts: dict[str, int] = {}
    for row in episode_table(store):
        counts[row[0]] = counts.get(row[0], 0) + 1
    for key, state in status.items():
        assert counts.get(key, 0) == (per_cell if state == "done" else 0), (key, state, counts.get(key))


def _done(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        return list(cell_status(store).values()).count("done")
    except sqlite3.Error:  # the store is being created
        return 0


def test_sigkill_at_random_points_then_resume_gives_the_uninterrupted_numbers(tmp_path):
    suite_path = tiny_suite(tmp_path, seeds=4, episodes=3)
    cells = len(load_suite(suite_path).cells())
    reference = tmp_path / "uninterrupted"
    run_suite(load_suite(suite_path), reference, workers=1, progress=False)
    killed = tmp_path / "killed"
    store = killed / "results.sqlite"
    rng = np.random.default_rng(11)  # the kill times are drawn from a seeded stream too
    progress = []
    for _ in range(4):
        before = _done(store)
        # The kill lands after a random number of this run's cells (at least one, at most half of those
        # left), counted rather than timed: on an idle machine the whole tiny sweep takes about a second.
        target = before + int(rng.integers(1, max(2, (cells - before) // 2 + 1)))
        proc = _cli(suite_path, killed, "--workers", "2")
        deadline = time.monotonic() + 300
        while proc.poll() is None and _done(store) < target and time.monotonic() < deadline:
            time.sleep(0.005)
        if proc.poll() is not None:  # it finished before the kill
            break
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its worker processes, mid-flight
        proc.wait()
        progress.append(_done(store))
        _whole_or_nothing(store, 3)
    assert progress and 0 < progress[0] < cells  # killed with some cells done and some not
    proc = _cli(suite_path, killed, "--workers", "2")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()[-3000:]
    assert set(cell_status(store).values()) == {"done"} and len(cell_status(store)) == cells
    assert episode_table(store) == episode_table(reference / "results.sqlite")
    assert f"{cells}/{cells} cells done ({cells - progress[-1]} computed now".encode() in out


def test_two_runs_on_one_store_compute_each_cell_once(tmp_path):
    suite_path = tiny_suite(tmp_path, seeds=3, episodes=3)
    out = tmp_path / "shared"
    run_suite(load_suite(suite_path), out, workers=1, seeds=1, progress=False)  # the store exists first
    procs = [_cli(suite_path, out, "--workers", "1") for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err.decode()[-3000:]
    conn = sqlite3.connect(out / "results.sqlite")
    rows = conn.execute("SELECT status, attempts FROM cells").fetchall()
    runs = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    conn.close()
    assert len(rows) == len(load_suite(suite_path).cells()) and runs == 3
    assert all(status == "done" and attempts == 1 for status, attempts in rows)  # claimed and computed once
    _whole_or_nothing(out / "results.sqlite", 3)


def test_rerun_of_a_finished_sweep_computes_nothing(tmp_path):
    suite = load_suite(tiny_suite(tmp_path))
    first = run_suite(suite, tmp_path / "o", workers=1, progress=False)
    again = run_suite(suite, tmp_path / "o", workers=1, progress=False)
    assert first.computed == first.cells and again.computed == 0 and again.done == again.cells


def test_ray_local_cluster_gives_the_local_numbers(tmp_path):
    ray = pytest.importorskip("ray")
    suite = load_suite(tiny_suite(tmp_path, seeds=1, episodes=2, ppo_steps=128))
    local = run_suite(suite, tmp_path / "local", backend="local", workers=2, progress=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = run_suite(suite, tmp_path / "ray", backend="ray", workers=2, progress=False)
    finally:
        ray.shutdown()
    assert local.done == remote.done == len(suite.cells()) and remote.failed == 0
    assert episode_table(tmp_path / "ray" / "results.sqlite") == episode_table(tmp_path / "local" / "results.sqlite")
    conn = sqlite3.connect(tmp_path / "ray" / "results.sqlite")
    assert conn.execute("SELECT backend FROM runs").fetchall() == [("ray",)]
    conn.close()


def test_bad_backend_and_workers(tmp_path):
    suite = load_suite("quick")
    with pytest.raises(ValueError, match="backend: got 'spark'; allowed: local, ray"):
        run_suite(suite, tmp_path / "never", backend="spark")
    with pytest.raises(ValueError, match="workers: got 0; allowed: an integer >= 1"):
        run_suite(suite, tmp_path / "never", workers=0)
    with pytest.raises(ValueError, match="address: got 'x:1'; allowed: only with backend 'ray'"):
        run_suite(suite, tmp_path / "never", address="x:1")
    assert not (tmp_path / "never").exists()  # nothing written before the arguments are checked
