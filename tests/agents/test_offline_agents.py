"""Offline agents: learning, seeding, save/load, resume after a kill, config errors, no pickle."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers_agents import NEEDS_COSTS, TINY, steps, tiny

from agents.interface import agent_class, load_agent, registered_agents
from agents.offline import A2PRConfig, BCConfig, BCSafe, BCSafeConfig, OGSRLConfig, TD3BCConfig
from agents.offline.base import OfflineBase

ALL = sorted(TINY)


@pytest.fixture
def data_for(pendulum, medsepsis):
    return lambda name: medsepsis if name in NEEDS_COSTS else pendulum


def same_state(a: OfflineBase, b: OfflineBase) -> None:
    """Identical weights, optimiser states, generator states and step counters (bit for bit)."""
    sa, sb = a.parameters_snapshot(), b.parameters_snapshot()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key
    for name in a.optimizers:
        oa, ob = a.optimizers[name].state_dict()["state"], b.optimizers[name].state_dict()["state"]
        for pid in oa:
            for k in oa[pid]:
                assert torch.equal(oa[pid][k], ob[pid][k]), (name, pid, k)
    for name in a.generators:
        assert torch.equal(a.generators[name].get_state(), b.generators[name].get_state()), name
    for key in a.extra_state:
        assert torch.equal(a.extra_state[key], b.extra_state[key]), key
    assert a.total_steps == b.total_steps


def test_every_agent_is_registered():
    # A TINY entry is a registered agent, or a configuration variant named "<registered agent>-<variant>".
    for name in ALL:
        base = name if name in registered_agents() else name.rsplit("-", 1)[0]
        assert agent_class(base) is TINY[name][0], name


@pytest.mark.parametrize("name,keys,n", [
    ("bc", ["actor_loss"], 300), ("bc-safe", ["actor_loss"], 300), ("td3bc", ["critic_loss", "bc_loss"], 300),
    ("iql", ["critic_loss", "actor_loss"], 300), ("a2pr", ["critic_loss", "value_loss"], 300)])
def test_loss_falls(name, keys, n, data_for):
    agent = tiny(name, log_every=50)
    history = agent.fit(data_for(name), n, progress=False)["train"]
    assert len(history) == n // 50
    for key in keys:
        first, last = history[0][key], history[-1][key]
        assert np.isfinite(last) and last < 0.8 * first, (key, first, last)


def test_ogsrl_learns_and_its_ood_constraint_binds(medsepsis):
    """Over PPO-Lagrangian iterations the OOD cost falls and the return rises (spec A18-style activity)."""
    agent = tiny("ogsrl", log_every=10)
    history = agent.fit(medsepsis, 40, progress=False)["train"]
    first, last = history[0], history[-1]
    assert last["cost_ood"] < 0.7 * first["cost_ood"], (first, last)
    assert last["return"] > first["return"], (first, last)
    assert last["lambda_ood"] > 0  # the OOD constraint was violated at the start, so its multiplier rose
    assert last["value_loss"] < first["value_loss"]


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_weights(name, data_for):
    data = data_for(name)
    a, b, c = tiny(name, seed=3), tiny(name, seed=3), tiny(name, seed=4)
    for agent in (a, b, c):
        agent.fit(data, steps(name, 60), progress=False)
    same_state(a, b)
    sa, sc = a.parameters_snapshot(), c.parameters_snapshot()
    assert any(not torch.equal(sa[k], sc[k]) for k in sa)


@pytest.mark.parametrize("name", ALL)
def test_save_load_gives_identical_actions(name, data_for, tmp_path):
    data = data_for(name)
    agent = tiny(name)
    agent.fit(data, steps(name, 60), progress=False)
    agent.save(tmp_path)
    loaded = load_agent(tmp_path)
    assert type(loaded) is type(agent) and loaded.config == agent.config
    obs = data.observations[:50]
    np.testing.assert_array_equal(agent.act(obs), loaded.act(obs))
    same_state(agent, loaded)
    actions = loaded.act(obs)
    assert actions.dtype == np.float32 and actions.shape == (50, data.actions.shape[1])
    assert (actions >= np.array(agent.spec.act_low)).all() and (actions <= np.array(agent.spec.act_high)).all()
    assert loaded.act(obs[0]).shape == (data.actions.shape[1],)  # a single observation gives a single action


@pytest.mark.parametrize("name", ALL)
def test_killed_then_resumed_run_matches_uninterrupted(name, data_for, tmp_path):
    """Stop ``fit`` at a checkpoint, reload from disk into a new object, finish: same state as one run."""
    data, total = data_for(name), steps(name, 120) * 2
    every = total // 4
    full = tiny(name, checkpoint_every=every)
    full.fit(data, total, out=tmp_path / "full", progress=False)
    part = tiny(name, checkpoint_every=every)
    part.fit(data, total, out=tmp_path / "part", progress=False, stop_at=total // 2 + 1)  # killed past a checkpoint
    del part
    checkpoint = json.loads((tmp_path / "part" / "agent.json").read_text())
    assert checkpoint["metadata"]["total_steps"] == total // 2 + 1  # stop_at also checkpoints
    resumed = load_agent(tmp_path / "part")
    resumed.fit(data, total, out=tmp_path / "part", progress=False)
    same_state(full, resumed)
    same_state(full, load_agent(tmp_path / "part"))


SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from conftest import pendulum_data
from helpers_agents import tiny
agent = tiny("td3bc", checkpoint_every=25)
agent.fit(pendulum_data(), 100000, out={out!r}, progress=False)
"""


def test_sigkill_then_resume_matches_uninterrupted(pendulum, tmp_path):
    """A real process killed with SIGKILL mid-training resumes from its last checkpoint to the same weights."""
    out = tmp_path / "killed"
    code = SCRIPT.format(tests=str(Path(__file__).parent), out=str(out))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if json.loads((out / "agent.json").read_text())["metadata"]["total_steps"] >= 150:
                    break
            except (FileNotFoundError, json.JSONDecodeError, KeyError):
                pass
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    resumed = load_agent(out)
    reached = resumed.total_steps
    assert reached >= 150 and reached % 25 == 0
    target = reached + 50
    resumed.fit(pendulum, target, progress=False)
    full = tiny("td3bc", checkpoint_every=25)
    full.fit(pendulum, target, progress=False)
    same_state(full, resumed)


def test_resume_refuses_other_data(pendulum, medsepsis, tmp_path):
    agent = tiny("bc")
    agent.fit(pendulum, 20, out=tmp_path, progress=False)
    with pytest.raises(ValueError, match="fingerprint"):
        load_agent(tmp_path).fit(medsepsis, 40, progress=False)


@pytest.mark.parametrize("make,match", [
    (lambda: TD3BCConfig(alpha=-1.0), r"TD3BCConfig.alpha: got -1.0; allowed"),
    (lambda: TD3BCConfig(policy_freq=0), r"TD3BCConfig.policy_freq: got 0; allowed: an integer >= 1"),
    (lambda: BCConfig(actor_hidden=()), r"BCConfig.actor_hidden: got \(\); allowed"),
    (lambda: BCConfig(top_fraction=1.5), r"BCConfig.top_fraction: got 1.5"),
    (lambda: BCConfig(batch_size=True), r"BCConfig.batch_size: got True"),
    (lambda: BCConfig(normalize_obs="robust"), r"BCConfig.normalize_obs: got 'robust'; allowed: 'zscore'"),
    (lambda: A2PRConfig(tie_rule="loose"), r"A2PRConfig.tie_rule: got 'loose'; allowed: 'strict', 'code'"),
    (lambda: A2PRConfig(vae_hidden=0), r"A2PRConfig.vae_hidden: got 0"),
    (lambda: OGSRLConfig(guardian="svm"), r"OGSRLConfig.guardian: got 'svm'; allowed: 'kde', 'knn', 'none'"),
    (lambda: OGSRLConfig(horizon=0), r"OGSRLConfig.horizon: got 0"),
    (lambda: OGSRLConfig(model="gp"), r"OGSRLConfig.model: got 'gp'; allowed: '1nn', 'ensemble'"),
    (lambda: OGSRLConfig(ensemble_size=0), r"OGSRLConfig.ensemble_size: got 0"),
    (lambda: OGSRLConfig(ensemble_hidden=(0,)), r"OGSRLConfig.ensemble_hidden: got \(0,\)"),
    (lambda: TD3BCConfig.from_dict({"alpah": 2.5}), r"unknown fields \['alpah'\]"),
    (lambda: A2PRConfig.from_dict({"mask": 0.4, "bc_weight": 0.5}), r"A2PRConfig.mask: got both"),
])
def test_bad_configs_name_the_field(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_fit_arguments(pendulum):
    with pytest.raises(ValueError, match="n_steps: got -1"):
        tiny("bc").fit(pendulum, -1)
    with pytest.raises(ValueError, match="data: got dict"):
        tiny("bc").fit({"observations": []}, 10)
    with pytest.raises(ValueError, match="data.costs: got None"):
        tiny("bc-safe").fit(pendulum, 10)
    with pytest.raises(ValueError, match="not trained"):
        tiny("td3bc").act(np.zeros((1, 3)))


def test_a2pr_aliases_and_code_compat():
    assert A2PRConfig.from_dict({"mask": 0.4, "vae_weight": 1.5}).bc_weight == 0.4
    paper, code = A2PRConfig(), A2PRConfig.code_compat()
    changed = {f.name for f in dataclasses.fields(A2PRConfig) if getattr(paper, f.name) != getattr(code, f.name)}
    assert changed == {"tie_rule", "detach_target", "drop_timeout_transitions"}


@pytest.mark.parametrize("overrides", [A2PRConfig.code_compat().to_dict(),
                                       {"value_objective": "expectile", "vae_candidate": "prior"}])
def test_a2pr_variants_train(overrides, pendulum):
    fields = {k: overrides[k] for k in ("tie_rule", "detach_target", "drop_timeout_transitions", "value_objective",
                                         "vae_candidate") if k in overrides}
    agent = tiny("a2pr", **fields)
    history = agent.fit(pendulum, 100, progress=False)["train"]
    assert all(np.isfinite(v) for row in history for v in row.values())
    if overrides.get("drop_timeout_transitions"):
        assert len(agent.prepare_data(pendulum)) == len(pendulum) - int(pendulum.timeouts.sum())


def test_a2pr_paper_and_code_differ_only_through_the_flags(pendulum):
    """Same seed: the two presets start identical; code semantics change the actor's trajectory."""
    paper, code = tiny("a2pr"), tiny("a2pr", tie_rule="code", detach_target=False)
    paper.fit(pendulum, 1, progress=False)
    code.fit(pendulum, 1, progress=False)
    same_state(paper, code)  # step 1 has no actor update: identical
    paper.fit(pendulum, 40, progress=False)
    code.fit(pendulum, 40, progress=False)
    assert not torch.equal(paper.parameters_snapshot()["actor.net.0.weight"],
                           code.parameters_snapshot()["actor.net.0.weight"])


class Evil:
    def __reduce__(self):
        return (print, ("unpickled!",))


@pytest.mark.parametrize("which", ["train", "weights"])
def test_pickled_checkpoint_is_refused(which, pendulum, tmp_path):
    agent = tiny("bc")
    agent.fit(pendulum, 20, out=tmp_path, progress=False)
    meta = json.loads((tmp_path / "agent.json").read_text())["metadata"]
    target = tmp_path / meta["files"][which]
    with open(target, "wb") as fh:
        pickle.dump({"state": Evil()}, fh)
    with pytest.raises(ValueError, match="refused|not a readable safetensors"):
        load_agent(tmp_path)


def test_bc_top_fraction_and_bc_safe_select_episodes(pendulum, medsepsis):
    from agents.offline.data import episode_sums

    agent = tiny("bc", top_fraction=0.25)
    kept = agent.prepare_data(pendulum)
    returns = episode_sums(pendulum, pendulum.rewards)
    assert kept.n_episodes == 2 and episode_sums(kept, kept.rewards).min() >= np.quantile(returns, 0.7)
    safe = tiny("bc-safe", cost_limit=0.0).prepare_data(medsepsis)
    assert safe.costs.sum() == 0 and 0 < safe.n_episodes < medsepsis.n_episodes
    with pytest.raises(ValueError, match="cost_limit: got None"):
        BCSafe(BCSafeConfig()).prepare_data(medsepsis)  # the rollouts carry no cost_limit metadata


def test_threads_are_restored(pendulum):
    before = torch.get_num_threads()
    tiny("bc", threads=1).fit(pendulum, 5, progress=False)
    assert torch.get_num_threads() == before


def test_periodic_evaluation_and_logging(pendulum):
    calls = []

    def evaluator(agent):
        calls.append(agent.total_steps)
        return {"score": float(agent.total_steps)}

    history = tiny("bc", eval_every=30, log_every=20).fit(pendulum, 70, evaluator=evaluator, progress=False)
    assert calls == [30, 60, 70]
    assert [row["step"] for row in history["eval"]] == [30, 60, 70]
    assert [row["step"] for row in history["train"]] == [20, 40, 60, 70]


def test_fit_in_chunks_reuses_the_data_and_matches_one_call(pendulum):
    """fit(30) then fit(60) on the same data object (tensors reused) ends where one fit(60) does."""
    import gc

    chunked, whole = tiny("td3bc"), tiny("td3bc")
    chunked.fit(pendulum, 30, progress=False)
    tensors = chunked._tensor_cache[1]
    chunked.fit(pendulum, 60, progress=False)
    assert chunked._tensor_cache[1] is tensors
    whole.fit(pendulum, 60, progress=False)
    same_state(chunked, whole)
    other = dataclasses.replace(pendulum)  # another object: the cache is rebuilt for it, then dropped with it
    chunked.fit(other, 61, progress=False)
    assert chunked._tensor_cache[1] is not tensors
    del other
    gc.collect()
    assert "_tensor_cache" not in chunked.__dict__


def test_lean_adam_is_fused_adam_bit_for_bit():
    """LeanAdam (shared step counter, lean step, fallback on a missing gradient) equals Adam(fused=True)."""
    from agents.offline.nets import adam

    gen = torch.Generator().manual_seed(0)
    init = [torch.randn(5, 3, generator=gen), torch.randn(3, generator=gen)]
    grads = [[torch.randn(t.shape, generator=gen) for t in init] for _ in range(6)]
    ours = [torch.nn.Parameter(t.clone()) for t in init]
    ref = [torch.nn.Parameter(t.clone()) for t in init]
    lean, fused = adam(ours, 1e-2), torch.optim.Adam(ref, lr=1e-2, fused=True)
    for i, step_grads in enumerate(grads):
        for params, opt in ((ours, lean), (ref, fused)):
            opt.zero_grad(set_to_none=True)
            for j, (p, g) in enumerate(zip(params, step_grads, strict=True)):
                p.grad = None if (i == 3 and j == 1) else g.clone()  # step 3: a missing gradient (fallback)
            opt.step()
        for a, b in zip(ours, ref, strict=True):
            assert torch.equal(a, b), i
    for pid, state in fused.state_dict()["state"].items():
        for key, value in state.items():
            assert torch.equal(lean.state_dict()["state"][pid][key], value), (pid, key)


def test_mlp_layer_replacement_reaches_the_forward():
    import torch

    from agents.offline.nets import init_, mlp

    net = init_(mlp(3, [4], 2), torch.Generator().manual_seed(0))
    net[-1] = torch.nn.Linear(4, 5)
    x = torch.ones(2, 3)
    assert net(x).shape == (2, 5)
    expected = net[2](torch.relu(net[0](x)))
    torch.testing.assert_close(net(x), expected)
