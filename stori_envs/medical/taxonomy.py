"""The STORI taxonomy inside ``MedSepsis``: the shared components, hosted by the simulator's step.

Every knob is a component of :mod:`stori_envs.taxonomy.components` (one implementation per type for
every family), with MedSepsis's knowledge handed to it as data:

* type 1, dosing errors: :class:`~stori_envs.taxonomy.components.ActionReplacement` on the dose box.
  ``err_mode="uniform"`` is its own uniform sampler (STORI semantics); ``omit``/``decimal`` hand it a
  sampler that makes a pump error of the chosen dose (:class:`PumpErrors`);
* type 2.1, adverse events: :class:`~stori_envs.taxonomy.components.Events` around :class:`AdverseEvents`,
  a :class:`~stori_envs.taxonomy.components.RandomEvent` that acts on the hidden physiology (its target);
* type 3.2, missing charts: :class:`~stori_envs.taxonomy.components.Dropout` (MCAR labs, SpO2 probe) and
  :class:`~stori_envs.taxonomy.components.Mask` (blackout) over the six charted features, which the host
  asks which features are hidden (``hidden()``) and then carries the last value forward; the
  MedSepsis-only lab rules (``schedule``, ``mnar``) are components too (:class:`LabSchedule`, :class:`LabsMNAR`);
* type 2.2, drift: :class:`~stori_envs.taxonomy.components.Drift` handed its secondaries (above, or the
  physiology concepts :class:`ResistantStrain` and :class:`FrailCohort`), reading one of MedSepsis's clocks
  (``Drift(..., clock=<function>)``).

Each component draws only from its own stream, re-derived at every reset from the episode's seed
sequence; a disabled one draws nothing, so enabling a knob never shifts another knob's draws and a
knob at probability 0 leaves the base trajectory unchanged bit for bit. They live inside the
environment rather than in wrappers because they need what a wrapper cannot see without leaking it:
the chosen dose stays in the observation when type 1 changes the executed one, adverse events act on
the hidden physiology, and MNAR labs depend on the true SOFA.

:func:`config_fields` translates a STORI profile (or a preset name) into ``MedSepsisConfig`` fields, so
``stori_envs.make("MedSepsis-v0", profile)`` works like on any family.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from stori_envs.medical.config import (
    EVENT_NAMES,
    MEASURED,
    DosingError,
    MedSepsisParams,
    Missingness,
)
from stori_envs.medical.config import (
    AdverseEvents as AdverseEventsBlock,
)
from stori_envs.medical.config import (
    Drift as DriftBlock,
)
from stori_envs.medical.physiology import State
from stori_envs.medical.presets import TAXONOMY_PRESETS, preset_name
from stori_envs.taxonomy.components import (
    ActionReplacement,
    Component,
    Dropout,
    Events,
    Mask,
    RandomEvent,
)
from stori_envs.taxonomy.profile import Profile, as_profile

#: The six charted (maskable) features as a space: what the 3.2 components see.
CHART_SPACE = spaces.Box(0.0, np.inf, (len(MEASURED),), dtype=np.float32)
_LABS = (MEASURED.index("lactate"), MEASURED.index("creatinine"))
_SPO2 = MEASURED.index("spo2")


# -- type 1 ---------------------------------------------------------------------------------------------
class PumpErrors(ActionReplacement):
    """Type 1 with a pump error instead of a uniform dose: ``omit`` zeroes one random pump, ``decimal``
    multiplies its dose by ten (clipped). The replacement is a sampler of the chosen action (data);
    coin, validation and reporting are :class:`ActionReplacement`'s."""

    def __init__(self, action_space: spaces.Box, block: DosingError, **kwargs: Any) -> None:
        super().__init__(action_space, block.p_err, **kwargs)
        self.err_mode = block.err_mode
        self._chosen: np.ndarray | None = None
        self.sample = self._pump_error

    def begin_step(self, action: Any) -> None:
        super().begin_step(action)
        self._chosen = np.asarray(action, dtype=np.float64)

    def _pump_error(self, rng: np.random.Generator) -> np.ndarray:
        executed = self._chosen.copy()
        i = int(rng.random() < 0.5)  # 1: vasopressor pump, 0: fluid pump
        dose = (executed[i] + 1.0) * 0.5
        dose = 0.0 if self.err_mode == "omit" else min(1.0, 10.0 * dose)
        executed[i] = 2.0 * dose - 1.0
        return executed


def dosing_errors(block: DosingError, action_space: spaces.Box, enabled: bool) -> ActionReplacement:
    """The type 1 component of a ``dosing_error`` block."""
    if block.err_mode == "uniform":
        return ActionReplacement(action_space, block.p_err, name="action_error", enabled=enabled)
    return PumpErrors(action_space, block, name="action_error", enabled=enabled)


# -- type 2.1 -------------------------------------------------------------------------------------------
class AdverseEvents(RandomEvent):
    """Type 2.1 event kinds of MedSepsis: each fires with its per-step hazard (4 uniforms per step) and acts
    on the hidden state, the target the host hands to :meth:`Events.on_reset`. ``fired`` lists this step's."""

    name = "adverse_events"

    def __init__(self, hazards: Sequence[float], params: MedSepsisParams) -> None:
        super().__init__(max(hazards, default=0.0))
        self.hazards = tuple(hazards)
        self.params = params
        self.fired: list[str] = []

    def before(self, target: State, action: Any, rng: np.random.Generator) -> bool:
        u = rng.random(len(EVENT_NAMES)).tolist()
        self.fired = [name for name, ui, h in zip(EVENT_NAMES, u, self.hazards, strict=True) if ui < h]
        if self.fired:
            apply_events(target, self.fired, self.params)
        return bool(self.fired)


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


def adverse_events(block: AdverseEventsBlock, dt_hours: int, params: MedSepsisParams,
                   enabled: bool) -> Events:
    """The type 2.1 component of an ``adverse_events`` block."""
    return Events(AdverseEvents(block.hazards(dt_hours), params), name="events", enabled=enabled)


# -- type 3.2 -------------------------------------------------------------------------------------------
class LabSchedule(Component):
    """MedSepsis-only lab rule: lactate and creatinine are measured exactly every ``k`` steps (no draws)."""

    stori_type = "3.2"
    stream_name = "missing/schedule"

    def __init__(self, k: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.k = int(k)
        self._hidden = np.zeros(len(MEASURED), dtype=bool)
        self._hidden[list(_LABS)] = True

    def hidden_at(self, t: int, true_sofa: int) -> np.ndarray | None:
        return None if t % self.k == 0 else self._hidden


class LabsMNAR(Component):
    """MedSepsis-only lab rule: each lab is missing w.p. min(1, 2 p (1 - SOFA/24)) on the true SOFA."""

    stori_type = "3.2"
    stream_name = "missing/mnar"

    def __init__(self, p_miss: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.p_miss = float(p_miss)

    def hidden_at(self, t: int, true_sofa: int) -> np.ndarray | None:
        p = min(1.0, 2.0 * self.p_miss * (1.0 - true_sofa / 24.0))
        u = self.rng.random(len(_LABS))
        if not (u < p).any():
            return None
        out = np.zeros(len(MEASURED), dtype=bool)
        out[list(_LABS)] = u < p
        return out


def missing_charts(block: Missingness, enabled: bool) -> list[Component]:
    """The type 3.2 components of a ``missing`` block, each asked which charted features it hides."""
    parts: list[Component] = []
    if block.mode == "mcar":
        parts.append(Dropout(CHART_SPACE, block.p_miss, features=_LABS, name="missing/labs", enabled=enabled))
    elif block.mode == "schedule":
        parts.append(LabSchedule(block.k, enabled=enabled))
    elif block.mode == "mnar":
        parts.append(LabsMNAR(block.p_miss, enabled=enabled))
    if block.spo2_dropout > 0.0:
        parts.append(Dropout(CHART_SPACE, block.spo2_dropout, features=(_SPO2,), name="missing/spo2",
                             enabled=enabled))
    if block.blackout:
        parts.append(Mask(CHART_SPACE, [MEASURED.index(n) for n in block.blackout], p=1.0, name="missing/blackout",
                          enabled=enabled))
    return parts


def charted_mask(parts: Sequence[Component], t: int, true_sofa: int) -> np.ndarray | None:
    """Which of the six charted features are measured this step (None: all), from the 3.2 components."""
    seen = None
    for part in parts:
        if not part.enabled:
            continue
        hidden = part.hidden_at(t, true_sofa) if hasattr(part, "hidden_at") else part.hidden()
        if hidden is not None:
            seen = ~hidden if seen is None else seen & ~hidden
    return seen


# -- type 2.2 -------------------------------------------------------------------------------------------
class ResistantStrain(Component):
    """Drift concept: while enabled, the patient's infection is a resistant strain (no draws)."""

    stori_type = "2.2"
    stream_name = "concept/resistant_strain"


class FrailCohort(Component):
    """Drift concept: while enabled at admission, the patient is drawn from the frail cohort (no draws)."""

    stori_type = "2.2"
    stream_name = "concept/frail_cohort"


def concept_components(block: DriftBlock) -> list[Component]:
    """The secondaries of a physiology drift concept (a STORI-type concept uses that type's components)."""
    if block.concept == "resistant_strain":
        return [ResistantStrain(enabled=False)]
    if block.concept == "frail_cohort":
        return [FrailCohort(enabled=False)]
    return []


# -- generic profiles on the medical family ---------------------------------------------------------
EVENT_MODES = (*EVENT_NAMES, "all")
_BLOCKS = ("dosing_error", "adverse_events", "missing", "drift")


def _secondary(profile: Profile, type_id: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(config block, fields the profile sets, family-only fields it defaults) for type 1, 2.1 or 3.2."""
    if type_id == "1":
        a = profile.action
        if a.allowed_actions is not None or a.random_action_set is not None:
            raise ValueError(f"intrinsic_stochasticity.action_dependent.allowed_actions: got {a.allowed_actions!r} "
                             f"(random_action_set {a.random_action_set!r}); allowed: None for MedSepsis (a dosing "
                             "error draws a uniform dose; use dosing_error={'err_mode': ...} for other errors)")
        return "dosing_error", {"p_err": a.stochastic_action_prob}, {}
    if type_id == "2.1":
        e = profile.events
        if e.mode not in EVENT_MODES:
            raise ValueError(f"intrinsic_stochasticity.action_independent_random.mode: got {e.mode!r}; allowed for "
                             "the 'medical' family: " + ", ".join(EVENT_MODES))
        names = EVENT_NAMES if e.mode == "all" else (e.mode,)
        return "adverse_events", {n: (e.random_stochasticity_prob if n in names else 0.0) for n in EVENT_NAMES}, {}
    po = profile.partial_observation
    if po.type == "dropout" and po.features is None:
        return "missing", {"mode": "mcar", "p_miss": po.prob}, {"spo2_dropout": 0.0}
    if po.type == "mask" and po.prob == 1.0:
        feats = po.features if po.features is not None else tuple(range(len(MEASURED)))
        if any(f >= len(MEASURED) for f in feats):
            raise ValueError(f"partial_observation.features: got {list(feats)!r}; allowed: indices 0-5 "
                             "(" + ", ".join(MEASURED) + ")")
        return "missing", {"mode": "mcar", "p_miss": 0.0, "blackout": [MEASURED[f] for f in feats]}, \
            {"spo2_dropout": 0.0}
    raise ValueError(f"partial_observation.type: got {po.type!r} (features {po.features!r}, prob {po.prob!r}); "
                     "allowed for the 'medical' family: 'dropout' without features (MCAR labs with p_miss = prob) or "
                     "'mask' with prob 1 (a blackout of charted features 0-5); use missing={...} for more")


def profile_fields(profile: Profile) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config fields a STORI profile sets, family-only fields it defaults) for ``MedSepsisConfig``.

    The first are the profile's own knobs (a keyword argument may not contradict them); the second
    are MedSepsis refinements the profile does not name (e.g. ``missing.spo2_dropout``), which keyword
    arguments may change.
    """
    t = profile.stochasticity_type
    owned: dict[str, Any] = {}
    # The seeding rule is the profile's too, but harnesses pass seed_policy= to every id: a default.
    defaults: dict[str, Any] = {"seed_policy": profile.semantics.seed_policy}
    if t == "3.1":
        return owned, defaults
    if t == "0":
        raise ValueError("stochasticity_type: got '0'; allowed for the 'medical' family: '1', '2.1', '2.2', '3.1', "
                         "'3.2' (the hidden physiology is available for analysis with expose_latent=True)")
    secondary = t if t in ("1", "2.1", "3.2") else profile.drift.secondary_concept_type
    name, fields_, extra = _secondary(profile, secondary)
    owned[name] = fields_
    if extra:
        defaults[name] = extra
    if t == "2.2":
        d = profile.drift
        if d.skip is not None:
            raise ValueError(f"intrinsic_stochasticity.action_independent_concept_drift.skip: got {d.skip!r}; "
                             "allowed: None for the 'medical' family (thresholds count agent steps)")
        owned["drift"] = {"concept": d.secondary_concept_type, "temporal_mode": d.temporal_mode,
                          "threshold": d.temporal_threshold, "clock": "episode",
                          "switch": profile.semantics.drift_switch}
    return owned, defaults


def _as_block_dict(name: str, value: Any) -> Any:
    return value.to_dict() if hasattr(value, "to_dict") and name in _BLOCKS else value


def merge_fields(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` on top of ``base``; blocks given as dicts on both sides are merged field by field."""
    out = dict(base)
    for key, value in extra.items():
        value = _as_block_dict(key, value)
        old = out.get(key)
        if key in _BLOCKS and isinstance(old, dict) and isinstance(value, dict):
            out[key] = {**old, **value}
        else:
            out[key] = value
    return out


def resolve_profile(profile: Any) -> tuple[Profile | None, dict[str, Any]]:
    """(STORI profile or None, MedSepsis-only fields) of a ``profile=`` argument: a preset name, any profile form."""
    if profile is None:
        return None, {}
    if isinstance(profile, str) and not profile.strip().endswith((".json", ".toml")):
        text = profile.strip()
        if text.startswith("{"):
            return Profile.from_json(text), {}
        name = preset_name(text)
        if name is None:
            raise ValueError(f"profile: got {profile!r}; allowed: a preset name (" + ", ".join(TAXONOMY_PRESETS)
                             + "), a Profile, a dict, a JSON object or a .json/.toml file")
        _, flat, extra = TAXONOMY_PRESETS[name]
        return (None if flat is None else Profile.parse(flat)), dict(extra)
    return as_profile(profile), {}


#: Config fields that are knobs of a STORI profile: one name per knob, so keywords may not set them.
_PROFILE_KNOBS = {
    ("dosing_error", "p_err"): "intrinsic_stochasticity.action_dependent.stochastic_action_prob "
                               "(profile=stori_envs.profiles.action(p))",
    ("missing", "p_miss"): "partial_observation.prob of a 'dropout' profile (profile=stori_envs.profiles."
                           "observation('dropout', p)); p_miss is a keyword only with mode='mnar'",
    **{("adverse_events", name): "intrinsic_stochasticity.action_independent_random.mode/random_stochasticity_prob "
                                 f"(profile=stori_envs.profiles.event({name!r}, p)); adverse_events takes "
                                 "event_scale, a scale of the calibrated hazards" for name in EVENT_NAMES},
}


def check_keyword_knobs(overrides: dict[str, Any]) -> None:
    """Refuse keyword arguments that name a profile's knob by a second name (``dosing_error={"p_err": ...}``)."""
    for key, value in overrides.items():
        value = _as_block_dict(key, value)
        if not isinstance(value, dict):
            continue
        for field, where in _PROFILE_KNOBS.items():
            if field[0] == key and field[1] in value:
                if field == ("missing", "p_miss") and value.get("mode") == "mnar":
                    continue
                raise ValueError(f"{key}.{field[1]}: got {value[field[1]]!r} as a keyword; allowed: set it with the "
                                 f"profile's {where} (one name per knob)")
        if key == "drift" and str(value.get("concept")) in ("1", "2.1", "3.2"):
            raise ValueError(f"drift.concept: got {value['concept']!r} as a keyword; allowed: 'resistant_strain' or "
                             "'frail_cohort' (a drift to a STORI type is a type 2.2 profile: profile=stori_envs."
                             "profiles.drift(secondary, temporal_mode, threshold))")


def config_fields(profile: Any, overrides: dict[str, Any]) -> dict[str, Any]:
    """The ``MedSepsisConfig`` fields of ``MedSepsisEnv(profile=..., **overrides)``.

    Order: the profile's family-only defaults, then a preset's MedSepsis-only fields, then the keyword
    overrides, and last the profile's own knobs, which an override may repeat but not contradict.
    """
    check_keyword_knobs(overrides)
    prof, extra = resolve_profile(profile)
    if prof is not None:  # gym.make reaches here without stori_envs.make's check of what the family reads
        from stori_envs.families import check_accepted, get_family

        check_accepted(get_family("medical"), prof)
    owned, defaults = profile_fields(prof) if prof is not None else ({}, {})
    fields_ = merge_fields(merge_fields(defaults, extra), overrides)
    for key, value in owned.items():
        given = _as_block_dict(key, overrides.get(key))
        if key in _BLOCKS and isinstance(given, dict):
            clash = sorted(k for k in value if k in given and given[k] != value[k])
            if clash:
                k = clash[0]
                raise ValueError(f"{key}.{k}: got {given[k]!r} and a profile that sets {value[k]!r}; allowed: one "
                                 "of the two (drop the keyword argument or change the profile)")
        elif key in overrides and given != value:
            raise ValueError(f"{key}: got {overrides[key]!r} and a profile that sets {value!r}; allowed: one of the "
                             "two (drop the keyword argument or change the profile)")
    return merge_fields(fields_, owned)
