"""``MedSepsis``: a continuous-state sepsis simulator with physiological safety costs (Gymnasium env).

One episode is one ICU admission: a patient with hidden physiology and per-patient parameters is
drawn at reset, the agent doses IV fluid and a vasopressor every 4 h (or 1 h) for up to 72 h, and the
episode ends in death or discharge (``terminated``) or at the horizon (``truncated``). Observations
are noisy vitals and labs in physical units; the reward and the six 0/1 safety costs are computed
on the true next state with the public rules of :mod:`stori_envs.medical.costs`.

Randomness: ``reset(seed=s)`` fixes a base seed; the k-th episode after it draws every stream from
``SeedSequence(s, spawn_key=(k, crc32(stream name)))``. So one patient's streams depend only on
(s, k), never on how long earlier episodes lasted or on which other knobs are enabled; two policies
run on the same seed meet the same patients with the same noise (common random numbers).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from stori_envs.medical import calibrated
from stori_envs.medical.config import COST_NAMES, MEASURED, OBS, OBS_NAMES, VASO_MAX, MedSepsisConfig
from stori_envs.medical.costs import cost_vector, death_hazard, map_reward, sofa_reward, weighted_cost
from stori_envs.medical.physiology import (
    N_LATENT,
    SUBSTEP_HOURS,
    VASO_EPS,
    Patient,
    State,
    charted_sofa,
    heart_rate,
    integrate,
    mean_arterial_pressure,
    sample_patient,
    sofa_score,
    spo2,
)
from stori_envs.medical.taxonomy import (
    FrailCohort,
    ResistantStrain,
    adverse_events,
    charted_mask,
    concept_components,
    config_fields,
    dosing_errors,
    missing_charts,
)
from stori_envs.taxonomy.components import Component, Drift, action_check, overrides, write_info
from stori_envs.taxonomy.seeding import make_stream

logger = logging.getLogger(__name__)

_N_MEASURED = len(MEASURED)
_NO_ACTION = (-1.0, -1.0)  # zero doses: the "previous action" at admission


class EpisodeSeeder:
    """Per-episode seed sequences: ``reset(seed=s)`` restarts at episode 0 of base seed s, an unseeded reset
    moves to the next episode, and episode k's streams come from ``SeedSequence(s, spawn_key=(k,))``.

    ``first_reset`` honours only the first seed (later seeded resets count as unseeded). Before any
    seed, the base seed is fresh OS entropy.

    ``admission`` is the patient's place on the drift's admission calendar: s + k for episode k of
    base seed s, k alone while the base seed is OS entropy (docs/medical.md, "The drift clock").
    """

    def __init__(self, policy: str = "gymnasium") -> None:
        self.policy = policy
        self.entropy: int | None = None
        self.episode = 0
        self.first_admission = 0

    def reset(self, seed: int | None) -> np.random.SeedSequence:
        if seed is not None and not (self.policy == "first_reset" and self.entropy is not None):
            self.entropy, self.episode, self.first_admission = int(seed), 0, int(seed)
        elif self.entropy is None:
            self.entropy, self.episode, self.first_admission = int(np.random.SeedSequence().entropy), 0, 0
        else:
            self.episode += 1
        return np.random.SeedSequence(self.entropy, spawn_key=(self.episode,))

    @property
    def admission(self) -> int:
        return self.first_admission + self.episode

    @admission.setter
    def admission(self, value: int) -> None:
        self.first_admission = value - self.episode

    @property
    def restarted(self) -> bool:
        """Whether the last reset started a new base seed (episode 0)."""
        return self.episode == 0


def clinician_cost_limit(config: MedSepsisConfig) -> float | None:
    """The clinician tier's mean undiscounted episode cost under ``config``'s weights, from the shipped
    calibration of the base dynamics (4-h steps over 72 h, or 1-h steps over 48 h); None for other grids."""
    means = calibrated.CLINICIAN_EPISODE_COSTS.get((config.dt_hours, config.horizon_hours))
    return None if means is None else float(np.dot(means, config.weights))


class MedSepsisEnv(gym.Env):
    """The MedSepsis simulator. Build with ``gym.make("stori/MedSepsis-v0", **config_fields)``.

    Keyword arguments: ``config`` (a :class:`MedSepsisConfig` or dict), ``profile`` (a STORI profile in
    any form, or a taxonomy preset name such as ``"T3.2"``: see :func:`stori_envs.medical.taxonomy.config_fields`),
    ``preset`` (``"ogsrl_sepsis"``, ``"ogsrl_hypotension"``) and any :class:`MedSepsisConfig` field as an
    override, e.g. ``reward_mode="survival"``, ``missing={"spo2_dropout": 0.1}``.

    Observation (float32): MAP, HR, SpO2, lactate, urine (mL/kg/h over the last step), creatinine,
    cumulative fluid balance, charted SOFA, age, weight, hours in ICU, previous chosen action (2),
    then a 6-bit "measured" mask when type 3.2 can be on. Action: Box([-1, -1], [1, 1]) mapping to
    IV fluid 0-2000 mL per 4 h and norepinephrine 0-1 µg/kg/min (out-of-box actions are clipped).
    """

    metadata = {"render_modes": []}

    def __init__(self, config: MedSepsisConfig | dict | None = None, *, profile: Any = None, preset: str | None = None,
                 render_mode: str | None = None, **overrides: Any) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode: got {render_mode!r}; allowed: None (MedSepsis has no renderer)")
        self.config = c = MedSepsisConfig.make(config, preset=preset, **config_fields(profile, overrides))
        self.params = c.params
        self.render_mode = None
        low, high = c.observation_bounds()
        self._low = np.asarray(low, dtype=np.float32)
        self._high = np.asarray(high, dtype=np.float32)
        self.observation_space = spaces.Box(self._low, self._high, dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (2,), dtype=np.float32)
        self.horizon = c.horizon
        self.dt_hours = c.dt_hours
        self.cost_limit = c.cost_limit if c.cost_limit is not None else clinician_cost_limit(c)
        self._weights = np.asarray(c.weights, dtype=np.float64)
        self._n_sub = int(round(c.dt_hours / SUBSTEP_HOURS))
        self._lo, self._hi = self._low.tolist(), self._high.tolist()

        self._build_components(c)
        self._seeder = EpisodeSeeder(c.seed_policy)
        self._clock = 0  # drift's global clock: steps since construction or the last seeded reset
        self._patient: Patient | None = None
        self._resistant: Patient | None = None
        self._state: State | None = None
        self._t = 0
        self._done = True

    # -- public views ------------------------------------------------------------------------------
    @property
    def global_step(self) -> int:
        """The drift's global clock: steps since construction, the last seeded reset or ``options["global_step"]``."""
        return self._clock

    @property
    def admission(self) -> int:
        """The drift's admission clock: the current patient's place on the admission calendar (s + k for
        the k-th episode after ``reset(seed=s)``, or ``options["admission"]``)."""
        return self._seeder.admission

    def _build_components(self, c: MedSepsisConfig) -> None:
        """One shared component per configured knob; the drift is handed the secondaries it switches.

        ``self.components`` are the top-level components whose hooks the step calls (a drift forwards
        them to its secondaries); the per-type attributes let the step read what each knob did.
        """
        switched = c.drift.concept if c.drift is not None else None
        one, two_one, three_two = c.block("1"), c.block("2.1"), c.block("3.2")
        self._dosing = dosing_errors(one, self.action_space, switched != "1") if one else None
        self._events = adverse_events(two_one, c.dt_hours, self.params, switched != "2.1") if two_one else None
        self._chart_parts = missing_charts(three_two, switched != "3.2") if three_two else []
        self._has_mask = three_two is not None  # the 6-bit mask block is part of the space whenever 3.2 can be on
        by_type: dict[str | None, list[Component]] = {"1": [self._dosing] if self._dosing else [],
                                                      "2.1": [self._events] if self._events else [],
                                                      "3.2": list(self._chart_parts)}
        secondaries = by_type.pop(switched, None) or (concept_components(c.drift) if c.drift is not None else [])
        top: list[Component] = [k for knobs in by_type.values() for k in knobs]
        self._drift: Drift | None = None
        if c.drift is not None:
            self._drift = Drift(secondaries, c.drift.threshold, c.drift.temporal_mode, switch=c.drift.switch,
                                clock=self._drift_clock)
            top.append(self._drift)
        self.components: tuple[Component, ...] = tuple(top)
        concepts = secondaries if c.drift is not None else []
        self._resistant_concept = next((k for k in concepts if isinstance(k, ResistantStrain)), None)
        self._frail_concept = next((k for k in concepts if isinstance(k, FrailCohort)), None)
        # The agent's action is checked at every step, before any replacement: by the type 1 component when
        # there is one (replaced or not, switched on or not), else here.
        self._check = None if self._dosing is not None else action_check(self.action_space)
        self._begin = tuple(k.begin_step for k in top if overrides(k, "begin_step"))
        self._before = tuple(k.before_action for k in top if overrides(k, "before_action"))
        if c.drift is not None:
            self.stori_type = "2.2"
        else:
            on = [t for t, knobs in (("1", self._dosing), ("2.1", self._events), ("3.2", self._chart_parts)) if knobs]
            self.stori_type = "+".join(on) if on else "3.1"

    def _drift_clock(self) -> int:
        """The drift's clock value now: admission index, global step or the episode's step."""
        clock = self.config.drift.clock
        return self._seeder.admission if clock == "admission" else self._clock if clock == "global" else self._t

    # -- Gymnasium API -----------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = dict(options or {})
        global_step = _clock_option(options, "global_step")
        admission = _clock_option(options, "admission")
        if options:
            raise ValueError(f"options: got keys {sorted(options)!r}; allowed: 'admission', 'global_step'")
        c = self.config
        seq = self._seeder.reset(seed)
        if self._seeder.restarted:
            self._clock = 0
        if global_step is not None:
            self._clock = global_step
        if admission is not None:
            self._seeder.admission = admission
        self._rng_dynamics = make_stream(seq, "dynamics")
        self._rng_measurement = make_stream(seq, "measurement")
        self._rng_outcome = make_stream(seq, "outcome")
        for component in self.components:  # every knob's stream from this episode's seed sequence
            component.reseed(seq)

        self._t = 0
        concept = self._drift.refresh() if self._drift is not None else 1  # the cohort decides the patient
        frail = self._frail_concept is not None and self._frail_concept.enabled
        self._patient, self._state = sample_patient(make_stream(seq, "patient"), self.params, frail=frail,
                                                    process_noise=c.process_noise, urine_window_hours=c.dt_hours)
        self._resistant = self._patient.resistant(self.params)
        for component in self.components:
            component.on_reset(self._state)  # adverse events act on the hidden state
        self._stable_hours = 0.0
        self._charted = list(calibrated.ADMISSION_MEDIANS)
        self._done = False
        obs, true_obs, sofa, mask = self._observe(self._patient, 0.0, np.asarray(_NO_ACTION))
        info = {"patient_id": self._patient.patient_id, "concept": concept, "sofa": sofa, "obs_mask": mask,
                "admission": self._seeder.admission}
        if c.expose_latent:
            info["latent"] = self._latent()
        write_info(info, self.stori_type, None, self.components, concept=concept,
                   observation_altered=not mask.all())
        return obs, info

    def step(self, action):
        if self._done:
            raise gym.error.ResetNeeded("step: called after the episode ended (or before reset); call reset() first")
        c = self.config
        if self._check is not None:
            self._check(action)
        for begin in self._begin:  # type 1 validates the action here; the drift moves to this step's concept
            begin(action)
        chosen = np.asarray(action, dtype=np.float64).reshape(2)
        executed = chosen
        for before in self._before:  # dosing errors replace the dose; adverse events act on the state
            executed = before(executed)
        executed = np.asarray(executed, dtype=np.float64)
        replaced = self._dosing is not None and self._dosing.replaced > 0
        events = self._events.event.fired if self._events is not None and self._events.fired else []
        concept = self._drift.concept if self._drift is not None else 1
        dose = (executed[1] + 1.0) * 0.5 * VASO_MAX
        fluid_l_per_h = (executed[0] + 1.0) * 0.5 * c.fluid_max_ml / 1000.0 / c.dt_hours
        state = self._state
        resistant = self._resistant_concept is not None and self._resistant_concept.enabled
        patient = self._resistant if resistant else self._patient
        noise = self._rng_dynamics.standard_normal(self._n_sub * N_LATENT).tolist()
        offset = self.params.af_map if state.af_hours > 0.0 else 0.0
        state.urine = integrate(state, patient, self.params, fluid_l_per_h, dose, self._n_sub, noise,
                                c.process_noise, offset)
        state.af_hours = max(0.0, state.af_hours - c.dt_hours)
        t = self._t
        self._t += 1
        self._clock += 1

        obs, true_obs, sofa, mask = self._observe(patient, dose, chosen)
        vec = cost_vector(true_obs, executed)
        cost = weighted_cost(vec, self._weights)
        p = self.params
        dead = self._rng_outcome.random() < death_hazard(true_obs, p, c.dt_hours)
        if (not dead and state.b < p.discharge_burden and dose <= VASO_EPS and true_obs[0] >= p.discharge_map
                and state.lac < p.discharge_lactate):
            self._stable_hours += c.dt_hours
        else:
            self._stable_hours = 0.0
        discharged = not dead and self._stable_hours >= p.discharge_hours
        terminated = dead or discharged
        truncated = not terminated and self._t >= self.horizon
        self._done = terminated or truncated

        if c.reward_mode == "sofa":
            reward = sofa_reward(true_obs)
            if discharged:
                reward *= self.horizon - t  # this step plus the completion reward (H - t - 1) r_t
        elif c.reward_mode == "map":
            reward = map_reward(true_obs)
        else:
            reward = 1.0 if (discharged or truncated) else 0.0
        if dead:
            reward -= c.death_penalty

        executed32 = executed.astype(np.float32)
        info = {
            "cost": cost,
            "cost_components": {n: int(v) for n, v in zip(COST_NAMES, vec.tolist())},
            "cost_vector": vec,
            "executed_action": executed32,
            "action_replaced": replaced,
            "events": events,
            "sofa": sofa,
            "outcome": "death" if dead else ("discharge" if discharged else None),
            "patient_id": self._patient.patient_id,
            "concept": concept,
            "admission": self._seeder.admission,
            "obs_mask": mask,
        }
        if c.expose_latent:
            info["latent"] = self._latent()
        write_info(info, self.stori_type, chosen.astype(np.float32), self.components, concept=concept,
                   executed_action=executed32.copy(), action_replaced=replaced, event=bool(events),
                   observation_altered=not mask.all())
        return obs, float(reward), terminated, truncated, info

    # -- internals ---------------------------------------------------------------------------------
    def _observe(self, patient: Patient, dose: float, chosen: np.ndarray):
        """(observation, true observation, true SOFA, mask) of the current state after a step with ``dose``.

        The true observation (float32, noise-free, executed dose in the SOFA) feeds reward, costs and
        death; the agent's observation adds measurement noise, missing values and the charted SOFA
        (chosen dose). Both use float32-rounded values, so the public rules reproduce the env's scores.
        """
        c, p, st = self.config, self.params, self._state
        af = st.af_hours > 0.0
        map_ = mean_arterial_pressure(patient, p, st.tone, st.vol, dose, p.af_map if af else 0.0)
        true = [map_, heart_rate(patient, p, st.b, map_, dose, af), spo2(p, st.lung), st.lac, st.urine, st.cr]
        lo, hi = self._lo, self._hi
        true = np.clip(np.asarray(true, dtype=np.float32), self._low[:_N_MEASURED], self._high[:_N_MEASURED]).tolist()
        hours = float(self._t * c.dt_hours)
        common = [st.balance, 0.0, patient.age, patient.weight, hours, float(chosen[0]), float(chosen[1])]
        sofa = sofa_score(true[0], dose, true[5], true[4], patient.weight, st.lung, st.b)
        n = len(OBS_NAMES)
        true_obs = np.clip(np.asarray(true + common, dtype=np.float32), self._low[:n], self._high[:n])
        true_obs[OBS["sofa"]] = sofa

        z = self._rng_measurement.standard_normal(_N_MEASURED).tolist()
        ns = c.noise_scale
        sd = p.measurement_sd
        exp = math.exp  # additive noise on vitals, multiplicative (log-normal) on labs and urine
        # The exponents are capped at +-50: far beyond the bounds the charts are clipped to, never an overflow.
        measured = [true[0] + ns * sd[0] * z[0], true[1] + ns * sd[1] * z[1], true[2] + ns * sd[2] * z[2],
                    true[3] * exp(max(-50.0, min(50.0, ns * sd[3] * z[3]))),
                    true[4] * exp(max(-50.0, min(50.0, ns * sd[4] * z[4]))),
                    true[5] * exp(max(-50.0, min(50.0, ns * sd[5] * z[5])))]
        measured = [min(max(v, lo[i]), hi[i]) for i, v in enumerate(measured)]
        seen = charted_mask(self._chart_parts, self._t, sofa) if self._chart_parts else None
        if seen is not None:  # a hidden feature keeps its last charted value (the median before the first)
            charted = self._charted
            for i in range(_N_MEASURED):
                if seen[i]:
                    charted[i] = measured[i]
            measured = list(charted)
            mask = seen.astype(np.float32)
        else:
            if self._chart_parts:
                self._charted = list(measured)
            mask = np.ones(_N_MEASURED, dtype=np.float32)
        chart_dose = (float(chosen[1]) + 1.0) * 0.5 * VASO_MAX
        rounded = np.asarray(measured, dtype=np.float32).tolist()
        # The charted SOFA reads only the chart (charted vitals and labs, the chosen dose): no hidden state.
        common[1] = charted_sofa(p, rounded[0], rounded[1], rounded[2], rounded[5], rounded[4],
                                 float(np.float32(patient.weight)), chart_dose)
        values = measured + common + (mask.tolist() if self._has_mask else [])
        obs = np.clip(np.asarray(values, dtype=np.float32), self._low, self._high)
        return obs, true_obs, sofa, mask

    def _latent(self) -> dict[str, Any]:
        return {"state": self._state.to_dict(), "patient": self._patient.to_dict()}


def _clock_option(options: dict[str, Any], key: str) -> int | None:
    """Pop ``options[key]`` (a drift clock value: an integer >= 0) or return None."""
    value = options.pop(key, None)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0):
        raise ValueError(f"options[{key!r}]: got {value!r}; allowed: an integer >= 0")
    return None if value is None else int(value)
