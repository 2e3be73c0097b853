"""Replay a stored episode in a fresh environment (built from the dataset's own env spec)."""

import gymnasium as gym
import numpy as np

import stori_envs  # noqa: F401  (registers the suite's ids)


def replay(spec, seed, actions):
    """Observations, rewards and infos of ``reset(seed)`` then ``actions`` in ``gym.make(spec)``."""
    env = gym.make(spec)
    obs, info = env.reset(seed=int(seed))
    observations, rewards, infos, terms, truncs = [obs], [], [], [], []
    for a in actions:
        obs, r, term, trunc, info = env.step(a)
        observations.append(obs)
        rewards.append(r)
        infos.append(info)
        terms.append(term)
        truncs.append(trunc)
    env.close()
    return np.asarray(observations), np.asarray(rewards, np.float32), infos, np.asarray(terms), np.asarray(truncs)
