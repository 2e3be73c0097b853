"""Steps per second of every stochasticity type against the bare environment, side by side in one run.

Each case steps the same environment with the same pre-drawn actions (resets included); cases are
timed round-robin (interleaved) and the best of ``--repeats`` is kept, so ratios are robust to load.
The added cost per step is ``time(type) - time(bare)``; Gymnasium's nearest wrappers (``StickyAction``
for type 1, a noise ``TransformObservation`` for 3.2 noise) are timed in the same rounds, and type 1
and 3.2 noise must add no more than their twin. Families add their cases through
``benchmarks.cases_<family>.cases()`` (MedSepsis); Atari has its own script (frames, not steps).

    python -m benchmarks.throughput              # prints the Markdown report (--out FILE to keep it)
"""

from __future__ import annotations

import argparse
import importlib
import logging
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import stori_envs
from benchmarks.common import Case, best, command_line, machine_description, markdown_table, time_interleaved
from stori_envs.profiles import action, drift, event, observation, state
from stori_envs.taxonomy.profile import Profile

logger = logging.getLogger(__name__)

# name -> profile; the types with the 5 µs target are matched by TARGET_TYPES.
GENERIC_PROFILES: dict[str, Profile | None] = {
    "3.1 default": None,
    "1 action p=0.3": action(0.3),
    "2.1 reward_cancel p=0.3": event("reward_cancel", 0.3),
    "2.1 state_perturbation p=0.3": event("state_perturbation", 0.3),
    "2.2 sudden T=50 -> 1": drift(action(0.3), "sudden", 50),
    "2.2 cyclic T=20 -> 3.2 dropout": drift(observation("dropout", 0.3), "cyclic", 20),
    "3.2 mask": observation("mask", 1.0, features=[1, 3]),
    "3.2 dropout p=0.3": observation("dropout", 0.3),
    "3.2 dropout p=0.3 + mask": observation("dropout", 0.3, append_mask=True),
    "3.2 noise": observation("noise", 1.0, noise_std=0.05),
    "0 state": state(),
}
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
TARGET_US = 5.0
TARGET_TYPES = ("3.1", "1 ", "2.1", "2.2", "3.2 mask", "3.2 dropout", "3.2 noise")
#: Gymnasium's nearest wrappers, timed in the same run: a stori type must add no more than its twin.
GYM_STICKY = "gymnasium StickyAction p=0.3"
GYM_NOISE = "gymnasium TransformObservation noise"
GYM_TWINS = {"1 action p=0.3": GYM_STICKY, "3.2 noise": GYM_NOISE}


def gymnasium_cases(env_id: str, actions: np.ndarray) -> list[Case]:
    """The nearest Gymnasium wrappers: ``StickyAction`` (type 1's twin) and a Gaussian-noise
    ``TransformObservation`` (3.2 noise's twin, std 0.05 on every feature, drawn per step)."""
    sticky = gym.wrappers.StickyAction(make_base(env_id), repeat_action_probability=0.3)
    base = make_base(env_id)
    rng = np.random.default_rng(0)
    space = base.observation_space
    noisy = gym.wrappers.TransformObservation(
        base, lambda obs: np.clip(obs + rng.normal(0.0, 0.05, obs.shape).astype(obs.dtype), space.low, space.high),
        space)
    return [stepping_case(GYM_STICKY, sticky, actions, env_id), stepping_case(GYM_NOISE, noisy, actions, env_id)]


def stepping_case(name: str, env: gym.Env, actions: np.ndarray, group: str) -> Case:
    """A case stepping ``env`` through ``actions`` (cycled), resetting when an episode ends."""
    env.reset(seed=0)
    state = {"i": 0}

    def run(n: int) -> None:
        step, reset = env.step, env.reset
        i = state["i"]
        for _ in range(n):
            _, _, terminated, truncated, _ = step(actions[i % len(actions)])
            i += 1
            if terminated or truncated:
                reset()
        state["i"] = i

    return Case(name, run, group)


class NullEnv(gym.Env):
    """A 4-feature environment whose step costs almost nothing: isolates the wrappers' own overhead."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self) -> None:
        self._obs = np.zeros(4, np.float32)
        self._t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return self._obs, {}

    def step(self, action):
        self._t += 1
        return self._obs, 1.0, False, self._t >= 500, {}


NULL = "null env (pure overhead)"


def make_base(env_id: str) -> gym.Env:
    return NullEnv() if env_id == NULL else gym.make(env_id)


def generic_cases(env_id: str) -> list[Case]:
    probe = make_base(env_id)
    probe.action_space.seed(0)
    actions = np.array([probe.action_space.sample() for _ in range(4096)])
    cases = [stepping_case("bare", make_base(env_id), actions, env_id)]
    for name, profile in GENERIC_PROFILES.items():
        if env_id == NULL and name.startswith(("2.1 state", "0 ")):
            continue  # the null env has no simulator state
        cases.append(stepping_case(name, stori_envs.make(make_base(env_id), profile), actions, env_id))
    return cases + gymnasium_cases(env_id, actions)


def family_cases() -> list[Case]:
    """Cases contributed by families (``benchmarks/cases_<family>.py`` with ``cases()``)."""
    found = []
    for path in sorted(Path(__file__).parent.glob("cases_*.py")):
        found += importlib.import_module(f"benchmarks.{path.stem}").cases()
    return found


def report(groups: dict[str, list[Case]], results: dict[str, dict[str, list[float]]], args) -> str:
    lines = [
        "Machine: " + machine_description(),
        f"Command: `{command_line()}` ({args.steps} steps per case, best of {args.repeats} interleaved rounds, "
        f"{args.clock} clock)",
        "",
    ]
    for group, cases in groups.items():
        times = results[group]
        base_name = "bare" if "bare" in times else cases[0].name
        base = best(times[base_name])
        rows = []
        for case in cases:
            t = best(times[case.name])
            added = (t - base) * 1e6
            target = twin = ""
            if group in args.envs and case.name != "bare" and case.name.startswith(TARGET_TYPES):
                target = "yes" if added <= TARGET_US else "NO"
            if case.name in GYM_TWINS and GYM_TWINS[case.name] in times:
                twin_added = (best(times[GYM_TWINS[case.name]]) - base) * 1e6
                twin = f"{'yes' if added <= twin_added else 'NO'} ({twin_added:+.2f})"
            rows.append([case.name, f"{1 / t:,.0f}", f"{t * 1e6:.2f}", f"{added:+.2f}", f"{t / base:.2f}x", target,
                         twin])
        lines += [f"### {group}", "",
                  markdown_table(["case", f"{cases[0].unit}/s", "µs per step", "added µs", "ratio",
                                  f"≤ {TARGET_US:g} µs", "≤ Gymnasium twin (its added µs)"], rows), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=[NULL, "CartPole-v1", "InvertedPendulum-v5"])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-families", action="store_true", help="skip the family cases (MedSepsis)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall: time.perf_counter; cpu: time.process_time (steadier on a shared machine)")
    parser.add_argument("--out", type=Path, help="also write the report (Markdown) to this file")
    args = parser.parse_args(argv)

    groups: dict[str, list[Case]] = {env_id: generic_cases(env_id) for env_id in args.envs}
    if not args.no_families:
        for case in family_cases():
            groups.setdefault(case.group or "family", []).append(case)
    from rich.console import Console
    from rich.progress import track

    results = {}
    for group, cases in track(list(groups.items()), description="throughput"):
        results[group] = time_interleaved(cases, args.steps, args.repeats, clock=CLOCKS[args.clock])
    text = report(groups, results, args)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    Console(soft_wrap=True).print(text, markup=False, highlight=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
