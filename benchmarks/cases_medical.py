"""MedSepsis throughput cases for ``benchmarks/throughput.py``: the base env, every taxonomy preset, references.

Each case steps with the same pre-drawn uniform actions (resets included). References: the bare
simulator without Gymnasium's ``gym.make`` wrappers, and the physiology integrator alone (one 4-h step
of 16 Euler-Maruyama sub-steps on a fixed patient), the floor under everything else.

    python -m benchmarks.cases_medical    # MedSepsis only; python -m benchmarks.throughput runs it with the rest
    python -m benchmarks.cases_medical --compare-with /tmp/before --steps 5000 --repeats 5

``--compare-with DIR`` measures another checkout of the package side by side (e.g. the tree before a
refactor): each round runs every case once in a fresh process per tree, alternating the trees, and the
table shows each tree's best steps/s per case and the ratio (process CPU time, so the ratio is robust to
the machine's load).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import stori_envs  # noqa: F401  (registers the stori/ ids)
from benchmarks.common import Case, command_line, emit, machine_description, markdown_table, time_interleaved
from benchmarks.throughput import report, stepping_case
from stori_envs.medical.config import MedSepsisParams
from stori_envs.medical.env import MedSepsisEnv
from stori_envs.medical.physiology import N_LATENT, integrate, sample_patient
from stori_envs.medical.registration import preset_ids

GROUP = "stori/MedSepsis-v0"


def _integrator_case() -> Case:
    params = MedSepsisParams()
    patient, state = sample_patient(np.random.default_rng(0), params)
    noise = np.random.default_rng(1).standard_normal(16 * N_LATENT).tolist()

    def run(n: int) -> None:
        for _ in range(n):
            integrate(state, patient, params, 0.25, 0.1, 16, noise, 1.0)

    return Case("physiology integrator only", run, GROUP)


def cases() -> list[Case]:
    actions = np.random.default_rng(0).uniform(-1.0, 1.0, (4096, 2)).astype(np.float32)
    out = [stepping_case("bare", gym.make(GROUP), actions, GROUP)]
    for env_id in preset_ids():
        out.append(stepping_case(env_id.split("/")[-1], gym.make(env_id), actions, GROUP))
    discrete = np.random.default_rng(0).integers(25, size=4096)
    out.append(stepping_case("MedSepsisDiscrete-v0", gym.make("stori/MedSepsisDiscrete-v0"), discrete, GROUP))
    out.append(stepping_case("MedSepsisEnv without gym.make wrappers", MedSepsisEnv(), actions, GROUP))
    out.append(_integrator_case())
    return out


def _measure_json(steps: int) -> dict[str, float]:
    """Steps/s of every case, one round, process CPU time (what ``--json`` prints)."""
    group = cases()
    times = time_interleaved(group, steps, 1, clock=time.process_time)
    return {name: 1.0 / t[0] for name, t in times.items()}


def compare(other: Path, steps: int, repeats: int) -> str:
    """Side-by-side table of this tree and ``other`` (alternating fresh processes, best of ``repeats``)."""
    here = Path(__file__).resolve().parents[1]
    trees = {"before": other.resolve(), "after": here}
    best: dict[str, dict[str, float]] = {k: {} for k in trees}
    for _ in range(repeats):
        for label, tree in trees.items():
            # This harness (this file) measures both trees: only the package under test differs.
            code = (f"import sys, json, importlib.util; sys.path.insert(0, {str(tree)!r}); "
                    f"spec = importlib.util.spec_from_file_location('harness', {__file__!r}); "
                    "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
                    f"print(json.dumps(m._measure_json({steps})))")
            out = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, check=True)
            for name, rate in json.loads(out.stdout.strip().splitlines()[-1]).items():
                best[label][name] = max(best[label].get(name, 0.0), rate)
    rows = [[name, f"{best['before'][name]:,.0f}", f"{rate:,.0f}", f"{rate / best['before'][name]:.2f}x"]
            for name, rate in best["after"].items() if name in best["before"]]
    return markdown_table(["case", "before steps/s", "after steps/s", "after / before"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--compare-with", type=Path, default=None, help="another checkout to measure side by side")
    args = parser.parse_args(argv)
    if args.compare_with is not None:
        emit(f"Machine: {machine_description()}\n\nCommand: `{command_line()}` ({args.steps} steps per case, best "
             f"of {args.repeats} alternating rounds, process CPU time)\n\n" + compare(args.compare_with, args.steps,
                                                                                   args.repeats))
        return 0
    group = cases()
    results = {GROUP: time_interleaved(group, args.steps, args.repeats)}
    emit(report({GROUP: group}, results, argparse.Namespace(envs=[], steps=args.steps, repeats=args.repeats,
                                                            clock="wall")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
