"""Type 0, state observation: the agent observes the symbolic state instead of the rendered one."""

from __future__ import annotations

import copy
from collections.abc import Callable

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from stori_envs.taxonomy.record import stori_record

StateExtractor = Callable[[gym.Env], np.ndarray]


def default_state_extractor(env: gym.Env) -> tuple[StateExtractor, spaces.Space] | None:
    """An extractor for environments whose full state is readable, or None.

    MuJoCo: ``concatenate(qpos, qvel)``; classic control: the ``state`` array.
    """
    u = env.unwrapped
    if hasattr(u, "data") and hasattr(u.data, "qpos") and hasattr(u.data, "qvel"):
        n = u.data.qpos.shape[0] + u.data.qvel.shape[0]
        return (lambda e: np.concatenate([e.data.qpos, e.data.qvel]).astype(np.float64),
                spaces.Box(-np.inf, np.inf, (n,), np.float64))
    if type(u).__module__.startswith("gymnasium.envs.classic_control"):
        # Classic control creates ``state`` at reset: size it on a throwaway copy.
        probe = copy.deepcopy(u)
        probe.reset(seed=0)
        n = np.asarray(probe.state).size
        return (lambda e: np.asarray(e.state, dtype=np.float64).ravel().copy(),
                spaces.Box(-np.inf, np.inf, (n,), np.float64))
    return None


class StateObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Replace the observation by the environment's state, read by ``extractor(env.unwrapped)``.

    What changes: the observation and its space; dynamics and rewards are untouched. Why: STORI
    type 0 is the fully observed reference against which the partially observed types are measured.
    """

    def __init__(self, env: gym.Env, extractor: StateExtractor, observation_space: spaces.Space,
                 *, stori_type: str = "0") -> None:
        gym.utils.RecordConstructorArgs.__init__(self, extractor=extractor, observation_space=observation_space,
                                                 stori_type=stori_type)
        gym.ObservationWrapper.__init__(self, env)
        self.extractor = extractor
        self.observation_space = observation_space
        self.stori_type = stori_type

    def observation(self, observation):
        return self.extractor(self.env.unwrapped)

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        stori_record(info, self.stori_type)
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        stori_record(info, self.stori_type, action)
        return obs, reward, terminated, truncated, info
