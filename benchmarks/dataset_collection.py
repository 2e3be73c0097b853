"""Dataset collection: throughput against the bare vector env stepping the same policy, and peak memory.

Throughput (interleaved rounds, best round of each case, transitions per second):

* ``bare``: ``gym.make_vec`` with the same sub-environments, stepped by the same behaviour policy, no recording;
* ``collect``: the dataset collector (:func:`stori_envs.datasets.collect.collect`), episodes recorded, not written;
* ``build``: a whole ``build`` (environment start, reference-score episodes, collection, HDF5 writes,
  checksums, fingerprint, validation, rename), timed end to end.

``bare`` and ``collect`` time the stepping loop only (after the vector env is made and reset).
``--clock cpu`` measures this process's CPU time instead of wall time: robust on a loaded machine, but
only meaningful with one worker (sub-processes' CPU is not counted).

Peak memory: ``build`` runs in a fresh subprocess per size; its peak RSS (``ru_maxrss``) is compared across
dataset sizes and write-chunk sizes; bounded memory means it follows the chunk, not the dataset size.

    nice -n 10 python benchmarks/dataset_collection.py --episodes 40 --repeats 3 --memory-sizes 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchmarks.common import command_line, emit, git_revision, machine_description

CLOCK = time.perf_counter

CASES = {"medsepsis": ("stori/medsepsis/clinician-v0", "stori/MedSepsis-v0", {}, "medsepsis", "clinician"),
         "pendulum": ("stori/pendulum/expert-v0", "Pendulum-v1", {}, "sac", "expert")}


def bare(env_id: str, kwargs: dict, kind: str, tier: str, episodes: int, workers: int) -> int:
    """Step the plain vector env (its own autoreset) with the same behaviour for ``episodes`` episodes."""
    import gymnasium as gym
    from gymnasium.vector import AutoresetMode

    import stori_envs  # noqa: F401
    from stori_envs.datasets.behaviour import make_behaviour

    envs = gym.make_vec(env_id, num_envs=workers, vectorization_mode="sync" if workers == 1 else "async",
                        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP}, **kwargs)
    behaviour = make_behaviour(kind, tier, envs.single_action_space, env_id=env_id)
    obs, info = envs.reset(seed=list(range(workers)))
    t0 = CLOCK()
    for i in range(workers):
        behaviour.start(i, i)
    done_eps, steps = 0, 0
    while done_eps < episodes:
        actions = np.stack([np.asarray(behaviour.act(i, obs[i], {})[0]) for i in range(workers)])
        obs, _, term, trunc, info = envs.step(actions)
        steps += workers
        for i in np.flatnonzero(np.logical_or(term, trunc)):
            done_eps += 1
            behaviour.start(int(i), done_eps + workers)
    seconds = CLOCK() - t0
    envs.close()
    return steps, seconds


def collect_only(env_id: str, kwargs: dict, kind: str, tier: str, episodes: int, workers: int) -> int:
    from stori_envs.datasets import collect as C
    from stori_envs.datasets.behaviour import make_behaviour

    envs = C.make_vector_env(env_id, kwargs, workers)
    behaviour = make_behaviour(kind, tier, envs.single_action_space, env_id=env_id)
    total = [0]
    t0 = CLOCK()
    C.collect(envs, behaviour, range(episodes), 0, tier, lambda eps: total.__setitem__(0, total[0] + sum(
        e.length for e in eps)))
    seconds = CLOCK() - t0
    envs.close()
    return total[0], seconds


def full_build(name: str, episodes: int, workers: int) -> int:
    from stori_envs.datasets import build

    with tempfile.TemporaryDirectory() as root:
        t0 = CLOCK()
        steps = build(name, episodes=episodes, workers=workers, root=root, ref_episodes=2)["transitions"]
        return steps, CLOCK() - t0


def throughput(case: str, episodes: int, workers: int, repeats: int) -> dict:
    episodes = episodes * (10 if case == "medsepsis" else 1)  # ~11 vs 200 transitions per episode
    name, env_id, kwargs, kind, tier = CASES[case]
    runs = {"bare": lambda: bare(env_id, kwargs, kind, tier, episodes, workers),
            "collect": lambda: collect_only(env_id, kwargs, kind, tier, episodes, workers),
            "build": lambda: full_build(name, episodes, workers)}
    best: dict[str, float] = {}
    for _ in range(repeats):  # round-robin: every case sees the same machine load
        for key, fn in runs.items():
            steps, seconds = fn()
            rate = steps / seconds
            best[key] = max(best.get(key, 0.0), rate)
    return {"case": case, "workers": workers, "episodes": episodes, **{k: round(v) for k, v in best.items()},
            "collect/bare": round(best["collect"] / best["bare"], 3),
            "build/bare": round(best["build"] / best["bare"], 3)}


MEMORY_CHILD = """
import json, resource, sys, tempfile, time
from stori_envs.datasets import build
name, episodes, chunk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with tempfile.TemporaryDirectory(dir=sys.argv[4]) as root:
    t0 = time.perf_counter()
    r = build(name, episodes=episodes, chunk=chunk, root=root, ref_episodes=2)
    seconds = time.perf_counter() - t0
    import os
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(r["path"]) for f in fs)
peak_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
sys.stdout.write(json.dumps({"transitions": r["transitions"], "seconds": round(seconds, 1),
                             "file_mb": round(size / 1e6, 1), "peak_rss_mb": peak_mb}) + "\n")
"""


def memory(transitions: int, chunk: int, workdir: str) -> dict:
    """Peak RSS of a Pendulum random build of about ``transitions`` transitions (200 per episode)."""
    episodes = max(1, transitions // 200)
    out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, "stori/pendulum/random-v0", str(episodes), str(chunk),
                          workdir], capture_output=True, text=True, check=True)
    return {"chunk": chunk, **json.loads(out.stdout.strip().splitlines()[-1])}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--episodes", type=int, default=40)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--cases", nargs="*", default=list(CASES))
    p.add_argument("--memory-sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    p.add_argument("--chunks", type=int, nargs="+", default=[64])
    p.add_argument("--workdir", default=tempfile.gettempdir())
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = p.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    emit(f"machine: {machine_description()}\ncommand: {command_line()}\nrevision: {git_revision()}")
    emit("| case | workers | bare (tr/s) | collect (tr/s) | build (tr/s) | collect/bare | build/bare |")
    emit("|---|---|---|---|---|---|---|")
    for case in args.cases:
        for w in args.workers:
            r = throughput(case, args.episodes, w, args.repeats)
            emit(f"| {case} | {w} | {r['bare']} | {r['collect']} | {r['build']} | {r['collect/bare']} | "
                  f"{r['build/bare']} |")
    if args.memory_sizes:
        emit("\n| transitions | chunk (episodes) | seconds | file (MB) | peak RSS (MB) |\n|---|---|---|---|---|")
        for size in args.memory_sizes:
            for chunk in args.chunks:
                m = memory(size, chunk, args.workdir)
                emit(f"| {m['transitions']} | {m['chunk']} | {m['seconds']} | {m['file_mb']} | {m['peak_rss_mb']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
