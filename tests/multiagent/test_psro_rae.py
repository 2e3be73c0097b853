"""PSRO with the exact oracle (KA-11), the meta-game of the scripted grid (KA-12) and a tiny RL run."""

from __future__ import annotations

import numpy as np
import pytest

from agents.rae import rae_fictitious_play
from agents.rae.oracles import ExactMatrixOracle, TabularMCOracle, TabularPolicy
from agents.rae.psro import PSRO, PSROConfig, effective_action_distribution
from stori_envs.multiagent import (
    CrossingEnv,
    FixedActionPolicy,
    HarePolicy,
    MatrixGameEnv,
    StagPolicy,
    TrustDilemmaGrid,
    UniformRandomPolicy,
)

OBS = np.zeros(1, dtype=np.float32)


def matrix(name):
    return lambda: MatrixGameEnv(name)


def p_stag(result, seat=0):
    return effective_action_distribution(result.populations[seat], result.sigma[seat], OBS)[0]


@pytest.mark.parametrize("name", ["stag_hunt", "crash"])
def test_meta_game_of_all_pure_actions_is_the_payoff_matrix(name):
    env = MatrixGameEnv(name)
    pops = [FixedActionPolicy(0, 2), FixedActionPolicy(1, 2)]
    psro = PSRO(matrix(name), [pops[0]] * 2, ExactMatrixOracle(), PSROConfig(episodes_per_cell=3))
    psro.populations = [list(pops), list(pops)]
    psro._evaluate_cells()
    tables = psro.tables()
    assert all(np.array_equal(t, p) for t, p in zip(tables, env.payoffs))
    for gamma in (0, 1):
        psro.config = PSROConfig(gamma=gamma)
        expected = rae_fictitious_play(list(env.payoffs), gamma, iters=2000, tol=0).profile
        assert all(np.array_equal(a, b) for a, b in zip(psro._solve(tables), expected))


@pytest.mark.parametrize("start", [0, 1])
@pytest.mark.parametrize("gamma, p_go", [(0, 0.0667), (0.1, 0.0579), (1, 0.0388)])
def test_crash_game_psro_reaches_the_rae(start, gamma, p_go):
    res = PSRO(matrix("crash"), [FixedActionPolicy(start, 2)] * 2, ExactMatrixOracle(),
               PSROConfig(gamma=gamma)).run()
    assert res.stop_reason == "repeat" and len(res.history) == 2
    assert [len(p) for p in res.populations] == [2, 2]
    assert p_stag(res) == pytest.approx(p_go, abs=1e-3)


@pytest.mark.parametrize("solver", ["rae", "nash", "uniform", "fp", "self_play"])
def test_stag_hunt_from_stag_stops_at_once(solver):
    res = PSRO(matrix("stag_hunt"), [FixedActionPolicy(0, 2)] * 2, ExactMatrixOracle(),
               PSROConfig(meta_solver=solver, gamma=0.1)).run()
    assert res.stop_reason == "repeat" and [len(p) for p in res.populations] == [1, 1]
    assert p_stag(res) == 1.0


@pytest.mark.parametrize("gamma", [0, 0.1, 1])
def test_stag_hunt_from_uniform_adds_hare(gamma):
    res = PSRO(matrix("stag_hunt"), [UniformRandomPolicy(2)] * 2, ExactMatrixOracle(), PSROConfig(gamma=gamma)).run()
    assert res.populations[0][1] == FixedActionPolicy(1, 2) and res.stop_reason == "repeat"
    assert p_stag(res) <= 1e-3 and p_stag(res, 1) <= 1e-3


@pytest.mark.parametrize("gamma_br, action, stag", [(0.0, 0, True), (0.1, 1, False)])
def test_risky_stag_hunt_oracle_objective_decides_the_equilibrium(gamma_br, action, stag):
    res = PSRO(matrix("risky_stag_hunt"), [UniformRandomPolicy(2)] * 2, ExactMatrixOracle(gamma_br),
               PSROConfig(gamma=0.1)).run()
    assert res.populations[0][1] == FixedActionPolicy(action, 2)
    assert (p_stag(res) >= 1 - 1e-3) if stag else (p_stag(res) <= 1e-3)


def test_three_player_psro_and_symmetric_population():
    res = PSRO(matrix("stag_hunt_3p"), [UniformRandomPolicy(2)] * 3, ExactMatrixOracle(), PSROConfig(gamma=0.1)).run()
    assert all(p_stag(res, i) <= 1e-3 for i in range(3))
    res = PSRO(matrix("crash"), [FixedActionPolicy(0, 2)], ExactMatrixOracle(),
               PSROConfig(gamma=1.0, symmetric=True)).run()
    assert res.populations[0] is not None and len(res.populations[0]) == 2
    assert p_stag(res) == pytest.approx(0.0388, abs=1e-3)


def test_scripted_grid_meta_game_is_the_stag_hunt():
    psro = PSRO(TrustDilemmaGrid, [StagPolicy(), StagPolicy()], ExactMatrixOracle(), PSROConfig(episodes_per_cell=2))
    psro.populations = [[StagPolicy(), HarePolicy()], [StagPolicy(), HarePolicy()]]
    psro._evaluate_cells()
    a, b = psro.tables()
    assert a.tolist() == [[4.0, 0.0], [3.0, 3.0]] and b.tolist() == [[4.0, 3.0], [0.0, 3.0]]


def test_scripted_crossing_meta_game():
    from stori_envs.multiagent import GoPolicy, YieldPolicy

    psro = PSRO(CrossingEnv, [GoPolicy()], ExactMatrixOracle(), PSROConfig(episodes_per_cell=2, symmetric=True))
    psro.populations = [[GoPolicy(), YieldPolicy()], [GoPolicy(), YieldPolicy()]]  # each seat its own members
    psro._evaluate_cells()
    np.testing.assert_allclose(psro.tables()[0], [[-20.2, 1.5], [1.1, -3.0]], atol=1e-12)
    assert psro.cell_statistic("catastrophe")[0].tolist() == [[1.0, 0.0], [0.0, 0.0]]
    nash = PSROConfig(meta_solver="nash", symmetric=True)
    psro.config = nash
    assert psro._solve(psro.tables())[0][0] == pytest.approx(0.174419, abs=1e-6)
    psro.config = PSROConfig(gamma=1.0, symmetric=True, meta_iters=3000)
    assert psro._solve(psro.tables())[0][0] == pytest.approx(0.160861, abs=2e-3)  # KA-12: below the NE's 0.174


def tiny_rl_run(tmp_path, max_iters, checkpoint=True, objective="mean_variance"):
    oracle = TabularMCOracle(150, risk_objective=objective, gamma_br=0.05 if objective != "mean" else 0.0,
                             features=(0, 1, 2, 3, 4))
    cfg = PSROConfig(gamma=1.0, symmetric=True, max_iters=max_iters, episodes_per_cell=4, meta_iters=200, seed=3)
    return PSRO(lambda: CrossingEnv(), [UniformRandomPolicy(3)], oracle, cfg,
                checkpoint=tmp_path / "run.npz" if checkpoint else None), oracle, cfg


def test_rl_psro_is_deterministic_and_resumes_exactly(tmp_path):
    full, _, _ = tiny_rl_run(tmp_path / "a", 3)
    res = full.run()
    assert len(res.populations[0]) == 4 and isinstance(res.populations[0][1], TabularPolicy)
    assert all(h.rae_conv >= 0 and h.nash_conv >= 0 for h in res.history)
    assert res.history[0].oracle_curves["player_0"]
    again, _, _ = tiny_rl_run(tmp_path / "b", 3, checkpoint=False)
    res_again = again.run()
    assert res_again.populations[0] == res.populations[0]
    assert all(np.array_equal(s, t) for s, t in zip(res_again.sigma, res.sigma))
    # Stop after 2 iterations, then resume from the checkpoint with a larger budget.
    part, oracle, cfg = tiny_rl_run(tmp_path / "c", 2)
    part.run()
    resumed = PSRO.resume(tmp_path / "c" / "run.npz", lambda: CrossingEnv(), oracle,
                          PSROConfig(**{**cfg.__dict__, "max_iters": 3}))
    res_resumed = resumed.run()
    assert res_resumed.populations[0] == res.populations[0]
    assert all(np.array_equal(s, t) for s, t in zip(res_resumed.sigma, res.sigma))
    with pytest.raises(ValueError, match="config"):
        PSRO.resume(tmp_path / "c" / "run.npz", lambda: CrossingEnv(), oracle,
                    PSROConfig(**{**cfg.__dict__, "gamma": 0.5}))


def test_rl_oracle_objective_on_the_closed_form_game():
    """A KA-1-like one-step game: the mean oracle learns Risky (mean 5 > 2), the mean-variance one Safe.

    Constant exploration and sample averages make the test about the objective, not the exploration.
    """
    from agents.rae.oracles import Opponents

    a = np.array([[10.0, -40.0], [2.0, 2.0]])
    env_fn = lambda: MatrixGameEnv([a, np.zeros((2, 2))])  # noqa: E731
    opp = Opponents({"player_1": ([FixedActionPolicy(0, 2), FixedActionPolicy(1, 2)], np.array([0.9, 0.1]))})
    learned = {}
    for objective, gbr in (("mean", 0.0), ("mean_variance", 0.1)):
        oracle = TabularMCOracle(1000, epsilon=(0.5, 0.5), lr_min=0.0, risk_objective=objective, gamma_br=gbr)
        learned[objective] = oracle.best_response(env_fn, "player_0", opp, np.random.SeedSequence(0)).policy.act(OBS)
    assert learned == {"mean": 0, "mean_variance": 1}


def test_config_errors():
    with pytest.raises(ValueError, match="meta_solver: got 'alpharank'"):
        PSROConfig(meta_solver="alpharank")
    with pytest.raises(ValueError, match="episodes_per_cell"):
        PSROConfig(episodes_per_cell=0)
    with pytest.raises(ValueError, match="symmetric"):
        PSRO(matrix("stag_hunt_3p"), [UniformRandomPolicy(2)], ExactMatrixOracle(), PSROConfig(symmetric=True))
    with pytest.raises(ValueError, match="risk_objective"):
        TabularMCOracle(risk_objective="cvar")
    with pytest.raises(ValueError, match="gamma_br"):
        TabularMCOracle(gamma_br=0.1)
