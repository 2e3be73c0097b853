"""The ICU-Sepsis-style discrete doses: exact round trips, zero doses, and shipped levels that match fresh data."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from medical_support import TEST_SEED_BASE

from stori_envs.medical.config import OBS
from stori_envs.medical.discrete import N_ACTIONS, SHIPPED, DiscreteDoses, decode, encode, fit_dose_levels
from stori_envs.medical.env import MedSepsisEnv
from stori_envs.medical.policies import evaluate, make_policy


def test_round_trips():
    assert [encode(decode(i)) for i in range(N_ACTIONS)] == list(range(N_ACTIONS))
    a = np.random.default_rng(0).uniform(-1, 1, (5000, 2))
    a[::7, 1] = -1.0
    a[::11, 0] = -0.995  # below 1 % of the maximum: "none"
    idx = encode(a)
    assert np.array_equal(encode(decode(idx)), idx) and idx.dtype == np.int64 and set(idx.tolist()) == set(range(25))
    assert (idx[::11] // 5 == 0).all() and (idx[::7] % 5 == 0).all()
    zero = decode(np.arange(25))[np.arange(25) % 5 == 0]
    assert (zero[:, 1] == -1.0).all() and decode(0).tolist() == [-1.0, -1.0]  # exactly no dose
    for bad in (25, -1, 2.5):
        with pytest.raises(ValueError, match="index: got"):
            decode(bad)


def test_wrapper_executes_the_decoded_doses():
    env = gym.make("stori/MedSepsisDiscrete-v0")
    assert env.action_space == gym.spaces.Discrete(25)
    for i in (0, 7, 24):
        env.reset(seed=i)
        obs, *_, info = env.step(i)
        assert np.array_equal(info["executed_action"], decode(i))
        assert np.array_equal(obs[[OBS["prev_fluid"], OBS["prev_vasopressor"]]], decode(i))
    with pytest.raises(ValueError, match="action: got"):
        env.step(np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="levels.fluid: got"):
        DiscreteDoses(MedSepsisEnv(), levels=(((0.5, 0.4, 0.6), (0.1, 0.2, 0.3, 0.4)), SHIPPED[1]))


def test_shipped_levels_match_a_fresh_clinician_dataset():
    """On fresh patients, each shipped level holds a quarter of the non-zero doses (within 5 points) and the
    level values are the fresh in-level medians (within 5 %)."""
    res = evaluate(MedSepsisEnv(), make_policy("clinician", seed=1), range(TEST_SEED_BASE, TEST_SEED_BASE + 600))
    actions = np.concatenate([e.actions for e in res["episodes"]])
    idx = encode(actions)
    for channel, (_, values) in enumerate(SHIPPED):
        level = idx // 5 if channel == 0 else idx % 5
        fractions = (actions[:, channel].astype(np.float64) + 1) / 2
        nonzero = level > 0
        shares = np.bincount(level[nonzero], minlength=5)[1:] / nonzero.sum()
        assert np.abs(shares - 0.25).max() <= 0.05, (channel, shares)
        medians = [np.median(fractions[level == j]) for j in range(1, 5)]
        assert np.allclose(medians, values, rtol=0.05), (channel, medians, values)
    # refitting on the fresh data gives levels that encode the same way almost everywhere
    refit = tuple(fit_dose_levels((actions[:, c].astype(np.float64) + 1) / 2) for c in (0, 1))
    assert (encode(actions, refit) == idx).mean() > 0.95
