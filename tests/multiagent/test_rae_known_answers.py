"""Known-answer cases KA-1 to KA-7, KA-9 and KA-10 of the RAE specification (docs/rae.md)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.optimize import brentq

from agents.rae import mean_variance, rae_fictitious_play, rae_gap, risk_averse_best_response
from agents.rae.normal_form import harsanyi_selten_risk_dominant

RISKY = np.array([[10.0, -40.0], [4.0, 4.0]])
Y09 = np.array([0.9, 0.1])
STAG = np.array([[4.0, 0.0], [3.0, 3.0]])
RISKY_STAG = np.array([[10.0, -2.0], [3.0, 3.0]])
CRASH = np.array([[-20.0, 2.0], [1.0, 0.5]])


def sym(a):
    return [a, a.T]


# ---------------------------------------------------------------------------------------------------- KA-1
@pytest.mark.parametrize("gamma, p, e, v_opp, v_tot, u", [
    (0, 1, 5, 225, 225, 5),
    (0.001, 1, 5, 225, 225, 4.775),
    (0.01, 0.222222, 4.222222, 11.111111, 50.172840, 4.111111),
    (0.1, 0.022222, 4.022222, 0.111111, 5.021728, 4.011111),
    (1, 0.002222, 4.002222, 0.001111, 0.502217, 4.001111),
    (10, 0.000222, 4.000222, 0.0000111, 0.050222, 4.000111),
])
def test_ka1_closed_form_rabr(gamma, p, e, v_opp, v_tot, u):
    x = risk_averse_best_response(RISKY, [Y09], gamma)
    assert x[0] == pytest.approx(min(1.0, 1.0 / (450 * gamma)) if gamma else 1.0, abs=1e-9)
    assert x[0] == pytest.approx(p, abs=1e-6)
    stats = mean_variance([RISKY, np.zeros((2, 2))], [x, Y09])[0]
    assert stats == pytest.approx([e, v_opp, v_tot], abs=1e-6)
    assert stats[0] - gamma * stats[1] == pytest.approx(u, abs=1e-6)


@pytest.mark.parametrize("gamma, tau", [(0, 1), (0.1, 0.1), (0.1, 1), (1, 0.1)])
def test_ka1_entropy_solves_the_first_order_condition(gamma, tau):
    expected = {(0, 1): 0.731059, (0.1, 0.1): 0.0299507, (0.1, 1): 0.0773188, (1, 0.1): 0.0034794}
    p = risk_averse_best_response(RISKY, [Y09], gamma, tau)[0]
    root = brentq(lambda q: 1 - 450 * gamma * q + tau * np.log((1 - q) / q), 1e-12, 1 - 1e-12, xtol=1e-15)
    assert p == pytest.approx(root, abs=1e-9)
    assert p == pytest.approx(expected[(gamma, tau)], abs=1e-6)


def test_ka1_total_variance_and_alternative_modes():
    assert risk_averse_best_response(RISKY, [Y09], 1 / 225 - 1e-4, variance="total").tolist() == [1.0, 0.0]
    assert risk_averse_best_response(RISKY, [Y09], 1 / 225 + 1e-4, variance="total").tolist() == [0.0, 1.0]
    x = risk_averse_best_response(RISKY, [Y09], 0.0, mode="constrained", eps=0.5)
    assert x[0] == pytest.approx(0.5, abs=1e-9)
    assert mean_variance([RISKY, RISKY], [x, Y09])[0][1] == pytest.approx(56.25, abs=1e-9)
    assert risk_averse_best_response(RISKY, [Y09], 0.0, mode="lexicographic").tolist() == [0.0, 1.0]


# ---------------------------------------------------------------------------------------------------- KA-2
def test_ka2_stag_hunt_nash_set_and_risk_dominance():
    import nashpy

    eqs = [(tuple(np.round(x, 9)), tuple(np.round(y, 9))) for x, y in nashpy.Game(STAG, STAG.T).support_enumeration()]
    assert sorted(eqs) == sorted([((1.0, 0.0),) * 2, ((0.0, 1.0),) * 2, ((0.75, 0.25),) * 2])
    assert harsanyi_selten_risk_dominant(STAG, STAG.T) == (1, 1)


@pytest.mark.parametrize("gamma", [0, 0.1, 1])
def test_ka2_fp_plays_hare_from_uniform(gamma):
    res = rae_fictitious_play(sym(STAG), gamma, iters=400, tol=0)
    q = 0.5 / 401
    for s in res.profile:
        assert s[0] == pytest.approx(q, abs=1e-12)
    if gamma == 0:
        assert res.gap_per_player == pytest.approx([3 * q - 4 * q * q] * 2, abs=1e-10)
    assert res.converged is False  # tol = 0: never claimed


def test_ka2_mixed_ne_is_not_rae_and_the_mixed_rae():
    ne = [np.array([0.75, 0.25])] * 2
    for gamma in (0.1, 0.5):
        assert rae_gap(sym(STAG), ne, gamma) == pytest.approx([1.6875 * gamma] * 2, abs=1e-9)
    for gamma, p in [(0.05, 0.801063), (0.1, 0.840235), (0.5, 0.945352), (1, 0.970720)]:
        root = brentq(lambda q, gamma=gamma: 32 * gamma * q * q * (1 - q) - (4 * q - 3), 0.75 + 1e-12, 1 - 1e-12,
                      xtol=1e-15)
        assert root == pytest.approx(p, abs=1e-6)
        assert rae_gap(sym(STAG), [np.array([root, 1 - root])] * 2, gamma).sum() < 1e-9


@pytest.mark.parametrize("gamma, stag", [(0, 0.99868), (0.1, 0.00562)])
def test_ka2_basin(gamma, stag):
    res = rae_fictitious_play(sym(STAG), gamma, iters=1500, init=[[0.8, 0.2]] * 2, prior_weight=10, tol=0)
    assert res.profile[0][0] == pytest.approx(stag, abs=1e-4)


# ---------------------------------------------------------------------------------------------------- KA-3
def test_ka3_uniform_belief_rabr():
    for gamma in (0.01, 1 / 72, 0.05, 0.5):
        assert risk_averse_best_response(RISKY_STAG, [[0.5, 0.5]], gamma)[0] == pytest.approx(
            min(1.0, 1 / (72 * gamma)), abs=1e-9)


@pytest.mark.parametrize("gamma, q", [(0.01, 0.442894), (0.05, 0.587523), (0.1, 0.752857), (1, 0.975531)])
def test_ka3_symmetric_mixed_rae(gamma, q):
    root = brentq(lambda x: 288 * gamma * x * x * (1 - x) - (12 * x - 5), 1e-9, 1 - 1e-9, xtol=1e-15)
    assert root == pytest.approx(q, abs=1e-6)
    assert rae_gap(sym(RISKY_STAG), [np.array([root, 1 - root])] * 2, gamma).sum() < 1e-9


@pytest.mark.parametrize("gamma, stag", [(0, 0.99975), (0.01, 0.99975), (0.02, 0.99960), (0.027, 0.99907),
                                         (0.0285, None), (0.03, None), (0.05, None), (0.1, None), (1, None)])
def test_ka3_threshold_one_over_36(gamma, stag):
    p = rae_fictitious_play(sym(RISKY_STAG), gamma, iters=2000, tol=0).profile[0][0]
    if stag is None:
        assert p <= 0.01
    else:
        assert p >= 0.99 and p == pytest.approx(stag, abs=1e-5)


# ---------------------------------------------------------------------------------------------------- KA-4
@pytest.mark.parametrize("gamma, p_go, crash, mean, v_opp, v_tot", [
    (0, 0.0666667, 0.0044444, 0.533333, 0.062222, 2.022222),
    (0.01, 0.0654757, 0.0042871, 0.534492, 0.057953, 1.953421),
    (0.1, 0.0579065, 0.0033532, 0.540367, 0.035167, 1.543922),
    (1, 0.0388133, 0.0015065, 0.543731, 0.005199, 0.724451),
    (10, 0.0258289, 0.0006671, 0.536647, 0.000166, 0.341924),
])
def test_ka4_crash_probability_falls_with_gamma(gamma, p_go, crash, mean, v_opp, v_tot):
    if gamma > 0:
        root = brentq(lambda q: 45 * gamma * q * (1 - q) * (22.5 * q - 0.5) - (1.5 - 22.5 * q), 1 / 45, 1 / 15,
                      xtol=1e-15)
        assert root == pytest.approx(p_go, abs=1e-6)
        assert root**2 == pytest.approx(crash, abs=1e-6)
    exact = [np.array([p_go, 1 - p_go])] * 2
    assert mean_variance(sym(CRASH), exact)[0] == pytest.approx([mean, v_opp, v_tot], abs=1e-5)
    res = rae_fictitious_play(sym(CRASH), gamma, iters=3000, tol=0)
    assert res.profile[0][0] == pytest.approx(p_go, abs=1e-3)
    assert res.profile[0][0] ** 2 == pytest.approx(crash, abs=2e-4)


def test_ka4_pure_equilibria_are_rae_for_every_gamma():
    for gamma in (0, 0.1, 1, 10, 1e6):
        assert rae_gap(sym(CRASH), [np.array([1.0, 0]), np.array([0, 1.0])], gamma).sum() == 0.0


# ---------------------------------------------------------------------------------------------------- KA-5
MP = np.array([[1.0, -1.0], [-1.0, 1.0]])
RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
Z = np.array([[2.0, -1.0], [-1.0, 1.0]])


@pytest.mark.parametrize("a, x, v_tot", [(MP, [0.5, 0.5], 1.0), (RPS, [1 / 3] * 3, 2 / 3), (Z, [0.4, 0.6], 1.44)])
@pytest.mark.parametrize("gamma", [0, 0.05, 0.5, 1, 5])
def test_ka5_zero_sum_nash_is_rae(a, x, v_tot, gamma):
    import nashpy

    (nx, ny), = list(nashpy.Game(a).support_enumeration())
    assert nx == pytest.approx(x, abs=1e-9)
    stats = mean_variance([a, -a], [nx, ny])
    assert stats[:, 1].max() < 1e-12
    assert stats[0, 2] == pytest.approx(v_tot, abs=1e-9)
    assert rae_gap([a, -a], [nx, ny], gamma).sum() < 1e-9


def test_ka5_fp_on_zero_sum_games():
    res = rae_fictitious_play([MP, -MP], 1.0, iters=1, tol=0)
    assert res.profile[0].tolist() == [0.5, 0.5]
    for gamma, tol in ((0.5, 1e-3), (1, 1e-3), (0, 2e-2)):
        assert rae_fictitious_play([Z, -Z], gamma, iters=3000, tol=0).profile[0] == pytest.approx([0.4, 0.6], abs=tol)
    init = [[0.6, 0.3, 0.1], [0.2, 0.3, 0.5]]
    res = rae_fictitious_play([RPS, -RPS], 0.5, iters=1500, init=init, tol=0)
    assert res.profile[0] == pytest.approx([1 / 3] * 3, abs=2e-3) and res.rae_conv < 1e-4
    res = rae_fictitious_play([RPS, -RPS], 0.0, iters=1500, init=init, tol=0)
    assert res.profile[0] == pytest.approx([1 / 3] * 3, abs=2e-2)


# ---------------------------------------------------------------------------------------------------- KA-6
@pytest.mark.parametrize("gamma", [0, 0.1, 1, 10])
def test_ka6_openspiel_matrix_sh(gamma):
    a = np.array([[2.0, 0.0], [1.0, 1.0]])
    assert risk_averse_best_response(a, [[0.5, 0.5]], gamma).tolist() == [0.0, 1.0]
    assert harsanyi_selten_risk_dominant(a, a.T) is None


# ---------------------------------------------------------------------------------------------------- KA-7
def stag3():
    t = np.zeros((2, 2, 2))
    t[0, 0, 0] = 6.0
    t[1] = 2.0
    return [t, np.moveaxis(t, 0, 1), np.moveaxis(t, 0, 2)]


def test_ka7_three_player_rabr():
    t = stag3()[0]
    others = [[0.85, 0.15], [0.85, 0.15]]
    for gamma, p in [(0.161753, 1.0), (0.2, 0.808767), (1, 0.161753)]:
        assert risk_averse_best_response(t, others, gamma)[0] == pytest.approx(p, abs=1e-6)
    assert risk_averse_best_response(t, others, 0.17)[0] < 1.0


def test_ka7_three_player_fp():
    for gamma in (0, 0.1, 1):
        res = rae_fictitious_play(stag3(), gamma, iters=800, tol=0)
        assert all(s[0] == pytest.approx(0.5 / 801, abs=1e-12) for s in res.profile)
    for gamma, p in [(0, 0.99988), (0.1, 0.99988), (1, 0.00145)]:
        res = rae_fictitious_play(stag3(), gamma, iters=800, init=[[0.9, 0.1]] * 3, tol=0)
        assert all(s[0] == pytest.approx(p, abs=1e-5) for s in res.profile)


def test_ka7_mixed_profiles():
    q = 1 / np.sqrt(3)
    mixed = [np.array([q, 1 - q])] * 3
    assert rae_gap(stag3(), mixed, 0.0).max() < 1e-12
    assert rae_gap(stag3(), mixed, 0.1) == pytest.approx([0.266667] * 3, abs=1e-6)
    for gamma, p in [(0.1, 0.744329), (1, 0.971862)]:
        root = brentq(lambda x, gamma=gamma: 72 * gamma * x**3 * (1 - x * x) - (6 * x * x - 2), q, 1 - 1e-12,
                      xtol=1e-15)
        assert root == pytest.approx(p, abs=1e-6)
        assert rae_gap(stag3(), [np.array([root, 1 - root])] * 3, gamma).sum() < 1e-9


# ---------------------------------------------------------------------------------------------------- KA-9
def test_ka9_determinism_across_processes():
    code = ("import numpy as np; from agents.rae import rae_fictitious_play as f; "
            "A=np.random.default_rng(3).normal(size=(4,4)); B=np.random.default_rng(4).normal(size=(4,4)); "
            "r=f([A,B],0.3,iters=300,tol=0); print(np.concatenate(r.profile).tobytes().hex())")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)}
    a = np.random.default_rng(3).normal(size=(4, 4))
    b = np.random.default_rng(4).normal(size=(4, 4))
    here = np.concatenate(rae_fictitious_play([a, b], 0.3, iters=300, tol=0).profile).tobytes().hex()
    assert outs == {here + "\n"}


# --------------------------------------------------------------------------------------------------- KA-10
SHAPLEY = [np.eye(3), np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])]


@pytest.mark.parametrize("init", [[[1, 0, 0], [1, 0, 0]], [[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]]])
def test_ka10_non_convergence_is_reported(init):
    res = rae_fictitious_play(SHAPLEY, 0.0, iters=3000, init=init, tol=1e-3)
    assert res.converged is False and res.iterations == 3000
    assert res.rae_conv >= 0.25 and res.gap_per_player.shape == (2,)
    assert min(c for t, c in res.history if t >= 500) >= 0.25
    # The reported gap is the gap of the returned profile, measured independently.
    assert rae_gap(SHAPLEY, res.profile, 0.0) == pytest.approx(res.gap_per_player, abs=1e-12)
    res = rae_fictitious_play(SHAPLEY, 0.5, iters=3000, init=init, tol=1e-3)
    assert res.converged is False and res.rae_conv >= 0.1
    res = rae_fictitious_play(SHAPLEY, 2.0, iters=3000, init=init, tol=1e-3)
    assert res.converged is True and res.rae_conv < 1e-3


def test_ka10_uniform_is_rae():
    for gamma in (0, 0.5, 2):
        assert rae_gap(SHAPLEY, [np.full(3, 1 / 3)] * 2, gamma).sum() < 1e-12
