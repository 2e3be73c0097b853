"""Best-response oracles for PSRO: an exact one for matrix games and a light tabular RL learner.

* :class:`ExactMatrixOracle` enumerates the pure actions of a :class:`~stori_envs.multiagent.MatrixGameEnv`
  and returns the one maximising mu_a - gamma_br Var_b(A[a, b]) under the opponents' effective action
  distribution (gamma_br = 0: the plain best response).
* :class:`TabularMCOracle` learns a deterministic policy by every-visit Monte-Carlo control with
  epsilon-greedy exploration on a table keyed by the exact observation. ``risk_objective="mean_variance"``
  maximises E[G] - gamma_br Var[G] by replacing each training episode's return G with
  G - gamma_br (G - m)^2 (m a running mean of G), applied as a terminal adjustment; this penalises the
  *total* return variance (own exploration, opponents, environment), unlike the meta-level RAE.

Why tabular MC control rather than PPO: the risk games have a few hundred reachable observations, so
an exact table learns in a couple of seconds on one core, is bit-for-bit reproducible from a
:class:`numpy.random.SeedSequence`, needs no torch, and handles an episode-level (non-additive) objective
without a critic.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agents.rae.normal_form import _moments_flat, flatten_player, product_distribution
from stori_envs.multiagent.policies import FixedActionPolicy, run_episode
from stori_envs.taxonomy.seeding import make_stream

logger = logging.getLogger(__name__)

RISK_OBJECTIVES = ("mean", "mean_variance")


@dataclass
class Opponents:
    """The other seats' populations and meta-strategies: seat -> (members, sigma).

    Kept as a snapshot (a tuple of members and a copy of sigma), so a population that grows after the
    oracle was called (PSRO adds best responses) cannot pair new members with an old meta-strategy.
    """

    seats: dict[str, tuple[Sequence[Any], np.ndarray]]

    def __post_init__(self) -> None:
        seats = {}
        for seat, (members, sigma) in self.seats.items():
            members, sigma = tuple(members), np.array(sigma, dtype=float)
            if sigma.ndim != 1 or len(members) != len(sigma) or not members:
                raise ValueError(f"opponents[{seat!r}]: got {len(members)} members for a meta-strategy of length "
                                 f"{sigma.size}; allowed: one weight per member (at least one)")
            seats[seat] = (members, sigma)
        self.seats = seats

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        return {seat: members[int(rng.choice(len(members), p=sigma))]
                for seat, (members, sigma) in self.seats.items()}


@dataclass
class OracleResult:
    policy: Any
    curve: list[tuple[int, float]] = field(default_factory=list)  # (episodes seen, mean raw return)


class ExactMatrixOracle:
    """Exact (risk-averse) best response in a one-step matrix game over the pure actions."""

    def __init__(self, gamma_br: float = 0.0) -> None:
        if isinstance(gamma_br, bool) or not isinstance(gamma_br, (int, float)) or not gamma_br >= 0:
            raise ValueError(f"gamma_br: got {gamma_br!r}; allowed: a number >= 0")
        self.gamma_br = float(gamma_br)

    def best_response(self, env_fn: Callable[[], Any], seat: str, opponents: Opponents,
                      seed: np.random.SeedSequence) -> OracleResult:
        env = env_fn()
        i = env.possible_agents.index(seat)
        obs = np.zeros(1, dtype=np.float32)
        dists = []
        for j, agent in enumerate(env.possible_agents):
            if j == i:
                continue
            members, sigma = opponents.seats[agent]
            dists.append(sum(s * np.asarray(m.action_probs(obs), dtype=float) for m, s in zip(members, sigma)))
        mu, _, second = _moments_flat(flatten_player(env.payoffs[i], i), product_distribution(dists))
        score = mu - self.gamma_br * (second - mu**2)
        n = mu.shape[0]
        return OracleResult(FixedActionPolicy(int(np.argmax(score)), n))


def observation_key(obs: np.ndarray, features: tuple[int, ...] | None = None) -> bytes:
    """The table key of an observation: the exact float32 bytes of the selected features."""
    obs = np.asarray(obs, dtype=np.float32)
    return (obs if features is None else obs[list(features)]).tobytes()


class TabularPolicy:
    """A deterministic policy stored as a table observation-bytes -> action (``default`` elsewhere)."""

    def __init__(self, table: Mapping[bytes, int], n_actions: int, default: int = 0,
                 features: tuple[int, ...] | None = None) -> None:
        self.table = dict(table)
        self.n = int(n_actions)
        self.default = int(default)
        self.features = None if features is None else tuple(int(f) for f in features)

    def reset(self, rng: np.random.Generator | None = None) -> None:
        pass

    def act(self, obs: np.ndarray) -> int:
        return self.table.get(observation_key(obs, self.features), self.default)

    def action_probs(self, obs: np.ndarray) -> np.ndarray:
        return np.eye(self.n)[self.act(obs)]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TabularPolicy) and (self.table, self.n, self.default, self.features) == (
            other.table, other.n, other.default, other.features)

    def __hash__(self) -> int:
        return hash((len(self.table), self.n, self.default))

    def __repr__(self) -> str:
        return f"TabularPolicy({len(self.table)} states)"


class _EpsilonGreedy:
    """The learner's behaviour policy during training (reads the oracle's Q table)."""

    def __init__(self, q: dict[bytes, np.ndarray], n: int, features: tuple[int, ...] | None) -> None:
        self.q, self.n, self.features, self.epsilon, self.rng = q, n, features, 1.0, None

    def reset(self, rng: np.random.Generator | None = None) -> None:
        self.rng = rng

    def act(self, obs: np.ndarray) -> int:
        if self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.n))
        return self.act_greedy(obs)

    def action_probs(self, obs: np.ndarray) -> np.ndarray:
        greedy = np.eye(self.n)[self.act_greedy(obs)]
        return self.epsilon / self.n + (1.0 - self.epsilon) * greedy

    def act_greedy(self, obs: np.ndarray) -> int:
        values = self.q.get(observation_key(obs, self.features))
        return 0 if values is None else int(np.argmax(values))


class TabularMCOracle:
    """Every-visit Monte-Carlo control against opponents sampled per episode from their meta-strategies.

    Args:
        episodes: training episodes per best response.
        epsilon: (start, end) of the linearly decaying exploration rate.
        lr_min: floor of the step size 1/N(s, a).
        risk_objective: ``"mean"`` or ``"mean_variance"`` (E[G] - gamma_br Var[G]).
        gamma_br: the oracle's variance weight (``mean_variance`` only).
        default_action: action of the final policy in observations never visited in training.
        features: indices of the observation entries that form the table key (None: all), e.g. drop
            the time feature so that the table generalises across time steps.
    """

    def __init__(self, episodes: int = 3000, epsilon: tuple[float, float] = (0.3, 0.02), lr_min: float = 0.02,
                 risk_objective: str = "mean", gamma_br: float = 0.0, default_action: int = 0,
                 features: Sequence[int] | None = None, curve_points: int = 10) -> None:
        if risk_objective not in RISK_OBJECTIVES:
            raise ValueError(f"risk_objective: got {risk_objective!r}; allowed: "
                             + ", ".join(map(repr, RISK_OBJECTIVES)))
        if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
            raise ValueError(f"episodes: got {episodes!r}; allowed: an integer >= 1")
        if not (len(epsilon) == 2 and all(0.0 <= e <= 1.0 for e in epsilon)):
            raise ValueError(f"epsilon: got {epsilon!r}; allowed: (start, end) in [0, 1]")
        if isinstance(gamma_br, bool) or not isinstance(gamma_br, (int, float)) or not gamma_br >= 0:
            raise ValueError(f"gamma_br: got {gamma_br!r}; allowed: a number >= 0")
        if risk_objective == "mean" and gamma_br:
            raise ValueError(f"gamma_br: got {gamma_br!r} with risk_objective='mean'; allowed: 0, or "
                             "risk_objective='mean_variance'")
        self.episodes, self.epsilon, self.lr_min = episodes, tuple(map(float, epsilon)), float(lr_min)
        self.risk_objective, self.gamma_br = risk_objective, float(gamma_br)
        self.default_action, self.curve_points = int(default_action), int(curve_points)
        self.features = None if features is None else tuple(int(f) for f in features)

    def describe(self) -> str:
        risk = f"mean-variance, gamma_br={self.gamma_br:g}" if self.risk_objective == "mean_variance" else "mean"
        return f"tabular MC control ({self.episodes} episodes, {risk})"

    def best_response(self, env_fn: Callable[[], Any], seat: str, opponents: Opponents,
                      seed: np.random.SeedSequence) -> OracleResult:
        env = env_fn()
        n = int(env.action_space(seat).n)
        q: dict[bytes, np.ndarray] = {}
        counts: dict[bytes, np.ndarray] = {}
        learner = _EpsilonGreedy(q, n, self.features)
        pick = make_stream(seed, "opponents")
        m: float | None = None  # running mean of the raw return (mean-variance objective)
        curve, block = [], []
        every = max(1, self.episodes // max(1, self.curve_points))
        e0, e1 = self.epsilon
        for ep in range(self.episodes):
            learner.epsilon = e0 + (e1 - e0) * ep / max(1, self.episodes - 1)
            policies = opponents.sample(pick)
            policies[seat] = learner
            episode = run_episode(env, policies, np.random.SeedSequence(seed.entropy, spawn_key=tuple(seed.spawn_key)
                                                                       + (ep,)), record=(seat,))
            steps = episode.trajectories[seat]
            g = episode.returns[seat]
            block.append(g)
            total = g
            if self.risk_objective == "mean_variance":
                m = g if m is None else m + 0.05 * (g - m)
                total = g - self.gamma_br * (g - m) ** 2
            before = 0.0
            for obs, action, reward in steps:
                key = observation_key(obs, self.features)
                if key not in q:
                    q[key] = np.zeros(n)
                    counts[key] = np.zeros(n)
                counts[key][action] += 1
                lr = max(1.0 / counts[key][action], self.lr_min)
                # Target: the (adjusted) episode return minus what was earned before this step.
                q[key][action] += lr * ((total - before) - q[key][action])
                before += reward
            if (ep + 1) % every == 0:
                curve.append((ep + 1, float(np.mean(block))))
                block = []
        table = {k: int(np.argmax(v)) for k, v in q.items()}
        return OracleResult(TabularPolicy(table, n, self.default_action, self.features), curve)
