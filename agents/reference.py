"""Fixed reference policies as agents: a seeded random policy, the CartPole PD controller, MedSepsis tiers.

They anchor every leaderboard: a learning agent is worth reporting only above ``random``, and the
hand-made controllers show what a good score looks like. None of them learns; all of them act on a
batch of observations, one row per vector-environment slot.

* ``random``: uniform over the action space (``Discrete`` or ``Box``). Each batch row draws from
  its own stream seeded by ``(config.seed, episode seed)`` at the start of every episode, so an
  episode's actions do not depend on how the evaluation loop batched the episodes.
* ``cartpole-pd``: push towards the side the pole falls to (angle plus damped angular velocity);
  it balances CartPole-v1 for the full 500 steps without disturbances.
* ``medsepsis-clinician``, ``medsepsis-expert``, ``medsepsis-unsafe``: the MedSepsis behaviour
  policies of :mod:`stori_envs.medical.policies`, one instance per batch row (they remember the
  episode's recent observations and doses).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from agents.interface import Agent, AgentConfig, register_agent


def _row_stream(agent_seed: int, episode_seed: int) -> np.random.Generator:
    """The random stream of one episode of one agent: keyed by both seeds, independent of batching."""
    return np.random.default_rng(np.random.SeedSequence([int(agent_seed), int(episode_seed)]))


@register_agent("random")
class RandomAgent(Agent):
    """Uniform random actions; ``bind`` gives it the action space (``Discrete`` or ``Box``)."""

    def __init__(self, config: AgentConfig | None = None) -> None:
        self.config = config or AgentConfig()
        self.action_space: gym.Space | None = None
        self._streams: list[np.random.Generator] = []
        self._seed = self.config.seed

    def seed(self, seed: int | None) -> None:
        self._seed = 0 if seed is None else int(seed)
        self._streams = []

    def bind(self, observation_space: Any, action_space: Any) -> None:
        if not isinstance(action_space, (gym.spaces.Discrete, gym.spaces.Box)):
            raise ValueError(f"action_space: got {action_space!r}; allowed: Discrete or Box")
        self.action_space = action_space

    def on_episode_start(self, rows: np.ndarray, seeds: np.ndarray) -> None:
        needed = int(np.max(rows)) + 1 if len(rows) else 0
        while len(self._streams) < needed:
            self._streams.append(_row_stream(self._seed, len(self._streams)))
        for row, seed in zip(np.asarray(rows).tolist(), np.asarray(seeds).tolist()):
            self._streams[row] = _row_stream(self._seed, seed)

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        space = self.action_space
        if space is None:
            raise ValueError("random: got act() before bind(); allowed: bind the action space first")
        batch = len(obs)
        if len(self._streams) < batch:  # used outside the evaluation loop: rows seeded by their index
            self.on_episode_start(np.arange(len(self._streams), batch), np.arange(len(self._streams), batch))
        if isinstance(space, gym.spaces.Discrete):
            return np.asarray([space.start + s.integers(space.n) for s in self._streams[:batch]], dtype=np.int64)
        low, high = np.broadcast_to(space.low, space.shape), np.broadcast_to(space.high, space.shape)
        return np.stack([s.uniform(low, high) for s in self._streams[:batch]]).astype(space.dtype)


@register_agent("cartpole-pd")
class CartPolePD(Agent):
    """CartPole: push right when angle + 0.5 angular velocity + 0.01 cart velocity > 0 (deterministic)."""

    def __init__(self, config: AgentConfig | None = None) -> None:
        self.config = config or AgentConfig()

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        obs = np.asarray(obs, dtype=np.float64)
        return (obs[:, 2] + 0.5 * obs[:, 3] + 0.01 * obs[:, 1] > 0).astype(np.int64)


@dataclass(frozen=True)
class MedicalTierConfig(AgentConfig):
    """A MedSepsis behaviour policy tier (``stori_envs.medical.policies.TIERS``); ``dt_hours`` as the env's."""

    dt_hours: int = 4


class _MedicalTier(Agent):
    """One :func:`stori_envs.medical.policies.make_policy` instance per batch row, re-seeded per episode."""

    tier: str = ""
    config_class = MedicalTierConfig

    def __init__(self, config: MedicalTierConfig | None = None) -> None:
        self.config = config or MedicalTierConfig()
        self._policies: list[Any] = []

    def _policy(self, seed: int):
        from stori_envs.medical.policies import make_policy

        return make_policy(self.tier, seed=seed, dt_hours=self.config.dt_hours)

    def on_episode_start(self, rows: np.ndarray, seeds: np.ndarray) -> None:
        needed = int(np.max(rows)) + 1 if len(rows) else 0
        while len(self._policies) < needed:
            self._policies.append(self._policy(self.config.seed))
        for row, seed in zip(np.asarray(rows).tolist(), np.asarray(seeds).tolist()):
            # The policy's own stream, keyed by the agent's seed and the episode's (not the env's stream).
            self._policies[row].reset(int(np.random.SeedSequence([self.config.seed, int(seed)]).generate_state(1)[0]))

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        batch = len(obs)
        while len(self._policies) < batch:
            self._policies.append(self._policy(self.config.seed + len(self._policies)))
        return np.stack([self._policies[i].act(obs[i])[0] for i in range(batch)]).astype(np.float32)


for _tier in ("clinician", "expert", "unsafe"):
    register_agent(f"medsepsis-{_tier}")(type(f"MedSepsis{_tier.title()}", (_MedicalTier,), {
        "tier": _tier, "__doc__": f"The MedSepsis {_tier!r} behaviour policy as an agent."}))
