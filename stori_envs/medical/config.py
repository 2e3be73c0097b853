"""Configuration of ``MedSepsis``: population constants, the per-type stochasticity blocks and presets.

Everything that shapes an episode lives in one frozen :class:`MedSepsisConfig`, so an environment is
fully described by its constructor keywords (plain dicts and numbers: ``env.spec`` can rebuild it and
dataset metadata can record it). Blocks that are ``None`` are off. Every field is validated on
construction and a bad value raises ``ValueError(f"{field}: got {value!r}; allowed: {what}")``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from stori_envs.taxonomy.drift import SWITCHES
from stori_envs.taxonomy.profile import TEMPORAL_MODES
from stori_envs.taxonomy.seeding import SEED_POLICIES
from stori_envs.taxonomy.validation import (
    ConfigSection,
    check_choice,
    check_number,
    check_positive_int,
    check_probability,
    field_error,
)

#: The six physiological safety boundaries, in the fixed order of ``info["cost_vector"]``.
COST_NAMES = ("hypotension", "hypoxemia", "oliguria", "hyperlactatemia", "fluid_overload", "vasopressor_excess")
REWARD_MODES = ("sofa", "survival", "map")
ERR_MODES = ("uniform", "omit", "decimal")
EVENT_NAMES = ("secondary_infection", "haemorrhage", "atrial_fibrillation", "aspiration")
DRIFT_CONCEPTS = ("resistant_strain", "frail_cohort", "1", "2.1", "3.2")
DRIFT_CLOCKS = ("admission", "global", "episode")
MISSING_MODES = ("schedule", "mcar", "mnar")

#: Charted (maskable) features, in the order of the 6-bit mask block and of observation indices 0-5.
MEASURED = ("map", "hr", "spo2", "lactate", "urine", "creatinine")
PRESETS = ("ogsrl_sepsis", "ogsrl_hypotension")

#: Observation layout (physical units); a 6-bit mask block follows when type 3.2 is on.
OBS_NAMES = ("map", "hr", "spo2", "lactate", "urine", "creatinine", "fluid_balance", "sofa", "age", "weight",
             "hours", "prev_fluid", "prev_vasopressor")
OBS = {name: i for i, name in enumerate(OBS_NAMES)}
_OBS_LOW = (20.0, 30.0, 50.0, 0.3, 0.0, 0.3, -5.0, 0.0, 18.0, 40.0, 0.0, -1.0, -1.0)
_OBS_HIGH = (160.0, 220.0, 100.0, 20.0, 5.0, 10.0, 20.0, 24.0, 95.0, 160.0, 72.0, 1.0, 1.0)

# Action scale: normalised -1 ... +1 maps linearly to 0 ... maximum.
FLUID_MAX_ML_PER_4H = 2000.0
VASO_MAX = 1.0  # µg/kg/min norepinephrine-equivalent
#: A dose below this fraction of its maximum counts as "none" (SOFA, discharge, discrete level 0).
DOSE_EPS_FRACTION = 0.01


class _Block(ConfigSection):
    """A frozen config block, parsed like a profile section; ``None`` stays ``None`` (the block is off)."""

    _path = ""

    @classmethod
    def parse(cls, value: Any, path: str | None = None):
        return None if value is None else cls.from_dict(value, path or cls._path)


@dataclass(frozen=True)
class DosingError(_Block):
    """Type 1, dosing / administration errors: with ``p_err`` per step the executed dose differs from the chosen one.

    ``uniform`` replaces the whole action by a uniform one (STORI semantics); ``omit`` sets one randomly
    chosen channel (fluid or vasopressor) to zero; ``decimal`` multiplies that channel's dose by ten
    (clipped to the maximum), the classic decimal-point pump error.
    """

    p_err: float = 0.1
    err_mode: str = "uniform"
    _path = "dosing_error"

    def __post_init__(self) -> None:
        self._set("p_err", check_probability(f"{self._path}.p_err", self.p_err))
        self._set("err_mode", check_choice(f"{self._path}.err_mode", self.err_mode, ERR_MODES))


@dataclass(frozen=True)
class AdverseEvents(_Block):
    """Type 2.1, adverse events independent of the action, each with a hazard per 4 h (rescaled for 1-h steps).

    Secondary infection (burden +0.3), haemorrhage (-1 L intravascular), new atrial fibrillation (HR +30,
    MAP -10 for 8 h), aspiration (lung injury +0.3). ``event_scale`` multiplies every hazard.
    """

    secondary_infection: float = 0.02
    haemorrhage: float = 0.01
    atrial_fibrillation: float = 0.02
    aspiration: float = 0.01
    event_scale: float = 1.0
    _path = "adverse_events"

    def __post_init__(self) -> None:
        for name in EVENT_NAMES:
            self._set(name, check_probability(f"{self._path}.{name}", getattr(self, name)))
        self._set("event_scale", check_number(f"{self._path}.event_scale", self.event_scale, 0.0))

    def hazards(self, dt_hours: float) -> tuple[float, ...]:
        """Per-step probabilities in :data:`EVENT_NAMES` order: h_dt = 1 - (1 - min(1, scale*h))^(dt/4)."""
        return tuple(1.0 - (1.0 - min(1.0, self.event_scale * getattr(self, n))) ** (dt_hours / 4.0)
                     for n in EVENT_NAMES)


@dataclass(frozen=True)
class Drift(_Block):
    """Type 2.2, population or pathogen drift: concept 2 is active at clock value t when

    ``sudden``: t >= ``threshold``; ``cyclic``: floor(t / ``threshold``) is odd. Clocks (see
    docs/medical.md, "The drift clock", for why the default counts admissions):

    * ``admission`` (default): the patient's place on an admission calendar derived from the seed:
      ``reset(seed=s)`` admits patient s, each unseeded reset the next one (s + 1, s + 2, ...);
      ``options={"admission": n}`` places the patient at n. A patient's concept is fixed for the
      whole stay, the same seed always gives the same patient in the same concept, and a harness that
      seeds every episode (seeds 0, 1, 2, ...) walks through the calendar.
    * ``global``: environment steps since construction or the last seeded reset (set with
      ``options={"global_step": n}``); it never reaches T when every episode is seeded.
    * ``episode``: steps since the last reset, as STORI's counter (e.g. night shifts within a stay).

    ``switch="T-1"`` reproduces the original STORI release's off-by-one for ``sudden``. ``concept`` is
    what concept 2 is: ``resistant_strain`` (EC50 x2, capillary leak x1.5, antibiotic kill x0.5),
    ``frail_cohort`` (patients admitted in concept 2 are older and more comorbid: needs a clock that
    runs across admissions) or a STORI type ``"1"``, ``"2.1"``, ``"3.2"`` whose block is switched on
    in concept 2 (the config's block if given, else its defaults).
    """

    concept: str = "resistant_strain"
    temporal_mode: str = "sudden"
    threshold: int = 500
    clock: str = "admission"
    switch: str = "T"
    _path = "drift"

    def __post_init__(self) -> None:
        p = self._path
        concept = self.concept
        if isinstance(concept, (int, float)) and not isinstance(concept, bool):
            concept = {1: "1", 2.1: "2.1", 3.2: "3.2"}.get(concept, concept)
        self._set("concept", check_choice(f"{p}.concept", concept, DRIFT_CONCEPTS))
        self._set("temporal_mode", check_choice(f"{p}.temporal_mode", self.temporal_mode, TEMPORAL_MODES))
        self._set("threshold", check_positive_int(f"{p}.threshold", self.threshold))
        self._set("clock", check_choice(f"{p}.clock", self.clock, DRIFT_CLOCKS))
        self._set("switch", check_choice(f"{p}.switch", self.switch, SWITCHES))
        if self.concept == "frail_cohort" and self.clock == "episode":
            raise field_error(f"{p}.clock", self.clock, "'admission' or 'global' with concept 'frail_cohort' (a "
                              "cohort changes between admissions; on the episode clock every admission is in "
                              "concept 1)")


@dataclass(frozen=True)
class Missingness(_Block):
    """Type 3.2, missing labs and sensor dropout; a 6-bit mask (1 = measured this step) is appended.

    Lactate and creatinine follow ``mode``: ``schedule`` (measured exactly every ``k`` steps, from the
    admission on), ``mcar`` (missing with ``p_miss``), ``mnar`` (missing with
    min(1, 2 p_miss (1 - SOFA/24)) on the true SOFA, so healthier patients are measured less).
    SpO2 drops out with ``spo2_dropout``; features named in ``blackout`` are never charted. Missing
    values are carried forward (the population median before the first measurement).
    """

    mode: str = "mcar"
    k: int = 2
    p_miss: float = 0.3
    spo2_dropout: float = 0.05
    blackout: tuple[str, ...] = ()
    _path = "missing"

    def __post_init__(self) -> None:
        p = self._path
        self._set("mode", check_choice(f"{p}.mode", self.mode, MISSING_MODES))
        self._set("k", check_positive_int(f"{p}.k", self.k))
        self._set("p_miss", check_probability(f"{p}.p_miss", self.p_miss))
        self._set("spo2_dropout", check_probability(f"{p}.spo2_dropout", self.spo2_dropout))
        blackout = self.blackout
        if isinstance(blackout, str) or not hasattr(blackout, "__iter__"):
            raise field_error(f"{p}.blackout", blackout, "a list of feature names from " + ", ".join(MEASURED))
        blackout = tuple(blackout)
        for name in blackout:
            check_choice(f"{p}.blackout", name, MEASURED)
        self._set("blackout", blackout)


@dataclass(frozen=True)
class MedSepsisParams(_Block):
    """Population constants of the simulator (rates per hour). Override any with ``params={...}``.

    Rate constants marked (θ) are the medians of each patient's log-normal draw (CV ``theta_cv``).
    """

    # patient population
    weight_mean: float = 80.0
    weight_sd: float = 15.0
    age_low: float = 18.0
    age_high: float = 90.0
    map0_mean: float = 85.0
    map0_sd: float = 8.0
    hr0_mean: float = 80.0
    hr0_sd: float = 8.0
    p_heart_failure: float = 0.15
    p_ckd: float = 0.15
    # onset state and untreated burn-in
    burden0: tuple[float, float] = (0.15, 0.6)
    volume0: tuple[float, float] = (-1.5, 0.0)
    tone0: tuple[float, float] = (0.7, 1.0)
    kidney_drop0: tuple[float, float] = (0.0, 0.3)
    ckd_k0: tuple[float, float] = (0.5, 0.7)
    lung0: tuple[float, float] = (0.0, 0.45)
    burn_in_hours: float = 12.0
    # rate constants (θ medians)
    r_g: float = 0.04          # infection growth
    r_abx: float = 0.10        # antibiotic kill
    k_leak: float = 0.10       # capillary leak (L/h at burden 1)
    rho: float = 0.5           # fraction of infused fluid staying intravascular
    kappa: float = 0.15        # recovery of vascular tone
    tau: float = 0.08          # sepsis-induced vasoplegia
    k_cl: float = 0.15         # lactate clearance
    r_k: float = 0.03          # kidney recovery
    ec50: float = 0.15         # vasopressor EC50 (µg/kg/min)
    emax: float = 0.6          # vasopressor maximal tone effect
    theta_cv: float = 0.25
    # fixed physiology
    preload_mid: float = -4.0  # Frank-Starling sigmoid: P(v) = L / (1 + exp(-(v - mid) / scale)), P(0) = 1
    preload_scale: float = 2.0
    hf_volume: float = 2.0     # heart failure: preload falls beyond this volume
    hf_slope: float = 0.06     # ... by this fraction per litre
    hf_lung_factor: float = 2.0
    p_hypoperfusion: float = 0.05  # lactate from (65 - MAP)+
    p_burden: float = 0.25         # lactate from infection
    p_vaso: float = 1.0            # lactate from vasopressor above vaso_toxic (splanchnic ischaemia)
    vaso_toxic: float = 0.3
    insensible: float = 0.5        # insensible losses (mL/kg/h), counted in the fluid balance
    u_k: float = 0.07              # urine mL/kg/h per mmHg above 55 at full kidney function
    k_kidney_injury: float = 0.005 # kidney loss per mmHg below 65
    cr_base: float = 0.9
    cr_hours: float = 12.0
    a_burden: float = 0.01         # lung injury from infection
    a_fluid: float = 0.02          # lung injury per litre of balance above the overload knee
    fluid_knee: float = 4.0
    r_lung: float = 0.04
    spo2_top: float = 98.0         # SpO2 = top - lin Lg - quad Lg^2 (Lg = 0.5 -> 92 %)
    spo2_lin: float = 10.0
    spo2_quad: float = 4.0
    h_burden: float = 40.0
    h_map: float = 1.0
    h_dose: float = 30.0
    # process noise (per sqrt(hour)): B, Vol, Tone, K, Lg, Lac, Cr
    process_sd: tuple[float, ...] = (0.01, 0.05, 0.01, 0.005, 0.005, 0.05, 0.01)
    # measurement noise at noise_scale 1: MAP sd, HR sd, SpO2 sd, lactate CV, urine CV, creatinine CV
    measurement_sd: tuple[float, ...] = (3.0, 5.0, 1.0, 0.10, 0.15, 0.05)
    # death hazard per 4 h: sigmoid(b0 + b_sofa SOFA + b_lac Lac + b_map50 [MAP < 50] + b_age (age - 60) / 10)
    beta0: float = -5.5
    beta_sofa: float = 0.25
    beta_lactate: float = 0.15
    beta_map50: float = 1.5
    beta_age: float = 0.1
    # discharge: stable for discharge_hours with B < b, MAP >= map without vasopressor, lactate < lac
    discharge_burden: float = 0.05
    discharge_map: float = 65.0
    discharge_lactate: float = 2.0
    discharge_hours: float = 8.0
    # adverse events
    infection_jump: float = 0.3
    haemorrhage_litres: float = 1.0
    af_map: float = -10.0
    af_hr: float = 30.0
    af_hours: float = 8.0
    aspiration_jump: float = 0.3
    # drift concepts
    resistant_ec50: float = 2.0
    resistant_leak: float = 1.5
    resistant_abx: float = 0.5
    frail_age_low: float = 65.0
    frail_p_comorbid: float = 0.4
    _path = "params"

    def __post_init__(self) -> None:
        p = self._path
        for f in fields(self):
            value = getattr(self, f.name)
            lo, hi, lo_open = _PARAM_BOUNDS[f.name]
            if isinstance(f.default, tuple):
                if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__") or len(value) != len(f.default):
                    raise field_error(f"{p}.{f.name}", value, f"{len(f.default)} finite numbers")
                value = tuple(check_number(f"{p}.{f.name}", v, lo, hi, lo_open=lo_open) for v in value)
                if f.name in _RANGE_FIELDS and value[0] > value[1]:
                    raise field_error(f"{p}.{f.name}", value, f"(low, high) with low <= high inside [{lo}, {hi}]")
                self._set(f.name, value)
            else:
                self._set(f.name, check_number(f"{p}.{f.name}", value, lo, hi, lo_open=lo_open))
        for name in ("p_heart_failure", "p_ckd", "rho", "frail_p_comorbid"):
            check_probability(f"{p}.{name}", getattr(self, name))
        for name, value in (("age_low", self.age_low), ("frail_age_low", self.frail_age_low)):
            if value > self.age_high:
                raise field_error(f"{p}.{name}", value, f"an age <= age_high ({self.age_high})")
        if self.spo2_lin + self.spo2_quad <= 0.0:
            raise field_error(f"{p}.spo2_lin", self.spo2_lin, "spo2_lin + spo2_quad > 0 (SpO2 must fall with lung "
                              "injury, or the charted SOFA cannot read lung injury from it)")


# Allowed range of every MedSepsisParams field: (low, high, low excluded). Spreads are >= 0, rates and
# multipliers finite and bounded so that no exp() or Euler sub-step overflows; denominators are > 0
# (EC50 + dose with dose 0, lactate clearance, the preload sigmoid's scale, creatinine's time constant,
# which must also be resolved by the 15-min sub-step).
_RATE = (0.0, 10.0, False)
_SPREAD = (0.0, 100.0, False)
_PARAM_BOUNDS: dict[str, tuple[float, float, bool]] = {
    "weight_mean": (40.0, 160.0, False), "weight_sd": _SPREAD, "age_low": (0.0, 120.0, False),
    "age_high": (0.0, 120.0, False), "map0_mean": (20.0, 160.0, False), "map0_sd": _SPREAD,
    "hr0_mean": (30.0, 220.0, False), "hr0_sd": _SPREAD, "p_heart_failure": (0.0, 1.0, False),
    "p_ckd": (0.0, 1.0, False), "burden0": (0.0, 1.0, False), "volume0": (-4.0, 6.0, False),
    "tone0": (0.3, 1.2, False), "kidney_drop0": (0.0, 1.0, False), "ckd_k0": (0.0, 1.0, False),
    "lung0": (0.0, 1.0, False), "burn_in_hours": (0.0, 72.0, False),
    "r_g": _RATE, "r_abx": _RATE, "k_leak": _RATE, "rho": (0.0, 1.0, False), "kappa": _RATE, "tau": _RATE,
    "k_cl": (0.0, 10.0, True), "r_k": _RATE, "ec50": (0.0, 10.0, True), "emax": _RATE, "theta_cv": (0.0, 10.0, False),
    "preload_mid": (-10.0, 10.0, False), "preload_scale": (0.1, 100.0, False), "hf_volume": (-4.0, 6.0, False),
    "hf_slope": _RATE, "hf_lung_factor": (0.0, 100.0, False), "p_hypoperfusion": _RATE, "p_burden": _RATE,
    "p_vaso": _RATE, "vaso_toxic": (0.0, VASO_MAX, False), "insensible": _RATE, "u_k": _RATE,
    "k_kidney_injury": (0.0, 1.0, False), "cr_base": (0.0, 15.0, False), "cr_hours": (0.25, 1000.0, False),
    "a_burden": _RATE, "a_fluid": _RATE, "fluid_knee": (-5.0, 20.0, False), "r_lung": _RATE,
    "spo2_top": (50.0, 100.0, False), "spo2_lin": _SPREAD, "spo2_quad": _SPREAD, "h_burden": (0.0, 200.0, False),
    "h_map": _RATE, "h_dose": (0.0, 200.0, False), "process_sd": (0.0, 10.0, False),
    "measurement_sd": (0.0, 10.0, False), "beta0": (-50.0, 50.0, False), "beta_sofa": (-10.0, 10.0, False),
    "beta_lactate": (-10.0, 10.0, False), "beta_map50": (-10.0, 10.0, False), "beta_age": (-10.0, 10.0, False),
    "discharge_burden": (0.0, 1.0, False), "discharge_map": (20.0, 160.0, False),
    "discharge_lactate": (0.0, 25.0, False), "discharge_hours": (0.0, 72.0, False),
    "infection_jump": (0.0, 1.0, False), "haemorrhage_litres": (0.0, 10.0, False), "af_map": (-100.0, 100.0, False),
    "af_hr": (-100.0, 200.0, False), "af_hours": (0.0, 72.0, False), "aspiration_jump": (0.0, 1.0, False),
    "resistant_ec50": (0.0, 100.0, True), "resistant_leak": (0.0, 100.0, False),
    "resistant_abx": (0.0, 100.0, False), "frail_age_low": (0.0, 120.0, False),
    "frail_p_comorbid": (0.0, 1.0, False),
}
#: (low, high) pairs of MedSepsisParams: reversed ranges are rejected.
_RANGE_FIELDS = ("burden0", "volume0", "tone0", "kidney_drop0", "ckd_k0", "lung0")
#: Upper bounds of the noise scales: beyond them every chart is clipped noise (and exp() could overflow).
MAX_NOISE_SCALE = 10.0
#: Upper bound of cost weights and the death penalty (a sum of six such weights stays finite).
MAX_WEIGHT = 1e6


@dataclass(frozen=True)
class MedSepsisConfig(_Block):
    """Everything that defines a ``MedSepsis`` environment. Build it with :meth:`MedSepsisConfig.make`.

    ``cost_weights`` maps cost names (:data:`COST_NAMES`) to weights (missing names weigh 1).
    ``noise_scale`` scales measurement noise (type 3.1; 0 = noise-free charts), ``process_noise``
    scales the physiological noise (0 and 0 make the simulator deterministic given the patient).
    ``cost_limit`` None means the clinician tier's mean episode cost under these weights.
    ``seed_policy="first_reset"`` seeds on the first seeded reset only (later seeds are ignored, for
    harnesses that pass the same seed every episode); ``"gymnasium"`` re-seeds on every seeded reset.
    """

    reward_mode: str = "sofa"
    dt_hours: int = 4
    horizon_hours: int = 72
    cost_weights: Mapping[str, float] = field(default_factory=dict)
    noise_scale: float = 1.0
    process_noise: float = 1.0
    death_penalty: float = 0.0
    expose_latent: bool = False
    cost_limit: float | None = None
    seed_policy: str = "gymnasium"
    dosing_error: DosingError | None = None
    adverse_events: AdverseEvents | None = None
    drift: Drift | None = None
    missing: Missingness | None = None
    params: MedSepsisParams = field(default_factory=MedSepsisParams)
    _path = "config"

    def __post_init__(self) -> None:
        self._set("reward_mode", check_choice("reward_mode", self.reward_mode, REWARD_MODES))
        if self.dt_hours not in (1, 4) or isinstance(self.dt_hours, bool):
            raise field_error("dt_hours", self.dt_hours, "1 or 4")
        hours = check_positive_int("horizon_hours", self.horizon_hours)
        if hours % self.dt_hours:
            raise field_error("horizon_hours", hours, f"a multiple of dt_hours={self.dt_hours}")
        if not isinstance(self.cost_weights, Mapping):
            raise field_error("cost_weights", self.cost_weights,
                        "a dict mapping " + ", ".join(COST_NAMES) + " to weights >= 0")
        for name, w in self.cost_weights.items():
            check_choice("cost_weights", name, COST_NAMES)
            check_number(f"cost_weights.{name}", w, 0.0, MAX_WEIGHT)
        self._set("cost_weights", {n: float(self.cost_weights.get(n, 1.0)) for n in COST_NAMES})
        self._set("noise_scale", check_number("noise_scale", self.noise_scale, 0.0, MAX_NOISE_SCALE))
        self._set("process_noise", check_number("process_noise", self.process_noise, 0.0, MAX_NOISE_SCALE))
        self._set("death_penalty", check_number("death_penalty", self.death_penalty, 0.0, MAX_WEIGHT))
        if not isinstance(self.expose_latent, bool):
            raise field_error("expose_latent", self.expose_latent, "True or False")
        if self.cost_limit is not None:
            self._set("cost_limit", check_number("cost_limit", self.cost_limit, 0.0))
        self._set("seed_policy", check_choice("seed_policy", self.seed_policy, SEED_POLICIES))
        self._set("dosing_error", DosingError.parse(self.dosing_error))
        self._set("adverse_events", AdverseEvents.parse(self.adverse_events))
        self._set("drift", Drift.parse(self.drift))
        self._set("missing", Missingness.parse(self.missing))
        self._set("params", MedSepsisParams.parse(self.params) or MedSepsisParams())

    # -- derived quantities ------------------------------------------------------------------------
    @property
    def horizon(self) -> int:
        """Number of steps per episode."""
        return self.horizon_hours // self.dt_hours

    @property
    def fluid_max_ml(self) -> float:
        """Fluid (mL per step) at normalised action +1."""
        return FLUID_MAX_ML_PER_4H * self.dt_hours / 4.0

    @property
    def weights(self) -> tuple[float, ...]:
        return tuple(self.cost_weights[n] for n in COST_NAMES)

    def observation_bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(low, high) of the observation; the mask block's [0, 1] bounds are appended when type 3.2 can be on."""
        low, high = list(_OBS_LOW), list(_OBS_HIGH)
        high[OBS["hours"]] = float(self.horizon_hours)
        if self.block("3.2") is not None:
            low += [0.0] * len(MEASURED)
            high += [1.0] * len(MEASURED)
        return tuple(low), tuple(high)

    def block(self, type_id: str):
        """The block of STORI type ``type_id`` ("1", "2.1", "3.2"): the configured one, or its defaults under drift."""
        name = {"1": "dosing_error", "2.1": "adverse_events", "3.2": "missing"}[type_id]
        value = getattr(self, name)
        if value is None and self.drift is not None and self.drift.concept == type_id:
            value = {"1": DosingError, "2.1": AdverseEvents, "3.2": Missingness}[type_id]()
        return value

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready kwargs that rebuild this config with :meth:`make`."""
        out = super().to_dict()
        out["cost_weights"] = dict(self.cost_weights)
        return out

    @classmethod
    def make(cls, config: MedSepsisConfig | Mapping[str, Any] | None = None, *, preset: str | None = None,
             **overrides: Any) -> MedSepsisConfig:
        """A config from a base (``config``), an optional ``preset`` applied on top, then keyword overrides.

        Presets (OGSRL, arXiv 2505.16242): ``ogsrl_sepsis`` (costs hypoxemia + oliguria, §4.1) and
        ``ogsrl_hypotension`` (1-h steps, 48 h, reward ``"map"``, costs oliguria + hyperlactatemia, App. H).
        """
        base = cls() if config is None else cls.from_dict(config, "config")
        changes: dict[str, Any] = {}
        if preset is not None:
            changes.update(preset_overrides(preset))
        changes.update(overrides)
        if not changes:
            return base
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise field_error(unknown[0], changes[unknown[0]], "MedSepsisConfig fields: " + ", ".join(sorted(known)))
        return replace(base, **changes)


def preset_overrides(preset: str) -> dict[str, Any]:
    """The config fields a named preset sets."""
    check_choice("preset", preset, PRESETS)
    only = lambda *names: {n: (1.0 if n in names else 0.0) for n in COST_NAMES}  # noqa: E731
    if preset == "ogsrl_sepsis":
        return {"cost_weights": only("hypoxemia", "oliguria")}
    return {"dt_hours": 1, "horizon_hours": 48, "reward_mode": "map",
            "cost_weights": only("oliguria", "hyperlactatemia")}
