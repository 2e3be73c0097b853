"""Policies for the risk games and the episode runner shared by PSRO, the oracles and the metrics.

A policy maps one agent's observation to an action: ``reset(rng)`` at the start of an episode (stochastic
policies draw only from the generator they are given), ``act(obs) -> int`` and ``action_probs(obs)`` (the
distribution ``act`` samples from; exact oracles and checks use it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from stori_envs.taxonomy.seeding import make_stream


class Policy(Protocol):
    def reset(self, rng: np.random.Generator | None = None) -> None: ...

    def act(self, obs: np.ndarray) -> int: ...

    def action_probs(self, obs: np.ndarray) -> np.ndarray: ...


class UniformRandomPolicy:
    """Uniform over ``n`` actions, from the generator given at ``reset``."""

    def __init__(self, n: int) -> None:
        self.n = int(n)
        self.rng: np.random.Generator | None = None

    def reset(self, rng: np.random.Generator | None = None) -> None:
        self.rng = rng

    def act(self, obs: np.ndarray) -> int:
        if self.rng is None:
            raise ValueError("rng: got None; allowed: a numpy Generator passed to reset() before act()")
        return int(self.rng.integers(self.n))

    def action_probs(self, obs: np.ndarray) -> np.ndarray:
        return np.full(self.n, 1.0 / self.n)

    def __repr__(self) -> str:
        return f"UniformRandomPolicy({self.n})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UniformRandomPolicy) and other.n == self.n

    def __hash__(self) -> int:
        return hash(("uniform", self.n))


class FixedActionPolicy:
    """Always the same action (the pure strategies of a matrix game)."""

    def __init__(self, action: int, n: int) -> None:
        self.action, self.n = int(action), int(n)

    def reset(self, rng: np.random.Generator | None = None) -> None:
        pass

    def act(self, obs: np.ndarray) -> int:
        return self.action

    def action_probs(self, obs: np.ndarray) -> np.ndarray:
        return np.eye(self.n)[self.action]

    def __repr__(self) -> str:
        return f"FixedActionPolicy({self.action}, {self.n})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FixedActionPolicy) and (other.action, other.n) == (self.action, self.n)

    def __hash__(self) -> int:
        return hash(("fixed", self.action, self.n))


@dataclass
class Episode:
    """One episode's outcome: undiscounted return and catastrophe flag per agent, and its length."""

    returns: dict[str, float]
    catastrophe: dict[str, bool]
    length: int
    trajectories: dict[str, list[tuple[np.ndarray, int, float]]] = field(default_factory=dict)

    @property
    def any_catastrophe(self) -> bool:
        return any(self.catastrophe.values())


def run_episode(env, policies: Mapping[str, Any], seed: int | np.random.SeedSequence, *,
                record: tuple[str, ...] = ()) -> Episode:
    """Play one episode of a ParallelEnv with one policy per agent; fully determined by ``seed``.

    The environment is reset with an integer drawn from stream ``"env"`` of ``seed`` and each policy
    gets its own stream ``"policy/<agent>"``, so adding an agent or a policy never shifts the others.
    ``record`` lists agents whose (observation, action, reward) steps are kept (for learners).
    """
    env_seed = int(make_stream(seed, "env").integers(2**31 - 1))
    obs, _ = env.reset(seed=env_seed)
    for agent, policy in policies.items():
        policy.reset(make_stream(seed, f"policy/{agent}"))
    returns = {a: 0.0 for a in env.possible_agents}
    crash = {a: False for a in env.possible_agents}
    traj: dict[str, list] = {a: [] for a in record}
    length = 0
    while env.agents:
        actions = {a: policies[a].act(obs[a]) for a in env.agents}
        nxt, rewards, _, _, infos = env.step(actions)
        for a, r in rewards.items():
            returns[a] += r
            crash[a] |= bool(infos[a].get("catastrophe", False))
            if a in traj:
                traj[a].append((obs[a], actions[a], r))
        obs = nxt
        length += 1
    return Episode(returns, crash, length, traj)
