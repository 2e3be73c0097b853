"""ICU-Sepsis-style discrete doses for ``MedSepsis``: 5 fluid x 5 vasopressor levels, ``Discrete(25)``.

Index = 5 * fluid_level + vaso_level, the layout of ICU-Sepsis and of Komorowski et al. (2018).
Level 0 is "none" (exactly zero; a dose below 1 % of the maximum encodes to 0); levels 1-4 are the
quartiles of the non-zero doses of the ``clinician`` tier and decode to the median dose inside each
quartile. The edges ship as constants (:mod:`stori_envs.medical.calibrated`), so building the wrapper
never simulates; :func:`fit_dose_levels` regenerates them from a rollout.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from stori_envs.medical import calibrated
from stori_envs.medical.config import DOSE_EPS_FRACTION

N_LEVELS = 5
N_ACTIONS = N_LEVELS * N_LEVELS
DoseLevels = tuple[tuple[float, ...], tuple[float, ...]]  # (3 edges, 4 level values) as fractions of the maximum
SHIPPED = ((calibrated.FLUID_EDGES, calibrated.FLUID_LEVELS), (calibrated.VASO_EDGES, calibrated.VASO_LEVELS))


def action_index(action: Any, n: int) -> int:
    """A discrete action as an int in [0, n), from a Python or numpy integer (0-d arrays too); ValueError otherwise."""
    index = action.item() if isinstance(action, np.ndarray) and action.shape == () else action
    if isinstance(index, bool | np.bool_) or not isinstance(index, int | np.integer) or not 0 <= index < n:
        raise ValueError(f"action: got {action!r}; allowed: an integer in [0, {n - 1}]")
    return int(index)


def fit_dose_levels(fractions: np.ndarray) -> DoseLevels:
    """Quartile edges of the non-zero doses (fractions of the maximum) and the median inside each quartile."""
    f = np.asarray(fractions, dtype=np.float64).ravel()
    f = f[f >= DOSE_EPS_FRACTION]
    if f.size < N_LEVELS - 1:
        raise ValueError(f"fractions: got {f.size} non-zero doses; allowed: at least {N_LEVELS - 1}")
    edges = np.quantile(f, [0.25, 0.5, 0.75])
    level = np.searchsorted(edges, f, side="right")
    values = tuple(float(np.median(f[level == j])) for j in range(N_LEVELS - 1))
    return tuple(float(e) for e in edges), values


def _levels(fractions: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    return np.where(fractions < DOSE_EPS_FRACTION, 0, 1 + np.searchsorted(np.asarray(edges), fractions, side="right"))


def encode(action, levels: tuple[DoseLevels, DoseLevels] = SHIPPED) -> int | np.ndarray:
    """Normalised continuous action(s) (..., 2) in [-1, 1] -> discrete index(es) 5 * fluid_level + vaso_level."""
    a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
    if a.shape[-1:] != (2,):
        raise ValueError(f"action: got shape {a.shape}; allowed: (2,) or (N, 2) normalised (fluid, vasopressor)")
    f = (a + 1.0) * 0.5
    idx = N_LEVELS * _levels(f[..., 0], levels[0][0]) + _levels(f[..., 1], levels[1][0])
    return int(idx) if idx.ndim == 0 else idx.astype(np.int64)


def decode(index, levels: tuple[DoseLevels, DoseLevels] = SHIPPED) -> np.ndarray:
    """Discrete index(es) -> normalised float32 action(s): level 0 is exactly -1 (no dose), others the level medians."""
    i = np.asarray(index)
    if not np.issubdtype(i.dtype, np.integer) or (i < 0).any() or (i >= N_ACTIONS).any():
        raise ValueError(f"index: got {index!r}; allowed: integers in [0, {N_ACTIONS - 1}]")
    out = []
    for level, (_, values) in zip((i // N_LEVELS, i % N_LEVELS), levels):
        table = np.asarray((0.0, *values))
        out.append(2.0 * table[level] - 1.0)
    return np.stack(out, axis=-1).astype(np.float32)


class DiscreteDoses(gym.ActionWrapper, gym.utils.RecordConstructorArgs):
    """``Discrete(25)`` actions on ``MedSepsis`` (see the module docstring for the layout and levels).

    What changes: the action space; the environment receives the decoded continuous action, so its
    info (``executed_action``) and observation (previous action) show the decoded doses.
    """

    def __init__(self, env: gym.Env, levels: tuple[DoseLevels, DoseLevels] | None = None) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, levels=levels)
        gym.ActionWrapper.__init__(self, env)
        self.levels = SHIPPED if levels is None else levels
        for (edges, values), name in zip(self.levels, ("fluid", "vasopressor")):
            ok = (len(edges) == N_LEVELS - 2 and len(values) == N_LEVELS - 1 and DOSE_EPS_FRACTION <= values[0]
                  and all(a < b for a, b in zip(values, edges)) and all(e < v for e, v in zip(edges, values[1:]))
                  and values[-1] <= 1.0)
            if not ok:
                raise ValueError(f"levels.{name}: got {(edges, values)!r}; allowed: 3 increasing edges interleaved "
                                 "with 4 level values in [0.01, 1] (fractions of the maximum dose)")
        self.action_space = spaces.Discrete(N_ACTIONS)
        self._table = decode(np.arange(N_ACTIONS), self.levels)

    def action(self, action) -> np.ndarray:
        return self._table[action_index(action, N_ACTIONS)].copy()

    def encode(self, action) -> int | np.ndarray:
        """The index of continuous action(s), for porting continuous datasets to this wrapper."""
        return encode(action, self.levels)


def make_discrete(**kwargs: Any) -> gym.Env:
    """Entry point of ``stori/MedSepsisDiscrete-v0``: ``MedSepsis`` (any config keywords) + :class:`DiscreteDoses`."""
    from stori_envs.medical.env import MedSepsisEnv

    levels = kwargs.pop("levels", None)
    return DiscreteDoses(MedSepsisEnv(**kwargs), levels)
