"""The base of the Atari games' random events (type 2.1), run on every emulator frame.

The engine calls ``before(env, action, rng)`` and ``after(env, action, reward, rng)`` around each
emulated frame, where ``env`` is the :class:`~stori_envs.atari.env.AtariStoriEnv` (its ``ale``,
``baseline_ram``, ``ledger`` and ``frame_in_step``) and ``action`` the index actually executed. Events
*track* every frame but *act* only while ``enabled`` (concept drift switches it), so once-per-episode
flags and pairings stay right across switches.

Unconditional events (a coin every frame, e.g. Boxing's colour flip) draw through :meth:`AtariEvent.coin`,
which under ``semantics.granularity="agent_step"`` draws only on the first frame of each agent step
(per-step probability ``p`` instead of ``1-(1-p)^k``). Event-triggered cancels draw once per detected
event on whatever frame it happens.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stori_envs.taxonomy.events import RandomEvent, register_event
from stori_envs.taxonomy.profile import ActionIndependentRandom


class AtariEvent(RandomEvent):
    """A per-frame Atari event. ``fixes`` selects the corrected mechanics (``semantics.game_fixes``)."""

    def __init__(self, p: float, *, per_step: bool = False, fixes: bool = True) -> None:
        super().__init__(p)
        self.enabled = True
        self.per_step = per_step
        self.fixes = fixes
        self.draws = 0  # coins drawn so far (for rate checks: fired / draws estimates p)

    def draw(self, rng: np.random.Generator) -> bool:
        """One coin with probability ``p``."""
        self.draws += 1
        return rng.random() < self.p

    def coin(self, env: Any, rng: np.random.Generator) -> bool:
        """The draw of an unconditional event: every frame, or once per agent step."""
        if self.per_step and env.frame_in_step:
            return False
        return self.draw(rng)


class GatedEvent(AtariEvent):
    """Runs a generic :class:`RandomEvent` (e.g. ``reward_cancel``) per frame, only while enabled."""

    def __init__(self, event: RandomEvent) -> None:
        super().__init__(event.p)
        self.event = event
        self.name = event.name

    def reset(self, env, rng):
        self.event.reset(env, rng)

    def before(self, env, action, rng):
        return self.enabled and self.event.before(env, action, rng)

    def after(self, env, action, reward, rng):
        if not self.enabled:
            return reward, False
        return self.event.after(env, action, reward, rng)


def register_atari_event(family: str, mode: str, cls: type[AtariEvent] | None, description: str) -> None:
    """Register 2.1 ``mode`` of a game; ``cls=None`` is the "no event" mode 0."""

    def factory(settings: ActionIndependentRandom, env: Any) -> AtariEvent | None:
        if cls is None:
            return None
        sem = env.semantics
        return cls(settings.random_stochasticity_prob, per_step=sem.granularity == "agent_step",
                   fixes=sem.game_fixes)

    register_event(family, mode, factory, description)
