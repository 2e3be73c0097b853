"""Risk metrics (KA-13) and the equilibrium baselines behind ``solve``."""

from __future__ import annotations

import numpy as np
import pytest

from agents.rae.baselines import solve, symmetric_equilibria
from agents.rae.normal_form import _Game
from benchmarks.rae.metrics import (
    catastrophe_rate,
    evaluate,
    var_cvar,
    variance_split,
    variance_split_exact,
    worst_case,
)
from stori_envs.multiagent import FixedActionPolicy, MatrixGameEnv

RISKY = np.array([[10.0, -40.0], [4.0, 4.0]])
STAG = np.array([[4.0, 0.0], [3.0, 3.0]])


def test_var_and_cvar():
    r = [-20, -20, 0, 1, 2, 2, 2, 2, 2, 2]
    assert var_cvar(r, 0.1) == (-20.0, -20.0)
    v, c = var_cvar(r, 0.25)
    assert v == 0.0 and c == pytest.approx(-13.333333, abs=1e-6)
    with pytest.raises(ValueError, match="alpha"):
        var_cvar(r, 0.0)


def test_variance_split_exact_weights():
    p = 1 / 45
    split = variance_split_exact([p, 1 - p], [0.9, 0.1], RISKY)
    assert split.opponent == pytest.approx(1 / 9, abs=1e-12)
    assert split.own == pytest.approx(226 * p * (1 - p), abs=1e-12)
    assert split.environment == 0.0 and split.total == pytest.approx(5.021728, abs=1e-6)
    noisy = variance_split_exact([p, 1 - p], [0.9, 0.1], RISKY, np.ones((2, 2)))
    assert noisy.environment == 1.0 and noisy.opponent == split.opponent and noisy.own == split.own


def test_variance_split_plug_in_on_a_played_game():
    """KA-1 at gamma = 0.1 played as a one-step game; the parts add up to the empirical variance exactly."""
    p = 1 / 45
    for noise in (0.0, 1.0):
        env = lambda noise=noise: MatrixGameEnv([RISKY, np.zeros((2, 2))], reward_noise_std=noise)  # noqa: E731
        pops = [[FixedActionPolicy(0, 2), FixedActionPolicy(1, 2)]] * 2
        ev = evaluate(env, pops, [np.array([p, 1 - p]), np.array([0.9, 0.1])], 4000, seed=0)
        g = ev.returns[:, 0]
        split = variance_split(g, ev.members[:, 0], ev.members[:, 1])
        assert split.total == pytest.approx(g.var(), rel=1e-10)
        assert split.opponent == pytest.approx(1 / 9, abs=0.15)
        assert split.own == pytest.approx(4.910617, rel=0.3)
        assert split.environment == pytest.approx(noise, abs=0.1)
        summary = ev.summary(agent=0)
        assert summary["var_opponent"] == split.opponent and summary["catastrophe_rate"] == 0.0


def test_catastrophe_rate_and_worst_case():
    rate, lo, hi = catastrophe_rate([True] * 3 + [False] * 97)
    assert rate == 0.03 and lo < 0.03 < hi
    env = lambda: MatrixGameEnv("crash")  # noqa: E731
    go, yld = FixedActionPolicy(0, 2), FixedActionPolicy(1, 2)
    held = {"goers": ([go], np.array([1.0])), "mixed": ([go, yld], np.array([0.5, 0.5]))}
    res = worst_case(env, [go, yld], np.array([0.0, 1.0]), held, episodes=200, seed=0)
    assert res["cross_play"]["goers"] == 1.0  # Yield against Go earns 1 every time
    assert res["worst_population"] == res["cross_play"]["mixed"] == pytest.approx(0.75, abs=0.06)
    assert res["worst_member"] == 0.5  # Yield against Yield


def test_nash_selection_on_the_stag_hunt():
    game = [STAG, STAG.T]
    assert solve(game, "nash", select="max_welfare").profile[0].tolist() == [1.0, 0.0]
    assert solve(game, "nash", select="risk_dominant").profile[0].tolist() == [0.0, 1.0]
    assert solve(game, "nash", select="min_variance").profile[0].tolist() == [1.0, 0.0]
    lh0 = solve(game, "nash", select="first", algorithm="lemke_howson", initial_dropped_label=0).profile[0]
    lh1 = solve(game, "nash", select="first", algorithm="lemke_howson", initial_dropped_label=1).profile[0]
    assert lh0 == pytest.approx([1.0, 0.0]) and lh1 == pytest.approx([0.0, 1.0])
    mixed = [s[0] for s in symmetric_equilibria(_Game(game))]
    assert sorted(round(float(x[0]), 9) for x in mixed) == [0.0, 0.75, 1.0]


def test_baselines_report_measured_gaps():
    game = [STAG, STAG.T]
    uni = solve(game, "uniform", gamma=0.1)
    assert uni.nash_conv == pytest.approx(2 * (3 - 2.5), abs=1e-12) and uni.rae_conv > 0  # Hare 3 vs 2.5
    fp = solve(game, "fp", iters=400, tol=0.0)
    assert fp.profile[0][0] == pytest.approx(0.5 / 401)
    prd = solve(game, "prd", iters=20_000)
    assert prd.profile[0][1] > 0.9 and prd.method == "prd"
    rae = solve(game, "rae", gamma=0.1, iters=400, tol=0.0)
    assert rae.method == "rae_fp" and rae.rae_conv == pytest.approx(rae.gap_per_player.sum())


def test_three_player_nash_is_pure_enumeration_or_labelled_approximate():
    t = np.zeros((2, 2, 2))
    t[0, 0, 0], t[1] = 6.0, 2.0
    res = solve([t, np.moveaxis(t, 0, 1), np.moveaxis(t, 0, 2)], "nash", select="max_welfare")
    assert [s.tolist() for s in res.profile] == [[1.0, 0.0]] * 3 and res.note == "pure-NE enumeration"
    # Three-player matching pennies-like game without a pure equilibrium.
    rng = np.random.default_rng(1)
    a = np.zeros((2, 2, 2))
    for joint in np.ndindex(2, 2, 2):
        a[joint] = 1.0 if joint[0] == joint[1] else -1.0
    b = -a
    c = rng.normal(size=(2, 2, 2))
    c = c - c.mean(axis=2, keepdims=True)  # player 2 indifferent: no pure NE among players 0, 1
    res = solve([a, b, c], "nash", select="first", fp_iters=300)
    assert res.note.startswith("approximate NE")
