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
#: Python and NumPy integer types: actions of these types take the inline check of Discrete spaces.
FAST_INTS = _NUMPY_INTS | {int}
_NO_VALUES: frozenset = frozenset()


def discrete_values(space: gym.Space) -> frozenset:
    """The actions of a Discrete space as a set of ints (a hash lookup is the cheapest check of a
    NumPy integer); empty (every action takes the full check) for other spaces or very large ones."""
    if isinstance(space, spaces.Discrete) and space.n <= 65536:
        return frozenset(range(int(space.start), int(space.start + space.n)))
    return _NO_VALUES


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
        if dtype is np.int64:
            # integers(start, start + n) is start + integers(n), draw for draw (the same bounded draw on
            # n - 1), already an int64: no conversion (0.3-0.4 µs less per replacement).
            stop = start + n
            return lambda rng: rng.integers(start, stop)
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
        if draw_dtype != dtype:
            return lambda rng: np.minimum(low + width * rng.random(shape, dtype=draw_dtype), high).astype(dtype)
        # (in-place ufuncs with out= measured slower on these small arrays: keyword parsing dominates)
        return lambda rng: np.minimum(low + width * rng.random(shape, dtype=draw_dtype), high)
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

        flat = len(shape) == 1
        lo0, hi0 = lows[0] if lows else 0.0, highs[0] if highs else 0.0

        def check_box(action: Any) -> None:
            if type(action) is np.ndarray and action.shape == shape:
                try:
                    if size == 1:  # e.g. InvertedPendulum: one comparison on a Python float
                        if not lo0 <= action.item() <= hi0:
                            refuse(action)
                    elif size <= 16:
                        for v, lo, hi in zip(action.tolist() if flat else action.ravel().tolist(), lows, highs):
                            if not lo <= v <= hi:  # NaN fails too
                                refuse(action)
                    elif not ((action >= low) & (action <= high)).all():
                        refuse(action)
                except TypeError:  # strings, complex numbers, None inside an object array
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
        self._valid = discrete_values(action_space)
        # Per-step facts. The per-step path (step_action) keeps them in the reused ``_part`` dict only;
        # the per-frame path (begin_step + before_action) in ``_replaced``/``_executed``.
        self._part: dict[str, Any] = {"executed_action": None, "action_replaced": False}
        self._fused = False
        self._replaced = 0
        self._executed: list[Any] = []
        self._held: Any = None

    @property
    def replaced(self) -> int:
        """How many :meth:`before_action` calls of the current step executed a random action."""
        return int(self._part["action_replaced"]) if self._fused else self._replaced

    @replaced.setter
    def replaced(self, value: int) -> None:
        self._fused = False
        self._replaced = int(value)

    @property
    def executed(self) -> list[Any]:
        """The actions executed during the current step (one per :meth:`before_action` call)."""
        return [self._part["executed_action"]] if self._fused else self._executed

    def step_action(self, action: Any) -> Any:
        """begin_step + before_action for one action per step, with the Discrete check inline (the
        generic host's hot path: one call instead of three; the same draws)."""
        if self.hold:
            return super().step_action(action)
        if type(action) not in FAST_INTS or action not in self._valid:
            self.check(action)
        part = self._part
        if self.enabled and self.rng.random() < self.p:
            action = self.sample(self.rng)
            part["action_replaced"] = True
        else:
            part["action_replaced"] = False
        part["executed_action"] = action
        self._fused = True
        return action

    def begin_step(self, action: Any) -> None:
        self.check(action)
        self._fused = False
        self._replaced = 0
        self._executed = []
        self._held = None
        if self.hold and self.enabled and self.rng.random() < self.p:
            self._held = self.sample(self.rng)

    def on_reset(self, target: Any) -> None:
        self._fused = False
        self._replaced = 0
        self._executed = []

    def before_action(self, action: Any) -> Any:
        if self.enabled:
            if self.hold:
                if self._held is not None:
                    action = self._held
                    self._replaced += 1
            elif self.rng.random() < self.p:
                action = self.sample(self.rng)
                self._replaced += 1
        self._fused = False
        self._executed.append(action)
        return action

    def info_part(self) -> dict[str, Any]:
        if self._fused:  # filled by step_action (a reused dict: read it, do not keep it)
            return self._part
        if not self._executed:  # reset, or a step that executed nothing
            return {"action_replaced": False}
        return {"executed_action": self._executed[-1], "action_replaced": self._replaced > 0}
