"""Type 0, state observation, as a component: the observation becomes the simulator's state.

The extractor is data: a function of the host's ``target`` (the unwrapped environment). The default
extractors are module-level functions (not lambdas), so stacks using them pickle and their specs
record only the profile.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from stori_envs.taxonomy.components.base import Component

StateExtractor = Callable[[Any], np.ndarray]


def mujoco_state(env: Any) -> np.ndarray:
    """``concatenate(qpos, qvel)`` of a MuJoCo environment."""
    return np.concatenate([env.data.qpos, env.data.qvel]).astype(np.float64)


def classic_control_state(env: Any) -> np.ndarray:
    """The ``state`` array of a classic-control environment."""
    return np.asarray(env.state, dtype=np.float64).ravel().copy()


def default_state_extractor(env: gym.Env) -> tuple[StateExtractor, spaces.Space] | None:
    """An extractor for environments whose full state is readable (MuJoCo, classic control), or None."""
    u = env.unwrapped
    if hasattr(u, "data") and hasattr(u.data, "qpos") and hasattr(u.data, "qvel"):
        n = u.data.qpos.shape[0] + u.data.qvel.shape[0]
        return mujoco_state, spaces.Box(-np.inf, np.inf, (n,), np.float64)
    if type(u).__module__.startswith("gymnasium.envs.classic_control"):
        # Classic control creates ``state`` at reset: size it on a throwaway copy.
        probe = copy.deepcopy(u)
        probe.reset(seed=0)
        n = np.asarray(probe.state).size
        return classic_control_state, spaces.Box(-np.inf, np.inf, (n,), np.float64)
    return None


class State(Component):
    """Replace the observation by ``extractor(target)``; dynamics and rewards are untouched.

    Why: STORI type 0 is the fully observed reference against which the partially observed types are
    measured. Makes no random draws.
    """

    stori_type = "0"
    stream_name = "state"

    def __init__(self, extractor: StateExtractor, observation_space: spaces.Space, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.extractor = extractor
        self.observation_space = observation_space
        self.target: Any = None

    def on_reset(self, target: Any) -> None:
        self.target = target

    def on_observation(self, obs: Any) -> Any:
        return self.extractor(self.target)
