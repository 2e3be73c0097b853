"""The evaluation loop and the agents it knows through the interface: records, batching, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest
from bench_support import tiny_suite

import stori_envs
from agents.interface import AgentConfig, load_agent
from agents.reference import CartPolePD, RandomAgent
from benchmarks.evaluation.runner import build_agent, evaluate, run_cell
from benchmarks.evaluation.suites import load_suite
from stori_envs.profiles import action

SEEDS = list(range(500, 507))


def cartpole(profile=None):
    return lambda: stori_envs.make("CartPole-v1", profile)


def test_records_in_seed_order_with_events_and_crash():
    records = evaluate(CartPolePD(), cartpole(action(0.3)), SEEDS, n_envs=3, crash="terminated")
    assert [r.seed for r in records] == SEEDS
    for r in records:
        assert r.length == r.ret  # CartPole pays 1 per step
        assert r.crash == r.terminated == (r.length < 500)
        assert 0 < r.events["action_replaced"] < r.length  # type 1 replaced some actions, not all
    plain = evaluate(CartPolePD(), cartpole(), SEEDS[:2], n_envs=2, crash="terminated")
    assert all(r.events == {} and r.ret == 500.0 and not r.crash for r in plain)


@pytest.mark.parametrize("agent", [CartPolePD(), RandomAgent(AgentConfig(seed=4))], ids=["pd", "random"])
def test_batching_does_not_change_episodes(agent):
    """Each episode depends on its seed only: 1, 3 or 7 slots give the same records."""
    runs = [evaluate(agent, cartpole(action(0.2)), SEEDS, n_envs=n, crash="terminated") for n in (1, 3, 7)]
    assert runs[0] == runs[1] == runs[2]


def test_same_agent_same_seeds_identical_and_other_seeds_differ():
    a = evaluate(RandomAgent(AgentConfig(seed=1)), cartpole(), SEEDS, n_envs=4)
    b = evaluate(RandomAgent(AgentConfig(seed=1)), cartpole(), SEEDS, n_envs=4)
    c = evaluate(RandomAgent(AgentConfig(seed=2)), cartpole(), SEEDS, n_envs=4)
    assert a == b and a != c


def test_medsepsis_cost_and_death_crash():
    agent = build_agent({"agent": "medsepsis-clinician", "config": {}}, seed=0)
    records = evaluate(agent, lambda: stori_envs.make("stori/MedSepsis-v0"), list(range(12)), n_envs=4,
                       crash="info:outcome=death")
    assert any(r.cost > 0 for r in records)
    assert any(r.crash for r in records) and not all(r.crash for r in records)
    again = evaluate(build_agent({"agent": "medsepsis-clinician", "config": {}}, seed=0),
                     lambda: stori_envs.make("stori/MedSepsis-v0"), list(range(12)), n_envs=5,
                     crash="info:outcome=death")
    assert again == records


def test_run_cell_trains_sb3_and_is_reproducible(tmp_path):
    suite = load_suite(tiny_suite(tmp_path, seeds=1, episodes=2, ppo_steps=256))
    cell = next(c for c in suite.cells() if c.agent.label == "ppo" and c.eval_variants[0].type == "1").to_dict()
    first = run_cell(json.loads(json.dumps(cell)))
    second = run_cell(json.loads(json.dumps(cell)))
    assert first["train"]["steps"] == 256
    episodes = [{k: v["episodes"] for k, v in run["evals"].items()} for run in (first, second)]
    assert episodes[0] == episodes[1]
    assert len(first["evals"]["1 p=0.2"]["episodes"]) == 2


def test_sb3_save_load_without_pickle(tmp_path):
    agent = build_agent({"agent": "sb3-ppo", "config": {"n_envs": 2, "n_steps": 64, "batch_size": 64,
                                                       "n_epochs": 1}}, seed=3)
    agent.learn(cartpole(), 128)
    path = agent.save(tmp_path / "ppo")
    assert sorted(p.name for p in path.iterdir()) == ["agent.json", "policy.safetensors"]
    loaded = load_agent(path)
    obs = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.act(obs), agent.act(obs))
    agent.seed(5)
    loaded.seed(5)
    np.testing.assert_array_equal(loaded.act(obs, deterministic=False), agent.act(obs, deterministic=False))
    header = json.loads((path / "agent.json").read_text())
    assert header["agent"] == "sb3-ppo" and header["metadata"]["action_space"]["type"] == "Discrete"


@pytest.mark.parametrize("name, env_id", [("sb3-dqn", "CartPole-v1"), ("sb3-sac", "Pendulum-v1")])
def test_other_sb3_agents_learn_save_load(tmp_path, name, env_id):
    config = {"learning_starts": 32, "batch_size": 32, "net_arch": [16, 16]}
    if name == "sb3-dqn":
        config.update(train_freq=16, gradient_steps=4)
    agent = build_agent({"agent": name, "config": config}, seed=0)
    agent.learn(lambda: stori_envs.make(env_id, None), 96)
    loaded = load_agent(agent.save(tmp_path / name))
    obs = np.stack([stori_envs.make(env_id, None).reset(seed=s)[0] for s in range(4)])
    np.testing.assert_array_equal(loaded.act(obs), agent.act(obs))
    records = evaluate(loaded, lambda: stori_envs.make(env_id, None), [1, 2], n_envs=2)
    assert len(records) == 2


def test_unknown_agent_and_act_before_training():
    with pytest.raises(ValueError, match=r"agent: got 'nope'; allowed: \[.*'random'"):
        build_agent({"agent": "nope"}, seed=0)
    with pytest.raises(ValueError, match="got act\\(\\) before learn\\(\\) or load\\(\\)"):
        build_agent({"agent": "sb3-ppo"}, seed=0).act(np.zeros((1, 4)))
