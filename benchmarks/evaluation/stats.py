"""Statistics of a sweep: rliable's aggregates with stratified bootstrap intervals, and the suite's own measures.

rliable (Agarwal et al., 2021) is the standard; its ``library`` module needs ``arch``, which does not
import with every pandas, and its bootstrap draws from NumPy's global generator. So the same methods
are implemented here on a seeded ``np.random.Generator`` and tested against rliable on fixed data
(``tests/benchmarks/test_stats.py``):

* scores are a ``(runs, tasks)`` matrix per agent (a task is one environment variant; a run one seed);
* aggregates: mean and median of the per-task means, IQM (25 % trimmed mean over all scores),
  optimality gap;
* intervals: percentile intervals of the **stratified bootstrap** (runs resampled with replacement
  within each task);
* probability of improvement ``P(X > Y)``: per-task Mann-Whitney statistic averaged over tasks, with
  an independent stratified bootstrap of both agents;
* performance profiles: the fraction of run scores above each threshold ``tau``, with intervals.

The suite's own measures: the **robustness gap** (per type, the normalised score on 3.1 minus the
score on that type, same agent, paired by seed) and **risk per type** from the episodes (return
variance, CVaR at 5 % and 10 %, mean safety cost per episode, crash rate).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.stats

Interval = tuple[float, float]


# -- aggregates (rliable.metrics semantics) --------------------------------------------------------
# Each takes scores of shape (..., runs, tasks): a leading axis holds bootstrap replicates, computed at once.
def aggregate_mean(scores: np.ndarray) -> np.ndarray:
    return np.mean(np.mean(scores, axis=-2), axis=-1)


def aggregate_median(scores: np.ndarray) -> np.ndarray:
    return np.median(np.mean(scores, axis=-2), axis=-1)


def aggregate_iqm(scores: np.ndarray) -> np.ndarray:
    flat = np.reshape(scores, (*np.shape(scores)[:-2], -1))
    return scipy.stats.trim_mean(flat, proportiontocut=0.25, axis=-1)


def aggregate_optimality_gap(scores: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    return gamma - np.mean(np.minimum(scores, gamma), axis=(-2, -1))


AGGREGATES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mean": aggregate_mean, "median": aggregate_median, "iqm": aggregate_iqm,
    "optimality_gap": aggregate_optimality_gap}


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) averaged over tasks, ties counting one half: the Mann-Whitney U statistic over ``n m``.

    The same number as ``rliable.metrics.probability_of_improvement`` (scipy's ``mannwhitneyu`` per task);
    written with array comparisons so that bootstrap replicates on a leading axis compute at once.
    """
    x, y = np.asarray(x)[..., :, None, :], np.asarray(y)[..., None, :, :]
    u = np.sum(x > y, axis=(-3, -2)) + 0.5 * np.sum(x == y, axis=(-3, -2))
    return np.mean(u / (x.shape[-3] * y.shape[-2]), axis=-1)


# -- stratified bootstrap --------------------------------------------------------------------------
def _resample(scores: np.ndarray, rng: np.random.Generator, reps: int | None = None) -> np.ndarray:
    """Runs drawn with replacement independently within each task (column); ``reps`` replicates stacked."""
    runs, tasks = scores.shape
    shape = (runs, tasks) if reps is None else (reps, runs, tasks)
    idx = rng.integers(0, runs, size=shape)
    return scores[idx, np.arange(tasks)]


def _percentile(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    tail = (1.0 - confidence) / 2.0
    lo, hi = np.percentile(samples, [100 * tail, 100 * (1 - tail)], axis=0)
    return lo, hi


def interval_estimate(scores: np.ndarray, func: Callable[[np.ndarray], np.ndarray], rng: np.random.Generator,
                      reps: int = 2000, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(point, low, high) of ``func(scores)`` with a stratified-bootstrap percentile interval."""
    point = np.asarray(func(scores), dtype=np.float64)
    samples = np.asarray(func(_resample(scores, rng, reps)), dtype=np.float64)
    lo, hi = _percentile(samples, confidence)
    return point, lo, hi


def aggregate_intervals(score_dict: dict[str, np.ndarray], rng: np.random.Generator, reps: int = 2000,
                        confidence: float = 0.95) -> dict[str, dict[str, tuple[float, float, float]]]:
    """agent -> aggregate name -> (point, low, high) for mean, median, IQM and optimality gap."""
    def all_aggregates(s: np.ndarray) -> np.ndarray:
        return np.stack([np.asarray(f(s)) for f in AGGREGATES.values()], axis=-1)

    out = {}
    for agent, scores in score_dict.items():
        point, lo, hi = interval_estimate(scores, all_aggregates, rng, reps, confidence)
        out[agent] = {name: (float(point[i]), float(lo[i]), float(hi[i])) for i, name in enumerate(AGGREGATES)}
    return out


def probability_of_improvement_interval(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, reps: int = 2000,
                                        confidence: float = 0.95) -> tuple[float, float, float]:
    """P(X > Y) with an interval from independent stratified bootstraps of X and Y."""
    point = float(probability_of_improvement(x, y))
    samples = probability_of_improvement(_resample(x, rng, reps), _resample(y, rng, reps))
    lo, hi = _percentile(samples, confidence)
    return point, float(lo), float(hi)


def performance_profile(scores: np.ndarray, taus: np.ndarray, rng: np.random.Generator, reps: int = 2000,
                        confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fraction of run scores above each ``tau`` (the run-score distribution), with intervals."""
    taus = np.asarray(taus, dtype=np.float64)

    def profile(s: np.ndarray) -> np.ndarray:
        return np.mean(s[..., None] > taus, axis=(-3, -2))

    return interval_estimate(scores, profile, rng, reps, confidence)


# -- the suite's own measures ----------------------------------------------------------------------
def normalise(values: np.ndarray, score_range: tuple[float, float]) -> np.ndarray:
    """``(x - low) / (high - low)``: 0 at ``low`` (e.g. random play), 1 at ``high`` (e.g. the maximum)."""
    low, high = score_range
    return (np.asarray(values, dtype=np.float64) - low) / (high - low)


def robustness_gap(scores: np.ndarray, base: int, rng: np.random.Generator, reps: int = 2000,
                   confidence: float = 0.95) -> list[tuple[float, float, float]]:
    """Per task: mean over runs of (score on task ``base`` (3.1) - score on the task), runs paired by seed.

    Positive: the agent loses that much normalised score under the type. The interval resamples runs
    (whole rows, so each run's 3.1 score stays paired with its own score under the type).
    """
    diffs = scores[:, [base]] - scores
    point = diffs.mean(axis=0)
    runs = scores.shape[0]
    samples = diffs[rng.integers(0, runs, (reps, runs))].mean(axis=1)
    lo, hi = _percentile(samples, confidence)
    return [(float(p), float(a), float(b)) for p, a, b in zip(point, lo, hi)]


def cvar(returns: np.ndarray, alpha: float) -> float:
    """Conditional value at risk: the mean of the worst ``ceil(alpha n)`` episode returns (lower tail)."""
    x = np.sort(np.asarray(returns, dtype=np.float64))
    if not len(x):
        return math.nan
    k = max(1, math.ceil(alpha * len(x)))
    return float(x[:k].mean())


@dataclass(frozen=True)
class Risk:
    episodes: int
    mean: float
    variance: float
    cvar5: float
    cvar10: float
    cost: float
    crash_rate: float


def risk(returns: np.ndarray, costs: np.ndarray, crashes: np.ndarray) -> Risk:
    """Risk of one agent on one variant from its episodes (all runs pooled)."""
    returns = np.asarray(returns, dtype=np.float64)
    return Risk(len(returns), float(returns.mean()), float(returns.var(ddof=1)) if len(returns) > 1 else 0.0,
                cvar(returns, 0.05), cvar(returns, 0.10), float(np.mean(costs)), float(np.mean(crashes)))
