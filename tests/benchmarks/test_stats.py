"""The statistics match rliable on fixed data; the suite's own measures have known answers."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.evaluation import stats


def _fixed_scores():
    rng = np.random.default_rng(20211215)  # fixed data: 5 runs x 4 tasks per agent
    return {"a": rng.normal(0.6, 0.25, (5, 4)), "b": rng.normal(0.4, 0.3, (5, 4)), "c": rng.gamma(2.0, 0.2, (7, 4))}


def _rliable():
    try:
        from rliable import library, metrics
    except Exception as exc:  # noqa: BLE001 - rliable's import of arch fails with some pandas versions
        pytest.skip(f"rliable does not import here ({type(exc).__name__}: {exc}); install the test extra")
    return library, metrics


def test_point_estimates_equal_rliable():
    _, metrics = _rliable()
    for scores in _fixed_scores().values():
        assert stats.aggregate_mean(scores) == pytest.approx(metrics.aggregate_mean(scores), abs=1e-12)
        assert stats.aggregate_median(scores) == pytest.approx(metrics.aggregate_median(scores), abs=1e-12)
        assert stats.aggregate_iqm(scores) == pytest.approx(metrics.aggregate_iqm(scores), abs=1e-12)
        assert stats.aggregate_optimality_gap(scores) == pytest.approx(metrics.aggregate_optimality_gap(scores))
    s = _fixed_scores()
    for x, y in (("a", "b"), ("b", "a"), ("a", "c"), ("a", "a")):
        assert stats.probability_of_improvement(s[x], s[y]) == pytest.approx(
            metrics.probability_of_improvement(s[x], s[y]), abs=1e-12)


def test_bootstrap_intervals_match_rliable():
    library, metrics = _rliable()
    scores = _fixed_scores()
    reps = 4000
    np.random.seed(0)  # rliable's StratifiedBootstrap draws from NumPy's global generator
    points, intervals = library.get_interval_estimates(
        scores, lambda x: np.array([metrics.aggregate_mean(x), metrics.aggregate_median(x), metrics.aggregate_iqm(x),
                                    metrics.aggregate_optimality_gap(x)]), reps=reps)
    ours = stats.aggregate_intervals(scores, np.random.default_rng(1), reps=reps)
    for agent in scores:
        for i, name in enumerate(("mean", "median", "iqm", "optimality_gap")):
            point, lo, hi = ours[agent][name]
            assert point == pytest.approx(points[agent][i], abs=1e-12)
            width = intervals[agent][1, i] - intervals[agent][0, i]
            # Two independent bootstrap samples of the same distribution: the endpoints agree to a few
            # per cent of the interval's width (Monte-Carlo error at 4000 replicates).
            assert lo == pytest.approx(intervals[agent][0, i], abs=0.08 * width + 1e-9), (agent, name)
            assert hi == pytest.approx(intervals[agent][1, i], abs=0.08 * width + 1e-9), (agent, name)


def test_performance_profile_matches_rliable():
    library, _ = _rliable()
    scores = _fixed_scores()
    taus = np.linspace(-0.2, 1.4, 17)
    np.random.seed(0)
    profiles, cis = library.create_performance_profile(scores, taus, reps=2000)
    for agent, s in scores.items():
        point, lo, hi = stats.performance_profile(s, taus, np.random.default_rng(2), reps=2000)
        np.testing.assert_allclose(point, profiles[agent], atol=1e-12)
        np.testing.assert_allclose(lo, cis[agent][0], atol=0.06)
        np.testing.assert_allclose(hi, cis[agent][1], atol=0.06)


def test_resampling_is_seeded():
    scores = _fixed_scores()
    a = stats.aggregate_intervals(scores, np.random.default_rng(7), reps=300)
    b = stats.aggregate_intervals(scores, np.random.default_rng(7), reps=300)
    c = stats.aggregate_intervals(scores, np.random.default_rng(8), reps=300)
    assert a == b and a != c


def test_stratified_resampling_keeps_each_task_column():
    scores = np.arange(12.0).reshape(4, 3)
    resampled = stats._resample(scores, np.random.default_rng(0))
    for j in range(3):
        assert set(resampled[:, j]) <= set(scores[:, j])


def test_cvar_variance_and_crash_known_answers():
    returns = np.arange(1.0, 21.0)  # 20 episodes: 1..20
    assert stats.cvar(returns, 0.05) == 1.0  # the worst ceil(0.05 * 20) = 1 episode
    assert stats.cvar(returns, 0.10) == 1.5  # the worst 2
    r = stats.risk(returns, np.full(20, 0.5), np.arange(20) < 5)
    assert r.variance == pytest.approx(np.var(returns, ddof=1))
    assert (r.cost, r.crash_rate, r.episodes) == (0.5, 0.25, 20)


def test_robustness_gap_is_paired_by_seed():
    scores = np.array([[1.0, 0.8, 1.0], [0.5, 0.3, 0.5], [0.9, 0.7, 0.9]])  # task 0 is 3.1
    gaps = stats.robustness_gap(scores, 0, np.random.default_rng(0), reps=500)
    assert gaps[0] == (0.0, 0.0, 0.0)
    # Each run loses exactly 0.2 on task 1: paired by seed, the interval has no width at all.
    assert gaps[1][0] == pytest.approx(0.2) and gaps[1][1] == pytest.approx(0.2) and gaps[1][2] == pytest.approx(0.2)
    assert gaps[2] == (0.0, 0.0, 0.0)


def test_normalise():
    np.testing.assert_allclose(stats.normalise([0, 250, 500], (0, 500)), [0, 0.5, 1])
