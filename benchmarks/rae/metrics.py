"""Risk metrics of multi-agent evaluations (usable by any evaluation loop: plain numpy arrays in, numbers out).

========================  ==================================================================================
mean return               per agent, mean over episodes
variance split            Var(G) = Var_k(E[G|k]) (opponent-induced, the RAE quantity) + E_k[Var_a(E[G|a,k])]
                          (own mixing over one's population members) + E_{a,k}[Var(G|a,k)] (environment noise
                          within a cell); plug-in (ddof 0) so the parts add up to the empirical total exactly;
                          :func:`variance_split_exact` uses the meta-strategies and cell moments instead
VaR / CVaR                lower tail: sort ascending, k = ceil(alpha E); VaR = k-th smallest, CVaR = mean of the
                          k smallest
catastrophe rate          fraction of episodes with a catastrophe at any step (any agent, or per agent), with an
                          exact binomial interval
worst case                min over held-out populations (and over their members) of the mean return
convergence gap           meta-game RAEConv at the gamma used, and NashConv
========================  ==================================================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import binomtest

from agents.rae.normal_form import rae_gap
from stori_envs.multiagent.policies import run_episode
from stori_envs.taxonomy.seeding import make_stream


def var_cvar(returns: Sequence[float], alpha: float) -> tuple[float, float]:
    """(VaR_alpha, CVaR_alpha) of the lower tail: k = ceil(alpha E) smallest returns."""
    r = np.sort(np.asarray(returns, dtype=float))
    if r.size == 0:
        raise ValueError("returns: got an empty sequence; allowed: at least one return")
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha: got {alpha!r}; allowed: a number in (0, 1]")
    k = max(1, math.ceil(alpha * r.size - 1e-12))
    return float(r[k - 1]), float(r[:k].mean())


@dataclass(frozen=True)
class VarianceSplit:
    opponent: float
    own: float
    environment: float

    @property
    def total(self) -> float:
        return self.opponent + self.own + self.environment


def _group(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group ids of the rows of ``keys`` (E x d integer array) and the group sizes."""
    _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    return inverse.reshape(-1), counts


def variance_split(returns: Sequence[float], own: Sequence[int], opponents) -> VarianceSplit:
    """Plug-in split of one agent's return variance by own member ``own`` and opponent profile ``opponents``.

    ``opponents`` is one integer per episode (one opponent) or an E x (N-1) array (joint profiles).
    """
    g = np.asarray(returns, dtype=float)
    a = np.asarray(own, dtype=np.int64).reshape(-1, 1)
    k = np.asarray(opponents, dtype=np.int64).reshape(g.size, -1)
    if a.shape[0] != g.size:
        raise ValueError(f"own: got {a.shape[0]} entries for {g.size} returns; allowed: one per episode")
    mean = g.mean()
    kid, kcount = _group(k)
    mean_k = np.bincount(kid, g) / kcount
    opponent = float(np.sum(kcount * (mean_k - mean) ** 2) / g.size)
    akid, akcount = _group(np.hstack([a, k]))
    mean_ak = np.bincount(akid, g) / akcount
    k_of_ak = np.zeros(akcount.size, dtype=np.int64)
    k_of_ak[akid] = kid
    own_part = float(np.sum(akcount * (mean_ak - mean_k[k_of_ak]) ** 2) / g.size)
    env = float(np.sum((g - mean_ak[akid]) ** 2) / g.size)
    return VarianceSplit(opponent, own_part, env)


def variance_split_exact(own_probs: np.ndarray, opponent_probs: np.ndarray, cell_means: np.ndarray,
                         cell_vars: np.ndarray | None = None) -> VarianceSplit:
    """The split from the weights: x over own members, y over opponent profiles, cell means/variances (n x K)."""
    x = np.asarray(own_probs, dtype=float)
    y = np.asarray(opponent_probs, dtype=float)
    m = np.asarray(cell_means, dtype=float)
    v = np.zeros_like(m) if cell_vars is None else np.asarray(cell_vars, dtype=float)
    cond = x @ m  # E[G | k]
    mean = float(cond @ y)
    opponent = float(y @ (cond - mean) ** 2)
    own = float(y @ (x @ (m - cond) ** 2))
    env = float(x @ v @ y)
    return VarianceSplit(opponent, own, env)


def catastrophe_rate(flags: Sequence[bool], confidence: float = 0.95) -> tuple[float, float, float]:
    """(rate, low, high): the fraction of episodes with a catastrophe and its exact binomial interval."""
    f = np.asarray(flags, dtype=bool)
    ci = binomtest(int(f.sum()), int(f.size)).proportion_ci(confidence_level=confidence, method="exact")
    return float(f.mean()), float(ci.low), float(ci.high)


def bootstrap_ci(values: Sequence[float], rng: np.random.Generator, stat: Callable = np.mean, n_boot: int = 2000,
                 confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``stat`` over ``values`` (e.g. one value per training seed)."""
    v = np.asarray(values, dtype=float)
    idx = rng.integers(v.size, size=(n_boot, v.size))
    stats = np.array([stat(v[i]) for i in idx])
    lo = (1 - confidence) / 2
    return float(np.quantile(stats, lo)), float(np.quantile(stats, 1 - lo))


def ratio_ci(numerator: Sequence[Sequence[bool]], denominator: Sequence[Sequence[bool]], rng: np.random.Generator,
             n_boot: int = 2000, confidence: float = 0.95) -> tuple[float, float, float]:
    """Ratio of two catastrophe rates pooled over seeds, with a bootstrap over seeds and episodes."""
    num = [np.asarray(f, dtype=float) for f in numerator]
    den = [np.asarray(f, dtype=float) for f in denominator]

    def pooled(groups, pick):
        return np.mean([groups[s][rng.integers(groups[s].size, size=groups[s].size)].mean() for s in pick])

    point = np.mean([f.mean() for f in num]) / max(np.mean([f.mean() for f in den]), 1e-300)
    ratios = []
    for _ in range(n_boot):
        a = pooled(num, rng.integers(len(num), size=len(num)))
        b = pooled(den, rng.integers(len(den), size=len(den)))
        ratios.append(a / b if b > 0 else np.inf)
    lo = (1 - confidence) / 2
    # inverted_cdf: no interpolation, so infinite ratios (no crash in a resample) stay well defined
    return (float(point), float(np.quantile(ratios, lo, method="inverted_cdf")),
            float(np.quantile(ratios, 1 - lo, method="inverted_cdf")))


@dataclass
class Evaluation:
    """Episodes of a joint meta-strategy: returns and catastrophe flags (E x N), members played (E x N)."""

    returns: np.ndarray
    members: np.ndarray
    catastrophe: np.ndarray

    def summary(self, agent: int = 0, alphas: tuple[float, ...] = (0.05, 0.1)) -> dict[str, float]:
        g = self.returns[:, agent]
        others = np.delete(self.members, agent, axis=1)
        split = variance_split(g, self.members[:, agent], others)
        out = {"mean_return": float(g.mean()), "variance": float(g.var()),
               "var_opponent": split.opponent, "var_own": split.own, "var_environment": split.environment,
               "catastrophe_rate": float(self.catastrophe.any(axis=1).mean()),
               "catastrophe_rate_agent": float(self.catastrophe[:, agent].mean())}
        for a in alphas:
            out[f"VaR_{a:g}"], out[f"CVaR_{a:g}"] = var_cvar(g, a)
        return out


def evaluate(env_fn: Callable[[], Any], populations: Sequence[Sequence[Any]], sigmas: Sequence[np.ndarray],
             episodes: int, seed: int) -> Evaluation:
    """Play ``episodes`` episodes; in each, every seat's member is drawn from its meta-strategy.

    Draws come from stream ``"members"`` of ``seed`` and episode ``e`` is seeded by SeedSequence(seed, (e,)),
    so an evaluation is reproducible and independent of the order of other work.
    """
    env = env_fn()
    agents = list(env.possible_agents)
    pick = make_stream(seed, "members")
    rets = np.zeros((episodes, len(agents)))
    members = np.zeros((episodes, len(agents)), dtype=np.int64)
    cats = np.zeros((episodes, len(agents)), dtype=bool)
    for e in range(episodes):
        idx = [int(pick.choice(len(p), p=s)) for p, s in zip(populations, sigmas)]
        ep = run_episode(env, {a: populations[i][m] for i, (a, m) in enumerate(zip(agents, idx))},
                         np.random.SeedSequence(seed, spawn_key=(e,)))
        rets[e] = [ep.returns[a] for a in agents]
        cats[e] = [ep.catastrophe[a] for a in agents]
        members[e] = idx
    return Evaluation(rets, members, cats)


def worst_case(env_fn: Callable[[], Any], population: Sequence[Any], sigma: np.ndarray,
               held_out: dict[str, tuple[Sequence[Any], np.ndarray]], episodes: int, seed: int,
               agent: int = 0) -> dict[str, Any]:
    """Seat ``agent`` plays (population, sigma) against each held-out two-player population (other seat).

    Returns the cross-play means per held-out population, the worst of them, and the worst mean against
    any individual held-out member with positive weight.
    """
    table, member_means = {}, []
    for name, (pop, sig) in held_out.items():
        pops = [population, pop] if agent == 0 else [pop, population]
        sigs = [sigma, sig] if agent == 0 else [sig, sigma]
        ev = evaluate(env_fn, pops, sigs, episodes, seed)
        g, other = ev.returns[:, agent], ev.members[:, 1 - agent]
        table[name] = float(g.mean())
        for m in np.nonzero(sig > 0)[0]:
            hit = other == m
            if hit.any():
                member_means.append(float(g[hit].mean()))
    return {"cross_play": table, "worst_population": min(table.values()),
            "worst_member": min(member_means) if member_means else float("nan")}


def convergence_gaps(tables: Sequence[np.ndarray], sigma: Sequence[np.ndarray], gamma: float,
                     tau: float = 0.0) -> dict[str, float]:
    """Meta-game RAEConv at ``gamma`` and NashConv of a meta-strategy profile."""
    return {"rae_conv": float(rae_gap(list(tables), list(sigma), gamma, tau).sum()),
            "nash_conv": float(rae_gap(list(tables), list(sigma), 0.0).sum())}
