"""Put a :class:`~stori_envs.taxonomy.profile.Profile` on any Gymnasium environment.

:func:`apply_profile` turns a profile into the wrapper stack of the taxonomy (one behaviour per
wrapper). Environment families with game knowledge (Atari) use the same components inside their
own frame loop; generic environments get exactly what can be done without such knowledge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import gymnasium as gym

from stori_envs.taxonomy.action import RandomActionReplacement
from stori_envs.taxonomy.default import DefaultObservability
from stori_envs.taxonomy.drift import ConceptDrift
from stori_envs.taxonomy.events import RandomEvents, build_event
from stori_envs.taxonomy.observation import (
    BlackoutObservation,
    CropObservation,
    FeatureDropout,
    FeatureMask,
    ObservationNoise,
)
from stori_envs.taxonomy.profile import Profile, as_profile
from stori_envs.taxonomy.state import StateExtractor, StateObservation, default_state_extractor

logger = logging.getLogger(__name__)


def build_component(env: gym.Env, profile: Profile, type_id: str, *, family: str = "generic",
                    stori_type: str | None = None, enabled: bool = True) -> gym.Env:
    """Wrap ``env`` with the single wrapper of type ``type_id`` ("1", "2.1" or "3.2") configured by ``profile``."""
    stori_type = stori_type or type_id
    common = dict(stori_type=stori_type, seed_policy=profile.semantics.seed_policy, enabled=enabled)
    if type_id == "1":
        a = profile.action
        if a.random_action_set is not None:
            raise ValueError(f"intrinsic_stochasticity.action_dependent.random_action_set: got "
                             f"{a.random_action_set!r}; allowed: only for families that define action sets "
                             "(use allowed_actions on a generic environment)")
        return RandomActionReplacement(env, a.stochastic_action_prob, a.allowed_actions, **common)
    if type_id == "2.1":
        return RandomEvents(env, build_event(family, profile.events, env), **common)
    if type_id == "3.2":
        po = profile.partial_observation
        if po.type == "crop":
            return CropObservation(env, po.mode, po.prob, po.torch_radius, **common)
        if po.type == "blackout":
            if po.regions is None:
                raise ValueError(f"partial_observation.regions: got None with blackout mode {po.mode!r}; allowed: "
                                 "a list of [x0, x1, y0, y1, color] rectangles (numbered modes need a game family)")
            return BlackoutObservation(env, po.regions, po.prob, **common)
        if po.type == "ram":
            raise ValueError("partial_observation.type: got 'ram'; allowed on this environment: crop, blackout, "
                             "mask, dropout, noise (RAM peeks need an Atari game: stori_envs.make('Breakout', ...))")
        if po.type == "mask":
            return FeatureMask(env, po.features, po.prob, po.fill, po.append_mask, **common)
        if po.type == "dropout":
            return FeatureDropout(env, po.prob, po.features, po.fill, po.append_mask, **common)
        if po.type == "noise":
            return ObservationNoise(env, po.noise_std, po.prob, po.features, **common)
    raise ValueError(f"stochasticity_type: got {type_id!r}; allowed here: '1', '2.1', '3.2'")


def apply_profile(
    env: gym.Env,
    profile: Profile | dict | str | None = None,
    *,
    family: str = "generic",
    state_extractor: StateExtractor | None = None,
    state_space: gym.Space | None = None,
    component: Callable[..., gym.Env] = build_component,
) -> gym.Env:
    """Return ``env`` wrapped so that it shows the stochasticity ``profile`` describes.

    ``component`` builds the wrapper of one type; families pass their own to add game modes.
    """
    profile = as_profile(profile)
    t = profile.stochasticity_type
    if t == "3.1":
        return DefaultObservability(env)
    if t == "0":
        if state_extractor is None:
            found = default_state_extractor(env)
            if found is None:
                raise ValueError("stochasticity_type: got '0' for an environment without a readable state; allowed: "
                                 "pass state_extractor=fn(unwrapped_env) -> array and state_space=...")
            state_extractor, state_space = found
        if state_space is None:
            raise ValueError("state_space: got None with a custom state_extractor; allowed: a gymnasium Space")
        return StateObservation(env, state_extractor, state_space)
    if t in ("1", "2.1", "3.2"):
        return component(env, profile, t, family=family)
    # 2.2: the secondary is built once, disabled, and toggled by the drift wrapper.
    d = profile.drift
    if d.skip is not None:
        logger.warning("intrinsic_stochasticity.action_independent_concept_drift.skip=%s is ignored: "
                       "thresholds always count agent steps", d.skip)
    secondary = component(env, profile, d.secondary_concept_type, family=family, stori_type="2.2", enabled=False)
    return ConceptDrift(secondary, d.temporal_threshold, d.temporal_mode,
                        switch=profile.semantics.drift_switch)
