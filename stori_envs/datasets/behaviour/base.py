"""The per-slot behaviour interface and the uniform random policy."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from stori_envs.taxonomy.seeding import make_stream


class Behaviour:
    """Acts for many slots; each slot's episode draws from its own stream (seeded by ``start``).

    Subclasses implement :meth:`act_slot`; ``rng(slot)`` is the slot's episode stream.
    ``name`` is the policy id and ``params`` its settings (both recorded in dataset metadata).
    """

    name = "behaviour"

    def __init__(self, action_space: gym.Space, params: dict[str, Any] | None = None) -> None:
        self.action_space = action_space
        self.params = dict(params or {})
        self._rngs: dict[int, np.random.Generator] = {}

    def start(self, slot: int, seed: int) -> None:
        """A new episode begins in ``slot``; its draws come from stream ``"behaviour"`` of ``seed``."""
        self._rngs[slot] = make_stream(seed, "behaviour")

    def rng(self, slot: int) -> np.random.Generator:
        return self._rngs[slot]

    def act(self, slot: int, obs: np.ndarray, info: dict[str, Any]) -> tuple[Any, float]:
        """The action for ``slot`` (within the action space) and its behaviour log-probability."""
        return self.act_slot(slot, obs, info)

    def act_slot(self, slot: int, obs: np.ndarray, info: dict[str, Any]) -> tuple[Any, float]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"policy": self.name, **self.params}


def random_action(space: gym.Space, rng: np.random.Generator) -> tuple[Any, float]:
    """A uniform action of a Box or Discrete space and its log-density."""
    if isinstance(space, gym.spaces.Discrete):
        return int(space.start + rng.integers(space.n)), -float(np.log(space.n))
    if isinstance(space, gym.spaces.Box) and space.is_bounded():
        a = rng.uniform(space.low, space.high).astype(space.dtype)
        return a, -float(np.sum(np.log(space.high.astype(np.float64) - space.low)))
    raise ValueError(f"action_space: got {space!r}; allowed: Discrete or a bounded Box")


class RandomBehaviour(Behaviour):
    """Uniform random actions (the ``random`` tier of every environment)."""

    name = "random"

    def act_slot(self, slot: int, obs: np.ndarray, info: dict[str, Any]) -> tuple[Any, float]:
        return random_action(self.action_space, self.rng(slot))
