"""The component protocol: one stochastic knob, one class, hosted by any family at its own timing.

A component owns exactly one knob of the STORI taxonomy. It has

* ``enabled``: the on/off switch (only a :class:`~stori_envs.taxonomy.components.drift.Drift` that was
  *handed* the component flips it); a disabled component changes nothing and makes no draws;
* ``reseed(seed)``: re-derive its generator from the episode's seed (an ``int``, a
  :class:`numpy.random.SeedSequence` or None for "keep running") on the one named-stream scheme of
  :mod:`stori_envs.taxonomy.seeding`, the stream keyed by the component's ``name``;
* hooks, each a no-op in this base class, that a host calls at its own timing:

  ==================================  =============================================================
  ``on_reset(target)``                after the episode's reset; ``target`` is what events act on
  ``begin_step(action)``              once per agent step, before anything else (validation, drift clock)
  ``before_action(action) -> action`` before the action is executed (per step, or per emulator frame)
  ``after_step(action, reward)``      after the step (or ``after_frame`` after each frame); returns the reward
  ``on_observation(obs) -> obs``      on the observation the agent will receive (also at reset)
  ``info_part() -> dict``             this knob's keys of ``info["stori"]`` for the current step
  ==================================  =============================================================

and :attr:`observation_space` (None unless the knob changes the space). :func:`write_info` is the one
writer of ``info["stori"]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from stori_envs.taxonomy.seeding import SeededStream

SeedLike = int | np.random.SeedSequence | None

#: Boolean facts that compose by "or" when stori environments are stacked.
FLAG_KEYS = ("action_replaced", "event", "observation_altered")


class Component:
    """Base class of every stochastic knob (see the module docstring for the protocol).

    Args:
        name: the stream name (default: the class's ``stream_name``); two knobs of one environment
            must have different names so that enabling one never shifts the other's draws.
        enabled: the initial state of the switch (a drift's secondaries start disabled).
        seed_policy: ``"gymnasium"`` (re-seed on every seeded reset) or ``"first_reset"``.
    """

    #: Default name of the random stream.
    stream_name: ClassVar[str] = "stori"
    #: The taxonomy type this knob implements.
    stori_type: ClassVar[str] = ""
    #: The observation space after this knob (None: unchanged).
    observation_space: Any = None
    #: Whether ``begin_step`` validates the agent's action (hosts then need not check it again).
    validates_action: ClassVar[bool] = False

    def __init__(self, *, name: str | None = None, enabled: bool = True, seed_policy: str = "gymnasium") -> None:
        self.name = name or self.stream_name
        self.enabled = bool(enabled)
        self.seed_policy = seed_policy
        self._stream = SeededStream(self.name, seed_policy)
        self.rng: np.random.Generator = self._stream.rng

    # -- seeding ----------------------------------------------------------------------------------
    def reseed(self, seed: SeedLike) -> None:
        """Re-derive the generator from ``seed`` (None keeps the current stream running)."""
        rng = self._stream.reset(seed)
        if rng is not self.rng:
            self.rng = rng
            self.on_reseed()

    def on_reseed(self) -> None:
        """Called when the generator was replaced (drop anything drawn in advance from the old one)."""

    # -- hooks ------------------------------------------------------------------------------------
    def on_reset(self, target: Any) -> None:
        """Called after the environment's reset; ``target`` is the object events act on."""

    def begin_step(self, action: Any) -> None:
        """Called once per agent step with the agent's action, before any other hook."""

    def before_action(self, action: Any) -> Any:
        """Called before the action is executed (per step or per frame); returns the action to execute."""
        return action

    def step_action(self, action: Any) -> Any:
        """:meth:`begin_step` then :meth:`before_action` in one call, for hosts that execute one action
        per agent step (the generic host). Same effect; a component may override it for speed."""
        self.begin_step(action)
        return self.before_action(action)

    def after_step(self, action: Any, reward: float) -> float:
        """Called after the executed action; returns the (possibly changed) reward."""
        return reward

    def after_frame(self, action: Any, reward: float) -> float:
        """Per-frame variant of :meth:`after_step` for hosts that run several frames per step."""
        return self.after_step(action, reward)

    def on_observation(self, obs: Any) -> Any:
        """Called on each observation the agent will receive (reset and step); returns it, maybe altered."""
        return obs

    def info_part(self) -> dict[str, Any]:
        """This knob's keys of ``info["stori"]`` for the current step (:func:`write_info` copies them;
        a component may return the same dict every step, so callers read it and do not keep it)."""
        return {}

    def uses(self, hook: str) -> bool:
        """Whether a host needs to call ``hook`` on this component (default: the class overrides it).
        A component wrapping data (an event, secondaries) may answer per instance."""
        return overrides(self, hook)

    def components(self) -> tuple[Component, ...]:
        """Every component this one holds, itself included (a drift adds its secondaries)."""
        return (self,)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, enabled={self.enabled})"


def overrides(component: Component, hook: str) -> bool:
    """Whether ``component`` implements ``hook`` (hosts skip the no-op hooks of the base class)."""
    return getattr(type(component), hook) is not getattr(Component, hook)


#: ``info["stori"]``: the facts of each step, written by :func:`write_info` (the one writer).
#:
#: Keys present on every ``step`` of a stori environment (``reset`` records leave out the two action
#: keys, so that vector environments can batch the record: Gymnasium's info batching cannot mix
#: ``None`` with the integer actions of the other sub-environments):
#:
#: =====================  ==============================================================
#: ``type``               the profile's stochasticity type id (``"2.2"`` for a drift stack)
#: ``concept``            1 (default environment) or 2 (the drift's secondary concept)
#: ``action``             the action the agent chose
#: ``executed_action``    the action the environment executed (differs under type 1)
#: ``action_replaced``    whether type 1 replaced the action this step
#: ``event``              whether a type 2.1 event fired this step
#: ``observation_altered`` whether type 3.2 hid or changed part of this observation
#: =====================  ==============================================================
#:
#: Families add their own keys (e.g. ``events``, ``reward_correction`` for Atari games).
RECORD_KEYS = ("type", "concept", "action", "executed_action", "action_replaced", "event", "observation_altered")


def write_info(info: dict[str, Any], stori_type: str, action: Any = None,
               components: Sequence[Component] = (), **extra: Any) -> dict[str, Any]:
    """Write ``info["stori"]`` for one step (or reset: ``action=None``, no action keys) and return it. The one writer.

    A fresh record gets every key of :data:`RECORD_KEYS` at its neutral value, then
    each component's :meth:`~Component.info_part`, then ``extra`` (a family's own keys). When an inner
    stori environment already wrote the record (stacked stori environments), the outer one merges:
    ``type`` and ``action`` become the outer's, the flags of :data:`FLAG_KEYS` are or-ed, and
    ``executed_action`` keeps the inner value (the action that really ran).
    """
    rec = info.get("stori")
    if rec is None:
        # A reset record carries no action keys: a None among the integer actions of the other
        # sub-environments would break Gymnasium's batching of info in vector environments.
        if action is None:
            rec = info["stori"] = {"type": stori_type, "concept": 1, "action_replaced": False, "event": False,
                                   "observation_altered": False}
        else:
            rec = info["stori"] = {"type": stori_type, "concept": 1, "action": action, "executed_action": action,
                                   "action_replaced": False, "event": False, "observation_altered": False}
        for c in components:
            rec.update(c.info_part())
        if extra:
            rec.update(extra)
        return rec
    rec["type"] = stori_type
    if action is not None:
        rec["action"] = action
    parts: dict[str, Any] = {}
    for c in components:
        parts.update(c.info_part())
    parts.update(extra)
    for key, value in parts.items():
        if key in FLAG_KEYS:
            rec[key] = bool(rec.get(key)) or bool(value)
        elif key == "executed_action" and key in rec:
            continue
        else:
            rec[key] = value
    return rec
