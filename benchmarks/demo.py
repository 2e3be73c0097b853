"""Quick end-to-end demo: two reference policies on CartPole under every STORI type, ending in a leaderboard.

Every (policy, profile) cell runs the same fixed evaluation seeds; each finished cell is appended to
``<out>/results.jsonl`` at once, so an interrupted run resumes where it stopped. The leaderboard is
printed as a table and drawn to ``<out>/leaderboard.png``.

    python -m benchmarks.demo                 # ~20 s on 2 cores
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

import stori_envs
from stori_envs.taxonomy.profile import Profile
from stori_envs.profiles import action, drift, event, observation

logger = logging.getLogger(__name__)

PROFILES: dict[str, Profile | None] = {
    "3.1 default": None,
    "1 action p=0.2": action(0.2),
    "2.1 push p=0.05": event("state_perturbation", 0.05,
                             intrinsic_stochasticity__action_independent_random__perturbation_scale=0.1),
    "2.2 sudden T=100 -> 1": drift(action(0.4), "sudden", 100),
    "3.2 dropout p=0.3": observation("dropout", 0.3),
    "3.2 noise std=0.2": observation("noise", 1.0, noise_std=0.2),
}

Policy = Callable[[np.ndarray, np.random.Generator], int]


def random_policy(obs: np.ndarray, rng: np.random.Generator) -> int:
    return int(rng.integers(2))


def pd_controller(obs: np.ndarray, rng: np.random.Generator) -> int:
    """Push towards the side the pole falls to (angle plus damped angular velocity)."""
    return int(obs[2] + 0.5 * obs[3] + 0.01 * obs[1] > 0)


POLICIES: dict[str, Policy] = {"random": random_policy, "pd-controller": pd_controller}


def evaluate(policy: Policy, profile: Profile | None, seeds: list[int]) -> list[float]:
    """Undiscounted return of one episode per evaluation seed, in a fresh environment."""
    env = stori_envs.make("CartPole-v1", profile)
    returns = []
    for seed in seeds:
        rng = np.random.default_rng(seed)  # the policy's own stream, separate from the environment's
        obs, _ = env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy(obs, rng))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return returns


def load_results(path: Path) -> dict[tuple[str, str], list[float]]:
    done = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                done[(row["policy"], row["profile"])] = row["returns"]
    return done


def leaderboard(results: dict[tuple[str, str], list[float]]) -> list[tuple[str, float, dict[str, float]]]:
    """(policy, mean over profiles of mean return, per-profile mean), best first."""
    rows = []
    for policy in POLICIES:
        per = {name: float(np.mean(results[(policy, name)])) for name in PROFILES if (policy, name) in results}
        rows.append((policy, float(np.mean(list(per.values()))) if per else float("nan"), per))
    return sorted(rows, key=lambda r: -r[1])


def plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(PROFILES)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / max(len(rows), 1)
    for i, (policy, _, per) in enumerate(rows):
        ax.bar(x + i * width, [per.get(n, np.nan) for n in names], width, label=policy)
    ax.set_xticks(x + width * (len(rows) - 1) / 2, names, rotation=20, ha="right")
    ax.set_ylabel("mean return (CartPole-v1)")
    ax.set_title("stori-envs demo: return under each STORI type")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("results/demo"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    store = args.out / "results.jsonl"
    results = load_results(store)
    seeds = list(range(1000, 1000 + args.episodes))  # evaluation seeds, fixed and shared by every policy

    from rich.console import Console
    from rich.progress import track
    from rich.table import Table

    todo = [(p, n) for p in POLICIES for n in PROFILES if (p, n) not in results]
    for policy, name in track(todo, description="evaluating", disable=not todo):
        results[(policy, name)] = evaluate(POLICIES[policy], PROFILES[name], seeds)
        with store.open("a") as fh:  # one line per finished cell: nothing is lost if the run dies
            fh.write(json.dumps({"policy": policy, "profile": name, "returns": results[(policy, name)]}) + "\n")

    rows = leaderboard(results)
    table = Table(title=f"Leaderboard: CartPole-v1, {args.episodes} episodes per cell (mean return)")
    table.add_column("rank")
    table.add_column("policy")
    table.add_column("mean")
    for name in PROFILES:
        table.add_column(name, justify="right")
    for rank, (policy, mean, per) in enumerate(rows, 1):
        table.add_row(str(rank), policy, f"{mean:.1f}", *[f"{per.get(n, float('nan')):.1f}" for n in PROFILES])
    console = Console(width=160)
    console.print(table)
    plot(rows, args.out / "leaderboard.png")
    console.print(f"results: {store}  plot: {args.out / 'leaderboard.png'}", highlight=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
