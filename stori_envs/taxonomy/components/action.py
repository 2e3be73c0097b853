"""Type 1, action-dependent stochasticity: the executed action is sometimes a uniform random one.

Family knowledge is data: the action space, an optional subset of actions to draw from
(``allowed_actions``) or a ready ``sampler`` (e.g. a game's named action set). The agent's action is
checked against the action space at every :meth:`~ActionReplacement.begin_step`, enabled or not, so
an out-of-space action is refused every time, not only when it happens to be executed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from stori_envs.taxonomy.components.base import Component

ActionSampler = Callable[[np.random.Generator], Any]
ActionCheck = Callable[[Any], None]
_NUMPY_INTS = frozenset(np.dtype(c).type for c in "bBhHiIlLqQ")
#: Python and NumPy integer types: actions of these types take the inline range check of Discrete spaces.
FAST_INTS = _NUMPY_INTS | {int}


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


def action_check(space: gym.Space, field: str = "action") -> ActionCheck:
    """A function raising ``ValueError`` (``action: got X; allowed: ...``) for an action outside ``space``.

    Python ints on a Discrete space take a fast path (a range check); everything else goes through
    ``space.contains``, so what Gymnasium accepts is accepted (NumPy integers, 0-d integer arrays).
    """
    def refuse(action: Any) -> None:
        raise ValueError(f"{field}: got {action!r}; allowed: an element of the action space {space}")

    if isinstance(space, spaces.Discrete):
        lo, hi, contains = int(space.start), int(space.start + space.n), space.contains

        def check_discrete(action: Any) -> None:
            if type(action) is int or type(action) in _NUMPY_INTS:
                if not lo <= action < hi:
                    refuse(action)
            elif not contains(action):
                refuse(action)

        return check_discrete
    contains = space.contains
    if isinstance(space, spaces.Box) and np.issubdtype(space.dtype, np.floating):
        # Fast path for arrays of the right shape (any real dtype: a float64 action on a float32 space is
        # accepted, as Gymnasium environments do): the bounds compared on Python floats for small
        # actions (about 0.5 µs against 4-10 µs for Box.contains); NaN fails every comparison.
        shape, size, low, high = space.shape, int(np.prod(space.shape)), space.low, space.high
        lows, highs = low.ravel().tolist(), high.ravel().tolist()

        def check_box(action: Any) -> None:
            if type(action) is np.ndarray and action.shape == shape and action.dtype.kind in "fiu":
                if size <= 16:
                    for v, lo, hi in zip(action.ravel().tolist(), lows, highs):
                        if not lo <= v <= hi:
                            refuse(action)
                elif not ((action >= low) & (action <= high)).all():
                    refuse(action)
                return
            try:
                ok = contains(action)
            except Exception:  # noqa: BLE001 - foreign types
                ok = False
            if not ok:
                refuse(action)

        return check_box

    def check(action: Any) -> None:
        try:
            ok = contains(action)
        except Exception:  # noqa: BLE001 - some spaces raise on foreign types instead of returning False
            ok = False
        if not ok:
            refuse(action)

    return check


class ActionReplacement(Component):
    """With probability ``p``, the executed action is a uniform random one instead of the agent's.

    What changes: the executed action (``info["stori"]``: ``executed_action``, ``action_replaced``).
    Why: STORI type 1, the environment's response depends on the action in a way the agent cannot
    control (actuator errors, slips).

    ``hold=False``: one coin per :meth:`before_action` call (per step for the generic host, per emulator
    frame for a frame-loop host), each replacement drawn afresh. ``hold=True``: one coin per agent step
    in :meth:`begin_step`, the random action held for every call of that step. Per step the component
    counts ``replaced`` calls and logs ``executed`` (a list) for hosts that report them.
    """

    stream_name = "action"
    stori_type = "1"
    validates_action = True

    def __init__(self, action_space: gym.Space, p: float, allowed_actions: Sequence[int] | None = None, *,
                 sampler: ActionSampler | None = None, hold: bool = False, name: str | None = None,
                 enabled: bool = True, seed_policy: str = "gymnasium") -> None:
        super().__init__(name=name, enabled=enabled, seed_policy=seed_policy)
        self.action_space = action_space
        self.p = float(p)
        self.hold = bool(hold)
        self.sample = sampler if sampler is not None else action_sampler(action_space, allowed_actions)
        self.check = action_check(action_space)
        if isinstance(action_space, spaces.Discrete):
            self._lo, self._hi = int(action_space.start), int(action_space.start + action_space.n)
        else:
            self._lo = self._hi = None
        self.replaced = 0
        self.executed: list[Any] = []
        self._held: Any = None
        self._last: Any = None

    def step_action(self, action: Any) -> Any:
        """begin_step + before_action for one action per step, with the Discrete range check inline
        (the generic host's hot path: one call instead of three)."""
        if self.hold:
            return super().step_action(action)
        lo = self._lo
        if lo is None or type(action) not in FAST_INTS or not lo <= action < self._hi:
            self.check(action)
        if self.enabled and self.rng.random() < self.p:
            action = self.sample(self.rng)
            self.replaced = 1
        else:
            self.replaced = 0
        self.executed = [action]
        self._last = action
        return action

    def begin_step(self, action: Any) -> None:
        self.check(action)
        self.replaced = 0
        self.executed = []
        self._held = None
        if self.hold and self.enabled and self.rng.random() < self.p:
            self._held = self.sample(self.rng)

    def on_reset(self, target: Any) -> None:
        self.replaced = 0
        self.executed = []
        self._last = None

    def before_action(self, action: Any) -> Any:
        if self.enabled:
            if self.hold:
                if self._held is not None:
                    action = self._held
                    self.replaced += 1
            elif self.rng.random() < self.p:
                action = self.sample(self.rng)
                self.replaced += 1
        self.executed.append(action)
        self._last = action
        return action

    def info_part(self) -> dict[str, Any]:
        if not self.executed:  # reset, or a step that executed nothing
            return {"action_replaced": False}
        return {"executed_action": self._last, "action_replaced": self.replaced > 0}
