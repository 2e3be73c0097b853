"""Risk games in the evaluation loop: the joint env, equilibrium solvers and PSRO as agents."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from agents.interface import load_agent
from benchmarks.evaluation.games import JointGameEnv
from benchmarks.evaluation.runner import build_agent, evaluate, run_cell
from benchmarks.evaluation.suites import load_suite

pytest.importorskip("pettingzoo")


def test_joint_env_is_a_gymnasium_env():
    env = JointGameEnv("matrix:crash")
    check_env(env, skip_render_check=True)
    env.reset(seed=0)
    _, welfare, terminated, _, info = env.step(np.array([0, 0]))  # (Go, Go): the crash
    assert terminated and welfare == -40.0 and info["cost"] == 2.0 and info["catastrophe"]
    crossing = JointGameEnv("crossing")
    obs, _ = crossing.reset(seed=1)
    assert obs.shape == crossing.observation_space.shape


def test_solvers_play_their_equilibria():
    records = {}
    for name in ("game-nash", "game-rae", "game-uniform"):
        agent = build_agent({"agent": name, "config": {"gamma": 1.0}}, seed=0)
        agent.learn(lambda: JointGameEnv("matrix:crash"), 1)
        records[name] = evaluate(agent, lambda: JointGameEnv("matrix:crash"), list(range(300)), n_envs=30,
                                 deterministic=False, crash="info:catastrophe")
    crash_rate = {k: np.mean([r.crash for r in v]) for k, v in records.items()}
    # A strongly risk-averse RAE avoids the crash more than uniform play does.
    assert crash_rate["game-rae"] < crash_rate["game-uniform"]
    again = build_agent({"agent": "game-rae", "config": {"gamma": 1.0}}, seed=0)
    again.learn(lambda: JointGameEnv("matrix:crash"), 1)
    assert evaluate(again, lambda: JointGameEnv("matrix:crash"), list(range(300)), n_envs=7, deterministic=False,
                    crash="info:catastrophe") == records["game-rae"]  # batching-independent, seeded


def test_solver_save_load(tmp_path):
    agent = build_agent({"agent": "game-nash", "config": {}}, seed=0)
    agent.learn(lambda: JointGameEnv("matrix:stag_hunt"), 1)
    loaded = load_agent(agent.save(tmp_path / "nash"))
    seeds = list(range(50))
    for deterministic in (True, False):
        assert evaluate(loaded, lambda: JointGameEnv("matrix:stag_hunt"), seeds, deterministic=deterministic) == \
            evaluate(agent, lambda: JointGameEnv("matrix:stag_hunt"), seeds, deterministic=deterministic)


def test_psro_on_a_multi_step_game_saves_and_loads(tmp_path):
    agent = build_agent({"agent": "game-psro-rae", "config": {"psro_iters": 2, "episodes_per_cell": 2,
                                                         "oracle_episodes": 100, "symmetric": True}}, seed=0)
    agent.learn(lambda: JointGameEnv("crossing"), 1)
    loaded = load_agent(agent.save(tmp_path / "psro"))
    seeds = list(range(6))
    play = [evaluate(a, lambda: JointGameEnv("crossing"), seeds, n_envs=3, deterministic=False,
                     crash="info:catastrophe") for a in (agent, loaded)]
    assert play[0] == play[1] and all(r.length >= 1 for r in play[0])


def test_risk_suite_cell_with_psro_is_reproducible():
    suite = load_suite("risk")
    cell = next(c for c in suite.cells() if c.agent.label == "psro-rae" and c.env.name == "crash").to_dict()
    cell["eval_seeds"] = cell["eval_seeds"][:40]
    first, second = run_cell(cell), run_cell(cell)
    assert first["train"]["history"]["iterations"] >= 1
    assert [v["episodes"] for v in first["evals"].values()] == [v["episodes"] for v in second["evals"].values()]
