"""The numpy-rebuilt SAC actor matches SB3's predict; the committed checkpoints load; d3rlpy's arrays align."""

import sys
import types

import gymnasium as gym
import numpy as np
import pytest

from stori_envs.datasets import build, load_transitions
from stori_envs.datasets.behaviour.actor import SquashedGaussianActor, export_sb3_actor
from stori_envs.datasets.behaviour.policies import CHECKPOINTS


def test_rebuilt_actor_matches_sb3_predict(tmp_path):
    import torch
    from stable_baselines3 import SAC

    torch.manual_seed(0)  # only the network's initial weights; SB3 owns this model
    model = SAC("MlpPolicy", gym.make("Pendulum-v1"), policy_kwargs={"net_arch": [16, 16]}, seed=0, device="cpu")
    path = export_sb3_actor(model, tmp_path / "a.safetensors", env_id="Pendulum-v1")
    actor = SquashedGaussianActor.load(path)
    obs = np.random.default_rng(0).uniform(-1, 1, (32, 3)).astype(np.float32)
    mine, _ = actor.act(obs)
    theirs, _ = model.predict(obs, deterministic=True)
    np.testing.assert_allclose(mine, theirs, atol=1e-5)
    # batch size never changes an action (rows are computed one at a time)
    np.testing.assert_array_equal(actor.act(obs[:1])[0], mine[:1])


@pytest.mark.parametrize("env_id", sorted(p.name for p in CHECKPOINTS.iterdir() if p.is_dir()))
def test_committed_checkpoints_load_with_their_manifest(env_id):
    import json

    manifest = json.loads((CHECKPOINTS / env_id / "manifest.json").read_text())
    env = gym.make(env_id)
    for name in ("expert", "medium"):
        actor = SquashedGaussianActor.load(CHECKPOINTS / env_id / f"{name}.safetensors")
        obs, _ = env.reset(seed=0)
        action, _ = actor.act(obs[None], np.random.default_rng(0))
        assert env.action_space.contains(action[0])
    assert manifest["chosen"]["expert"]["return"] > manifest["random_return"]


def test_d3rlpy_converter_gets_aligned_arrays(monkeypatch):
    from stori_envs.datasets import to_d3rlpy

    build("stori/pendulum/random-v0", episodes=2, ref_episodes=2)
    data = load_transitions("stori/pendulum/random-v0")
    captured = {}
    fake = types.ModuleType("d3rlpy")
    fake.dataset = types.SimpleNamespace(MDPDataset=lambda **kw: captured.update(kw) or "mdp")
    monkeypatch.setitem(sys.modules, "d3rlpy", fake)
    assert to_d3rlpy(data) == "mdp"
    assert len(captured["observations"]) == len(captured["actions"]) == 400
    # row t+1's observation is row t's next observation inside an episode (not get_minari's shift)
    np.testing.assert_array_equal(captured["observations"][1:200], data.next_observations[:199])
    assert captured["timeouts"][199] == 1 and captured["terminals"].sum() == 0
