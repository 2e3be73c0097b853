"""The core contract on the risk games and the RAE solvers (issue 8): inputs checked at every boundary,
solvers independent of the caller's BLAS threading, checkpoints that never unpickle."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from agents.rae import normal_form, rae_fictitious_play, rae_gap, risk_averse_best_response
from agents.rae.baselines import solve
from agents.rae.checkpoint import load_archive, policy_from_dict, policy_to_dict, save_archive
from agents.rae.oracles import ExactMatrixOracle
from agents.rae.psro import PSRO, PSROConfig
from agents.rae.threads import blas_threads
from stori_envs.multiagent import CrossingEnv, FixedActionPolicy, MatrixGameEnv, UniformRandomPolicy
from stori_envs.multiagent.taxonomy import ParallelRandomActionReplacement

STAG = np.array([[4.0, 0.0], [3.0, 3.0]])


# -- RAE inputs -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad, match", [
    (np.array([[1.0, np.nan], [0.0, 1.0]]), r"payoff: got a non-finite entry \(nan\); allowed: finite numbers"),
    (np.array([[1.0, np.inf], [0.0, 1.0]]), r"payoff: got a non-finite entry \(inf\)"),
    (np.array([[1e200, -1e200], [0.0, 1.0]]), r"payoff: got entries up to 1e\+200 in magnitude; allowed: \|payoff\|"),
])
def test_best_response_refuses_payoffs_it_used_to_answer(bad, match):
    """Regression: NaN/inf payoffs returned an answer (or a LinAlgError), overflow was blamed on the profile."""
    with pytest.raises(ValueError, match=match):
        risk_averse_best_response(bad, [np.array([0.5, 0.5])], gamma=1.0)


def test_games_with_overflowing_payoffs_are_blamed_on_the_payoffs():
    huge = [np.array([[1e200, -1e200], [0.0, 1.0]])] * 2
    for call in (lambda: rae_fictitious_play(huge, gamma=1.0, iters=5),
                 lambda: rae_gap(huge, [np.array([0.5, 0.5])] * 2, gamma=1.0),
                 lambda: solve(huge, "fp", iters=5)):
        with pytest.raises(ValueError, match=r"payoffs\[0\]: got entries up to 1e\+200"):
            call()
    big = [np.array([[1e90, -1e90], [0.0, 1.0]])] * 2
    with pytest.raises(ValueError, match=r"gamma: got 1e\+30 for player 0 with payoffs up to 1e\+90"):
        rae_gap(big, [np.array([0.5, 0.5])] * 2, gamma=1e30)
    large = np.random.default_rng(0).normal(size=(12, 12)) * 1e160
    with pytest.raises(ValueError, match=r"payoff: got entries up to"):
        risk_averse_best_response(large, [np.full(12, 1 / 12)], gamma=1.0)


def test_rescaled_games_keep_their_answer_within_the_allowed_range():
    """The documented remedy works: payoffs x c with gamma / c gives the same best response."""
    a = np.array([[10.0, -40.0], [4.0, 4.0]])
    y = [np.array([0.9, 0.1])]
    base = risk_averse_best_response(a, y, gamma=0.1)
    assert np.allclose(risk_averse_best_response(a * 1e40, y, gamma=0.1 / 1e40), base)


# -- BLAS threads ---------------------------------------------------------------------------------------------
def test_solvers_run_with_one_blas_thread_and_restore_the_callers(monkeypatch):
    """Regression: the solvers ran with the caller's BLAS pool (57-80 s against 4 s on a loaded 2-core machine)."""
    from threadpoolctl import threadpool_limits

    seen = []
    original = normal_form._moments_flat

    def spy(*args, **kwargs):
        seen.append(tuple(blas_threads()))
        return original(*args, **kwargs)

    monkeypatch.setattr(normal_form, "_moments_flat", spy)
    game = [STAG, STAG.T]
    with threadpool_limits(2, user_api="blas"):
        before = blas_threads()
        rae_fictitious_play(game, gamma=0.5, iters=20, tol=0.0)
        rae_gap(game, [np.array([0.5, 0.5])] * 2, gamma=0.5)
        risk_averse_best_response(STAG, [np.array([0.3, 0.7])], gamma=0.5)
        assert blas_threads() == before  # the caller's setting is back
    assert seen and all(set(s) == {1} for s in seen)


# -- checkpoints ----------------------------------------------------------------------------------------------
class _Boom:
    def __reduce__(self):
        return (os.system, ("touch boom_was_executed",))


def test_a_checkpoint_holding_a_pickle_is_refused_not_executed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    crafted = tmp_path / "run.npz"
    crafted.write_bytes(pickle.dumps(_Boom()))
    with pytest.raises(ValueError, match=r"checkpoint: got .*not an npz archive \(a pickle\?\)"):
        PSRO.resume(crafted, CrossingEnv, ExactMatrixOracle())
    objects = tmp_path / "objects.npz"
    np.savez(objects, **{"meta.json": np.frombuffer(b"{}", np.uint8), "x": np.array([_Boom()], dtype=object)})
    with pytest.raises(ValueError, match=r"checkpoint: got .*holds something else than numeric arrays"):
        PSRO.resume(objects, CrossingEnv, ExactMatrixOracle())
    assert not (tmp_path / "boom_was_executed").exists()
    with pytest.raises(ValueError, match=r"arrays\['x'\]: got dtype object"):
        save_archive(tmp_path / "bad.npz", {}, {"x": np.array([None], dtype=object)})
    plain = save_archive(tmp_path / "plain.npz", {"a": 1}, {"x": np.arange(3)})
    meta, arrays = load_archive(plain)
    assert meta["a"] == 1 and np.array_equal(arrays["x"], np.arange(3))


def test_matrix_psro_resumes_from_a_json_checkpoint_exactly(tmp_path):
    env_fn = lambda: MatrixGameEnv("stag_hunt")  # noqa: E731
    cfg = PSROConfig(meta_solver="rae", gamma=0.3, meta_iters=200, episodes_per_cell=4, max_iters=4)
    start = [UniformRandomPolicy(2), UniformRandomPolicy(2)]
    full = PSRO(env_fn, start, ExactMatrixOracle(), cfg).run()
    first = PSRO(env_fn, start, ExactMatrixOracle(), PSROConfig(**{**cfg.__dict__, "max_iters": 1}),
                 checkpoint=tmp_path / "ck.npz")
    assert first.run().stop_reason == "max_iters" and len(full.history) == 2  # the resumed run has work left
    resumed = PSRO.resume(tmp_path / "ck.npz", env_fn, ExactMatrixOracle(), cfg).run()
    assert resumed.populations == full.populations
    assert all(np.array_equal(a, b) for a, b in zip(resumed.sigma, full.sigma, strict=True))
    assert [h.rae_conv for h in resumed.history] == [h.rae_conv for h in full.history]


def test_unregistered_policies_cannot_be_saved_and_registered_ones_round_trip():
    class Mine:
        pass

    with pytest.raises(ValueError, match=r"policy: got .*Mine; allowed: a policy of a registered kind"):
        policy_to_dict(Mine())
    p = FixedActionPolicy(1, 3)
    assert policy_from_dict(policy_to_dict(p)) == p
    with pytest.raises(ValueError, match=r"policy kind: got 'nope'"):
        policy_from_dict({"kind": "nope"})


# -- the PettingZoo type 1 wrapper ----------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [99, -1, 1.5, "go", None, [1], np.array([0, 1])])
def test_parallel_type1_rejects_out_of_space_actions_every_time(bad):
    """Regression: an out-of-space action was accepted whenever it happened to be replaced (p = 1 here)."""
    env = ParallelRandomActionReplacement(CrossingEnv(), 1.0)
    env.reset(seed=0)
    for _ in range(10):
        with pytest.raises(ValueError, match=r"actions\['player_0'\]: got .*; allowed: an element of the action "
                                             r"space Discrete\(3\)"):
            env.step({"player_0": bad, "player_1": 0})
    obs, *_ = env.step({"player_0": np.int64(1), "player_1": np.int64(2)})
    assert set(obs) == {"player_0", "player_1"}
