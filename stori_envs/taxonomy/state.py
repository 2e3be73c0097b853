"""Type 0 as a Gymnasium wrapper: :class:`StateObservation` hosts one
:class:`~stori_envs.taxonomy.components.state.State` component."""

from __future__ import annotations

import gymnasium as gym
from gymnasium import spaces

from stori_envs.taxonomy.components.host import ComponentHost
from stori_envs.taxonomy.components.state import (
    State,
    StateExtractor,
    classic_control_state,
    default_state_extractor,
    mujoco_state,
)

__all__ = ["StateExtractor", "StateObservation", "classic_control_state", "default_state_extractor", "mujoco_state"]


class StateObservation(ComponentHost):
    """Replace the observation by the environment's state, read by ``extractor(env.unwrapped)``.

    What changes: the observation and its space; dynamics and rewards are untouched. Why: STORI
    type 0 is the fully observed reference against which the partially observed types are measured.
    """

    def __init__(self, env: gym.Env, extractor: StateExtractor, observation_space: spaces.Space,
                 *, stori_type: str = "0") -> None:
        self.component = State(extractor, observation_space)
        self.extractor = extractor
        ComponentHost.__init__(self, env, (self.component,), stori_type=stori_type)
