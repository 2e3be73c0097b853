"""Offline agents in a real environment: per-episode returns, costs and outcomes, and a JSON summary.

The episodes come from the suite's one loop, :func:`agents.rollout.evaluate` (batched over a few
environment copies); this module shapes them for the command line's ``agents evaluate`` and the
treatment metrics. Episode ``i`` is reset with ``seed + i``; the agent acts with
``deterministic=True`` unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from agents.interface import Agent
from agents.rollout import evaluate


def run_episodes(agent: Agent, env_id: str, seeds: Sequence[int], *, deterministic: bool = True, record: bool = False,
                 make_kwargs: dict[str, Any] | None = None, n_envs: int = 8) -> list[dict[str, Any]]:
    """One episode per seed: dicts of ``seed``, ``return``, ``cost``, ``length``, ``outcome`` (and, with
    ``record``, ``observations``, ``actions`` and ``cost_vectors`` (None when the env reports none))."""
    import gymnasium as gym

    import stori_envs  # noqa: F401  (registers the suite's ids)

    records = evaluate(agent, lambda: gym.make(env_id, **(make_kwargs or {})), list(seeds), n_envs=n_envs,
                       deterministic=deterministic, record=record)
    episodes = []
    for r in records:
        episode = {"seed": r.seed, "return": r.ret, "cost": r.cost, "length": r.length, "outcome": r.outcome}
        if record:
            episode.update(observations=r.trajectory["observations"], actions=r.trajectory["actions"],
                           cost_vectors=r.trajectory.get("cost_vectors"))
        episodes.append(episode)
    return episodes


def normalized_score(value: float, ref_min: float | None, ref_max: float | None) -> float | None:
    """100 (R - R_min) / (R_max - R_min) (D4RL), or None without reference scores."""
    if ref_min is None or ref_max is None or ref_max == ref_min:
        return None
    return 100.0 * (value - ref_min) / (ref_max - ref_min)


def summarize(episodes: list[dict[str, Any]], *, ref_min: float | None = None, ref_max: float | None = None,
              cost_limit: float | None = None) -> dict[str, Any]:
    """Mean/std return and cost, normalised score (and normalised cost, mortality) of a list of episodes."""
    returns = np.array([e["return"] for e in episodes])
    costs = np.array([e["cost"] for e in episodes])
    summary = {"episodes": len(episodes), "return_mean": float(returns.mean()), "return_std": float(returns.std()),
               "cost_mean": float(costs.mean()), "cost_std": float(costs.std()),
               "normalized_score": normalized_score(float(returns.mean()), ref_min, ref_max)}
    if cost_limit:
        summary["normalized_cost"] = float(costs.mean()) / cost_limit
    outcomes = [e["outcome"] for e in episodes]
    if any(o is not None for o in outcomes):
        summary["mortality"] = outcomes.count("death") / len(episodes)
    return summary


def evaluate_agent(agent: Agent, env_id: str, episodes: int, seed: int = 0, **kwargs: Any) -> dict[str, Any]:
    """Run ``episodes`` episodes from seeds ``seed, seed + 1, ...`` and summarise them (refs from the agent's data)."""
    spec = getattr(agent, "spec", None)
    records = run_episodes(agent, env_id, range(seed, seed + episodes), **kwargs)
    return {"env_id": env_id, "seed": seed, **summarize(
        records, ref_min=getattr(spec, "ref_min_score", None), ref_max=getattr(spec, "ref_max_score", None),
        cost_limit=getattr(spec, "cost_limit", None))}
