"""Atari datasets (scripted RAM behaviour, lossless 84x84 grayscale) and the ``stori-envs datasets`` CLI."""

import json

import gymnasium as gym
import minari
import numpy as np
from ds_replay import replay

from stori_envs.cli import main
from stori_envs.datasets import build, load_transitions
from stori_envs.datasets.behaviour.atari import breakout_action


def test_breakout_dataset_is_lossless_and_replays_exactly():
    build("stori/breakout/medium-v0", episodes=1, ref_episodes=1)
    ds = minari.load_dataset("stori/breakout/medium-v0")
    ep = next(iter(ds.iterate_episodes()))
    assert ep.observations.dtype == np.uint8 and ep.observations.shape[1:] == (84, 84, 1)
    assert ds.storage.metadata["jpeg_encoding"] is False
    seed = int(next(iter(ds.storage.get_episode_metadata([0])))["seed"])
    obs, rew, *_ = replay(ds.recover_environment().spec, seed, ep.actions)
    np.testing.assert_array_equal(ep.observations, obs)  # bit for bit: nothing lossy on the way
    np.testing.assert_array_equal(ep.rewards, rew)
    data = load_transitions("stori/breakout/medium-v0")
    assert data.behavior_logp is not None and np.isfinite(data.behavior_logp).all()


def test_breakout_script_tracks_the_ball():
    env = gym.make("stori/Breakout-v0", frameskip=4, max_num_frames_per_episode=4000)
    env.reset(seed=0)
    total, done = 0.0, False
    while not done:
        _, r, term, trunc, _ = env.step(breakout_action(env.unwrapped.ale.getRAM()))
        total, done = total + r, term or trunc
    assert total >= 10  # a random policy scores about 1


def test_cli_build_list_show_verify(capsys):
    assert main(["datasets", "build", "stori/medsepsis/expert-v0", "--episodes", "3", "--ref-episodes", "5",
                 "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dataset_id"] == "stori/medsepsis/expert-v0" and out["episodes"] == 3
    assert main(["datasets", "list"]) == 0
    assert "stori/medsepsis/expert-v0" in capsys.readouterr().out
    assert main(["datasets", "show", "stori/medsepsis/expert-v0"]) == 0
    shown = capsys.readouterr().out
    assert out["fingerprint"] in shown and "cost" in shown and "sha256 main_data.hdf5" in shown
    assert main(["datasets", "verify", "stori/medsepsis/expert-v0"]) == 0
    assert capsys.readouterr().out.startswith("OK stori/medsepsis/expert-v0")
    assert main(["datasets", "show", "stori/medsepsis/unsafe-v0"]) == 2


def test_atari_preset_profile_build_records_the_altered_observations():
    r = build("stori/breakout/random-v0", "3.2A", episodes=1, ref_episodes=1)
    assert r["dataset_id"] == "stori/breakout/t32a/random-v0"
    data = load_transitions(r["dataset_id"])
    assert data.metadata["profile"]["resolved"]["profile"]["stochasticity_type"] == "3.2"
    ds = minari.load_dataset(r["dataset_id"])
    ep = next(iter(ds.iterate_episodes()))
    assert ep.infos["observation_altered"][1:].all()  # blackout with p = 1
