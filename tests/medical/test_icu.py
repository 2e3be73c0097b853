"""The ICU-Sepsis adapter on the package's real tables (skipped when the optional extra 'icu' is missing)."""

from __future__ import annotations

import math
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from helpers import fingerprint

icu = pytest.importorskip("stori_envs.medical.icu", reason="optional extra 'icu' (icu-sepsis) not installed")


def test_tables_load_without_importing_the_package_or_legacy_gym():
    tables = icu.load_tables()
    assert "icu_sepsis" not in sys.modules and "gym" not in sys.modules
    assert tables.d0.shape == (716,) and tables.centers.shape == (716, 47) and len(tables.admissible) == 716
    assert np.allclose(np.bincount(np.repeat(np.arange(716 * 25), np.diff(tables.offsets)), tables.prob,
                                   716 * 25)[:713 * 25], 1.0)


def test_exact_values_match_the_published_ones():
    assert icu.policy_return(icu.policy_matrix("random")) == pytest.approx(0.780, abs=1e-3)
    assert icu.policy_return(icu.policy_matrix("expert")) == pytest.approx(0.782, abs=1e-3)
    assert icu.policy_return(icu.policy_matrix("optimal")) == pytest.approx(0.875, abs=1e-3)


def test_monte_carlo_return_and_costs():
    env = gym.make("stori/ICUSepsisCost-v0")
    policy = icu.TabularPolicy(icu.policy_matrix("random"), name="random", seed=0)
    n, returns, lengths = 4000, [], []
    obs, info = env.reset(seed=0)
    for k in range(n):
        if k:
            obs, info = env.reset()
        done, ret, length = False, 0.0, 0
        while not done:
            s = obs
            action, logp = policy.act(obs)
            assert logp == pytest.approx(math.log(1 / 25))
            obs, reward, terminated, truncated, info = env.step(action)
            done = terminated or truncated
            ret, length = ret + reward, length + 1
            c = info["cost_components"]
            assert c["high_sofa"] == (obs < 713 and icu.load_tables().sofa[obs] >= 10)
            assert c["inadmissible"] == (action not in icu.load_tables().admissible[s])
            assert info["cost"] == c["high_sofa"] and np.array_equal(info["cost_vector"], list(c.values()))
            assert reward == (1.0 if obs == icu.STATE_SURVIVAL else 0.0)
        returns.append(ret)
        lengths.append(length)
    p = 0.7801
    assert abs(np.mean(returns) - p) <= 4 * math.sqrt(p * (1 - p) / n)
    assert abs(np.mean(lengths) - 9.45) < 0.3


def test_determinism_modes_and_inadmissible_strategies():
    def trace(**kwargs):
        env = icu.ICUSepsisCostEnv(**kwargs)
        rng = np.random.default_rng(0)
        out = [env.reset(seed=5)]
        for _ in range(200):
            out.append(env.step(int(rng.integers(25))))
            if out[-1][2]:
                out.append(env.reset())
        return out

    assert fingerprint(trace()) == fingerprint(trace())
    vec = trace(obs_mode="vector")
    assert all(o[0].shape == (47,) and o[0].dtype == np.float32 for o in vec)
    env = icu.ICUSepsisCostEnv(inadmissible="terminate")
    obs, info = env.reset(seed=1)
    bad = next(a for a in range(25) if a not in info["admissible_actions"])
    obs, reward, terminated, *_ = env.step(bad)
    assert obs == icu.STATE_DEATH and terminated and reward == 0.0
    env = icu.ICUSepsisCostEnv(inadmissible="raise_exception")
    env.reset(seed=1)
    with pytest.raises(ValueError, match="inadmissible='raise_exception'"):
        env.step(bad)
    with pytest.raises(ValueError, match="obs_mode: got 'pixels'"):
        icu.ICUSepsisCostEnv(obs_mode="pixels")


@pytest.mark.parametrize("kwargs", [{}, {"obs_mode": "vector"}])
def test_check_env(kwargs):
    env = gym.make("stori/ICUSepsisCost-v0", **kwargs)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert not [str(w.message) for w in record]
