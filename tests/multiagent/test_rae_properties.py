"""Property tests on seeded random games (KA-8), input validation and the large-game solver path."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import minimize

from agents.rae import rae_fictitious_play, rae_gap, risk_averse_best_response
from agents.rae.baselines import pure_equilibria, solve
from agents.rae.best_response import penalty_best_response, penalty_utility
from agents.rae.normal_form import _Game, mean_variance, payoff_moments

RNG_SEED = 20230601


def random_games(rng, count):
    for _ in range(count):
        n_players = int(rng.choice([2, 2, 3]))
        shape = tuple(int(rng.integers(2, 5 if n_players == 2 else 4)) for _ in range(n_players))
        yield [rng.integers(-5, 6, size=shape).astype(float) for _ in range(n_players)]


def test_every_pure_nash_equilibrium_is_an_rae_for_every_gamma():
    rng = np.random.default_rng(RNG_SEED)
    checked = 0
    for payoffs in random_games(rng, 60):
        for profile in pure_equilibria(_Game(payoffs)):
            for gamma in (0, 0.1, 1, 10):
                assert rae_gap(payoffs, profile, gamma).max() < 1e-12
            checked += 1
    assert checked >= 30  # the property was exercised on many equilibria


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # nashpy warns on degenerate draws
def test_zero_sum_nash_equilibria_have_no_opponent_variance():
    import nashpy

    rng = np.random.default_rng(RNG_SEED + 1)
    for _ in range(15):
        a = rng.normal(size=tuple(rng.integers(2, 5, size=2)))
        for x, y in nashpy.Game(a).support_enumeration():
            assert mean_variance([a, -a], [x, y])[:, 1].max() < 1e-12
            for gamma in (0.1, 1, 10):
                assert rae_gap([a, -a], [x, y], gamma).sum() < 1e-9


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # nashpy warns on degenerate draws
def test_fully_mixed_2x2_nash_gap_matches_closed_form():
    import nashpy

    rng = np.random.default_rng(RNG_SEED + 2)
    gamma, seen, positive = 0.5, 0, 0
    for _ in range(200):
        a, b = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
        for x, y in nashpy.Game(a, b).support_enumeration():
            if min(x.min(), y.min()) <= 1e-9:
                continue
            d = a[:, 0] - a[:, 1]
            low = 0.0 if d[0] * d[1] < 0 else min(d[0] ** 2, d[1] ** 2)
            expected = gamma * y[0] * y[1] * ((x @ d) ** 2 - low)
            gap = rae_gap([a, b], [x, y], gamma)[0]
            assert gap == pytest.approx(expected, abs=1e-12)
            seen += 1
            if expected > 1e-9:
                positive += 1
                assert rae_gap([a, b], [x, y], gamma).sum() > 0
    assert seen >= 20 and positive >= 10


@pytest.mark.parametrize("shape", [(3, 3), (2, 2, 2)])
def test_zero_risk_fp_equals_plain_fictitious_play(shape):
    rng = np.random.default_rng(RNG_SEED + len(shape))
    payoffs = [rng.normal(size=shape) for _ in shape]
    init = [rng.dirichlet(np.ones(k)) for k in shape]
    res = rae_fictitious_play(payoffs, 0.0, iters=200, init=init, tol=0)
    game = _Game(payoffs)
    beliefs = [p.copy() for p in init]
    for t in range(1, 201):
        brs = [np.eye(shape[i])[int(np.argmax(game.flat[i] @ game.y(beliefs, i)))] for i in range(len(shape))]
        beliefs = [b + (r - b) / (t + 1.0) for b, r in zip(beliefs, brs)]
    for got, want in zip(res.profile, beliefs):
        assert got == pytest.approx(want, abs=1e-8)


def _slsqp_best(mu, sigma, gamma, rng, starts=8):
    n = mu.size
    best = -np.inf
    for _ in range(starts):
        res = minimize(lambda x: -(mu @ x - gamma * x @ sigma @ x), rng.dirichlet(np.ones(n)), method="SLSQP",
                       bounds=[(0, 1)] * n, constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1}],
                       options={"ftol": 1e-14, "maxiter": 500})
        x = np.clip(res.x, 0, None)
        x /= x.sum()
        best = max(best, mu @ x - gamma * x @ sigma @ x)
    return best


@pytest.mark.parametrize("n", [2, 3])
def test_rabr_beats_grid_and_multistart_slsqp(n):
    rng = np.random.default_rng(RNG_SEED + 10 + n)
    if n == 2:
        grid = np.linspace(0, 1, 100_001)[:, None] * np.array([1, -1]) + np.array([0, 1])
    else:
        k = np.arange(401)
        i, j = np.meshgrid(k, k, indexing="ij")
        keep = i + j <= 400
        grid = np.stack([i[keep], j[keep], 400 - i[keep] - j[keep]], axis=1) / 400
    for _ in range(6):
        m = rng.normal(size=(n, 4)) * 3
        y = rng.dirichlet(np.ones(4))
        for gamma in (0.05, 0.5, 5):
            x = risk_averse_best_response(m, [y], gamma)
            mu, sigma = payoff_moments(m, [y])
            u = penalty_utility(x, mu, sigma, gamma)
            grid_u = grid @ mu - gamma * np.einsum("ij,jk,ik->i", grid, sigma, grid)
            assert grid_u.max() <= u + 1e-8
            assert _slsqp_best(mu, sigma, gamma, rng) <= u + 1e-8


def test_entropy_rabr_is_softmax_at_zero_gamma():
    rng = np.random.default_rng(RNG_SEED + 20)
    m = rng.normal(size=(4, 3))
    y = rng.dirichlet(np.ones(3))
    mu = m @ y
    for tau in (0.1, 1.0):
        soft = np.exp(mu / tau) / np.exp(mu / tau).sum()
        assert risk_averse_best_response(m, [y], 0.0, tau) == pytest.approx(soft, abs=1e-12)


def test_scale_and_shift_invariance_of_the_fp_trajectory():
    rng = np.random.default_rng(RNG_SEED + 30)
    a, b = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    base = rae_fictitious_play([a, b], [0.4, 0.2], iters=300, tol=0)
    c = 3.0
    scaled = rae_fictitious_play([c * a + 7.0, b - 2.0], [0.4 / c, 0.2], iters=300, tol=0)
    for s, t in zip(base.profile, scaled.profile):
        assert s == pytest.approx(t, abs=1e-9)
    # Offsets that depend on the opponent's action change Sigma, hence the RABR (NE would not move).
    assert risk_averse_best_response(np.array([[2.0, 0.0], [1.0, 1.0]]), [[0.5, 0.5]], 0.1).tolist() == [0, 1]
    assert risk_averse_best_response(np.array([[1.0, 0.0], [0.0, 1.0]]), [[0.5, 0.5]], 0.1) == pytest.approx(
        [0.5, 0.5])


def test_matching_pennies_tie_break_and_pure_opponents():
    mp = np.array([[1.0, -1.0], [-1.0, 1.0]])
    assert risk_averse_best_response(mp, [[0.5, 0.5]], 0.0).tolist() == [0.5, 0.5]
    tied = np.array([[1.0, 0.0], [1.0, 2.0], [0.0, 0.0]])
    assert risk_averse_best_response(tied, [[1.0, 0.0]], 0.0).tolist() == [1.0, 0.0, 0.0]


def test_large_game_solver_is_optimal_and_matches_the_exact_path():
    rng = np.random.default_rng(RNG_SEED + 40)
    m = rng.normal(size=(12, 30))
    y = rng.dirichlet(np.ones(30))
    mu, sigma = payoff_moments(m, [y])
    for gamma in (0.1, 1.0, 10.0):
        x = risk_averse_best_response(m, [y], gamma)
        u = penalty_utility(x, mu, sigma, gamma)
        assert _slsqp_best(mu, sigma, gamma, rng, starts=4) <= u + 1e-8
        # Restricted to the first 8 actions both paths (enumeration and projected gradient) agree.
        small = penalty_best_response(mu[:8], sigma[:8, :8], gamma)
        big = penalty_best_response(np.append(mu[:8], [-1e3] * 4), np.pad(sigma[:8, :8], (0, 4)), gamma)
        assert big[:8] == pytest.approx(small, abs=1e-9)


@pytest.mark.parametrize("bad, match", [
    ([np.zeros((2, 2))], "payoffs"),
    ([np.zeros((2, 2)), np.zeros((2, 3))], r"payoffs\[1\]: got shape \(2, 3\)"),
    ([np.zeros((2, 2)), np.zeros((2, 2, 2))], "wrong number of players"),
    ([np.zeros((2, 2)), [[1, 2], [3]]], "ragged"),
    ([np.zeros((2, 2)), np.array([[1, np.nan], [0, 0]])], "non-finite"),
    ([np.zeros((2, 2)), np.array([[1, np.inf], [0, 0]])], "non-finite"),
    ("stag", "payoffs: got str"),
])
def test_malformed_games_raise_clear_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        rae_fictitious_play(bad, 0.1)


def test_bad_parameters_raise_clear_errors():
    a = np.eye(2)
    with pytest.raises(ValueError, match="gamma: got -1"):
        rae_fictitious_play([a, a], -1)
    with pytest.raises(ValueError, match="gamma: got"):
        rae_fictitious_play([a, a], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="variance: got 'both'"):
        rae_fictitious_play([a, a], 0.1, variance="both")
    with pytest.raises(ValueError, match="mode: got 'minimax'"):
        risk_averse_best_response(a, [[0.5, 0.5]], 0.1, mode="minimax")
    with pytest.raises(ValueError, match="opponent_strategies"):
        risk_averse_best_response(a, [[0.5, 0.6]], 0.1)
    with pytest.raises(ValueError, match=r"profile\[1\]"):
        rae_gap([a, a], [[1, 0], [1, 1]], 0.1)
    with pytest.raises(ValueError, match="tau"):
        rae_fictitious_play([a, a], 0.1, tau=0.5, variance="total")
    with pytest.raises(ValueError, match="iters"):
        rae_fictitious_play([a, a], 0.1, iters=-3)
    with pytest.raises(ValueError, match="method: got 'alpharank'"):
        solve([a, a], "alpharank")
    with pytest.raises(ValueError, match="select: got None"):
        solve([a, a], "nash")


def test_n_player_flattening_uses_tensor_axis_order():
    rng = np.random.default_rng(RNG_SEED + 50)
    t = rng.normal(size=(2, 3, 4))
    y1, y2 = rng.dirichlet(np.ones(3)), rng.dirichlet(np.ones(4))
    mu, sigma = payoff_moments(t, [y1, y2])
    joint = np.array([[t[a, j, k] for j, k in itertools.product(range(3), range(4))] for a in range(2)])
    w = np.outer(y1, y2).ravel()
    assert mu == pytest.approx(joint @ w, abs=1e-12)
    assert sigma == pytest.approx((joint * w) @ joint.T - np.outer(joint @ w, joint @ w), abs=1e-12)
    # Player 1's view (its axis in the middle).
    mu1, _ = payoff_moments(t, [[0.3, 0.7], y2], player=1)
    assert mu1 == pytest.approx(np.einsum("ajk,a,k->j", t, [0.3, 0.7], y2), abs=1e-12)
