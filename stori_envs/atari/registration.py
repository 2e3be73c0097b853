"""The ``atari`` family: every spelling of the four games' ids, their presets, and one entry point.

Every route reaches :func:`make_atari` through the family registry of :mod:`stori_envs.families`:

* ``stori_envs.make(id, profile)`` for any spelling (``"Breakout"``, ``"stori/Breakout-v0"``,
  ``"stori/Breakout-T3.2A-v0"``, ``"ALE/Breakout-v5"``, ``"BreakoutNoFrameskip-v4"``...; see
  :mod:`stori_envs.atari.ids`), with a profile in any form or a preset name (``"3.2A"``);
* ``gym.make("stori/Breakout-v0", profile=...)`` and ``gym.make("stori/Breakout-T3.2A-v0")``, and
  ``gym.make_vec`` of them (registered with the registry's route entry point);
* ``gym.make("stori/Stochastic-v0", env_id="ALE/Breakout-v5", profile=...)`` goes through
  ``stori_envs.make`` too.

A spelling only sets the defaults of the engine's keyword arguments (``ALE/<Game>-v5``: v5's sticky
actions 0.25 and no max-pool), so the same settings give the same trajectory on every route. Keyword
arguments go to :class:`~stori_envs.atari.env.AtariStoriEnv` (``frameskip``, ``pool``, ``obs_type``,
``repeat_action_probability``, ``full_action_space``, ...). ``semantics="paper"`` (or a dict of
semantics rows) replaces the profile's semantics section, e.g. to run a preset with the paper's semantics.
"""

from __future__ import annotations

import logging
from typing import Any

import gymnasium as gym

from stori_envs.atari.game import games
from stori_envs.atari.ids import AtariSpelling, resolve
from stori_envs.atari.presets import PRESETS, preset_id, preset_profile
from stori_envs.families import ROUTE_ENTRY_POINT, Accepts, Family, Route, register_family
from stori_envs.registration import NAMESPACE, register_env
from stori_envs.taxonomy.profile import IMAGE_OBSERVATION_TYPES, SEMANTICS_ROWS, TYPES, Profile, as_profile

logger = logging.getLogger(__name__)

_DEFAULT = as_profile(None)


def _spelling(env_id: Any) -> AtariSpelling:
    found = resolve(env_id) if isinstance(env_id, str) else None
    if found is None:
        names = ", ".join(g.name for g in games().values())
        raise ValueError(f"game: got {env_id!r}; allowed: {names}, stori/<Game>-v0, stori/<Game>-T<preset>-v0, "
                         "or an ale-py id of these games (ALE/<Game>-v5, <Game>NoFrameskip-v4, ...)")
    return found


def _with_semantics(profile: Profile, semantics: str | dict | None) -> Profile:
    if semantics is None:
        return profile
    if isinstance(semantics, str):
        semantics = {"profile": semantics}
    if not isinstance(semantics, dict):
        raise ValueError(f"semantics: got {semantics!r}; allowed: 'clean', 'paper' or a dict of semantics rows")
    data = profile.to_dict()
    data["semantics"] = dict(semantics)
    return Profile.parse(data)


def parse_profile(env_id: Any, profile: Any = None, kwargs: dict[str, Any] | None = None) -> Profile:
    """The profile an Atari route means: ``profile`` in any form or a preset name, the preset of a
    ``-T<preset>-`` id, and ``semantics=`` (consumed from ``kwargs``)."""
    spelling = _spelling(env_id)
    game = spelling.game.name
    semantics = kwargs.pop("semantics", None) if kwargs is not None else None
    if spelling.preset is not None:
        own = Profile.parse(preset_profile(game, spelling.preset))
        if profile is not None and as_profile(_preset_or(game, profile)) not in (own, _DEFAULT):
            raise ValueError(f"profile: got {profile!r} with the preset id {env_id!r}; allowed: none (the id "
                             f"already names preset {spelling.preset!r}), or use {NAMESPACE}/{game}-v0")
        return _with_semantics(own, semantics)
    return _with_semantics(as_profile(_preset_or(game, profile)), semantics)


def _preset_or(game: str, profile: Any) -> Any:
    if isinstance(profile, str) and not profile.endswith((".json", ".toml")) and "{" not in profile:
        return preset_profile(game, profile)
    return profile


def make_atari(game: str, profile: Profile | dict | str | None = None, *, semantics: str | dict | None = None,
               **kwargs: Any) -> gym.Env:
    """Build ``game`` (any spelling of an Atari id) under ``profile`` (any form, or a preset name such as ``"3.2A"``).

    The same parse and build as every other route. Type 2.2 needs no wrapper: the engine holds the
    :class:`~stori_envs.taxonomy.components.Drift` and its secondary component.
    """
    kwargs["semantics"] = semantics
    parsed = parse_profile(game, profile, kwargs)
    return build(game, parsed, **kwargs)


def build(env_id: str, profile: Profile, /, **kwargs: Any) -> gym.Env:
    """The family's builder: the engine with the spelling's defaults (and the spelling's time limit, if any)."""
    from stori_envs.atari.env import AtariStoriEnv

    spelling = _spelling(env_id)
    semantics = kwargs.pop("semantics", None)
    profile = _with_semantics(profile, semantics)
    if profile.stochasticity_type == "2.2" and profile.drift.skip is not None:
        logger.warning("intrinsic_stochasticity.action_independent_concept_drift.skip=%s is ignored: "
                       "thresholds always count agent steps", profile.drift.skip)
    env: gym.Env = AtariStoriEnv(spelling.game, profile, **{**spelling.defaults, **kwargs})
    if spelling.max_episode_steps is not None:
        env = gym.wrappers.TimeLimit(env, spelling.max_episode_steps)
    return env


#: The ale-py spellings the engine accepts, with the keyword arguments that make ``stori/<Game>-v0`` the
#: same env (ale-py 0.12's registrations; ``test_routes_match_ale_pys_registrations`` checks them).
#: ale-py's ``<Game>-v0``/``-v4`` (stochastic frame skip) are refused, so they are not routes.
ALE_SPELLINGS = {
    "ALE/{}-v5": {"repeat_action_probability": 0.25, "frameskip": 4},
    "{}NoFrameskip-v4": {"repeat_action_probability": 0.0, "frameskip": 1},
    "{}NoFrameskip-v0": {"repeat_action_probability": 0.25, "frameskip": 1},
}
ALE_COMMON = {"full_action_space": False, "max_num_frames_per_episode": 108_000, "pool": False}


def _routes() -> dict[str, Route]:
    """Every spelling ``stori_envs.make`` accepts -> the registered id (and keywords) giving the same env."""
    out: dict[str, Route] = {}
    for game in PRESETS:
        main = f"{NAMESPACE}/{game}-v0"
        out[game] = out[game.lower()] = out[main] = Route(main)
        for name in PRESETS[game]:
            out[preset_id(game, name)] = Route(preset_id(game, name))
        for pattern, kwargs in ALE_SPELLINGS.items():
            out[pattern.format(game)] = Route(main, {**kwargs, **ALE_COMMON})
    return out


ATARI_FAMILY = Family(
    name="atari",
    matches=lambda env_id: resolve(env_id) is not None,
    build=build,
    parse=parse_profile,
    description="Breakout, Boxing, Gopher and BankHeist with every STORI mode, in one frame loop",
    routes=_routes(),
    presets=tuple(sorted({name for presets in PRESETS.values() for name in presets})),
    accepts=Accepts(types=TYPES, observation_types=IMAGE_OBSERVATION_TYPES,
                    semantics={row: allowed for row, (allowed, _, _) in SEMANTICS_ROWS.items()}),
)


def register() -> None:
    """Register the ``atari`` family and the ids ``stori/<Game>-v0`` and ``stori/<Game>-T<preset>-v0``."""
    register_family(ATARI_FAMILY)
    for game, presets in PRESETS.items():
        main = f"{NAMESPACE}/{game}-v0"
        register_env(main, ROUTE_ENTRY_POINT, family="atari", kwargs={"route": main},
                     description=f"{game} under any profile: gym.make('{main}', profile=...)")
        for name, (profile, description) in presets.items():
            register_env(preset_id(game, name), ROUTE_ENTRY_POINT, family="atari",
                         kwargs={"route": preset_id(game, name)}, profile=dict(profile),
                         description=f"{game} {description}")
