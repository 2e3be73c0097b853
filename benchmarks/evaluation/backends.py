"""Where cells are computed: local worker processes (the default) or Ray tasks; one sweep loop drives both.

:func:`run_suite` registers the suite's cells in the store, then loops: claim as many cells as there
are free workers (leases, see :mod:`benchmarks.evaluation.store`), submit each as one task to the
backend, and write each finished cell in one transaction as it comes back. A heartbeat thread
extends the leases of the cells in flight. The sweep ends when every cell of the suite is done or
failed, including cells that another run on the same store computed; a cell claimed by another live
run is waited for, never computed twice.

Backends compute :func:`benchmarks.evaluation.runner.run_cell` on the cell's JSON config, so a cell
gives the same numbers wherever it runs:

* ``local``: a ``ProcessPoolExecutor`` of ``workers`` spawned processes (fresh interpreters: no
  inherited torch threads or RNG state).
* ``ray``: one ``@ray.remote(num_cpus=1)`` task per cell, on the cluster at ``address`` or on a local
  one started with ``workers`` CPUs.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.evaluation.runner import run_cell
from benchmarks.evaluation.store import Store, new_owner
from benchmarks.evaluation.suites import Suite

logger = logging.getLogger(__name__)
BACKENDS = ("local", "ray")


def compute_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """Run one cell and say where: ``{"result": ..., "worker": "host:pid"}`` or ``{"error": traceback}``."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        return {"result": run_cell(cell), "worker": worker}
    except Exception:  # noqa: BLE001 - a failing cell is recorded with its traceback, the sweep goes on
        return {"error": traceback.format_exc(), "worker": worker}


class LocalBackend:
    """``workers`` spawned worker processes."""

    name = "local"

    def __init__(self, workers: int) -> None:
        self.capacity = workers
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, cell: dict[str, Any]) -> Future:
        return self.pool.submit(compute_cell, cell)

    def wait(self, handles: list[Future], timeout: float) -> list[tuple[Future, dict[str, Any]]]:
        done, _ = wait_futures(handles, timeout=timeout, return_when=FIRST_COMPLETED)
        return [(f, f.result()) for f in done]

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class RayBackend:
    """One Ray task per cell on the cluster at ``address`` (or a local cluster with ``workers`` CPUs)."""

    name = "ray"

    def __init__(self, workers: int, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise ValueError("backend: got 'ray'; allowed: 'local' (install the ray extra: pip install "
                             "'stori-envs[ray]')") from None
        self.ray = ray
        self.started = not ray.is_initialized()
        if self.started:
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "logging_level": logging.WARNING}
            if address:
                ray.init(address=address, **kwargs)
            else:
                ray.init(num_cpus=workers, **kwargs)
        self.capacity = max(1, int(ray.cluster_resources().get("CPU", workers)) if address else workers)
        self.task = ray.remote(num_cpus=1, max_retries=0)(compute_cell)

    def submit(self, cell: dict[str, Any]):
        return self.task.remote(cell)

    def wait(self, handles: list, timeout: float) -> list[tuple[Any, dict[str, Any]]]:
        ready, _ = self.ray.wait(handles, num_returns=1, timeout=timeout)
        if ready:  # take every result that is ready, not just the first
            ready, _ = self.ray.wait(handles, num_returns=len(handles), timeout=0)
        return [(ref, self.ray.get(ref)) for ref in ready]

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


def check_backend(name: str, workers: int, address: str | None = None) -> None:
    """Clear errors for a bad backend choice, before any store is touched."""
    if name not in BACKENDS:
        raise ValueError(f"backend: got {name!r}; allowed: {', '.join(BACKENDS)}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers: got {workers!r}; allowed: an integer >= 1")
    if address is not None and name != "ray":
        raise ValueError(f"address: got {address!r}; allowed: only with backend 'ray'")


def make_backend(name: str, workers: int, address: str | None = None):
    check_backend(name, workers, address)
    return LocalBackend(workers) if name == "local" else RayBackend(workers, address)


@dataclass
class SweepSummary:
    store: Path
    cells: int
    computed: int
    done: int
    failed: int
    seconds: float


class _Heartbeat(threading.Thread):
    """Extends the leases of the cells in flight every ``lease / 4`` seconds (its own store connection)."""

    def __init__(self, path: Path, owner: str, lease: float) -> None:
        super().__init__(daemon=True, name="lease-heartbeat")
        self.path, self.owner, self.lease = path, owner, lease
        self.keys: set[str] = set()
        self.lock = threading.Lock()
        self.stopped = threading.Event()

    def run(self) -> None:
        store = Store(self.path)
        try:
            while not self.stopped.wait(self.lease / 4):
                with self.lock:
                    keys = list(self.keys)
                store.renew(self.owner, keys, self.lease)
        finally:
            store.close()


def _run_metadata() -> dict[str, str]:
    import stori_envs
    from benchmarks.common import git_revision, machine_description

    return {"version": stori_envs.__version__, "git": git_revision(), "machine": machine_description()}


def suite_config(suite: Suite) -> dict[str, Any]:
    """The suite as recorded with each run (its cells carry the rest)."""
    return {"name": suite.name, "path": suite.path, "protocol": suite.protocol, "train_on": suite.train_on,
            "seeds": suite.seeds, "eval_episodes": suite.eval_episodes, "n_envs": suite.n_envs,
            "train_seed": suite.train_seed, "eval_seed": suite.eval_seed, "budget_note": suite.budget_note,
            "envs": [{"name": e.name, "score_range": e.score_range, "crash": e.crash,
                      "variants": [v.to_dict() for v in e.variants]} for e in suite.envs],
            "agents": [{"label": a.label, "agent": a.agent, "config": a.config, "train_steps": a.train_steps,
                        "dataset": a.dataset, "envs": a.envs} for a in suite.agents]}


def run_suite(suite: Suite, out: str | os.PathLike, *, backend: str = "local", workers: int = 1,
              seeds: int | None = None, address: str | None = None, progress: bool = True,
              lease: float = 120.0, poll: float = 0.5) -> SweepSummary:
    """Compute every cell of ``suite`` not yet in the store at ``out`` (resumable; see the module docstring)."""
    check_backend(backend, workers, address)
    cells = suite.cells(seeds)
    _check_agents(suite)
    out = Path(out)
    store = Store(out)
    configs = [c.to_dict() for c in cells]
    keys = [c["key"] for c in configs]
    store.register(configs, [c.fingerprint() for c in cells])
    meta = _run_metadata()
    run_id = store.begin_run(suite_config(suite), backend=backend, workers=workers,
                             seeds=seeds or suite.seeds, **meta)
    owner = new_owner()
    executor = make_backend(backend, workers, address)
    heartbeat = _Heartbeat(store.path, owner, lease)
    heartbeat.start()
    in_flight: dict[Any, str] = {}
    computed = 0
    start = time.perf_counter()
    bar = _progress(progress, suite.name, executor.name, len(keys))
    try:
        with bar:
            task = bar.add_task(f"{suite.name} ({executor.name})", total=len(keys))
            while True:
                free = executor.capacity - len(in_flight)
                if free > 0:
                    for cell in store.claim(owner, keys, free, lease):
                        with heartbeat.lock:
                            heartbeat.keys.add(cell["key"])
                        in_flight[executor.submit(cell)] = cell["key"]
                counts = store.status_counts(keys)
                bar.update(task, completed=counts["done"] + counts["failed"])
                if not in_flight:
                    if counts["pending"] == 0 and counts["running"] == 0:
                        break
                    time.sleep(poll)  # another run holds the remaining cells: wait for them
                    continue
                for handle, outcome in executor.wait(list(in_flight), timeout=poll):
                    key = in_flight.pop(handle)
                    if "error" in outcome:
                        logger.warning("cell %s failed:\n%s", key, outcome["error"])
                        store.fail(owner, key, outcome["error"], run_id)
                    elif store.finish(owner, key, outcome["result"], run_id, outcome["worker"]):
                        computed += 1
                    with heartbeat.lock:
                        heartbeat.keys.discard(key)
            counts = store.status_counts(keys)
            bar.update(task, completed=counts["done"] + counts["failed"])
        store.end_run(run_id)
    finally:
        heartbeat.stopped.set()
        store.release(owner, in_flight.values())
        executor.close()
        heartbeat.join(timeout=5)
    counts = store.status_counts(keys)
    store.close()
    return SweepSummary(store=out / "results.sqlite", cells=len(keys), computed=computed, done=counts["done"],
                        failed=counts["failed"], seconds=time.perf_counter() - start)


def _check_agents(suite: Suite) -> None:
    """Every agent of the suite is registered (a clear error before any work starts)."""
    from benchmarks.evaluation.runner import available_agents

    known = available_agents()
    for i, agent in enumerate(suite.agents):
        if agent.agent not in known:
            raise ValueError(f"{suite.path or suite.name}: agents[{i}].agent: got {agent.agent!r}; allowed: "
                             f"{sorted(known)} (an agent module that is not installed registers nothing)")


def _progress(enabled: bool, suite: str, backend: str, total: int):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    disable=not enabled, transient=False)
