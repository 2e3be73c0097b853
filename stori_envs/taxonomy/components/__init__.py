"""The component protocol: each stochastic knob of the taxonomy is one component, hosted by every family.

Contract (stable; changes are additive only):

* One class per knob, one job: :class:`~.action.ActionReplacement` (type 1), :class:`~.events.Events`
  (2.1, around a :class:`~.events.RandomEvent`), :class:`~.drift.Drift` (2.2), :class:`~.observation.Crop`,
  :class:`~.observation.Blackout`, :class:`~.observation.Mask`, :class:`~.observation.Dropout`,
  :class:`~.observation.Noise` (3.2) and :class:`~.state.State` (0). All derive from
  :class:`~.base.Component`.
* ``component.enabled``: the switch. Only a :class:`~.drift.Drift` that was handed the component flips
  it; nothing walks a wrapper chain. A disabled component changes nothing and draws nothing.
* ``component.reseed(seed)``: the host calls it at every reset, before resetting its simulator, with the
  reset's seed (``int``, :class:`numpy.random.SeedSequence` or ``None`` = keep the stream running).
  One seeding scheme: the named streams of :mod:`stori_envs.taxonomy.seeding`, keyed by
  ``component.name`` (default ``"action"``, ``"events"``, ``"observation"``; pass ``name=`` to have two
  knobs of one kind). ``seed_policy="first_reset"`` seeds once only.
* Hooks (no-ops unless overridden; hosts call them at their own timing):
  ``on_reset(target)`` after the reset (``target``: what events act on, e.g. ``env.unwrapped``),
  ``begin_step(action)`` once per agent step first (type 1 validates the agent's action here,
  every time, enabled or not; a drift advances its clock), ``before_action(action) -> action``
  before executing (per step or per emulator frame), ``after_step(action, reward) -> reward``
  (or ``after_frame`` per frame), ``on_observation(obs) -> obs`` (reset and step), and
  ``info_part() -> dict``, this knob's keys of ``info["stori"]`` (possibly a reused dict: read it).
  Hosts that execute one action per step may call ``step_action(action)`` (= ``begin_step`` then
  ``before_action``, fused for speed) and skip the hooks for which ``uses(hook)`` is False.
* :func:`~.base.write_info` ``(info, stori_type, action, components, **extra)`` is the one writer of
  ``info["stori"]``: neutral keys, then each ``info_part()``, then the family's ``extra`` keys; over a
  record an inner stori environment wrote, it merges (flags or-ed, inner ``executed_action`` kept).
* Family knowledge is data handed to a constructor (an action space and ``allowed_actions`` or a
  ``sampler``; image size and ``regions``; ``features`` such as a simulator's labs; a
  :class:`~.events.RandomEvent` acting on the family's target), never a second implementation.
* :class:`~.drift.Drift` ``(components, threshold, temporal_mode, switch=, clock=)`` is built over
  secondaries created with ``enabled=False``; it forwards every hook to them and toggles only them.

How a family hosts components (a frame-loop host calls the same hooks per emulator frame)::

    from stori_envs.taxonomy.components import ActionReplacement, Drift, Noise, write_info

    class MySim(gym.Env):
        def __init__(self):
            ...
            noise = Noise(self.observation_space, std=0.1, p=1.0, features=LABS, enabled=False)
            self.components = (ActionReplacement(self.action_space, 0.1), Drift([noise], threshold=100))

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            for c in self.components:
                c.reseed(seed)
            obs = self._simulate_reset()
            for c in self.components:
                c.on_reset(self)
                obs = c.on_observation(obs)
            info = {}
            write_info(info, "2.2", None, self.components)
            return obs, info

        def step(self, action):
            for c in self.components:
                c.begin_step(action)            # raises ValueError for an out-of-space action
            reward = 0.0
            for frame in range(self.frameskip):  # the host's own timing
                executed = action
                for c in self.components:
                    executed = c.before_action(executed)
                r = self._simulate_frame(executed)
                for c in self.components:
                    r = c.after_frame(executed, r)
                reward += r
            obs = self._observe()
            for c in self.components:
                obs = c.on_observation(obs)
            info = {}
            write_info(info, "2.2", action, self.components, frames=self.frameskip)
            return obs, reward, False, False, info

Generic Gymnasium environments are hosted by :class:`~.host.ComponentHost` (a wrapper doing the above
once per step); :func:`stori_envs.taxonomy.build.build_components` turns a profile into the components
of the generic family, and :func:`stori_envs.apply_profile` hosts them.
"""

from __future__ import annotations

from stori_envs.taxonomy.components.action import ActionReplacement, action_check, action_sampler
from stori_envs.taxonomy.components.base import FLAG_KEYS, Component, overrides, write_info
from stori_envs.taxonomy.components.drift import Drift, concept_two_active
from stori_envs.taxonomy.components.events import (
    Events,
    RandomEvent,
    RewardCancel,
    StatePerturbation,
    build_event,
    event_modes,
    register_event,
)
from stori_envs.taxonomy.components.host import ComponentHost
from stori_envs.taxonomy.components.observation import Blackout, Crop, Dropout, Mask, Noise, Occlusion, image_shape
from stori_envs.taxonomy.components.state import State, default_state_extractor

__all__ = [
    "FLAG_KEYS",
    "ActionReplacement",
    "Blackout",
    "Component",
    "ComponentHost",
    "Crop",
    "Drift",
    "Dropout",
    "Events",
    "Mask",
    "Noise",
    "Occlusion",
    "RandomEvent",
    "RewardCancel",
    "State",
    "StatePerturbation",
    "action_check",
    "action_sampler",
    "build_event",
    "concept_two_active",
    "default_state_extractor",
    "event_modes",
    "image_shape",
    "overrides",
    "register_event",
    "write_info",
]
