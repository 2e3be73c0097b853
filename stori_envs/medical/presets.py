"""MedSepsis's taxonomy presets: each is a named STORI profile plus MedSepsis-only settings.

Kept apart from :mod:`stori_envs.medical.taxonomy` so that registering the ids at ``import stori_envs``
loads no simulator code. A preset name works on every route: ``gym.make("stori/MedSepsis-T3.2-v0")``,
``gym.make("stori/MedSepsis-v0", profile="T3.2")`` and ``stori_envs.make("MedSepsis-v0", "T3.2")`` are
the same environment.
"""

from __future__ import annotations

from typing import Any

#: name -> (description, flat STORI profile or None, MedSepsis-only config fields).
TAXONOMY_PRESETS: dict[str, tuple[str, dict[str, Any] | None, dict[str, Any]]] = {
    "T1": ("dosing errors: w.p. 0.1 the executed dose is a uniform one (action(0.1))",
           {"stochasticity_type": "1", "intrinsic_stochasticity.action_dependent.stochastic_action_prob": 0.1}, {}),
    "T2.1": ("adverse events: infection, haemorrhage, atrial fibrillation, aspiration (calibrated hazards)",
             None, {"adverse_events": {}}),
    "T2.2": ("pathogen seasons: a resistant strain in every other block of 500 admissions (admission = seed)",
             None, {"drift": {"concept": "resistant_strain", "temporal_mode": "cyclic", "threshold": 500,
                              "clock": "admission"}}),
    "T2.2-NightShift": ("night shifts: dosing errors (p = 0.2) in every other 12 h of each stay",
                        {"stochasticity_type": "2.2",
                         "intrinsic_stochasticity.action_dependent.stochastic_action_prob": 0.2,
                         "intrinsic_stochasticity.action_independent_concept_drift.temporal_mode": "cyclic",
                         "intrinsic_stochasticity.action_independent_concept_drift.temporal_threshold": 3,
                         "intrinsic_stochasticity.action_independent_concept_drift.secondary_concept_type": "1"}, {}),
    "T3.2": ("missing labs (MCAR 30 %), SpO2 dropout (5 %) and a 6-bit measured mask",
             {"stochasticity_type": "3.2", "partial_observation.type": "dropout", "partial_observation.prob": 0.3},
             {"missing": {"spo2_dropout": 0.05}}),
}
_PRESET_KEYS = {name.lower(): name for name in TAXONOMY_PRESETS}


def preset_name(text: str) -> str | None:
    """The preset a string names ("T3.2", "3.2", "t2.2-nightshift", "stori/MedSepsis-T3.2-v0"), else None."""
    key = text.strip()
    for prefix in ("stori/", "MedSepsis-", "MedSepsisDiscrete-"):
        key = key[len(prefix):] if key.startswith(prefix) else key
    key = key[:-3] if key.endswith("-v0") else key
    key = key.lower()
    return _PRESET_KEYS.get(key if key.startswith("t") else f"t{key}")
