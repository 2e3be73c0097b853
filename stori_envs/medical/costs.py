"""Safety costs, reward and death hazard as pure functions of an observation, plus the safe-RL wrappers.

The environment scores its own transitions with these same functions (on the noise-free, float32
observation of the true next state), so a learned model that predicts observations can score them
with exactly the environment's rules. Every function takes one observation (13 or 19 values, as
``MedSepsis`` returns them) or a batch of shape (N, 13 or 19).

Wrappers follow the safe-RL ecosystem: :class:`CostTuple` returns safety-gymnasium's six-tuple
``(obs, reward, cost, terminated, truncated, info)``, :class:`CostInfo` is its inverse and
:class:`CostVector` returns a vector cost for multi-constraint solvers.
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np

from stori_envs.medical.config import COST_NAMES, OBS, VASO_MAX, MedSepsisParams

#: Named boundaries: (observation feature or "vasopressor", comparison, threshold, source).
BOUNDARIES = {
    "hypotension": ("map", "<", 65.0, "OGSRL App. H; Surviving Sepsis Campaign MAP target"),
    "hypoxemia": ("spo2", "<", 92.0, "OGSRL §4.1; Surviving Sepsis Campaign 2016"),
    "oliguria": ("urine", "<", 0.5, "OGSRL §4.1; KDIGO AKI (mL/kg/h over the step)"),
    "hyperlactatemia": ("lactate", ">", 2.0, "OGSRL App. H (Trzeciak 2007)"),
    "fluid_overload": ("fluid_balance", ">", 5.0, "design (L since admission)"),
    "vasopressor_excess": ("vasopressor", ">", 0.5, "design (µg/kg/min, executed dose)"),
}
_DEFAULT_PARAMS = MedSepsisParams()
# (observation column or None for the executed vasopressor dose, "below the threshold", threshold) per cost.
_RULES = tuple((None if BOUNDARIES[n][0] == "vasopressor" else OBS[BOUNDARIES[n][0]], BOUNDARIES[n][1] == "<",
                BOUNDARIES[n][2]) for n in COST_NAMES)


def _obs(obs) -> np.ndarray:
    arr = np.asarray(obs, dtype=np.float64)
    if arr.ndim not in (1, 2) or arr.shape[-1] < len(OBS):
        raise ValueError(f"obs: got shape {arr.shape}; allowed: (13,), (19,) or (N, 13 or 19) MedSepsis observations")
    return arr


def cost_vector(obs_next, executed_action) -> np.ndarray:
    """The six 0/1 costs in :data:`COST_NAMES` order (float32; shape (6,) or (N, 6)).

    ``obs_next`` is the observation after the step, ``executed_action`` the normalised action the
    patient received (the vasopressor dose is (a[1] + 1) / 2 µg/kg/min).
    """
    o = _obs(obs_next)
    a = np.asarray(executed_action, dtype=np.float64)
    if a.shape[-1:] != (2,) or a.ndim != o.ndim:
        raise ValueError(f"executed_action: got shape {a.shape}; allowed: (2,) per observation, matching obs {o.shape}")
    dose = (np.clip(a[..., 1], -1.0, 1.0) + 1.0) * 0.5 * VASO_MAX
    out = np.empty(o.shape[:-1] + (len(COST_NAMES),), dtype=np.float32)
    for k, (column, below, threshold) in enumerate(_RULES):
        v = dose if column is None else o[..., column]
        out[..., k] = v < threshold if below else v > threshold
    return out


def cost_components(obs_next, executed_action) -> dict[str, int]:
    """The named 0/1 costs of one transition."""
    vec = cost_vector(obs_next, executed_action)
    if vec.ndim != 1:
        raise ValueError(f"obs_next: got a batch of shape {np.shape(obs_next)}; allowed: one observation "
                         "(use cost_vector for batches)")
    return {name: int(v) for name, v in zip(COST_NAMES, vec.tolist())}


def weighted_cost(vector, weights: Sequence[float]) -> float | np.ndarray:
    """Σ_k w_k c_k of a cost vector (or a batch of them)."""
    out = np.asarray(vector, dtype=np.float64) @ np.asarray(weights, dtype=np.float64)
    return float(out) if np.ndim(out) == 0 else out


def sofa_reward(obs_next) -> float | np.ndarray:
    """Reward mode ``"sofa"``: (24 - SOFA) / 24 of the next observation, in [0, 1]."""
    r = (24.0 - _obs(obs_next)[..., OBS["sofa"]]) / 24.0
    return float(r) if np.ndim(r) == 0 else r


def map_reward(obs_next) -> float | np.ndarray:
    """Reward mode ``"map"``: piecewise linear in MAP, 0 at <= 40, 0.5 at 60, 1 at >= 65 mmHg (OGSRL App. H)."""
    r = np.interp(_obs(obs_next)[..., OBS["map"]], (40.0, 60.0, 65.0), (0.0, 0.5, 1.0))
    return float(r) if np.ndim(r) == 0 else r


def death_hazard(obs, params: MedSepsisParams | None = None, dt_hours: float = 4.0) -> float | np.ndarray:
    """Probability of death within one step from an observation.

    Per 4 h: h = sigmoid(b0 + b_sofa SOFA + b_lac lactate + b_map50 [MAP < 50] + b_age (age - 60) / 10);
    for shorter steps h_dt = 1 - (1 - h)^(dt / 4).
    """
    p = params or _DEFAULT_PARAMS
    o = _obs(obs)
    logit = (p.beta0 + p.beta_sofa * o[..., OBS["sofa"]] + p.beta_lactate * o[..., OBS["lactate"]]
             + p.beta_map50 * (o[..., OBS["map"]] < 50.0) + p.beta_age * (o[..., OBS["age"]] - 60.0) / 10.0)
    h = 1.0 / (1.0 + np.exp(-logit))
    if dt_hours != 4.0:
        h = 1.0 - (1.0 - h) ** (dt_hours / 4.0)
    return float(h) if np.ndim(h) == 0 else h


class CostTuple(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Return safety-gymnasium's six-tuple ``(obs, reward, cost, terminated, truncated, info)``.

    ``cost`` is ``info["cost"]`` (which stays in ``info``). :class:`CostInfo` undoes this.
    """

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if "cost" not in info:
            raise ValueError(f"info['cost']: got info keys {sorted(info)!r}; allowed: an environment that reports "
                             "a step cost in info['cost']")
        return obs, reward, info["cost"], terminated, truncated, info


class CostInfo(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """The inverse of :class:`CostTuple`: a six-tuple environment back to the five-tuple with ``info["cost"]``."""

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)

    def step(self, action):
        obs, reward, cost, terminated, truncated, info = self.env.step(action)
        info["cost"] = cost
        return obs, reward, terminated, truncated, info


class CostVector(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """A six-tuple whose cost is the vector of the chosen 0/1 components (all six by default), for
    multi-constraint solvers that give every boundary its own limit."""

    def __init__(self, env: gym.Env, components: Sequence[str] | None = None) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, components=components)
        gym.Wrapper.__init__(self, env)
        names = tuple(COST_NAMES if components is None else components)
        bad = [n for n in names if n not in COST_NAMES]
        if bad or not names:
            raise ValueError(f"components: got {components!r}; allowed: a non-empty list of " + ", ".join(COST_NAMES))
        self.components = names
        self._index = np.asarray([COST_NAMES.index(n) for n in names], dtype=np.intp)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        cost = np.asarray(info["cost_vector"], dtype=np.float32)[self._index]
        return obs, reward, cost, terminated, truncated, info
