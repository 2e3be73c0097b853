"""The PettingZoo risk games: API and seeding tests, scripted outcomes (KA-12), catastrophe rates, type 1."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

from stori_envs.multiagent import (
    GAMES,
    CrossingEnv,
    FixedActionPolicy,
    GoPolicy,
    HarePolicy,
    MatrixGameEnv,
    StagPolicy,
    TrustDilemmaGrid,
    UniformRandomPolicy,
    YieldPolicy,
    apply_profile_parallel,
    run_episode,
)
from tests.helpers import assert_rate, fingerprint

TYPE1 = {"stochasticity_type": "1", "intrinsic_stochasticity.action_dependent.stochastic_action_prob": 0.3}

FACTORIES = {
    **{f"matrix_{name}": (lambda name=name: MatrixGameEnv(name)) for name in GAMES},
    "matrix_noisy": lambda: MatrixGameEnv("risky_stag_hunt", reward_noise_std=1.0),
    "grid": TrustDilemmaGrid,
    "grid_stochastic": lambda: TrustDilemmaGrid(random_layout=True, stag_move_prob=0.3, step_cost=0.01),
    "crossing": CrossingEnv,
    "crossing_rho": lambda: CrossingEnv(rho=0.2),
    "crossing_type1": lambda: apply_profile_parallel(CrossingEnv(), TYPE1, agents=["player_1"]),
    "grid_type1": lambda: apply_profile_parallel(TrustDilemmaGrid(), TYPE1),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_parallel_api_and_seed_tests(name):
    parallel_api_test(FACTORIES[name](), num_cycles=1000)
    parallel_seed_test(FACTORIES[name])


def random_trace(env, seed):
    obs, infos = env.reset(seed=seed)
    trace = [obs, infos]
    for i, agent in enumerate(env.possible_agents):
        env.action_space(agent).seed(seed + i)
    while env.agents:
        trace += list(env.step({a: env.action_space(a).sample() for a in env.agents}))
    return fingerprint(trace)


@pytest.mark.parametrize("name", ["matrix_noisy", "grid_stochastic", "crossing_rho", "crossing_type1"])
def test_same_seed_same_episode_different_seed_different(name):
    env = FACTORIES[name]()
    assert random_trace(env, 5) == random_trace(FACTORIES[name](), 5)
    traces = {random_trace(env, s) for s in range(6)}
    assert len(traces) > 1


def test_grid_scripted_outcomes_give_the_stag_hunt():
    env = TrustDilemmaGrid()
    table = {}
    for (i, p0), (j, p1) in [((i, p), (j, q)) for i, p in enumerate((StagPolicy, HarePolicy))
                             for j, q in enumerate((StagPolicy, HarePolicy))]:
        ep = run_episode(env, {"player_0": p0(), "player_1": p1()}, seed=0)
        table[(i, j)] = (ep.returns["player_0"], ep.returns["player_1"], ep.length)
    assert table[(0, 0)] == (4.0, 4.0, 3)
    assert table[(0, 1)][:2] == (0.0, 3.0) and table[(1, 0)][:2] == (3.0, 0.0)
    assert table[(1, 1)] == (3.0, 3.0, 2)


def test_grid_stag_waiter_is_truncated_and_hare_taker_terminates():
    env = TrustDilemmaGrid()
    obs, _ = env.reset(seed=0)
    stag, hare = StagPolicy(), HarePolicy()
    ends = {}
    while env.agents:
        obs, rew, term, trunc, info = env.step({a: (stag if a == "player_0" else hare).act(obs[a])
                                                for a in env.agents})
        for a in term:
            if term[a]:
                ends[a] = ("terminated", env.t)
            if trunc[a]:
                ends[a] = ("truncated", env.t)
    assert ends == {"player_1": ("terminated", 2), "player_0": ("truncated", 20)}


def test_crossing_scripted_outcomes():
    env = CrossingEnv()
    ep = run_episode(env, {"player_0": GoPolicy(), "player_1": GoPolicy()}, seed=0)
    assert ep.length == 2 and ep.any_catastrophe
    assert [ep.returns[a] for a in env.possible_agents] == pytest.approx([-20.2, -20.2])
    ep = run_episode(env, {"player_0": GoPolicy(), "player_1": YieldPolicy()}, seed=0)
    assert [ep.returns[a] for a in env.possible_agents] == pytest.approx([1.5, 1.1])
    assert ep.length == 9 and not ep.any_catastrophe
    ep = run_episode(env, {"player_0": YieldPolicy(), "player_1": YieldPolicy()}, seed=0)
    assert [ep.returns[a] for a in env.possible_agents] == pytest.approx([-3.0, -3.0]) and ep.length == 30


def test_crossing_exit_steps_of_go_and_yield():
    env = CrossingEnv()
    obs, _ = env.reset(seed=0)
    exits = {}
    while env.agents:
        obs, _, term, _, _ = env.step({a: (GoPolicy() if a == "player_0" else YieldPolicy()).act(obs[a])
                                       for a in env.agents})
        exits.update({a: env.t for a, done in term.items() if done})
    assert exits == {"player_0": 5, "player_1": 9}


def test_crossing_rho_replaces_actions_at_the_stated_rate():
    env = CrossingEnv(rho=0.25)
    replaced = total = 0
    for seed in range(300):
        obs, _ = env.reset(seed=seed)
        while env.agents:
            obs, _, _, _, infos = env.step({a: 0 for a in env.agents})
            for info in infos.values():
                replaced += info["replaced_action"]
                total += 1
    assert_rate(replaced, total, 0.25)


def test_matrix_crash_rate_follows_the_rae_strategy():
    p_go = 0.0388133  # KA-4 at gamma = 1
    env = MatrixGameEnv("crash")
    rng = np.random.default_rng(7)
    crashes, n = 0, 20_000
    obs, _ = env.reset(seed=0)
    for _ in range(n):
        env.reset()
        _, rewards, _, _, infos = env.step({a: int(rng.random() >= p_go) for a in env.possible_agents})
        crashes += infos["player_0"]["catastrophe"]
        if infos["player_0"]["catastrophe"]:
            assert rewards == {"player_0": -20.0, "player_1": -20.0}
    assert_rate(crashes, n, p_go**2)


def test_matrix_rewards_noise_and_joint_action():
    env = MatrixGameEnv("stag_hunt_3p", reward_noise_std=2.0)
    rewards = []
    for seed in range(2000):
        env.reset(seed=seed)
        _, rew, term, _, infos = env.step({"player_0": 0, "player_1": 0, "player_2": 1})
        assert infos["player_2"]["joint_action"] == (0, 0, 1) and all(term.values()) and env.agents == []
        rewards.append(rew["player_2"])
    assert np.mean(rewards) == pytest.approx(2.0, abs=0.2)
    assert np.std(rewards) == pytest.approx(2.0, abs=0.15)


def test_type1_wrapper_replaces_only_the_chosen_agent():
    env = apply_profile_parallel(MatrixGameEnv("crash"), {**TYPE1, "intrinsic_stochasticity.action_dependent."
                                                                  "stochastic_action_prob": 0.5},
                                 agents=["player_1"])
    changed = replaced = 0
    n = 4000
    env.reset(seed=1)
    for _ in range(n):
        env.reset()
        _, _, _, _, infos = env.step({"player_0": 0, "player_1": 0})
        assert infos["player_0"]["stori"]["action_replaced"] is False
        assert infos["player_0"]["joint_action"][0] == 0
        rec = infos["player_1"]["stori"]
        replaced += rec["action_replaced"]
        changed += infos["player_1"]["joint_action"][1] != 0
        assert rec["executed_action"] == infos["player_1"]["joint_action"][1] and rec["action"] == 0
    assert_rate(replaced, n, 0.5)
    assert_rate(changed, n, 0.25)  # a replacement draws uniformly from {Go, Yield}


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="game: got 'poker'"):
        MatrixGameEnv("poker")
    with pytest.raises(ValueError, match="rho: got 1.5"):
        CrossingEnv(rho=1.5)
    with pytest.raises(ValueError, match="stag_move_prob"):
        TrustDilemmaGrid(stag_move_prob=-0.1)
    with pytest.raises(ValueError, match="catastrophe_cells"):
        MatrixGameEnv([np.zeros((2, 2)), np.zeros((2, 2))], catastrophe_cells=[(0, 5)])
    with pytest.raises(ValueError, match=r"payoffs\[1\]"):
        MatrixGameEnv([np.zeros((2, 2)), np.zeros((3, 2))])
    env = CrossingEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="actions: got no action for live agent 'player_1'"):
        env.step({"player_0": 1})
    with pytest.raises(ValueError, match=r"actions\['player_0'\]: got 7"):
        env.step({"player_0": 7, "player_1": 0})
    with pytest.raises(ValueError, match="agents: got"):
        apply_profile_parallel(CrossingEnv(), TYPE1, agents=["player_9"])
    with pytest.raises(ValueError, match="stochasticity_type: got '3.2'"):
        apply_profile_parallel(CrossingEnv(), {"stochasticity_type": "3.2", "partial_observation.type": "noise",
                                               "partial_observation.noise_std": 0.1,
                                               "partial_observation.prob": 1.0})


def test_spaces_are_stable_objects_and_policies_are_deterministic():
    env = TrustDilemmaGrid()
    assert env.observation_space("player_0") is env.observation_space("player_0")
    assert env.observation_space("player_0") is not env.observation_space("player_1")
    obs, _ = env.reset(seed=0)
    assert env.observation_space("player_0").contains(obs["player_0"])
    pol = UniformRandomPolicy(3)
    pol.reset(np.random.default_rng(0))
    first = [pol.act(None) for _ in range(20)]
    pol.reset(np.random.default_rng(0))
    assert first == [pol.act(None) for _ in range(20)]
    assert FixedActionPolicy(1, 2) == FixedActionPolicy(1, 2) != FixedActionPolicy(0, 2)
