"""Type 3.1, default partial observability: the environment as it is, with the info record."""

from __future__ import annotations

import gymnasium as gym

from stori_envs.taxonomy.record import stori_record


class DefaultObservability(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Change nothing; report ``info["stori"]`` so every stori environment has the same info keys.

    STORI type 3.1 is the baseline: a single observation already shows only part of the state.
    """

    def __init__(self, env: gym.Env, *, stori_type: str = "3.1") -> None:
        gym.utils.RecordConstructorArgs.__init__(self, stori_type=stori_type)
        gym.Wrapper.__init__(self, env)
        self.stori_type = stori_type

    def reset(self, *, seed=None, options=None):
        obs, info = self.env.reset(seed=seed, options=options)
        stori_record(info, self.stori_type)
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        stori_record(info, self.stori_type, action)
        return obs, reward, terminated, truncated, info
