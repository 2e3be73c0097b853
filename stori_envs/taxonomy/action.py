"""Type 1 as a Gymnasium wrapper: :class:`RandomActionReplacement` hosts one
:class:`~stori_envs.taxonomy.components.action.ActionReplacement` component."""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym

from stori_envs.taxonomy.components.action import ActionReplacement, ActionSampler, action_check, action_sampler
from stori_envs.taxonomy.components.host import ComponentHost

__all__ = ["ActionSampler", "RandomActionReplacement", "action_check", "action_sampler"]


class RandomActionReplacement(ComponentHost, gym.utils.RecordConstructorArgs):
    """With probability ``p``, replace the agent's action by a uniform random action before executing it.

    What changes: the executed action (reported as ``info["stori"]["executed_action"]`` together with
    the intended ``action`` and ``action_replaced``). Why: STORI type 1, the environment's response
    depends on the action in a way the agent cannot control (actuator errors, slips). The agent's
    action is checked against the action space at every step (``ValueError`` otherwise).
    """

    def __init__(self, env: gym.Env, p: float, allowed_actions: Sequence[int] | None = None, *,
                 stori_type: str = "1", seed_policy: str = "gymnasium", enabled: bool = True) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, p=p, allowed_actions=allowed_actions, stori_type=stori_type,
                                                 seed_policy=seed_policy, enabled=enabled)
        self.component = ActionReplacement(env.action_space, p, allowed_actions, enabled=enabled,
                                           seed_policy=seed_policy)
        ComponentHost.__init__(self, env, (self.component,), stori_type=stori_type)
