"""Put a :class:`~stori_envs.taxonomy.profile.Profile` on any Gymnasium environment.

:func:`build_components` turns a profile into the components of the generic family (one per knob,
:mod:`stori_envs.taxonomy.components`); :func:`apply_profile` hosts them in one
:class:`ApplyProfile` wrapper, which records only data (the profile as a dict and the family name),
so ``env.spec`` rebuilds the stack and ``env.spec.to_json()`` works for every type.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import gymnasium as gym

from stori_envs.taxonomy.components.action import ActionReplacement
from stori_envs.taxonomy.components.base import Component
from stori_envs.taxonomy.components.drift import Drift
from stori_envs.taxonomy.components.events import Events, build_event
from stori_envs.taxonomy.components.host import ComponentHost
from stori_envs.taxonomy.components.observation import (
    Blackout,
    Crop,
    Dropout,
    Mask,
    Noise,
    require_image,
)
from stori_envs.taxonomy.components.state import State, StateExtractor, default_state_extractor
from stori_envs.taxonomy.profile import Profile, as_profile

logger = logging.getLogger(__name__)


def build_component(env: gym.Env, profile: Profile, type_id: str, *, family: str = "generic",
                    enabled: bool = True) -> Component:
    """The single component of type ``type_id`` ("1", "2.1" or "3.2") configured by ``profile`` for ``env``."""
    common: dict[str, Any] = dict(seed_policy=profile.semantics.seed_policy, enabled=enabled)
    if type_id == "1":
        a = profile.action
        if a.random_action_set is not None:
            raise ValueError(f"intrinsic_stochasticity.action_dependent.random_action_set: got "
                             f"{a.random_action_set!r}; allowed: only for families that define action sets "
                             "(use allowed_actions on a generic environment)")
        return ActionReplacement(env.action_space, a.stochastic_action_prob, a.allowed_actions, **common)
    if type_id == "2.1":
        return Events(build_event(family, profile.events, env), **common)
    if type_id == "3.2":
        po, space = profile.partial_observation, env.observation_space
        if po.type == "crop":
            h, w, _ = require_image(space, "crop")
            return Crop(h, w, po.mode, po.prob, po.torch_radius, **common)
        if po.type == "blackout":
            if po.regions is None:
                raise ValueError(f"partial_observation.regions: got None with blackout mode {po.mode!r}; allowed: "
                                 "a list of [x0, x1, y0, y1, color] rectangles (numbered modes need a game family)")
            h, w, c = require_image(space, "blackout")
            return Blackout(h, w, c, po.regions, po.prob, space.dtype, **common)
        if po.type == "ram":
            raise ValueError("partial_observation.type: got 'ram'; allowed on this environment: crop, blackout, "
                             "mask, dropout, noise (RAM peeks need an Atari game: stori_envs.make('Breakout', ...))")
        if po.type == "mask":
            return Mask(space, po.features, po.prob, po.fill, po.append_mask, **common)
        if po.type == "dropout":
            return Dropout(space, po.prob, po.features, po.fill, po.append_mask, **common)
        if po.type == "noise":
            return Noise(space, po.noise_std, po.prob, po.features, **common)
    raise ValueError(f"stochasticity_type: got {type_id!r}; allowed here: '1', '2.1', '3.2'")


def build_components(env: gym.Env, profile: Profile, *, family: str = "generic",
                     state_extractor: StateExtractor | None = None,
                     state_space: gym.Space | None = None) -> tuple[Component, ...]:
    """The components of ``profile`` on ``env`` (empty for type 3.1; a :class:`Drift` over its secondary for 2.2)."""
    t = profile.stochasticity_type
    if t == "3.1":
        return ()
    if t == "0":
        if state_extractor is None:
            found = default_state_extractor(env)
            if found is None:
                raise ValueError("stochasticity_type: got '0' for an environment without a readable state; allowed: "
                                 "pass state_extractor=fn(unwrapped_env) -> array and state_space=...")
            state_extractor, state_space = found
        if state_space is None:
            raise ValueError("state_space: got None with a custom state_extractor; allowed: a gymnasium Space")
        return (State(state_extractor, state_space),)
    if t in ("1", "2.1", "3.2"):
        return (build_component(env, profile, t, family=family),)
    d = profile.drift
    if d.skip is not None:
        logger.warning("intrinsic_stochasticity.action_independent_concept_drift.skip=%s is ignored: "
                       "thresholds always count agent steps", d.skip)
    secondary = build_component(env, profile, d.secondary_concept_type, family=family, enabled=False)
    return (Drift([secondary], d.temporal_threshold, d.temporal_mode, switch=profile.semantics.drift_switch),)


class ApplyProfile(ComponentHost, gym.utils.RecordConstructorArgs):
    """``env`` under ``profile``: the profile's components hosted around every step.

    What changes: whatever the profile's knobs change (see :mod:`stori_envs.taxonomy.components`);
    ``info["stori"]`` on every reset and step. Recorded for ``env.spec``: ``profile`` (a dict) and
    ``family``; a custom type-0 ``state_extractor`` is recorded as given (a spec holding a function
    rebuilds in the same process but does not serialise).
    """

    def __init__(self, env: gym.Env, profile: Profile | dict | str | None = None, *, family: str = "generic",
                 state_extractor: StateExtractor | None = None, state_space: gym.Space | None = None) -> None:
        profile = as_profile(profile)
        recorded: dict[str, Any] = {"profile": profile.to_dict(), "family": family}
        if state_extractor is not None:
            recorded.update(state_extractor=state_extractor, state_space=state_space)
        gym.utils.RecordConstructorArgs.__init__(self, **recorded)
        self.profile = profile
        components = build_components(env, profile, family=family, state_extractor=state_extractor,
                                      state_space=state_space)
        ComponentHost.__init__(self, env, components, stori_type=profile.stochasticity_type)
        #: Set by the ``stori/Stochastic-v0`` entry point, whose inner ``gym.make`` already added the
        #: inner id's TimeLimit: the spec then says ``max_episode_steps=None`` so that rebuilding it
        #: (``gym.make(env.spec)``) does not nest a second TimeLimit.
        self.time_limit_inside = False

    @property
    def spec(self):  # type: ignore[override]
        spec = super().spec
        if spec is not None and self.time_limit_inside and spec.max_episode_steps is not None:
            spec = copy.deepcopy(spec)
            spec.max_episode_steps = None
            self._cached_spec = spec
        return spec


def apply_profile(env: gym.Env, profile: Profile | dict | str | None = None, *, family: str = "generic",
                  state_extractor: StateExtractor | None = None, state_space: gym.Space | None = None) -> gym.Env:
    """Return ``env`` wrapped so that it shows the stochasticity ``profile`` describes (one :class:`ApplyProfile`)."""
    return ApplyProfile(env, profile, family=family, state_extractor=state_extractor, state_space=state_space)
