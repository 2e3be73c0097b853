"""Quick end-to-end benchmark: reference policies under every STORI type, ending in leaderboards.

Two suites: CartPole-v1 under generic profiles of each type (a random policy and a PD controller),
and the MedSepsis treatment simulator under its taxonomy presets (random, clinician and expert
policies; return and safety cost). Every (suite, policy, environment) cell runs the same fixed
evaluation seeds in a fresh environment; each finished cell is appended to ``<out>/results.jsonl``
at once, so an interrupted run resumes where it stopped. The leaderboards are printed and drawn to
``<out>/leaderboard.png``.

    python -m benchmarks.demo                 # about half a minute on 2 cores
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

import stori_envs
from stori_envs.profiles import action, drift, event, observation


class Policy:
    """What the demo needs of a policy: re-seeding per episode and an action per observation."""

    def reset(self, seed: int) -> None: ...

    def act(self, obs: np.ndarray):  # pragma: no cover - interface
        raise NotImplementedError


class RandomDiscrete(Policy):
    def __init__(self, n: int) -> None:
        self.n, self.rng = n, np.random.default_rng(0)

    def reset(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)  # the policy's own stream, separate from the environment's

    def act(self, obs):
        return int(self.rng.integers(self.n))


class PDController(Policy):
    """CartPole: push towards the side the pole falls to (angle plus damped angular velocity)."""

    def act(self, obs):
        return int(obs[2] + 0.5 * obs[3] + 0.01 * obs[1] > 0)


class MedicalPolicy(Policy):
    """A MedSepsis behaviour policy (random, clinician, expert) from ``stori_envs.medical``."""

    def __init__(self, tier: str) -> None:
        from stori_envs.medical.policies import make_policy

        self.policy = make_policy(tier, seed=0)

    def reset(self, seed: int) -> None:
        self.policy.reset(seed)

    def act(self, obs):
        return self.policy.act(obs)[0]


@dataclass(frozen=True)
class Suite:
    """Environments (name -> factory) crossed with policies (name -> factory)."""

    title: str
    envs: dict[str, Callable[[], gym.Env]]
    policies: dict[str, Callable[[], Policy]]


def cartpole(profile):
    return lambda: stori_envs.make("CartPole-v1", profile)


SUITES = {
    "cartpole": Suite(
        "CartPole-v1 under each STORI type",
        {
            "3.1 default": cartpole(None),
            "1 action p=0.2": cartpole(action(0.2)),
            "2.1 push p=0.05": cartpole(event("state_perturbation", 0.05,
                                              intrinsic_stochasticity__action_independent_random__perturbation_scale=0.1)),
            "2.2 sudden T=100 -> 1": cartpole(drift(action(0.4), "sudden", 100)),
            "3.2 dropout p=0.3": cartpole(observation("dropout", 0.3)),
            "3.2 noise std=0.2": cartpole(observation("noise", 1.0, noise_std=0.2)),
        },
        {"random": lambda: RandomDiscrete(2), "pd-controller": PDController},
    ),
    "medsepsis": Suite(
        "MedSepsis (sepsis treatment, 72 h) under its taxonomy presets",
        {name: (lambda i=env_id: gym.make(i)) for name, env_id in {
            "3.1 default": "stori/MedSepsis-v0",
            "1 dosing errors": "stori/MedSepsis-T1-v0",
            "2.1 adverse events": "stori/MedSepsis-T2.1-v0",
            "2.2 night shift": "stori/MedSepsis-T2.2-NightShift-v0",
            "3.2 missing labs": "stori/MedSepsis-T3.2-v0",
        }.items()},
        {tier: (lambda t=tier: MedicalPolicy(t)) for tier in ("random", "clinician", "expert")},
    ),
}


def evaluate(policy: Policy, env: gym.Env, seeds: list[int]) -> dict[str, list[float]]:
    """Undiscounted return and summed ``info["cost"]`` (0 where the env has none) per evaluation seed."""
    returns, costs = [], []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        policy.reset(seed)
        total = cost = 0.0
        done = False
        while not done:
            obs, reward, terminated, truncated, info = env.step(policy.act(obs))
            total += float(reward)
            cost += float(info.get("cost", 0.0))
            done = terminated or truncated
        returns.append(total)
        costs.append(cost)
    env.close()
    return {"returns": returns, "costs": costs}


def load_results(path: Path) -> dict[tuple[str, str, str], dict[str, list[float]]]:
    done = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                done[(row["suite"], row["policy"], row["env"])] = {"returns": row["returns"], "costs": row["costs"]}
    return done


def leaderboard(suite_name: str, results) -> list[tuple[str, float, dict[str, tuple[float, float]]]]:
    """(policy, mean return over environments, env -> (mean return, mean cost)), best first."""
    suite = SUITES[suite_name]
    rows = []
    for policy in suite.policies:
        per = {env: (float(np.mean(results[k]["returns"])), float(np.mean(results[k]["costs"])))
               for env in suite.envs if (k := (suite_name, policy, env)) in results}
        mean = float(np.mean([r for r, _ in per.values()])) if per else float("nan")
        rows.append((policy, mean, per))
    return sorted(rows, key=lambda r: -r[1])


def plot(boards: dict[str, list], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(boards), figsize=(7 * len(boards), 4.2))
    for ax, (suite_name, rows) in zip(np.atleast_1d(axes), boards.items()):
        names = list(SUITES[suite_name].envs)
        x = np.arange(len(names))
        width = 0.8 / max(len(rows), 1)
        for i, (policy, _, per) in enumerate(rows):
            ax.bar(x + i * width, [per.get(n, (np.nan, 0))[0] for n in names], width, label=policy)
        ax.set_xticks(x + width * (len(rows) - 1) / 2, names, rotation=20, ha="right")
        ax.set_ylabel("mean return")
        ax.set_title(SUITES[suite_name].title, fontsize=10)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20, help="evaluation episodes per cell")
    parser.add_argument("--suites", nargs="+", default=list(SUITES), choices=list(SUITES))
    parser.add_argument("--out", type=Path, default=Path("results/demo"))
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes: got {args.episodes}; allowed: an integer >= 1")
    args.out.mkdir(parents=True, exist_ok=True)
    store = args.out / "results.jsonl"
    results = load_results(store)
    seeds = list(range(1000, 1000 + args.episodes))  # evaluation seeds, fixed and shared by every policy

    from rich.console import Console
    from rich.progress import track
    from rich.table import Table

    todo = [(s, p, e) for s in args.suites for p in SUITES[s].policies for e in SUITES[s].envs
            if (s, p, e) not in results or len(results[(s, p, e)]["returns"]) != args.episodes]
    for suite_name, policy, env in track(todo, description="evaluating", disable=not todo):
        suite = SUITES[suite_name]
        results[(suite_name, policy, env)] = cell = evaluate(suite.policies[policy](), suite.envs[env](), seeds)
        with store.open("a") as fh:  # one line per finished cell: nothing is lost if the run dies
            fh.write(json.dumps({"suite": suite_name, "policy": policy, "env": env, **cell}) + "\n")

    console = Console(width=170)
    boards = {}
    for suite_name in args.suites:
        suite = SUITES[suite_name]
        boards[suite_name] = rows = leaderboard(suite_name, results)
        with_cost = any(c for _, _, per in rows for _, c in per.values())
        table = Table(title=f"Leaderboard: {suite.title} ({args.episodes} episodes per cell; "
                            + ("mean return / mean episode cost)" if with_cost else "mean return)"))
        for column in ("rank", "policy", "mean return"):
            table.add_column(column)
        for name in suite.envs:
            table.add_column(name, justify="right")
        for rank, (policy, mean, per) in enumerate(rows, 1):
            cells = [(f"{r:.1f} / {c:.2f}" if with_cost else f"{r:.1f}") for r, c in
                     (per.get(n, (float("nan"), float("nan"))) for n in suite.envs)]
            table.add_row(str(rank), policy, f"{mean:.2f}", *cells)
        console.print(table)
    plot(boards, args.out / "leaderboard.png")
    console.print(f"results: {store}  plot: {args.out / 'leaderboard.png'}", highlight=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
