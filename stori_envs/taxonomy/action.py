"""Type 1, action-dependent stochasticity: the executed action is sometimes a random one."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from stori_envs.taxonomy.base import StoriWrapper
from stori_envs.taxonomy.record import stori_record

ActionSampler = Callable[[np.random.Generator], Any]


def action_sampler(space: gym.Space, allowed: Sequence[int] | None = None) -> ActionSampler:
    """A function drawing a uniform action of ``space`` (or of the ``allowed`` subset) from a given generator.

    Discrete, MultiDiscrete and bounded Box spaces are sampled directly from the generator; any other
    space is sampled through a private copy re-seeded from the generator, so draws stay on our stream.
    """
    if allowed is not None:
        if not isinstance(space, spaces.Discrete):
            raise ValueError(f"intrinsic_stochasticity.action_dependent.allowed_actions: got {list(allowed)!r} "
                             f"for action space {space}; allowed: only with a Discrete action space")
        lo, hi = int(space.start), int(space.start + space.n)
        bad = [a for a in allowed if not lo <= a < hi]
        if bad:
            raise ValueError(f"intrinsic_stochasticity.action_dependent.allowed_actions: got {list(allowed)!r}; "
                             f"allowed: actions in [{lo}, {hi - 1}]")
        choices = np.asarray(allowed, dtype=space.dtype)
        n = len(choices)
        return lambda rng: choices[rng.integers(n)]
    if isinstance(space, spaces.Discrete):
        start, n, dtype = int(space.start), int(space.n), space.dtype.type
        return lambda rng: dtype(start + rng.integers(n))
    if isinstance(space, spaces.MultiDiscrete):
        start, nvec, dtype = space.start, space.nvec, space.dtype
        return lambda rng: (start + rng.integers(nvec)).astype(dtype)
    if isinstance(space, spaces.Box) and space.is_bounded("both"):
        low, high, dtype = space.low, space.high, space.dtype
        if np.issubdtype(dtype, np.integer):
            return lambda rng: rng.integers(low, high, endpoint=True).astype(dtype)
        # One fused draw in the space's dtype; the clip guards against rounding up to just above high.
        width, shape = (high - low).astype(dtype), space.shape
        draw_dtype = dtype if dtype in (np.float32, np.float64) else np.float64
        return lambda rng: np.minimum(low + width * rng.random(shape, dtype=draw_dtype), high).astype(dtype, copy=False)
    private = copy.deepcopy(space)

    def sample(rng: np.random.Generator) -> Any:
        private.seed(int(rng.integers(2**63)))
        return private.sample()

    return sample


class RandomActionReplacement(StoriWrapper):
    """With probability ``p``, replace the agent's action by a uniform random action before executing it.

    What changes: the executed action (reported as ``info["stori"]["executed_action"]`` together with
    the intended ``action`` and ``action_replaced``). Why: STORI type 1, the environment's response
    depends on the action in a way the agent cannot control (actuator errors, slips).

    One coin per step decides; a replaced action is drawn from the same ``"action"`` stream.
    """

    stream_name = "action"

    def __init__(
        self,
        env: gym.Env,
        p: float,
        allowed_actions: Sequence[int] | None = None,
        *,
        stori_type: str = "1",
        seed_policy: str = "gymnasium",
        enabled: bool = True,
    ) -> None:
        super().__init__(env, stori_type=stori_type, seed_policy=seed_policy, enabled=enabled,
                         p=p, allowed_actions=allowed_actions)
        self.p = float(p)
        self._sample = action_sampler(env.action_space, allowed_actions)

    def step(self, action):
        executed, replaced = action, False
        if self.enabled and self.rng.random() < self.p:
            executed, replaced = self._sample(self.rng), True
        obs, reward, terminated, truncated, info = self.env.step(executed)
        rec = stori_record(info, self.stori_type, action)
        rec["action"] = action
        rec["executed_action"] = executed
        rec["action_replaced"] = replaced
        return obs, reward, terminated, truncated, info
