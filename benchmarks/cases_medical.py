"""MedSepsis throughput cases for ``benchmarks/throughput.py``: the base env, every taxonomy preset, references.

Each case steps with the same pre-drawn uniform actions (resets included). References: the bare
simulator without Gymnasium's ``gym.make`` wrappers, and the physiology integrator alone (one 4-h step
of 16 Euler-Maruyama sub-steps on a fixed patient), the floor under everything else.

    python -m benchmarks.cases_medical    # MedSepsis only; python -m benchmarks.throughput runs it with the rest
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np

import stori_envs  # noqa: F401  (registers the stori/ ids)
from benchmarks.common import Case, emit, time_interleaved
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    group = cases()
    results = {GROUP: time_interleaved(group, args.steps, args.repeats)}
    emit(report({GROUP: group}, results, argparse.Namespace(envs=[], steps=args.steps, repeats=args.repeats)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
