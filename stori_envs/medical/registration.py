"""The medical family's Gymnasium ids and its :class:`~stori_envs.families.Family` (generic profiles).

Every preset is plain keyword arguments of ``MedSepsisEnv``, so ``env.spec`` rebuilds it and
``gym.make(id, **overrides)`` changes any field. No id registers ``max_episode_steps``: the horizon
depends on the config (``dt_hours``, ``horizon_hours``) and the environment truncates itself.
"""

from __future__ import annotations

import re
from typing import Any

import gymnasium as gym

from stori_envs.families import Family, register_family
from stori_envs.registration import NAMESPACE, register_env
from stori_envs.taxonomy.profile import Profile

ENV_ENTRY = "stori_envs.medical.env:MedSepsisEnv"
DISCRETE_ENTRY = "stori_envs.medical.discrete:make_discrete"

#: id -> (description, kwargs). Types per medical.md §3; 3.1 (noisy charts) is the base environment.
PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "MedSepsis-v0": ("Continuous sepsis simulator: hidden physiology, noisy vitals/labs, 6 safety costs (type 3.1)",
                     {}),
    "MedSepsis-T1-v0": ("MedSepsis with dosing errors: p_err = 0.1 uniform replacement of the executed dose",
                        {"dosing_error": {"p_err": 0.1, "err_mode": "uniform"}}),
    "MedSepsis-T2.1-v0": ("MedSepsis with adverse events: infection, haemorrhage, atrial fibrillation, aspiration",
                          {"adverse_events": {}}),
    "MedSepsis-T2.2-v0": ("MedSepsis with pathogen drift: a resistant strain from global step 9,000 (~500 patients)",
                          {"drift": {"concept": "resistant_strain", "temporal_mode": "sudden", "threshold": 9000,
                                     "clock": "global"}}),
    "MedSepsis-T2.2-NightShift-v0": ("MedSepsis with night shifts: dosing errors (p_err = 0.2) in every other 12 h",
                                     {"dosing_error": {"p_err": 0.2}, "drift": {"concept": "1",
                                      "temporal_mode": "cyclic", "threshold": 3, "clock": "episode"}}),
    "MedSepsis-T3.2-v0": ("MedSepsis with missing labs (MCAR 30 %), SpO2 dropout (5 %) and a 6-bit measured mask",
                          {"missing": {"mode": "mcar", "p_miss": 0.3, "spo2_dropout": 0.05}}),
}
DISCRETE = ("MedSepsisDiscrete-v0", "MedSepsis-v0 with ICU-Sepsis-style Discrete(25) doses (5 fluid x 5 vasopressor)")
ICU = ("ICUSepsisCost-v0", "ICU-Sepsis MDP (716 states, 25 actions) with SOFA-based safety cost; extra 'icu'")

_BASE_NAME = re.compile(rf"^(?:{NAMESPACE}/)?(MedSepsis|MedSepsisDiscrete)(?:-v0)?$")


def _matches(env_id: str) -> bool:
    return bool(_BASE_NAME.match(env_id))


def _build(env_id: str, profile: Profile, **kwargs: Any) -> gym.Env:
    """``stori_envs.make("MedSepsis-v0", profile, **config_fields)``: the profile becomes config blocks."""
    from stori_envs.medical.taxonomy import profile_overrides

    for key in ("state_extractor", "state_space"):
        if key in kwargs:
            raise ValueError(f"{key}: got {kwargs[key]!r}; allowed: not used by the medical family "
                             "(expose_latent=True puts the hidden state in info['latent'])")
    overrides = profile_overrides(profile)
    clash = sorted(k for k in overrides if k in kwargs and k != "seed_policy")
    if clash:
        raise ValueError(f"{clash[0]}: got {kwargs[clash[0]]!r} and a profile that sets it; allowed: one of the two")
    name = _BASE_NAME.match(env_id).group(1)
    return gym.make(f"{NAMESPACE}/{name}-v0", **{**overrides, **kwargs})


def register() -> None:
    """Register the medical ids (idempotent) and the family that maps generic profiles onto MedSepsis."""
    for name, (description, kwargs) in PRESETS.items():
        register_env(f"{NAMESPACE}/{name}", ENV_ENTRY, family="medical", description=description, kwargs=kwargs)
    register_env(f"{NAMESPACE}/{DISCRETE[0]}", DISCRETE_ENTRY, family="medical", description=DISCRETE[1])
    register_env(f"{NAMESPACE}/{ICU[0]}", "stori_envs.medical.icu:ICUSepsisCostEnv", family="medical",
                 description=ICU[1], max_episode_steps=500)
    register_family(Family("medical", _matches, _build,
                           "MedSepsis: profiles map to dosing errors (1), adverse events (2.1), drift (2.2), "
                           "missing charts (3.2)"))
