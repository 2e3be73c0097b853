"""Environment families: the one registry that says who builds an environment for a given id.

A :class:`Family` declares every spelling of its ids (``"Breakout"``, ``"stori/Breakout-v0"``,
``"ALE/Breakout-v5"``, ``"MedSepsis-v0"``...), its preset names (``"3.2A"``), which profile types,
fields and semantics rows it honours, and two functions: ``parse`` (raw profile -> :class:`Profile`,
seeing the profile exactly as the caller gave it, preset names included) and ``build``. Every route
goes through :func:`build_route`: ``stori_envs.make(id, profile)``, ``gym.make(id, profile=...)``
(ids registered with :data:`ROUTE_ENTRY_POINT`) and ``gym.make_vec`` reach the same parse, the same
check of honoured fields (:func:`check_accepted`) and the same build. Ids no family claims are
generic Gymnasium environments and get the generic taxonomy (``stori/Stochastic-v0`` too).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from stori_envs.taxonomy.profile import (
    OBSERVATION_TYPES,
    SEMANTICS_ROWS,
    TYPES,
    Profile,
    as_profile,
    flatten,
)
from stori_envs.taxonomy.seeding import SEED_POLICIES

logger = logging.getLogger(__name__)

#: The Gymnasium entry point of routed ids: ``gym.register(id, ROUTE_ENTRY_POINT, kwargs={"route": id})``.
ROUTE_ENTRY_POINT = "stori_envs.families:make_route"


@dataclass(frozen=True)
class Accepts:
    """What a family honours; anything else in a profile is refused with the usual ValueError.

    ``types``: stochasticity types (a 2.2 profile's secondary must be one of them too).
    ``observation_types``: ``partial_observation.type`` values. ``fields``: flat profile keys read,
    besides the type ids (a key outside is refused when it differs from its default). ``semantics``:
    row -> allowed values; a row set explicitly that is absent here, or set to another value, is refused.
    """

    types: tuple[str, ...] = TYPES
    observation_types: tuple[str, ...] = OBSERVATION_TYPES
    fields: tuple[str, ...] | None = None  # None: every field of the profile
    semantics: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """One spelling of an id: the registered Gymnasium id that builds the same environment, and the
    keyword arguments that make it the same (``ALE/Breakout-v5`` -> ``stori/Breakout-v0`` with v5's
    sticky actions). The route-equivalence test compares the two for every declared spelling."""

    gym_id: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)


def _default_parse(env_id: str, profile: Any, kwargs: dict[str, Any]) -> Profile:
    return as_profile(profile)


@dataclass(frozen=True)
class Family:
    """An environment family.

    Args:
        name: ``"generic"``, ``"atari"``, ``"medical"``...
        matches: optional ``matches(env_id) -> bool`` for spellings beyond ``routes`` (patterns).
        build: ``build(env_id, profile, /, **kwargs) -> gym.Env`` with a parsed, checked :class:`Profile`
            (positional-only, so that a keyword argument may be called ``env_id``).
        description: one line for ``stori-envs list`` and docs.
        routes: every spelling ``stori_envs.make`` accepts -> :class:`Route` (the Gymnasium id and
            kwargs giving the same environment).
        presets: preset names accepted in place of a profile (``"3.2A"``), resolved by ``parse``.
        accepts: what the family honours (:class:`Accepts`).
        parse: ``parse(env_id, raw_profile, kwargs) -> Profile``; sees the profile as the caller gave
            it (a preset name, a path, a dict, a Profile, None) and may consume entries of ``kwargs``
            (e.g. ``semantics="paper"``).
    """

    name: str
    matches: Callable[[str], bool] | None = None
    build: Callable[..., gym.Env] | None = None
    description: str = ""
    routes: Mapping[str, Route] = field(default_factory=dict)
    presets: tuple[str, ...] = ()
    accepts: Accepts = field(default_factory=Accepts)
    parse: Callable[[str, Any, dict[str, Any]], Profile] = _default_parse

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Family.name: got {self.name!r}; allowed: a non-empty string")
        if not callable(self.build):
            raise ValueError(f"Family.build: got {self.build!r}; allowed: build(env_id, profile, **kwargs) -> gym.Env")

    def owns(self, env_id: str) -> bool:
        return env_id in self.routes or (self.matches is not None and self.matches(env_id))


_FAMILIES: dict[str, Family] = {}


def register_family(family: Family) -> None:
    """Register (or replace, by name) an environment family. The generic family is always asked last."""
    if not isinstance(family, Family):
        raise ValueError(f"family: got {family!r}; allowed: a stori_envs.Family")
    _FAMILIES[family.name] = family


def families() -> tuple[Family, ...]:
    """Every registered family, the generic one last."""
    ordered = [f for n, f in _FAMILIES.items() if n != "generic"]
    if "generic" in _FAMILIES:
        ordered.append(_FAMILIES["generic"])
    return tuple(ordered)


def family_names() -> tuple[str, ...]:
    return tuple(f.name for f in families())


def get_family(name: str) -> Family:
    if name not in _FAMILIES:
        raise ValueError(f"family: got {name!r}; allowed: " + ", ".join(sorted(_FAMILIES)))
    return _FAMILIES[name]


def family_for(env_id: str) -> Family:
    """The family owning ``env_id`` (exact spellings first, then patterns, then the generic family)."""
    for family in families():
        if env_id in family.routes:
            return family
    for family in families():
        if family.name != "generic" and family.matches is not None and family.matches(env_id):
            return family
    return _FAMILIES["generic"]


# -- what a family honours ----------------------------------------------------------------------------

def _explicit_semantics(profile: Profile) -> dict[str, Any]:
    sem = profile.semantics
    return {name: getattr(sem, name) for name in sem.explicit}


def check_accepted(family: Family, profile: Profile) -> Profile:
    """Refuse what ``family`` does not honour (type, observation type, fields, semantics rows)."""
    acc = family.accepts
    t = profile.stochasticity_type
    used = [t] + ([profile.drift.secondary_concept_type] if t == "2.2" else [])
    for path, value in zip(("stochasticity_type", "intrinsic_stochasticity.action_independent_concept_drift."
                                                  "secondary_concept_type"), used):
        if value not in acc.types:
            raise ValueError(f"{path}: got {value!r} for the {family.name!r} family; allowed: "
                             + ", ".join(acc.types))
    kind = profile.partial_observation.type
    if "3.2" in used and kind not in acc.observation_types:
        others = [f.name for f in families() if kind in f.accepts.observation_types]
        hint = f" ({kind} is honoured by: {', '.join(others)})" if others else ""
        raise ValueError(f"partial_observation.type: got {kind!r} for the {family.name!r} family; allowed: "
                         + ", ".join(acc.observation_types) + hint)
    if acc.fields is not None:
        defaults = flatten(Profile().to_dict())
        honoured = set(acc.fields) | {"stochasticity_type"}
        for key, value in flatten(profile.to_dict()).items():
            if key.startswith("semantics.") or key in honoured:
                continue
            if value != defaults.get(key) and not any(key.startswith(h + ".") for h in honoured):
                raise ValueError(f"{key}: got {value!r}; allowed: not set (the {family.name!r} family does not "
                                 f"read it; it reads: {', '.join(sorted(acc.fields))})")
    for row, value in _explicit_semantics(profile).items():
        allowed = acc.semantics.get(row)
        if allowed is None:
            honoured_rows = ", ".join(sorted(acc.semantics)) or "none"
            raise ValueError(f"semantics.{row}: got {value!r}; allowed: not set (the {family.name!r} family "
                             f"does not use it; rows it honours: {honoured_rows})")
        if value not in allowed:
            raise ValueError(f"semantics.{row}: got {value!r} for the {family.name!r} family; allowed: "
                             + ", ".join(map(repr, allowed)))
    return profile


def families_table() -> str:
    """A Markdown table of every family: its spellings, presets, and what it honours (docs/taxonomy.md)."""

    def short(items, limit: int = 6) -> str:
        items = [f"`{i}`" for i in items]
        return ", ".join(items[:limit]) + (f" (+{len(items) - limit} more)" if len(items) > limit else "")

    rows = ["| family | spellings | presets | types | 3.2 kinds | semantics rows honoured (values) |",
            "|---|---|---|---|---|---|"]
    for f in families():
        acc = f.accepts
        spellings = short(f.routes) + (" (+ any other Gymnasium id)" if f.name == "generic" else "")
        sem = "; ".join(f"`{row}` ({', '.join(map(str, values))})" for row, values in sorted(acc.semantics.items()))
        rows.append(f"| {f.name} | {spellings} | {short(f.presets) or '–'} | {' '.join(acc.types)} | "
                    f"{' '.join(acc.observation_types)} | {sem or '–'} |")
    return "\n".join(rows)


# -- the routes ----------------------------------------------------------------------------------------

def build_route(family: Family, env_id: str, profile: Any, kwargs: dict[str, Any]) -> gym.Env:
    """Parse (the family sees the raw profile), check what the family honours, build."""
    kwargs = dict(kwargs)
    parsed = family.parse(env_id, profile, kwargs)
    check_accepted(family, parsed)
    return family.build(env_id, parsed, **kwargs)


def make(env: str | gym.Env, profile: Profile | dict | str | None = None, /, **kwargs: Any) -> gym.Env:
    """Make any Gymnasium environment stochastic under ``profile``.

    ``env`` is an id (``"CartPole-v1"``, ``"Breakout"``, ``"stori/Breakout-v0"``, ``"ALE/Breakout-v5"``,
    ``"MedSepsis-v0"``) or an environment instance. The family owning the id (see
    :func:`register_family`) receives the profile as given (a preset name such as ``"3.2A"`` works
    where the family has presets) and ``kwargs``; any other id is made with :func:`gymnasium.make`
    (``kwargs`` go to it) and wrapped by the generic taxonomy. ``state_extractor``/``state_space``
    configure type 0 on generic environments.

    Example:
        >>> import stori_envs
        >>> env = stori_envs.make("CartPole-v1", {"stochasticity_type": "1",
        ...     "intrinsic_stochasticity.action_dependent.stochastic_action_prob": 0.2})
        >>> obs, info = env.reset(seed=0)
    """
    if isinstance(env, str):
        return build_route(family_for(env), env, profile, kwargs)
    if isinstance(env, gym.Env):
        extra = sorted(k for k in kwargs if k not in ("state_extractor", "state_space"))
        if extra:
            raise ValueError(f"kwargs: got {extra!r} with an environment instance; allowed: state_extractor, "
                             "state_space")
        from stori_envs.taxonomy.build import apply_profile

        generic = _FAMILIES["generic"]
        return apply_profile(env, check_accepted(generic, generic.parse("", profile, {})), **kwargs)
    raise ValueError(f"env: got {env!r}; allowed: a Gymnasium id or a gymnasium.Env instance")


def make_route(route: str, profile: Any = None, **kwargs: Any) -> gym.Env:
    """Gymnasium entry point of family ids (:data:`ROUTE_ENTRY_POINT`): the same path as ``stori_envs.make``."""
    return build_route(family_for(route), route, profile, kwargs)


# -- the generic family --------------------------------------------------------------------------------

GENERIC_ID = "stori/Stochastic-v0"

#: Semantics rows the generic wrappers honour: the drift's switch and the seeding policy. Per-step
#: wrappers have no frames, so granularity, po_timing and drift_unit have one meaning only.
GENERIC_SEMANTICS: dict[str, tuple[Any, ...]] = {
    "drift_switch": SEMANTICS_ROWS["drift_switch"][0],
    "seed_policy": SEED_POLICIES,
    "drift_unit": ("agent_step",),
    "granularity": ("agent_step",),
    "po_timing": ("per_observation",),
}


def _generic_build(env_id: str, profile: Profile, /, **kwargs: Any) -> gym.Env:
    from stori_envs.taxonomy.build import apply_profile

    generic = {k: kwargs.pop(k) for k in ("state_extractor", "state_space") if k in kwargs}
    route = env_id
    if env_id == GENERIC_ID:
        inner = kwargs.pop("env_id", None)
        if not isinstance(inner, str):
            raise ValueError(f"env_id: got {inner!r}; allowed: a Gymnasium id (gym.make('{GENERIC_ID}', "
                             "env_id='CartPole-v1', profile=...))")
        env_id = inner
    try:
        base = gym.make(env_id, **kwargs)
    except gym.error.Error as exc:
        raise ValueError(f"env: got {env_id!r}; allowed: a registered Gymnasium id ({exc})") from None
    env = apply_profile(base, profile, **generic)
    env.time_limit_inside = route == GENERIC_ID
    return env


GENERIC_FAMILY = Family(
    name="generic",
    build=_generic_build,
    description="Any Gymnasium id: types 0 (classic control, MuJoCo), 1, 2.1 (reward_cancel, state_perturbation), "
                "2.2, 3.1, 3.2 (crop/blackout on images; mask/dropout/noise on vectors)",
    routes={GENERIC_ID: Route(GENERIC_ID)},
    accepts=Accepts(observation_types=("crop", "blackout", "mask", "dropout", "noise"),
                    semantics=GENERIC_SEMANTICS),
)


def make_from_spec(env_id: str, profile: Profile | dict | str | None = None, **kwargs: Any) -> gym.Env:
    """Entry point of ``stori/Stochastic-v0``: ``gym.make("stori/Stochastic-v0", env_id=..., profile=...)``.

    An ``env_id`` that a family owns (``"ALE/Breakout-v5"``, ``"MedSepsis-v0"``) goes to that family,
    exactly as ``stori_envs.make(env_id, profile)`` does: one id, one environment, whatever the route.
    """
    if isinstance(env_id, str) and family_for(env_id).name != GENERIC_FAMILY.name:
        return make(env_id, profile, **kwargs)
    return build_route(GENERIC_FAMILY, GENERIC_ID, profile, {"env_id": env_id, **kwargs})


register_family(GENERIC_FAMILY)
