"""``ICUSepsisCost-v0``: the ICU-Sepsis MDP (Choudhary, Gupta & Thomas, RLC 2024) with safety costs.

Reads the tables that PyPI ``icu-sepsis`` bundles (``icu_sepsis/envs/assets``) with numpy, without
importing the package: ``import icu_sepsis`` imports the legacy ``gym`` to register its ids. The
package is located with :func:`importlib.util.find_spec`, which does not execute its ``__init__``.
Install the optional extra: ``pip install 'stori-envs[icu]'`` (``pip install --no-deps icu-sepsis``
is enough, since only data files are read).

States 0-712 are patient clusters, 713 death, 714 survival, 715 absorbing (713-715 end the episode).
Actions are ``5 * fluid_level + vaso_level``. Reward +1 on entering survival (γ = 1), as in the package.
Costs on the next state s' (0 on terminal states): ``high_sofa`` = 1[SOFA(s') >= threshold],
``hypotension_z`` = 1[MeanBP z(s') < z], ``hyperlactatemia_z`` = 1[lactate z(s') > z], and
``inadmissible`` = 1 if the action is not admissible in s (ICU-Sepsis's data-support set, i.e. a
tabular out-of-distribution cost). ``info["cost"]`` weighs them (default: ``high_sofa`` only).
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from stori_envs.medical.discrete import action_index
from stori_envs.medical.env import EpisodeSeeder
from stori_envs.taxonomy.seeding import make_stream

EXTRA_HINT = "pip install 'stori-envs[icu]' (or: pip install --no-deps icu-sepsis)"
N_STATES, N_ACTIONS = 716, 25
STATE_DEATH, STATE_SURVIVAL, STATE_ABSORBING = 713, 714, 715
TERMINAL = (STATE_DEATH, STATE_SURVIVAL, STATE_ABSORBING)
MAX_EPISODE_STEPS = 500
MAP_Z, LACTATE_Z, SOFA_Z = 9, 30, 31  # Komorowski column order of the 47-D state vector
COST_NAMES = ("high_sofa", "hypotension_z", "hyperlactatemia_z", "inadmissible")
STRATEGIES = ("mean", "terminate", "raise_exception")
OBS_MODES = ("id", "vector")


@dataclass(frozen=True)
class IcuTables:
    """The bundled MDP, with transitions kept sparse: row k = s * 25 + a spans ``offsets[k]:offsets[k + 1]``."""

    offsets: np.ndarray      # (716 * 25 + 1,)
    next_state: np.ndarray   # (nnz,) int
    prob: np.ndarray         # (nnz,) transition probability
    cum_prob: np.ndarray     # (nnz,) cumulative probability within each row
    reward: np.ndarray       # (nnz,) r_mat at each transition
    d0: np.ndarray           # (716,)
    expert_policy: np.ndarray  # (716, 25)
    centers: np.ndarray      # (716, 47) z-scored cluster centres
    sofa: np.ndarray         # (716,) mean raw SOFA per state
    admissible: tuple[tuple[int, ...], ...]
    admissible_mask: np.ndarray  # (716, 25) bool
    directory: Path

    def transitions(self, inadmissible: str = "mean") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(row k = s * 25 + a, next state, probability, reward) of every transition, under an inadmissible-action
        strategy: ``"terminate"`` drops the inadmissible rows (they lead to death: no reward, no future)."""
        rows = np.repeat(np.arange(N_STATES * N_ACTIONS), np.diff(self.offsets))
        if inadmissible == "mean":
            return rows, self.next_state, self.prob, self.reward
        if inadmissible == "terminate":
            keep = self.admissible_mask.ravel()[rows]
            return rows[keep], self.next_state[keep], self.prob[keep], self.reward[keep]
        raise ValueError(f"inadmissible: got {inadmissible!r}; allowed: 'mean', 'terminate'")


def assets_directory() -> Path:
    """Where ``icu-sepsis`` keeps its tables; ModuleNotFoundError naming the extra if it is not installed."""
    spec = importlib.util.find_spec("icu_sepsis")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"ICUSepsisCost-v0 needs the tables of the 'icu-sepsis' package: {EXTRA_HINT}",
                                  name="icu_sepsis")
    return Path(list(spec.submodule_search_locations)[0]) / "envs" / "assets"


# Fail at import when the extra is missing, so `gym.make("stori/ICUSepsisCost-v0")` and
# `pytest.importorskip("stori_envs.medical.icu")` see a ModuleNotFoundError naming the extra.
ASSETS = assets_directory()


def _read_admissible(path: Path) -> tuple[tuple[int, ...], ...]:
    lines = path.read_text().splitlines()
    counts = [int(n) for n in lines[0].split()]
    rows = tuple(tuple(int(a) for a in line.split()) for line in lines[1:1 + len(counts)])
    if len(counts) != N_STATES or any(len(r) != n for r, n in zip(rows, counts)):
        raise ValueError(f"admissible_actions.txt: got {len(counts)} states with mismatched counts at {path}; "
                         f"allowed: {N_STATES} rows matching the first line")
    return rows


@lru_cache(maxsize=1)
def load_tables() -> IcuTables:
    """Load and sparsify the tables once per process (about 1 s; the dense tables are not kept)."""
    directory = ASSETS
    with np.load(directory / "dynamics.npz") as data:
        tx = data["tx_mat"].reshape(N_STATES * N_ACTIONS, N_STATES)
        rows, cols = np.nonzero(tx)
        prob = tx[rows, cols]
        reward = data["r_mat"].reshape(N_STATES * N_ACTIONS, N_STATES)[rows, cols]
        d0, expert, centers, sofa = (np.array(data[k]) for k in ("d_0", "expert_policy", "state_cluster_centers",
                                                                   "sofa_scores"))
    counts = np.bincount(rows, minlength=N_STATES * N_ACTIONS)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    total = np.cumsum(prob)
    cum = total - np.repeat(np.concatenate([[0.0], total])[offsets[:-1]], counts)  # restart in each row
    admissible = _read_admissible(directory / "admissible_actions.txt")
    mask = np.zeros((N_STATES, N_ACTIONS), dtype=bool)
    for s, acts in enumerate(admissible):
        mask[s, list(acts)] = True
    return IcuTables(offsets, cols.astype(np.int64), prob, cum, reward, d0, expert, centers, sofa, admissible, mask,
                     directory)


class ICUSepsisCostEnv(gym.Env):
    """ICU-Sepsis as a Gymnasium environment with safety costs (see the module docstring).

    ``obs_mode``: ``"id"`` (``Discrete(716)``, the package's observation) or ``"vector"`` (the 47-D
    z-scored cluster centre, float32). ``inadmissible``: the package's strategies ``"mean"`` (default:
    the action's pooled transitions), ``"terminate"`` (go to death) or ``"raise_exception"``.
    """

    metadata = {"render_modes": []}

    def __init__(self, *, obs_mode: str = "id", inadmissible: str = "mean", sofa_threshold: float = 10.0,
                 map_z: float = -0.8, lactate_z: float = 0.5, cost_weights: dict[str, float] | None = None,
                 render_mode: str | None = None) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode: got {render_mode!r}; allowed: None")
        if obs_mode not in OBS_MODES:
            raise ValueError(f"obs_mode: got {obs_mode!r}; allowed: " + ", ".join(map(repr, OBS_MODES)))
        if inadmissible not in STRATEGIES:
            raise ValueError(f"inadmissible: got {inadmissible!r}; allowed: " + ", ".join(map(repr, STRATEGIES)))
        for name, value in (("sofa_threshold", sofa_threshold), ("map_z", map_z), ("lactate_z", lactate_z)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name}: got {value!r}; allowed: a finite number")
        weights = {"high_sofa": 1.0, "hypotension_z": 0.0, "hyperlactatemia_z": 0.0, "inadmissible": 0.0}
        for name, w in (cost_weights or {}).items():
            if name not in weights or isinstance(w, bool) or not isinstance(w, (int, float)) or not w >= 0:
                raise ValueError(f"cost_weights.{name}: got {w!r}; allowed: weights >= 0 for " + ", ".join(COST_NAMES))
            weights[name] = float(w)
        self.tables = t = load_tables()
        self.obs_mode, self.inadmissible = obs_mode, inadmissible
        self.weights = np.asarray([weights[n] for n in COST_NAMES])
        self.action_space = spaces.Discrete(N_ACTIONS)
        if obs_mode == "id":
            self.observation_space = spaces.Discrete(N_STATES)
        else:
            self.observation_space = spaces.Box(t.centers.min(0).astype(np.float32),
                                                t.centers.max(0).astype(np.float32), dtype=np.float32)
        self.render_mode = None
        terminal = np.zeros(N_STATES, dtype=bool)
        terminal[list(TERMINAL)] = True
        self._terminal = terminal
        # State-based cost components of every state (0 on terminal states).
        state_costs = np.stack([t.sofa >= sofa_threshold, t.centers[:, MAP_Z] < map_z,
                                t.centers[:, LACTATE_Z] > lactate_z], axis=1) & ~terminal[:, None]
        self._state_costs = state_costs.astype(np.float32)
        self._seeder = EpisodeSeeder()
        self._s: int | None = None

    def _obs(self, s: int):
        return int(s) if self.obs_mode == "id" else self.tables.centers[s].astype(np.float32)

    def _info(self, s: int) -> dict[str, Any]:
        t = self.tables
        return {"state": int(s), "admissible_actions": list(t.admissible[s]), "sofa_score": float(t.sofa[s]),
                "state_vector": t.centers[s].copy()}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if options:
            raise ValueError(f"options: got {options!r}; allowed: None")
        seq = self._seeder.reset(seed)
        self._rng = make_stream(seq, "dynamics")
        self._s = int(make_stream(seq, "patient").choice(N_STATES, p=self.tables.d0))
        return self._obs(self._s), self._info(self._s)

    def step(self, action):
        if self._s is None or self._terminal[self._s]:
            raise gym.error.ResetNeeded("step: called after the episode ended (or before reset); call reset() first")
        t, s, a = self.tables, self._s, action_index(action, N_ACTIONS)
        admissible = bool(t.admissible_mask[s, a])
        u = self._rng.random()  # one draw per step, whatever the strategy
        if not admissible and self.inadmissible == "raise_exception":
            raise ValueError(f"action: got {a} in state {s}; allowed: admissible actions {list(t.admissible[s])} "
                             "(inadmissible='raise_exception')")
        if not admissible and self.inadmissible == "terminate":
            s2, reward = STATE_DEATH, 0.0
        else:
            k = s * N_ACTIONS + a
            lo, hi = t.offsets[k], t.offsets[k + 1]
            j = lo + min(int(np.searchsorted(t.cum_prob[lo:hi], u * t.cum_prob[hi - 1], side="right")), hi - lo - 1)
            s2, reward = int(t.next_state[j]), float(t.reward[j])
        self._s = s2
        vec = np.append(self._state_costs[s2], np.float32(not admissible))
        info = self._info(s2)
        info.update(cost=float(vec @ self.weights), cost_components={n: int(v) for n, v in zip(COST_NAMES, vec)},
                    cost_vector=vec)
        return self._obs(s2), reward, bool(self._terminal[s2]), False, info


# -- dynamic programming and tabular policies -------------------------------------------------------
def policy_matrix(tier: str) -> np.ndarray:
    """(716, 25) action probabilities of ``random`` (uniform), ``expert`` (the package's clinician
    estimate) or ``optimal`` (the survival-optimal policy, by policy iteration)."""
    if tier == "random":
        return np.full((N_STATES, N_ACTIONS), 1.0 / N_ACTIONS)
    if tier == "expert":
        p = load_tables().expert_policy.astype(np.float64)
        p[p.sum(1) == 0] = 1.0 / N_ACTIONS
        return p / p.sum(1, keepdims=True)
    if tier == "optimal":
        return optimal_policy()
    raise ValueError(f"tier: got {tier!r}; allowed: 'random', 'expert', 'optimal'")


def policy_values(policy: np.ndarray, inadmissible: str = "mean") -> np.ndarray:
    """Exact state values (γ = 1, no step limit) of a (716, 25) stochastic policy: V = (I - P_π)^-1 r_π."""
    rows, nxt, prob, reward = load_tables().transitions(inadmissible)
    weight = np.asarray(policy, dtype=np.float64).ravel()[rows] * prob
    state = rows // N_ACTIONS
    p_pi = np.bincount(state * N_STATES + nxt, weight, N_STATES * N_STATES).reshape(N_STATES, N_STATES)
    r_pi = np.bincount(state, weight * reward, N_STATES)
    live = np.setdiff1d(np.arange(N_STATES), TERMINAL)
    values = np.zeros(N_STATES)
    values[live] = np.linalg.solve(np.eye(live.size) - p_pi[np.ix_(live, live)], r_pi[live])
    return values


def action_values(values: np.ndarray, inadmissible: str = "mean") -> np.ndarray:
    """(716, 25) one-step look-ahead Q(s, a) = E[r + V(s')]."""
    rows, nxt, prob, reward = load_tables().transitions(inadmissible)
    q = np.bincount(rows, prob * (reward + values[nxt]), N_STATES * N_ACTIONS)
    return q.reshape(N_STATES, N_ACTIONS)


def policy_return(policy: np.ndarray, inadmissible: str = "mean") -> float:
    """Expected episode return from the initial distribution d_0."""
    return float(load_tables().d0 @ policy_values(policy, inadmissible))


@lru_cache(maxsize=2)
def _optimal(inadmissible: str) -> np.ndarray:
    rows = np.arange(N_STATES)
    action = np.zeros(N_STATES, dtype=np.int64)
    for _ in range(100):  # policy iteration: a handful of sweeps
        policy = np.zeros((N_STATES, N_ACTIONS))
        policy[rows, action] = 1.0
        q = action_values(policy_values(policy, inadmissible), inadmissible)
        # switch only on a real improvement: exact ties would otherwise flip on rounding noise forever
        better = q.max(1) > q[rows, action] + 1e-10
        if not better.any():
            break
        action = np.where(better, q.argmax(1), action)
    return policy


def optimal_policy(inadmissible: str = "mean") -> np.ndarray:
    """The deterministic survival-optimal policy (policy iteration on the exact model)."""
    return _optimal(inadmissible).copy()


class TabularPolicy:
    """Samples actions from a (716, 25) policy table on the state id (``obs`` in id mode, ``info["state"]`` in
    vector mode); ``act`` returns (action, log-probability). Owns its stream (``policy/<name>``)."""

    def __init__(self, table: np.ndarray, *, name: str = "tabular", seed: int | None = None) -> None:
        table = np.asarray(table, dtype=np.float64)
        if table.shape != (N_STATES, N_ACTIONS) or (table < 0).any() or not np.allclose(table.sum(1), 1.0):
            raise ValueError(f"table: got shape {table.shape}; allowed: ({N_STATES}, {N_ACTIONS}) rows of "
                             "probabilities")
        self.table, self.name = table, name
        self._cum = np.cumsum(table, axis=1)
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        self.rng = make_stream(seed, f"policy/{self.name}")

    def act(self, state: int) -> tuple[int, float]:
        s = int(state)
        a = min(int(np.searchsorted(self._cum[s], self.rng.random() * self._cum[s, -1], side="right")), N_ACTIONS - 1)
        return a, float(np.log(self.table[s, a]))
