"""The ids work with SB3's Atari preprocessing, and a short PPO run on a preset trains end to end."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cv2")  # SB3's AtariWrapper resizes with OpenCV (the stori-envs[atari] extra)

from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.env_util import make_atari_env  # noqa: E402
from stable_baselines3.common.vec_env import VecFrameStack  # noqa: E402

import stori_envs  # noqa: E402,F401  (registers the ids)


@pytest.mark.parametrize("env_id", ["stori/Breakout-T3.2A-v0", "stori/Boxing-T2.2-v0"])
def test_sb3_atari_wrapper_accepts_the_ids(env_id):
    # Our env already skips 4 frames and max-pools, so SB3's wrapper must not skip again (frame_skip=1).
    env = make_atari_env(env_id, n_envs=2, seed=0, wrapper_kwargs={"frame_skip": 1})
    obs = env.reset()
    assert obs.shape == (2, 84, 84, 1)
    for _ in range(50):
        obs, rewards, dones, infos = env.step(np.array([env.action_space.sample() for _ in range(2)]))
    assert "stori" in infos[0] and obs.dtype == np.uint8
    env.close()


def test_short_ppo_run_on_a_preset():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny net: extra threads only contend with the emulator (and xdist workers)
    try:
        _ppo()
    finally:
        torch.set_num_threads(threads)


def _ppo():
    env = VecFrameStack(make_atari_env("stori/Breakout-T3.2A-v0", n_envs=2, seed=0,
                                       wrapper_kwargs={"frame_skip": 1, "screen_size": 44}), n_stack=2)
    model = PPO("CnnPolicy", env, n_steps=128, batch_size=128, n_epochs=1, learning_rate=2.5e-4, seed=0,
                policy_kwargs={"features_extractor_kwargs": {"features_dim": 64}, "net_arch": []}, device="cpu")
    model.learn(total_timesteps=2048)
    assert model.num_timesteps >= 2048
    obs = env.reset()
    actions, _ = model.predict(obs, deterministic=True)
    assert all(env.action_space.contains(int(a)) for a in actions)
    env.close()


def test_sb3_subproc_vec_env_runs_the_ids():
    """SB3's process vector env steps the ids in fresh subprocesses (forkserver/spawn): the "stori_envs:"
    prefix makes Gymnasium import the package, which registers the ids, before looking the id up."""
    from stable_baselines3.common.vec_env import SubprocVecEnv

    env = make_atari_env("stori_envs:stori/Boxing-T3.2C-v0", n_envs=2, seed=0, vec_env_cls=SubprocVecEnv,
                         wrapper_kwargs={"frame_skip": 1})
    obs = env.reset()
    for _ in range(20):
        obs, rewards, dones, infos = env.step(np.array([1, 2]))
    assert obs.shape == (2, 84, 84, 1) and "stori" in infos[0]
    env.close()
