"""The medical family's Gymnasium ids and its :class:`~stori_envs.families.Family` (generic profiles).

Every route reaches one constructor, ``MedSepsisEnv(profile=..., **config_fields)``:

* ``gym.make("stori/MedSepsis-v0", profile=...)`` (and ``gym.make_vec``): any profile, or a preset name;
* ``gym.make("stori/MedSepsis-T3.2-v0")``: the id of a taxonomy preset is ``MedSepsis-v0`` with
  ``profile="T3.2"``, so ``profile=`` on it *replaces* the preset (as on the Atari preset ids);
* ``stori_envs.make(spelling, profile, **config_fields)`` for every spelling (``MedSepsis``,
  ``MedSepsis-v0``, ``stori/MedSepsis-v0``, ``MedSepsis-T3.2-v0``, ``stori/MedSepsis-T3.2-v0``, and the
  ``MedSepsisDiscrete`` ones): the same ``gym.make`` call, so the same seed gives the same trajectory.

Registered kwargs are plain JSON (a preset name at most), so ``env.spec`` rebuilds every id. No id
registers ``max_episode_steps``: the horizon depends on the config (``dt_hours``, ``horizon_hours``)
and the environment truncates itself.
"""

from __future__ import annotations

import re
from typing import Any

import gymnasium as gym

from stori_envs.families import Accepts, Family, Route, register_family
from stori_envs.registration import NAMESPACE, register_env
from stori_envs.taxonomy.profile import Profile
from stori_envs.taxonomy.seeding import SEED_POLICIES

ENV_ENTRY = "stori_envs.medical.env:MedSepsisEnv"
DISCRETE_ENTRY = "stori_envs.medical.discrete:make_discrete"

BASE = ("MedSepsis-v0", "Continuous sepsis simulator: hidden physiology, noisy vitals/labs, 6 safety costs (type 3.1); "
        "any profile or preset name via profile=")
DISCRETE = ("MedSepsisDiscrete-v0", "MedSepsis-v0 with ICU-Sepsis-style Discrete(25) doses (5 fluid x 5 vasopressor)")
ICU = ("ICUSepsisCost-v0", "ICU-Sepsis MDP (716 states, 25 actions) with SOFA-based safety cost; extra 'icu'")

# MedSepsis[Discrete], optionally namespaced, optionally a preset (-T<name>), optionally versioned.
_SPELLING = re.compile(rf"^(?:{NAMESPACE}/)?(MedSepsis|MedSepsisDiscrete)(?:-(T[0-9][\w.-]*?))?(?:-v0)?$")


def preset_ids() -> dict[str, str]:
    """Gymnasium id -> preset name of every taxonomy preset (``stori/MedSepsis-T3.2-v0`` -> ``"T3.2"``)."""
    from stori_envs.medical.presets import TAXONOMY_PRESETS

    return {f"{NAMESPACE}/MedSepsis-{name}-v0": name for name in TAXONOMY_PRESETS}


def _parse_id(env_id: str) -> tuple[str, str | None] | None:
    """(``MedSepsis`` or ``MedSepsisDiscrete``, preset name or None) of a spelling, None if not ours."""
    from stori_envs.medical.presets import preset_name

    if not isinstance(env_id, str):
        return None
    m = _SPELLING.match(env_id.strip())
    if m is None:
        return None
    if m.group(2) is None:
        return m.group(1), None
    name = preset_name(m.group(2))
    return (m.group(1), name) if name is not None else None


def _matches(env_id: str) -> bool:
    return _parse_id(env_id) is not None


def _parse(env_id: str, profile: Any, kwargs: dict[str, Any], /) -> Profile:
    """The family's view of a raw profile: a preset name (or a preset id without a profile) becomes the
    preset's STORI profile, and its MedSepsis-only fields join ``kwargs`` (explicit keywords win)."""
    from stori_envs.medical.taxonomy import merge_fields, resolve_profile

    _, preset = _parse_id(env_id)
    raw = preset if profile is None and preset is not None else profile
    parsed, extra = resolve_profile(raw)
    if extra:
        merged = merge_fields(extra, kwargs)
        kwargs.clear()
        kwargs.update(merged)
    return Profile() if parsed is None else parsed


def _build(env_id: str, profile: Profile, /, **kwargs: Any) -> gym.Env:
    """``gym.make`` of the base id with ``profile=`` (so ``env.spec`` rebuilds what the route built)."""
    if "profile" in kwargs:
        raise ValueError(f"profile: got {kwargs['profile']!r} as a keyword of stori_envs.make; allowed: the "
                         "positional profile, stori_envs.make(env_id, profile)")
    for key in ("state_extractor", "state_space"):
        if key in kwargs:
            raise ValueError(f"{key}: got {kwargs[key]!r}; allowed: not used by the medical family "
                             "(expose_latent=True puts the hidden state in info['latent'])")
    base, _ = _parse_id(env_id)
    return gym.make(f"{NAMESPACE}/{base}-v0", profile=profile.to_dict(), **kwargs)


#: What the medical family reads of a profile (medical.md §3): the rest is refused.
ACCEPTS = Accepts(
    types=("1", "2.1", "2.2", "3.1", "3.2"),
    observation_types=("dropout", "mask"),
    fields=("intrinsic_stochasticity.action_dependent.stochastic_action_prob",
            "intrinsic_stochasticity.action_independent_random.mode",
            "intrinsic_stochasticity.action_independent_random.random_stochasticity_prob",
            "intrinsic_stochasticity.action_independent_concept_drift.temporal_mode",
            "intrinsic_stochasticity.action_independent_concept_drift.temporal_threshold",
            "intrinsic_stochasticity.action_independent_concept_drift.secondary_concept_type",
            "partial_observation.type", "partial_observation.prob", "partial_observation.features"),
    semantics={"drift_switch": ("T", "T-1"), "seed_policy": SEED_POLICIES, "drift_unit": ("agent_step",)},
)


def _routes() -> dict[str, Route]:
    """Every fixed spelling -> the registered id that builds it."""
    out: dict[str, Route] = {}
    names = {"MedSepsis": None, "MedSepsisDiscrete": None, **{f"MedSepsis-{p}": p for p in preset_ids().values()}}
    for name in names:
        gym_id = f"{NAMESPACE}/{name}-v0"
        for spelling in (name, f"{name}-v0", gym_id):
            out[spelling] = Route(gym_id)
    return out


def register() -> None:
    """Register the medical ids (idempotent) and the family that maps generic profiles onto MedSepsis."""
    from stori_envs.medical.presets import TAXONOMY_PRESETS

    register_env(f"{NAMESPACE}/{BASE[0]}", ENV_ENTRY, family="medical", description=BASE[1])
    for env_id, name in preset_ids().items():
        register_env(env_id, ENV_ENTRY, family="medical", description=f"MedSepsis with {TAXONOMY_PRESETS[name][0]}",
                     kwargs={"profile": name})
    register_env(f"{NAMESPACE}/{DISCRETE[0]}", DISCRETE_ENTRY, family="medical", description=DISCRETE[1])
    register_env(f"{NAMESPACE}/{ICU[0]}", "stori_envs.medical.icu:ICUSepsisCostEnv", family="medical",
                 description=ICU[1], max_episode_steps=500)
    register_family(Family(
        name="medical", matches=_matches, build=_build, parse=_parse, routes=_routes(),
        presets=tuple(TAXONOMY_PRESETS), accepts=ACCEPTS,
        description="MedSepsis: profiles map to dosing errors (1), adverse events (2.1), drift (2.2), missing charts "
                    "(3.2); preset names (" + ", ".join(TAXONOMY_PRESETS) + ") on every route"))
