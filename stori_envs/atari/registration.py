"""Make Atari games under a profile, and register their Gymnasium ids and the ``atari`` family.

* ``stori_envs.make("Breakout", profile)`` / ``stori_envs.make("ALE/Breakout-v5", profile)``
* ``gym.make("stori/Breakout-v0", profile=...)``: one parametric id per game, any profile (or a preset name)
* ``gym.make("stori/Breakout-T3.2A-v0")``: every preset of the paper, plus type 0 (``-T0-``)

Keyword arguments go to :class:`~stori_envs.atari.env.AtariStoriEnv` (``frameskip``, ``pool``,
``obs_type``, ``grayscale``, ``screen_size``, ...). ``semantics="paper"`` (or a dict of semantics
rows) replaces the profile's semantics section, e.g. to run a preset with the paper's semantics.
"""

from __future__ import annotations

import logging
from typing import Any

import gymnasium as gym

from stori_envs.atari.game import game_for, games
from stori_envs.atari.presets import PRESETS, preset_id, preset_profile
from stori_envs.families import Family, register_family
from stori_envs.registration import NAMESPACE, register_env
from stori_envs.taxonomy.profile import Profile, as_profile

logger = logging.getLogger(__name__)


def _profile(game: str, profile: Any, semantics: str | dict | None) -> Profile:
    if isinstance(profile, str) and not profile.endswith((".json", ".toml")):
        profile = preset_profile(game, profile)
    if semantics is None:
        return as_profile(profile)
    if isinstance(semantics, str):
        semantics = {"profile": semantics}
    if not isinstance(semantics, dict):
        raise ValueError(f"semantics: got {semantics!r}; allowed: 'clean', 'paper' or a dict of semantics rows")
    data = as_profile(profile).to_dict()
    data["semantics"] = dict(semantics)
    return Profile.parse(data)


def make_atari(game: str, profile: Profile | dict | str | None = None, *, semantics: str | dict | None = None,
               **kwargs: Any) -> gym.Env:
    """Build ``game`` under ``profile`` (a profile in any form, or a preset name such as ``"3.2A"``).

    Type 2.2 gets the core :class:`~stori_envs.taxonomy.drift.ConceptDrift` around the engine, which
    switches the engine's ``drift_components`` (built once, disabled) by agent step.
    """
    from stori_envs.atari.env import AtariStoriEnv
    from stori_envs.taxonomy.drift import ConceptDrift

    found = game_for(game)
    if found is None:
        raise ValueError(f"game: got {game!r}; allowed: " + ", ".join(g.name for g in games().values()))
    profile = _profile(found.name, profile, semantics)
    env: gym.Env = AtariStoriEnv(found, profile, **kwargs)
    if profile.stochasticity_type == "2.2":
        d = profile.drift
        if d.skip is not None:
            logger.warning("intrinsic_stochasticity.action_independent_concept_drift.skip=%s is ignored: "
                           "thresholds always count agent steps", d.skip)
        env = ConceptDrift(env, d.temporal_threshold, d.temporal_mode, switch=profile.semantics.drift_switch)
    return env


def _build(env_id: str, profile: Profile, **kwargs: Any) -> gym.Env:
    return make_atari(env_id, profile, **kwargs)


ATARI_FAMILY = Family(
    name="atari",
    matches=lambda env_id: game_for(env_id) is not None,
    build=_build,
    description="Breakout, Boxing, Gopher and BankHeist with every STORI mode, in one frame loop",
)


def register() -> None:
    """Register the ``atari`` family and the ids ``stori/<Game>-v0`` and ``stori/<Game>-T<preset>-v0``."""
    register_family(ATARI_FAMILY)
    entry = "stori_envs.atari.registration:make_atari"
    for game, presets in PRESETS.items():
        register_env(f"{NAMESPACE}/{game}-v0", entry, family="atari", kwargs={"game": game},
                     description=f"{game} under any profile: gym.make('{NAMESPACE}/{game}-v0', profile=...)")
        for name, (profile, description) in presets.items():
            register_env(preset_id(game, name), entry, family="atari", kwargs={"game": game},
                         profile=dict(profile), description=f"{game} {description}")
