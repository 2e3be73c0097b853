"""Behaviour policies of ``MedSepsis``: the sources of the dataset tiers (expert, clinician, random, mixed, unsafe).

The clinician is rule based, in the spirit of the Surviving Sepsis Campaign (about 30 mL/kg of
crystalloid for hypotension or lactate >= 4 mmol/L, MAP target 65 mmHg, norepinephrine first line),
with quality knobs that make it imperfect: a random-action rate ``eps``, multiplicative log-normal
``dose_noise``, a reaction ``delay`` (it acts on an observation ``delay`` steps old) and a
``fluid_bias``. Each policy owns its random stream and returns ``(action, logp)``.

``logp`` is the log-density of the chosen normalised action with respect to Lebesgue measure plus
point masses at each dose's two ends (-1 = no dose, +1 = the maximum, reached when noise pushes a
dose past it): per dose, the rule's component is an atom at -1 when the rule gives none, else a
log-normal density inside (-1, 1) plus an atom at +1; the ``eps`` component is uniform (density 1/2
per dose, no atoms). With ``dose_noise = 0`` the rule's action is itself an atom.

A policy notices a new episode by the observation's ``hours`` feature being 0 (admission), so one
instance can run many episodes; ``reset(seed)`` re-seeds its stream.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from stori_envs.medical.config import (
    COST_NAMES,
    FLUID_MAX_ML_PER_4H,
    MEASURED,
    OBS,
    OBS_NAMES,
    VASO_MAX,
    _Block,
)
from stori_envs.taxonomy.seeding import make_stream
from stori_envs.taxonomy.validation import check_choice, check_number, check_positive_int, check_probability

TIERS = ("expert", "clinician", "random", "mixed", "unsafe")
LAB_USES = ("locf", "ignore_missing")
MIXED_WEIGHTS = (("clinician", 0.5), ("random", 0.3), ("expert", 0.2))
_LOG_HALF = math.log(0.5)
_LACTATE_MASK = len(OBS_NAMES) + MEASURED.index("lactate")


class Policy(Protocol):
    """What dataset builders and evaluators call."""

    name: str

    def reset(self, seed: int | None = None) -> None: ...

    def act(self, obs: np.ndarray) -> tuple[np.ndarray, float]: ...


@dataclass(frozen=True)
class ClinicianConfig(_Block):
    """Rule thresholds and quality knobs of the guideline policy (volumes in mL, doses in µg/kg/min).

    Doses scale with the step length: volumes and titration steps are quoted per 4 h.
    """

    eps: float = 0.1
    dose_noise: float = 0.2
    delay: int = 1
    fluid_bias: float = 1.5
    balance_cap: float = 5.0
    map_target: float = 65.0
    map_band: float = 10.0
    vaso_cap: float = 0.5
    spo2_gate: float = 92.0
    lab_use: str = "locf"
    initial_ml_per_kg: float = 30.0
    bolus_ml: float = 500.0
    maintenance_ml_per_kg_h: float = 1.0
    vaso_after_ml: float = 2000.0
    vaso_start: float = 0.05
    titration: float = 0.05
    lactate_guided: bool = False
    _path = "clinician"

    def __post_init__(self) -> None:
        p = self._path
        self._set("eps", check_probability(f"{p}.eps", self.eps))
        self._set("delay", check_positive_int(f"{p}.delay", self.delay, 0))
        self._set("lab_use", check_choice(f"{p}.lab_use", self.lab_use, LAB_USES))
        if not isinstance(self.lactate_guided, bool):
            raise ValueError(f"{p}.lactate_guided: got {self.lactate_guided!r}; allowed: True or False")
        # A log-normal sigma above 5 spreads a dose over 10 orders of magnitude (and exp() could overflow).
        self._set("dose_noise", check_number(f"{p}.dose_noise", self.dose_noise, 0.0, 5.0))
        for name in ("map_band", "initial_ml_per_kg", "bolus_ml", "maintenance_ml_per_kg_h",
                     "vaso_after_ml", "titration", "spo2_gate"):
            self._set(name, check_number(f"{p}.{name}", getattr(self, name), 0.0))
        self._set("fluid_bias", check_number(f"{p}.fluid_bias", self.fluid_bias, 0.0, lo_open=True))
        self._set("map_target", check_number(f"{p}.map_target", self.map_target, 0.0, 200.0))
        self._set("vaso_cap", check_number(f"{p}.vaso_cap", self.vaso_cap, 0.0, VASO_MAX))
        self._set("vaso_start", check_number(f"{p}.vaso_start", self.vaso_start, 0.0, VASO_MAX))
        cap = self.balance_cap
        if not (isinstance(cap, (int, float)) and not isinstance(cap, bool) and cap == cap):
            raise ValueError(f"{p}.balance_cap: got {cap!r}; allowed: a number of litres or inf (no cap)")
        self._set("balance_cap", float(cap))


#: The tiers' rule settings (medical.md §1.12; expert targets tuned on the simulator, see docs/medical.md).
TIER_CONFIGS = {
    "clinician": ClinicianConfig(),
    "expert": ClinicianConfig(eps=0.0, dose_noise=0.05, delay=0, fluid_bias=1.0, balance_cap=3.0,
                              vaso_after_ml=1000.0, lactate_guided=True),
    "unsafe": ClinicianConfig(fluid_bias=3.0, balance_cap=math.inf, spo2_gate=0.0, map_target=85.0,
                              vaso_cap=VASO_MAX),
}


class _Seeded:
    name = "policy"

    def __init__(self, seed: int | None) -> None:
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        """Re-seed the policy's own stream (``None``: fresh entropy)."""
        self.rng = make_stream(seed, f"policy/{self.name}")


class RandomPolicy(_Seeded):
    """I.i.d. uniform actions on the box; logp = log(1/4)."""

    name = "random"

    def __init__(self, seed: int | None = None, **_: Any) -> None:
        super().__init__(seed)

    def act(self, obs: np.ndarray) -> tuple[np.ndarray, float]:
        return self.rng.uniform(-1.0, 1.0, 2).astype(np.float32), 2.0 * _LOG_HALF


class ClinicianPolicy(_Seeded):
    """The guideline policy (see the module docstring). ``config`` sets the rules and the quality knobs.

    Rules, on the (possibly delayed) observation: at admission with MAP < 65 or lactate >= 4, give
    ``initial_ml_per_kg`` spread over the first steps; later, with MAP < target, balance < cap and
    SpO2 >= gate, a ``bolus_ml`` bolus; once ``vaso_after_ml`` has been given and MAP stays below target,
    start norepinephrine at ``vaso_start`` and titrate by ``titration`` per 4 h towards
    [target, target + band], capped at ``vaso_cap``; always maintenance fluid. ``lactate_guided``
    also treats lactate >= 4 like hypotension and weans the vasopressor faster once lactate < 2.
    """

    def __init__(self, config: ClinicianConfig | dict | None = None, *, seed: int | None = None,
                 dt_hours: int = 4, name: str = "clinician", **overrides: Any) -> None:
        base = ClinicianConfig.parse(config) or ClinicianConfig()
        self.config = replace(base, **overrides) if overrides else base
        if dt_hours not in (1, 4) or isinstance(dt_hours, bool):
            raise ValueError(f"dt_hours: got {dt_hours!r}; allowed: 1 or 4")
        self.name = name
        self.dt_hours = dt_hours
        self.fluid_max = FLUID_MAX_ML_PER_4H * dt_hours / 4.0
        self._scale = dt_hours / 4.0
        self._history: deque = deque(maxlen=self.config.delay + 1)
        self._last_hours = None
        self._new_episode()
        super().__init__(seed)

    # -- rules -------------------------------------------------------------------------------------
    def _new_episode(self) -> None:
        self._history.clear()
        self._plan_ml = None  # initial resuscitation still to give (None: not decided yet)
        self._given_ml = 0.0
        self._vaso = 0.0

    def rule_doses(self, obs: np.ndarray) -> tuple[float, float]:
        """The rule's (fluid mL per step, vasopressor µg/kg/min) for the observation it reacts to; updates memory."""
        c = self.config
        o = obs.tolist()
        map_, spo2_, balance, weight = o[OBS["map"]], o[OBS["spo2"]], o[OBS["fluid_balance"]], o[OBS["weight"]]
        lactate = o[OBS["lactate"]]
        if c.lab_use == "ignore_missing" and len(o) > _LACTATE_MASK and o[_LACTATE_MASK] == 0.0:
            lactate = None
        high_lactate = lactate is not None and lactate >= 4.0
        hypotensive = map_ < c.map_target
        fluid = c.maintenance_ml_per_kg_h * weight * self.dt_hours
        if self._plan_ml is None:
            self._plan_ml = c.initial_ml_per_kg * weight if (map_ < 65.0 or high_lactate) else 0.0
        extra = 0.0
        if self._plan_ml > 0.0:
            extra = max(0.0, min(self._plan_ml, self.fluid_max / c.fluid_bias - fluid))
            self._plan_ml -= extra
        elif (hypotensive or (c.lactate_guided and high_lactate)) and balance < c.balance_cap and spo2_ >= c.spo2_gate:
            extra = c.bolus_ml * self._scale
        fluid = min(self.fluid_max, (fluid + extra) * c.fluid_bias)

        step = c.titration * self._scale
        if self._vaso > 0.0:
            if hypotensive:
                self._vaso += step
            elif map_ > c.map_target + c.map_band or (c.lactate_guided and lactate is not None and lactate < 2.0
                                                         and map_ >= c.map_target + 0.5 * c.map_band):
                self._vaso -= step
        elif hypotensive and self._given_ml >= c.vaso_after_ml:
            self._vaso = c.vaso_start
        self._vaso = min(c.vaso_cap, self._vaso)
        if self._vaso < 1e-9:
            self._vaso = 0.0
        return fluid, self._vaso

    # -- acting ------------------------------------------------------------------------------------
    def act(self, obs: np.ndarray) -> tuple[np.ndarray, float]:
        """(normalised float32 action, log-density of that action under this policy)."""
        obs = np.asarray(obs, dtype=np.float32)
        hours = float(obs[OBS["hours"]])
        if hours == 0.0 or self._last_hours is None or hours < self._last_hours:
            self._new_episode()
        self._last_hours = hours
        self._history.append(obs)
        fluid, vaso = self.rule_doses(self._history[0])
        coin = self.rng.random()
        uniform = self.rng.uniform(-1.0, 1.0, 2)
        z = self.rng.standard_normal(2)
        c = self.config
        maxima = (self.fluid_max, VASO_MAX)
        rule = (fluid, vaso)
        if coin < c.eps:
            action = uniform
        else:
            noisy = [d * math.exp(c.dose_noise * zi) for d, zi in zip(rule, z.tolist())]
            action = np.asarray([min(1.0, 2.0 * d / m - 1.0) for d, m in zip(noisy, maxima)])
        action = action.astype(np.float32)  # logp of exactly what is returned (atoms included)
        self._given_ml += (float(action[0]) + 1.0) * 0.5 * self.fluid_max
        return action, self.log_prob(action, rule)

    def log_prob(self, action: np.ndarray, rule: tuple[float, float]) -> float:
        """Log-density of ``action`` given the rule doses it was drawn around (see the module docstring)."""
        c = self.config
        a = [float(x) for x in action]
        maxima = (self.fluid_max, VASO_MAX)
        rule_density = 1.0 - c.eps
        for ai, d, m in zip(a, rule, maxima):
            rule_density *= _dose_density(ai, d, m, c.dose_noise)
        inside = all(-1.0 < ai < 1.0 for ai in a)
        density = rule_density + (c.eps * 0.25 if inside else 0.0)
        return math.log(density) if density > 0.0 else -math.inf


def _dose_density(a: float, dose: float, maximum: float, sigma: float) -> float:
    """Density (or atom mass) of one normalised dose ``a`` for rule dose ``dose`` with log-normal noise ``sigma``."""
    if dose <= 0.0:
        return 1.0 if a == -1.0 else 0.0
    if sigma == 0.0:  # the rule's action is an atom (compared as the float32 the policy returns)
        return 1.0 if a == float(np.float32(min(1.0, 2.0 * dose / maximum - 1.0))) else 0.0
    if a >= 1.0:  # atom at the maximum: P(dose * exp(sigma z) >= maximum)
        return 0.5 * math.erfc(math.log(maximum / dose) / sigma / math.sqrt(2.0))
    if a <= -1.0:
        return 0.0
    z = (math.log((a + 1.0) * 0.5 * maximum) - math.log(dose)) / sigma
    return math.exp(-0.5 * z * z) / (math.sqrt(2.0 * math.pi) * sigma * (a + 1.0))


class MixedPolicy(_Seeded):
    """Whole episodes from a mixture of tiers (default 50 % clinician, 30 % random, 20 % expert).

    At each admission the tier is drawn from the mixture's own stream; ``source`` names it and
    ``logp`` is that tier's (the behaviour policy of the episode is known).
    """

    name = "mixed"

    def __init__(self, seed: int | None = None, dt_hours: int = 4,
                 weights: tuple[tuple[str, float], ...] = MIXED_WEIGHTS) -> None:
        names = [n for n, _ in weights]
        probs = np.asarray([w for _, w in weights], dtype=np.float64)
        if any(n not in TIERS or n == "mixed" for n in names) or (probs < 0).any() or not np.isclose(probs.sum(), 1.0):
            raise ValueError(f"weights: got {weights!r}; allowed: (tier, weight) pairs of "
                             "expert/clinician/random/unsafe with weights >= 0 summing to 1")
        self.weights = tuple(weights)
        self._cum = np.cumsum(probs).tolist()
        self.components = {n: make_policy(n, seed=seed, dt_hours=dt_hours) for n in names}
        self.source: str | None = None
        super().__init__(seed)

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        for policy in self.components.values():
            policy.reset(seed)

    def act(self, obs: np.ndarray) -> tuple[np.ndarray, float]:
        if float(obs[OBS["hours"]]) == 0.0 or self.source is None:
            u = self.rng.random()
            self.source = next((n for (n, _), c in zip(self.weights, self._cum) if u < c), self.weights[-1][0])
        return self.components[self.source].act(obs)


def make_policy(tier: str, *, seed: int | None = None, dt_hours: int = 4, **overrides: Any) -> Policy:
    """The behaviour policy of a dataset tier: ``expert``, ``clinician``, ``random``, ``mixed`` or ``unsafe``.

    ``overrides`` change :class:`ClinicianConfig` fields of the rule-based tiers (e.g. ``eps=0.2``).
    """
    check_choice("tier", tier, TIERS)
    if tier == "random":
        return RandomPolicy(seed)
    if tier == "mixed":
        if overrides:
            raise ValueError(f"overrides: got {sorted(overrides)!r} for tier 'mixed'; allowed: none")
        return MixedPolicy(seed, dt_hours)
    known = {f.name for f in fields(ClinicianConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"{unknown[0]}: got {overrides[unknown[0]]!r}; allowed: ClinicianConfig fields "
                         + ", ".join(sorted(known)))
    return ClinicianPolicy(TIER_CONFIGS[tier], seed=seed, dt_hours=dt_hours, name=tier, **overrides)


# -- rollouts ---------------------------------------------------------------------------------------
@dataclass
class Episode:
    """One admission under a policy: T transitions (observations has T + 1 rows)."""

    seed: int
    patient_id: int
    observations: np.ndarray
    actions: np.ndarray
    logp: np.ndarray
    rewards: np.ndarray
    costs: np.ndarray
    cost_vectors: np.ndarray
    outcome: str | None

    @property
    def length(self) -> int:
        return len(self.rewards)


def rollout(env: gym.Env, policy: Policy, seed: int) -> Episode:
    """Run one episode from ``env.reset(seed=seed)``; the policy is re-seeded with the same seed (own stream)."""
    obs, info = env.reset(seed=seed)
    policy.reset(seed)
    observations, actions, logps, rewards, costs, vectors = [obs], [], [], [], [], []
    done = False
    while not done:
        action, logp = policy.act(obs)
        obs, reward, terminated, truncated, info = env.step(action)
        done = terminated or truncated
        observations.append(obs)
        actions.append(action)
        logps.append(logp)
        rewards.append(reward)
        costs.append(info["cost"])
        vectors.append(info["cost_vector"])
    return Episode(seed, info["patient_id"], np.asarray(observations), np.asarray(actions, dtype=np.float32),
                   np.asarray(logps), np.asarray(rewards), np.asarray(costs), np.asarray(vectors), info["outcome"])


def evaluate(env: gym.Env, policy: Policy, seeds: Iterable[int], progress=None) -> dict[str, Any]:
    """Mean return, episode cost, mortality, discharge rate and per-component step rates over ``seeds``.

    ``progress`` (optional) is called once per finished episode (e.g. a progress bar's ``advance``).
    """
    episodes = []
    for seed in seeds:
        episodes.append(rollout(env, policy, int(seed)))
        if progress is not None:
            progress()
    returns = np.asarray([e.rewards.sum() for e in episodes])
    costs = np.asarray([e.costs.sum() for e in episodes])
    vectors = np.concatenate([e.cost_vectors for e in episodes])
    outcomes = [e.outcome for e in episodes]
    return {
        "episodes": episodes,
        "returns": returns,
        "costs": costs,
        "return": float(returns.mean()),
        "cost": float(costs.mean()),
        "mortality": outcomes.count("death") / len(episodes),
        "discharge": outcomes.count("discharge") / len(episodes),
        "length": float(np.mean([e.length for e in episodes])),
        "component_rates": dict(zip(COST_NAMES, vectors.mean(0).tolist())),
        "episode_component_costs": dict(zip(COST_NAMES, (vectors.sum(0) / len(episodes)).tolist())),
    }
