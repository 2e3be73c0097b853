"""The Atari family's components on the shared protocol (:mod:`stori_envs.taxonomy.components`).

The engine hosts the shared knobs themselves: type 1 is
:class:`~stori_envs.taxonomy.components.ActionReplacement` called per emulator frame, the 3.2 fills
are :class:`~stori_envs.taxonomy.components.Crop` and :class:`~stori_envs.taxonomy.components.Blackout`
on the engine's frame buffers, drift is :class:`~stori_envs.taxonomy.components.Drift`. Game knowledge
is data handed to them (action sets, regions). Two pieces are Atari's own, because only an emulator
has them:

* :class:`RamPeek` (3.2 ``ram``): hides by showing what the screen would look like with a few RAM
  bytes changed (:mod:`stori_envs.atari.peek`); the bytes are the game's data (:class:`RamPeekMode`).
* :class:`FrameEvents` (2.1): the shared :class:`~stori_envs.taxonomy.components.Events` whose event
  keeps *tracking* every frame while disabled (once-per-episode flags, pairings, Boxing's colours
  restored when concept 1 returns) and *acts* only while enabled.

:func:`build_components` turns a profile into these components for one engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from stori_envs.atari.events import AtariEvent, GatedEvent
from stori_envs.atari.game import RamPeekMode, Write
from stori_envs.atari.peek import effective_writes, lookahead_frames, lookahead_peek, lookahead_pooled
from stori_envs.taxonomy.components import (
    ActionReplacement,
    Blackout,
    Component,
    Crop,
    Drift,
    Events,
    Occlusion,
    build_event,
)
from stori_envs.taxonomy.profile import IMAGE_OBSERVATION_TYPES, Profile


class RamPeek(Occlusion):
    """Type 3.2 ``ram``: with ``p``, the observed frame is drawn with the mode's RAM bytes written.

    The host decides the timing (one coin per observation or per pooled frame, look-ahead or in-frame)
    and calls :meth:`hide`, :meth:`writes`, :meth:`peek` or :meth:`peek_pooled`.
    """

    def __init__(self, mode: RamPeekMode, p: float, *, in_frame: bool = False, **kwargs: Any) -> None:
        super().__init__(p, **kwargs)
        self.mode = mode
        self.in_frame = bool(in_frame)

    def writes(self, ale) -> list[Write]:
        """The RAM writes of the peek now, keeping only those that change a byte (empty: nothing to hide)."""
        mode = self.mode
        return effective_writes(ale, mode.dynamic(ale.getRAM()) if mode.dynamic is not None else mode.writes)

    def peek(self, ale, noop, out: np.ndarray) -> bool:
        """Fill ``out`` with the one-frame look-ahead peek; False (``out`` unspecified) when it hides nothing:
        no byte to change, or the game rewrote the bytes before drawing them."""
        writes = self.writes(ale)
        return bool(writes) and lookahead_peek(ale, writes, noop, out, verify=not self.mode.always_effective)

    def peek_pooled(self, ale, noop, outs: Sequence[np.ndarray], writes: Sequence[Write] | None = None) -> bool:
        """Fill ``outs`` with consecutive look-ahead frames from the current state; False (``outs``
        unspecified) when the peek hides nothing (see :meth:`peek`). ``writes``: :meth:`writes` if
        already computed. A state-dependent mode recomputes its writes before each frame."""
        writes = self.writes(ale) if writes is None else writes
        if not writes:
            return False
        return lookahead_frames(ale, self._writes_now(ale, writes), noop, outs, verify=not self.mode.always_effective)

    def lookahead_pooled(self, ale, noop, pool, writes: Sequence[Write]) -> None:
        """The two look-ahead frames of :meth:`peek_pooled`, read through ``pool`` (a
        :class:`~stori_envs.atari.emulator.FramePool`), for a mode whose ``writes`` (non-empty) always show."""
        lookahead_pooled(ale, self._writes_now(ale, writes), noop, pool)

    def _writes_now(self, ale, writes: Sequence[Write]):
        """What to write before each look-ahead frame: ``writes``, or recomputed for a state-dependent mode."""
        return (lambda: self.writes(ale)) if self.mode.dynamic is not None else (lambda: writes)

    def alter(self, obs: Any) -> Any:
        raise TypeError("RamPeek needs the emulator: it is hosted by the Atari frame loop, not on_observation")


class FrameEvents(Events):
    """2.1 on Atari: the game's event runs before and after every emulator frame, enabled or not.

    The switch lives on the event (``event.enabled``): an Atari event tracks every frame and acts only
    while enabled, so a drift that turns it on mid-episode finds its pairings and flags up to date.
    """

    def __init__(self, event: AtariEvent, **kwargs: Any) -> None:
        self._event = event
        super().__init__(event, **kwargs)

    @property  # type: ignore[override]
    def enabled(self) -> bool:
        return self._event.enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._event.enabled = bool(value)

    def before_action(self, action: Any) -> Any:
        if self.event.before(self.target, action, self.rng):
            self.fired += 1
        return action

    def after_frame(self, action: Any, reward: float) -> float:
        reward, fired = self.event.after(self.target, action, reward, self.rng)
        self.fired += fired
        return reward

    after_step = after_frame


def build_components(env: Any, profile: Profile, height: int, width: int) -> tuple[Component | None, Drift | None]:
    """The knob of ``profile`` for the engine ``env`` (None for types 0 and 3.1), and the drift holding it
    (2.2: the knob is built disabled and handed to a :class:`Drift`, which switches only it)."""
    sem = profile.semantics
    t = profile.stochasticity_type
    kind = profile.drift.secondary_concept_type if t == "2.2" else t
    common = dict(enabled=t != "2.2", seed_policy=sem.seed_policy)
    knob: Component | None = None
    if kind == "1":
        a = profile.action
        if a.allowed_actions is not None and a.random_action_set is not None:
            raise ValueError("intrinsic_stochasticity.action_dependent.random_action_set: got "
                             f"{a.random_action_set!r} together with allowed_actions; allowed: one of the two")
        if a.allowed_actions is not None:
            allowed = a.allowed_actions
        else:  # the game's named sets index its minimal action set
            named = env.game.action_set(a.random_action_set)
            allowed = None if named is None else [env.minimal_to_index[i] for i in named]
        knob = ActionReplacement(env.action_space, a.stochastic_action_prob, allowed,
                                 hold=sem.granularity == "agent_step", **common)
    elif kind == "2.1":
        event = build_event(env.game.family, profile.events, env)
        if event is not None:
            if not isinstance(event, AtariEvent):
                event = GatedEvent(event)
            knob = FrameEvents(event, **common)
    elif kind == "3.2":
        knob = _hider(env, profile, height, width, common)
    drift = None
    if t == "2.2" and knob is not None:
        d = profile.drift
        drift = Drift([knob], d.temporal_threshold, d.temporal_mode, switch=sem.drift_switch, forward=False)
    return knob, drift


def _hider(env: Any, profile: Profile, height: int, width: int, common: dict[str, Any]) -> Occlusion | None:
    po, sem = profile.partial_observation, profile.semantics
    if po.type not in IMAGE_OBSERVATION_TYPES:
        raise ValueError(f"partial_observation.type: got {po.type!r}; allowed on Atari: "
                         + ", ".join(IMAGE_OBSERVATION_TYPES))
    if po.type == "crop":
        return None if po.mode == "0" else Crop(height, width, po.mode, po.prob, po.torch_radius, **common)
    if po.type == "blackout":
        rects = po.regions if po.regions is not None else env.game.blackout(po.mode).regions
        return Blackout(height, width, 3, rects, po.prob, **common) if rects else None
    mode = env.game.ram_mode(po.mode)
    if po.mode == "0":
        return None
    in_frame = sem.ram_peek == "in_frame"
    if in_frame and not mode.in_frame:
        allowed = [m for m, spec in env.game.ram_modes.items() if spec.in_frame]
        raise ValueError(f"semantics.ram_peek: got 'in_frame' for {env.game.name} ram mode {po.mode!r}; allowed: "
                         "'lookahead', or 'in_frame' with the modes proven equivalent "
                         f"({', '.join(allowed) or 'none'})")
    return RamPeek(mode, po.prob, in_frame=in_frame, **common)
