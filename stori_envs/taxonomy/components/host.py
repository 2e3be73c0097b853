"""The generic host: a Gymnasium wrapper that runs components once per agent step.

Order of one ``step(action)``: the agent's action is checked against the action space (by a type 1
component, or else by the host), each component's ``step_action`` in order (its ``begin_step`` then
``before_action``: the executed action), ``env.step``, ``after_step`` in order (the reward),
``on_observation`` in order, then :func:`write_info`. A ``reset`` calls ``reseed(seed)`` on every
component before resetting the inner environment, then
``on_reset(env.unwrapped)`` and ``on_observation``. Hooks a component does not override are not
called at all (the per-step cost of a host with one type 1 component is one coin and the record).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym

from stori_envs.taxonomy.components.action import FAST_INTS, action_check, discrete_values
from stori_envs.taxonomy.components.base import Component, write_info
from stori_envs.taxonomy.components.observation import image_shape


class ComponentHost(gym.Wrapper):
    """Host ``components`` around every step of ``env`` and write ``info["stori"]`` (type ``stori_type``).

    ``render()`` in ``rgb_array`` mode returns the image observation the agent last received when a
    component altered it (no new draw); otherwise the inner environment's render.
    """

    def __init__(self, env: gym.Env, components: Sequence[Component] = (), *, stori_type: str = "3.1") -> None:
        gym.Wrapper.__init__(self, env)
        self.stori_type = stori_type
        self.components = tuple(components)
        for c in self.components:
            if c.observation_space is not None:
                self.observation_space = c.observation_space
        cs = self.components
        # One action per step: begin_step and before_action fused (Component.step_action).
        self._act = tuple(c.step_action for c in cs
                          if c.uses("begin_step") or c.uses("before_action") or c.uses("step_action"))
        self._after = tuple(c.after_step for c in cs if c.uses("after_step"))
        self._observe = tuple(c.on_observation for c in cs if c.uses("on_observation"))
        self._act1 = self._act[0] if len(self._act) == 1 else None  # the common case, without a loop
        self._post = bool(self._after or self._observe)
        self._images = bool(self._observe) and image_shape(self.observation_space) is not None
        self._last_obs: Any = None
        # The agent's action is checked at every step under every profile; a type 1 component does it
        # itself (before any replacement), otherwise the host does.
        validated = any(c.validates_action for top in cs for c in top.components())
        self._check = None if validated else action_check(env.action_space)
        self._valid = discrete_values(env.action_space)
        # The common case in one call: a single component that validates the action (type 1) and no
        # after-step or observation hooks.
        self._only = self._act1 if self._check is None and not self._post else None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        for c in self.components:
            c.reseed(seed)
        obs, info = self.env.reset(seed=seed, options=options)
        target = self.env.unwrapped
        for c in self.components:
            c.on_reset(target)
        for observe in self._observe:
            obs = observe(obs)
        write_info(info, self.stori_type, None, self.components)
        if self._images:
            self._last_obs = obs
        return obs, info

    def step(self, action):
        only = self._only
        if only is not None:
            obs, reward, terminated, truncated, info = self.env.step(only(action))
            write_info(info, self.stori_type, action, self.components)
            return obs, reward, terminated, truncated, info
        check = self._check
        # Discrete with a Python or NumPy int: a set lookup (hot path); anything else: the full check.
        if check is not None and (type(action) not in FAST_INTS or action not in self._valid):
            check(action)
        act1 = self._act1
        if act1 is not None:
            executed = act1(action)
        else:
            executed = action
            for act in self._act:
                executed = act(executed)
        obs, reward, terminated, truncated, info = self.env.step(executed)
        if self._post:
            for after in self._after:
                reward = after(executed, reward)
            for observe in self._observe:
                obs = observe(obs)
            if self._images:
                self._last_obs = obs
        write_info(info, self.stori_type, action, self.components)
        return obs, reward, terminated, truncated, info

    def render(self):
        if self._images and self.render_mode == "rgb_array" and self._last_obs is not None:
            return self._last_obs.copy()
        return self.env.render()
