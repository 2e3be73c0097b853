"""The RAE/Nash/PSRO solutions as agents of the shared interface, on the real risk games."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_rate

from agents.interface import load_agent
from agents.rae import rae_fictitious_play
from agents.rae.oracles import ExactMatrixOracle
from agents.rae.policy import MixedStrategyAgent, MixedStrategyConfig, PopulationAgent, joint_actions
from agents.rae.psro import PSRO, PSROConfig
from stori_envs.multiagent import GoPolicy, MatrixGameEnv, UniformRandomPolicy, YieldPolicy, matrix_game
from stori_envs.multiagent.crossing import CrossingEnv


def test_mixed_strategy_agent_samples_the_solution_and_is_batch_independent():
    game = matrix_game("crash")
    res = rae_fictitious_play(list(game.payoffs), gamma=1.0, iters=3000, tol=0.0)
    agent = MixedStrategyAgent.from_solution(res, 0, seed=7)
    p_go = float(res.profile[0][0])
    agent.on_episode_start(np.arange(4), np.arange(4))
    draws = np.concatenate([agent.act(np.zeros((4, 1)), deterministic=False) for _ in range(1200)])
    assert_rate(int((draws == 0).sum()), draws.size, p_go)
    assert (agent.act(np.zeros((3, 1)), deterministic=True) == int(np.argmax(res.profile[0]))).all()
    # Episode 5's actions are the same whether it ran in row 0 or row 3 of a batch.
    one, other = MixedStrategyAgent.from_solution(res, 0, seed=7), MixedStrategyAgent.from_solution(res, 0, seed=7)
    one.on_episode_start(np.array([0]), np.array([5]))
    other.on_episode_start(np.arange(4), np.array([1, 2, 3, 5]))
    a = [one.act(np.zeros((1, 1)), False)[0] for _ in range(50)]
    b = [other.act(np.zeros((4, 1)), False)[3] for _ in range(50)]
    assert a == b
    with pytest.raises(ValueError, match="probabilities: got"):
        MixedStrategyAgent(MixedStrategyConfig(probabilities=(0.7, 0.7)))
    env = MatrixGameEnv("crash")
    agent.bind(env.observation_space("player_0"), env.action_space("player_0"))
    with pytest.raises(ValueError, match=r"action_space: got Discrete\(3\); allowed: Discrete\(2\)"):
        agent.bind(None, CrossingEnv().action_space("player_0"))


def test_agents_save_and_load_as_json(tmp_path):
    mixed = MixedStrategyAgent(MixedStrategyConfig(seed=3, probabilities=(0.25, 0.75)))
    back = load_agent(mixed.save(tmp_path / "mixed"))
    assert isinstance(back, MixedStrategyAgent) and back.config == mixed.config
    pop = PopulationAgent.from_psro(type("R", (), {"sigma": [np.array([0.3, 0.7])],
                                                   "populations": [[GoPolicy(), YieldPolicy()]]})(), 0, seed=1)
    again = load_agent(pop.save(tmp_path / "pop"))
    assert isinstance(again, PopulationAgent) and [type(m) for m in again.members] == [GoPolicy, YieldPolicy]
    assert again.config.sigma == (0.3, 0.7)


def play(agents, seed: int) -> list:
    env = CrossingEnv()
    obs, _ = env.reset(seed=seed)
    for a in agents.values():
        a.on_episode_start(np.array([0]), np.array([seed]))
    trace = []
    while env.agents:
        actions = joint_actions({s: agents[s] for s in env.agents}, {s: obs[s] for s in env.agents})
        trace.append(actions)
        obs, *_ = env.step(actions)
    return trace


def test_psro_population_agents_play_a_parallel_env_reproducibly():
    env_fn = lambda: MatrixGameEnv("stag_hunt")  # noqa: E731
    res = PSRO(env_fn, [UniformRandomPolicy(2)] * 2, ExactMatrixOracle(),
               PSROConfig(gamma=0.3, meta_iters=200, episodes_per_cell=4, max_iters=3)).run()
    agents = {f"player_{i}": PopulationAgent.from_psro(res, i, seed=i) for i in range(2)}
    env = env_fn()
    obs, _ = env.reset(seed=0)
    for a in agents.values():
        a.on_episode_start(np.array([0]), np.array([0]))
    actions = joint_actions(agents, obs)
    assert set(actions) == {"player_0", "player_1"} and all(a in (0, 1) for a in actions.values())
    go_yield = {"player_0": PopulationAgent.from_psro(type("R", (), {"sigma": [np.array([0.5, 0.5])],
                                                                   "populations": [[GoPolicy(), YieldPolicy()]]})()),
                "player_1": MixedStrategyAgent(MixedStrategyConfig(probabilities=(0.2, 0.3, 0.5), seed=2))}
    assert play(go_yield, 4) == play(go_yield, 4)
    with pytest.raises(ValueError, match="agents: got no agent for seat 'player_1'"):
        joint_actions({"player_0": go_yield["player_0"]}, {"player_0": np.zeros(6), "player_1": np.zeros(6)})
