"""The one episode loop (`agents.rollout.evaluate`): recorded trajectories replay on the real environment."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import stori_envs
from agents.offline.evaluation import run_episodes
from agents.reference import CartPolePD
from agents.rollout import evaluate
from stori_envs.profiles import action


def _replay(env_id, seed, actions, **kwargs):
    env = gym.make(env_id, **kwargs)
    obs, _ = env.reset(seed=seed)
    observations, total, info = [obs], 0.0, {}
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        observations.append(obs)
        total += float(reward)
    env.close()
    return np.asarray(observations), total, info, terminated or truncated


@pytest.mark.parametrize("n_envs", [1, 3])
def test_recorded_trajectory_replays_on_the_environment(n_envs):
    make = lambda: stori_envs.make("CartPole-v1", action(0.2))  # noqa: E731
    records = evaluate(CartPolePD(), make, seeds=[5, 6, 7, 8], n_envs=n_envs, record=True)
    plain = evaluate(CartPolePD(), make, seeds=[5, 6, 7, 8], n_envs=n_envs)
    assert records == plain  # recording changes nothing else
    for r in records:
        traj = r.trajectory
        assert len(traj["observations"]) == r.length + 1 and len(traj["actions"]) == r.length
        env = make()
        obs, _ = env.reset(seed=r.seed)
        np.testing.assert_array_equal(obs, traj["observations"][0])
        total = 0.0
        for t, a in enumerate(traj["actions"]):
            obs, reward, *_ = env.step(a)
            total += reward
            np.testing.assert_array_equal(obs, traj["observations"][t + 1])
        assert total == r.ret
        assert "cost_vectors" not in traj  # CartPole reports none


class DoseRule:
    """A deterministic rule on the observation (a pure function of each row, so batching cannot matter)."""

    def bind(self, observation_space, action_space):
        self.low, self.high = action_space.low, action_space.high

    def on_episode_start(self, rows, seeds):
        pass

    def act(self, obs, deterministic=True):
        raw = np.tanh(0.01 * np.asarray(obs, np.float64)[:, : self.low.shape[0]])
        return np.clip(raw, self.low, self.high).astype(np.float32)


def test_medsepsis_outcome_costs_and_the_adapter():
    episodes = run_episodes(DoseRule(), "stori/MedSepsis-v0", [11, 12, 13, 14, 15], record=True, n_envs=2)
    for e in episodes:
        observations, total, info, done = _replay("stori/MedSepsis-v0", e["seed"], e["actions"])
        assert done
        np.testing.assert_array_equal(observations, e["observations"])
        assert total == pytest.approx(e["return"])
        assert e["outcome"] == info.get("outcome") and e["outcome"] in ("death", "discharge", None)
        assert e["cost_vectors"] is not None and len(e["cost_vectors"]) == e["length"]
    unrecorded = run_episodes(DoseRule(), "stori/MedSepsis-v0", [11, 12, 13, 14, 15], n_envs=1)
    assert [(u["return"], u["cost"], u["outcome"]) for u in unrecorded] == [
        (e["return"], e["cost"], e["outcome"]) for e in episodes]

