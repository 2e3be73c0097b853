"""Plain-language descriptions of what each setting of a profile does (for ``stori-envs describe``)."""

from __future__ import annotations

from typing import Any

from stori_envs.taxonomy.profile import SEMANTICS_ROWS, TYPE_NAMES, Profile

KNOBS: dict[str, str] = {
    "stochasticity_type": "which STORI type this environment shows",
    "intrinsic_stochasticity.action_dependent.stochastic_action_prob":
        "probability that the executed action is replaced by a uniform random one",
    "intrinsic_stochasticity.action_dependent.allowed_actions":
        "the actions a replacement is drawn from (all if unset)",
    "intrinsic_stochasticity.action_dependent.random_action_set": "a family's named set of replacement actions",
    "intrinsic_stochasticity.action_independent_random.mode": "which random event fires (family-specific mode id)",
    "intrinsic_stochasticity.action_independent_random.random_stochasticity_prob":
        "probability that the event fires when it can",
    "intrinsic_stochasticity.action_independent_random.perturbation_scale":
        "std of the Gaussian push of the state_perturbation event",
    "intrinsic_stochasticity.action_independent_concept_drift.temporal_mode":
        "sudden: concept 2 from step T on; cyclic: concept 2 in odd periods of T steps",
    "intrinsic_stochasticity.action_independent_concept_drift.temporal_threshold": "T, in agent steps",
    "intrinsic_stochasticity.action_independent_concept_drift.secondary_concept_type":
        "the type (1, 2.1 or 3.2) that concept 2 applies, configured by its own section",
    "intrinsic_stochasticity.action_independent_concept_drift.skip": "legacy key of the original release; ignored",
    "partial_observation.type": "how the observation is degraded: crop, blackout, ram, mask, dropout or noise",
    "partial_observation.mode": "which crop, blackout region set or RAM peek (family-specific mode id)",
    "partial_observation.prob": "probability per observation that it is degraded (per feature for dropout)",
    "partial_observation.torch_radius": "radius in pixels of the visible disc of crop mode 5",
    "partial_observation.regions": "rectangles [x0, x1, y0, y1, colour] a generic blackout fills",
    "partial_observation.features": "indices of the vector features that mask/dropout/noise touch (all if unset)",
    "partial_observation.noise_std": "std of the additive Gaussian noise",
    "partial_observation.fill": "value a hidden feature reads (clipped into the space)",
    "partial_observation.append_mask": "append one 0/1 'observed' flag per feature to the observation",
}

SEMANTICS: dict[str, str] = {
    "semantics.profile": "clean (corrected semantics) or paper (the original release's); sets every row below",
    "semantics.granularity": "Atari: type 1 and 2.1 draw per emulator frame or once per agent step",
    "semantics.po_timing": "Atari: 3.2 drawn once per observation after pooling, or on each pooled frame",
    "semantics.drift_switch": "2.2 sudden switch at 0-based step T, or T-1 as the original",
    "semantics.drift_unit": "2.2 threshold counted in agent steps (or emulator frames)",
    "semantics.ram_peek": "Atari RAM peek: lookahead on a cloned state, or the verified in-frame fast path",
    "semantics.seed_policy": "gymnasium: every integer reset seed re-seeds; first_reset: seed once, streams run on",
    "semantics.reward": "Atari: ledger removes exactly the cancelled points; original keeps the release's bookkeeping",
    "semantics.game_fixes": "Atari: fix the per-game defects of the original release",
}

_SECTIONS = {
    "1": "intrinsic_stochasticity.action_dependent.",
    "2.1": "intrinsic_stochasticity.action_independent_random.",
    "2.2": "intrinsic_stochasticity.action_independent_concept_drift.",
    "3.2": "partial_observation.",
}


def describe_profile(profile: Profile) -> list[tuple[str, Any, str]]:
    """(flat key, value, meaning) of every setting that the profile's type (and drift secondary) reads."""
    flat = profile.to_flat()
    types = [profile.stochasticity_type]
    if profile.stochasticity_type == "2.2":
        types.append(profile.drift.secondary_concept_type)
    rows = [("stochasticity_type", profile.stochasticity_type, TYPE_NAMES[profile.stochasticity_type])]
    for t in types:
        prefix = _SECTIONS.get(t)
        if prefix is None:
            continue
        rows += [(k, v, KNOBS.get(k, "")) for k, v in flat.items() if k.startswith(prefix) and v is not None]
    semantics = profile.semantics
    rows.append(("semantics.profile", semantics.profile, SEMANTICS["semantics.profile"]))
    rows += [(f"semantics.{name}", getattr(semantics, name), SEMANTICS.get(f"semantics.{name}", ""))
             for name in SEMANTICS_ROWS]
    return rows
