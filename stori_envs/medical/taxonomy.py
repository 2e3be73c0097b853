"""The STORI taxonomy inside ``MedSepsis``: one small component per stochastic knob.

Each component draws only from its own named stream (``action_error``, ``events``, ``missing``;
see :func:`stori_envs.taxonomy.seeding.make_stream`) and always the same number of variates per
step, whether it is enabled or not and whatever the patient's state. Hence enabling one knob, or
switching it on and off under concept drift, never shifts the draws of any other stream, and a knob
at probability 0 leaves the base trajectory unchanged bit for bit.

They live inside the environment rather than in wrappers because they need what a wrapper cannot
see without leaking it: the chosen dose stays in the observation when type 1 changes the executed
one, adverse events act on the hidden physiology, and missing labs depend on the true SOFA.

:func:`profile_overrides` translates a generic :class:`~stori_envs.taxonomy.profile.Profile` into
``MedSepsisConfig`` blocks, so ``stori_envs.make("MedSepsis-v0", profile)`` works like on any family.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from stori_envs.medical.config import (
    EVENT_NAMES,
    MEASURED,
    AdverseEvents,
    DosingError,
    Drift,
    MedSepsisParams,
    Missingness,
)
from stori_envs.medical.physiology import State
from stori_envs.taxonomy.action import action_sampler
from stori_envs.taxonomy.drift import concept_two_active
from stori_envs.taxonomy.profile import Profile
from stori_envs.taxonomy.seeding import make_stream

class Knob:
    """A stochastic knob with its own stream (re-derived for every episode) and an on/off switch."""

    stream = ""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.rng: np.random.Generator | None = None

    def reseed(self, episode_seed: np.random.SeedSequence) -> None:
        self.rng = make_stream(episode_seed, self.stream)


class DosingErrors(Knob):
    """Type 1: w.p. ``p_err`` the executed dose differs from the chosen one (draws 4 uniforms per step)."""

    stream = "action_error"

    def __init__(self, block: DosingError, action_space: spaces.Box, enabled: bool = True) -> None:
        super().__init__(enabled)
        self.block = block
        self._uniform = action_sampler(action_space)

    def apply(self, chosen: np.ndarray) -> tuple[np.ndarray, bool]:
        """(executed normalised action, whether an error occurred) for a chosen action in [-1, 1]^2."""
        coin, channel = self.rng.random(2).tolist()
        replacement = self._uniform(self.rng).astype(np.float64)
        if not (self.enabled and coin < self.block.p_err):
            return chosen, False
        if self.block.err_mode == "uniform":
            return replacement, True
        executed = chosen.copy()
        i = int(channel < 0.5)  # 1: vasopressor pump, 0: fluid pump
        dose = (executed[i] + 1.0) * 0.5
        dose = 0.0 if self.block.err_mode == "omit" else min(1.0, 10.0 * dose)
        executed[i] = 2.0 * dose - 1.0
        return executed, True


class AdverseEventsKnob(Knob):
    """Type 2.1: each adverse event fires with its per-step hazard (draws 4 uniforms per step)."""

    stream = "events"

    def __init__(self, block: AdverseEvents, dt_hours: int, enabled: bool = True) -> None:
        super().__init__(enabled)
        self.block = block
        self.hazards = block.hazards(dt_hours)

    def draw(self) -> list[str]:
        u = self.rng.random(len(EVENT_NAMES)).tolist()
        if not self.enabled:
            return []
        return [name for name, ui, h in zip(EVENT_NAMES, u, self.hazards) if ui < h]


def apply_events(state: State, events: list[str], params: MedSepsisParams) -> None:
    """Act on the hidden state at the start of a step (clipped into the latent ranges)."""
    for name in events:
        if name == "secondary_infection":
            state.b = min(1.0, state.b + params.infection_jump)
        elif name == "haemorrhage":
            state.vol = max(-4.0, state.vol - params.haemorrhage_litres)
        elif name == "atrial_fibrillation":
            state.af_hours = params.af_hours
        elif name == "aspiration":
            state.lung = min(1.0, state.lung + params.aspiration_jump)


class MissingCharts(Knob):
    """Type 3.2: which of the six charted features are measured this step (draws 6 uniforms per step)."""

    stream = "missing"
    _LABS = (MEASURED.index("lactate"), MEASURED.index("creatinine"))
    _SPO2 = MEASURED.index("spo2")

    def __init__(self, block: Missingness, enabled: bool = True) -> None:
        super().__init__(enabled)
        self.block = block
        self._blackout = {MEASURED.index(n) for n in block.blackout}

    def measured(self, t: int, true_sofa: int) -> list[bool]:
        """Per feature of :data:`MEASURED`: True if charted at observation index ``t`` (0 = admission)."""
        u = self.rng.random(len(MEASURED)).tolist()
        if not self.enabled:
            return [True] * len(MEASURED)
        b = self.block
        p = [0.0] * len(MEASURED)
        p[self._SPO2] = b.spo2_dropout
        if b.mode == "mcar":
            p_lab = b.p_miss
        elif b.mode == "mnar":
            p_lab = min(1.0, 2.0 * b.p_miss * (1.0 - true_sofa / 24.0))
        else:
            p_lab = 0.0 if t % b.k == 0 else 1.0
        for i in self._LABS:
            p[i] = p_lab
        return [i not in self._blackout and ui >= pi for i, (ui, pi) in enumerate(zip(u, p))]


class DriftSchedule:
    """Type 2.2: which concept is active on the configured clock (no random draws)."""

    def __init__(self, block: Drift) -> None:
        self.block = block

    def concept(self, clock: int) -> int:
        b = self.block
        return 2 if concept_two_active(clock, b.threshold, b.temporal_mode, b.switch) else 1


# -- generic profiles on the medical family ---------------------------------------------------------
EVENT_MODES = (*EVENT_NAMES, "all")


def _secondary(profile: Profile, type_id: str) -> tuple[str, dict[str, Any]]:
    """(config field, block dict) for a profile's type 1, 2.1 or 3.2 settings."""
    if type_id == "1":
        a = profile.action
        if a.allowed_actions is not None or a.random_action_set is not None:
            raise ValueError(f"intrinsic_stochasticity.action_dependent.allowed_actions: got {a.allowed_actions!r} "
                             f"(random_action_set {a.random_action_set!r}); allowed: None for MedSepsis (a dosing "
                             "error draws a uniform dose; use dosing_error={'err_mode': ...} for other errors)")
        return "dosing_error", {"p_err": a.stochastic_action_prob}
    if type_id == "2.1":
        e = profile.events
        if e.mode not in EVENT_MODES:
            raise ValueError(f"intrinsic_stochasticity.action_independent_random.mode: got {e.mode!r}; allowed for "
                             "the 'medical' family: " + ", ".join(EVENT_MODES))
        names = EVENT_NAMES if e.mode == "all" else (e.mode,)
        return "adverse_events", {n: (e.random_stochasticity_prob if n in names else 0.0) for n in EVENT_NAMES}
    po = profile.partial_observation
    if po.type == "dropout" and po.features is None:
        return "missing", {"mode": "mcar", "p_miss": po.prob, "spo2_dropout": 0.0}
    if po.type == "mask" and po.prob == 1.0:
        feats = po.features if po.features is not None else tuple(range(len(MEASURED)))
        if any(f >= len(MEASURED) for f in feats):
            raise ValueError(f"partial_observation.features: got {list(feats)!r}; allowed: indices 0-5 "
                             "(" + ", ".join(MEASURED) + ")")
        return "missing", {"mode": "mcar", "p_miss": 0.0, "spo2_dropout": 0.0,
                           "blackout": [MEASURED[f] for f in feats]}
    raise ValueError(f"partial_observation.type: got {po.type!r} (features {po.features!r}, prob {po.prob!r}); "
                     "allowed for the 'medical' family: 'dropout' without features (MCAR labs with p_miss = prob) or "
                     "'mask' with prob 1 (a blackout of charted features 0-5); use missing={...} for more")


def profile_overrides(profile: Profile) -> dict[str, Any]:
    """``MedSepsisConfig`` keyword overrides equivalent to a generic STORI profile."""
    t = profile.stochasticity_type
    out: dict[str, Any] = {"seed_policy": profile.semantics.seed_policy}
    if t == "3.1":
        return out
    if t == "0":
        raise ValueError("stochasticity_type: got '0'; allowed for the 'medical' family: '1', '2.1', '2.2', '3.1', "
                         "'3.2' (the hidden physiology is available for analysis with expose_latent=True)")
    if t in ("1", "2.1", "3.2"):
        name, block = _secondary(profile, t)
        out[name] = block
        return out
    d = profile.drift
    name, block = _secondary(profile, d.secondary_concept_type)
    out[name] = block
    out["drift"] = {"concept": d.secondary_concept_type, "temporal_mode": d.temporal_mode,
                    "threshold": d.temporal_threshold, "clock": "episode", "switch": profile.semantics.drift_switch}
    return out
