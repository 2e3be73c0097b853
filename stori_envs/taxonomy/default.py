"""Type 3.1, default partial observability: the environment as it is, with the info record."""

from __future__ import annotations

import gymnasium as gym

from stori_envs.taxonomy.components.host import ComponentHost


class DefaultObservability(ComponentHost, gym.utils.RecordConstructorArgs):
    """Change nothing; report ``info["stori"]`` so every stori environment has the same info keys.

    STORI type 3.1 is the baseline: a single observation already shows only part of the state.
    """

    def __init__(self, env: gym.Env, *, stori_type: str = "3.1") -> None:
        gym.utils.RecordConstructorArgs.__init__(self, stori_type=stori_type)
        ComponentHost.__init__(self, env, (), stori_type=stori_type)
