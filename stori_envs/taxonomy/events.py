"""Type 2.1 as a Gymnasium wrapper (:class:`RandomEvents`); the events and their registry live in
:mod:`stori_envs.taxonomy.components.events` and are re-exported here."""

from __future__ import annotations

import gymnasium as gym

from stori_envs.taxonomy.components.events import (
    EventFactory,
    Events,
    EventSpec,
    RandomEvent,
    RewardCancel,
    StatePerturbation,
    build_event,
    event_modes,
    register_event,
)
from stori_envs.taxonomy.components.host import ComponentHost

__all__ = ["EventFactory", "EventSpec", "RandomEvent", "RandomEvents", "RewardCancel", "StatePerturbation",
           "build_event", "event_modes", "register_event"]


class RandomEvents(ComponentHost):
    """Fire a :class:`RandomEvent` around every step (hosts one :class:`~stori_envs.taxonomy.components.events.Events`).

    What changes: whatever the event acts on; ``info["stori"]["event"]`` says whether it fired.
    Its ``env.spec`` cannot record an event object: build through a profile
    (:func:`stori_envs.apply_profile`) for a stack whose spec rebuilds and serialises.
    """

    def __init__(self, env: gym.Env, event: RandomEvent, *, stori_type: str = "2.1",
                 seed_policy: str = "gymnasium", enabled: bool = True) -> None:
        self.component = Events(event, enabled=enabled, seed_policy=seed_policy)
        self.event = event
        ComponentHost.__init__(self, env, (self.component,), stori_type=stori_type)
