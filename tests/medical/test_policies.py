"""Behaviour policies on the real simulator: tier orderings, quality knobs, log-probabilities, shipped constants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import assert_rate, binomial_interval
from medical_support import TEST_SEED_BASE

from stori_envs.medical import calibrated
from stori_envs.medical.config import COST_NAMES, OBS
from stori_envs.medical.env import MedSepsisEnv
from stori_envs.medical.policies import (
    MIXED_WEIGHTS,
    ClinicianPolicy,
    MixedPolicy,
    RandomPolicy,
    _dose_density,
    evaluate,
    make_policy,
    rollout,
)

SEEDS = range(TEST_SEED_BASE, TEST_SEED_BASE + 400)


@pytest.fixture(scope="module")
def tiers():
    env = MedSepsisEnv()
    return {name: evaluate(env, make_policy(name, seed=0), SEEDS[:250] if name in ("random", "unsafe") else SEEDS)
            for name in ("random", "clinician", "expert", "unsafe")}


def test_tier_orderings(tiers):
    r = tiers
    assert r["random"]["return"] < r["clinician"]["return"] < r["expert"]["return"]
    assert r["unsafe"]["cost"] > r["clinician"]["cost"]
    assert r["expert"]["mortality"] < r["clinician"]["mortality"] < r["random"]["mortality"]
    # common random numbers: the expert's gain over the clinician is not noise (> 2 paired standard errors)
    diff = r["expert"]["returns"] - r["clinician"]["returns"]
    assert diff.mean() > 2 * diff.std(ddof=1) / math.sqrt(len(diff))
    for name in ("fluid_overload", "hypoxemia"):
        assert r["unsafe"]["component_rates"][name] > 2 * r["clinician"]["component_rates"][name]


def test_clinician_calibration_matches_the_shipped_constants(tiers):
    clin = tiers["clinician"]
    low, high = binomial_interval(round(clin["mortality"] * len(SEEDS)), len(SEEDS))
    assert low <= 0.25 and high >= 0.15  # consistent with the 15-25 % calibration target
    steps = sum(e.length for e in clin["episodes"])
    for k, name in enumerate(COST_NAMES):
        rate = clin["component_rates"][name]
        assert 0.02 <= rate <= 0.40, (name, rate)
        # the shipped cost_limit means agree with this fresh, disjoint seed range (4 standard errors)
        per_episode = np.asarray([e.cost_vectors[:, k].sum() for e in clin["episodes"]])
        se = per_episode.std(ddof=1) / math.sqrt(len(per_episode))
        assert abs(per_episode.mean() - calibrated.CLINICIAN_EPISODE_COSTS[(4, 72)][k]) <= 4 * se + 1e-9, name
    assert steps > 3000


def test_eps_rate_dose_noise_and_fluid_bias():
    env = MedSepsisEnv()
    exact = ClinicianPolicy(seed=1, eps=0.0, dose_noise=0.0, delay=0)
    noisy = ClinicianPolicy(seed=1, eps=0.25, dose_noise=0.0, delay=0)
    random_steps = total = 0
    for seed in range(TEST_SEED_BASE, TEST_SEED_BASE + 150):
        for obs in rollout(env, exact, seed).observations[:-1]:
            a_exact, _ = exact.act(obs)
            a_noisy, _ = noisy.act(obs)
            random_steps += not np.array_equal(a_exact, a_noisy)
            total += 1
    assert_rate(random_steps, total, 0.25)
    # zero doses stay zero under dose noise; fluid bias scales the volumes
    lognormal = ClinicianPolicy(seed=2, eps=0.0, dose_noise=0.3, delay=0)
    obs, _ = env.reset(seed=5)
    a, _ = lognormal.act(obs)
    assert a[1] == -1.0 and -1.0 < a[0] < 1.0
    lean, rich = (ClinicianPolicy(seed=0, eps=0.0, dose_noise=0.0, delay=0, fluid_bias=b) for b in (1.0, 1.5))
    obs[OBS["map"]], obs[OBS["lactate"]], obs[OBS["hours"]] = 70.0, 1.0, 8.0  # no resuscitation plan, no bolus
    f_lean, f_rich = lean.rule_doses(obs)[0], rich.rule_doses(obs)[0]
    assert f_rich == pytest.approx(1.5 * f_lean)


def test_delay_reacts_to_the_previous_observation():
    env = MedSepsisEnv()
    delayed = ClinicianPolicy(seed=0, eps=0.0, dose_noise=0.0, delay=1)
    prompt = ClinicianPolicy(seed=0, eps=0.0, dose_noise=0.0, delay=0)
    episode = rollout(env, delayed, TEST_SEED_BASE)
    obs = episode.observations[:-1]
    # the prompt policy acting on [o0, o0, o1, o2, ...] reproduces the delayed one on [o0, o1, o2, ...]
    shifted = [obs[0]] + list(obs[:-1])
    replay = []
    for k, o in enumerate(shifted):
        o = o.copy()
        o[OBS["hours"]] = obs[k][OBS["hours"]]  # same clock, older vitals
        replay.append(prompt.act(o)[0])
    assert np.array_equal(np.asarray(replay), episode.actions)


def test_log_probabilities_are_normalised_densities():
    assert RandomPolicy(seed=0).act(np.zeros(13, np.float32))[1] == pytest.approx(math.log(0.25))
    # one dose: the atom at +1 plus the density inside (-1, 1) integrate to 1
    for dose, sigma in ((900.0, 0.2), (1900.0, 0.2), (0.3, 0.05)):
        maximum = 2000.0 if dose > 1 else 1.0
        grid = np.linspace(-1, 1, 100_001)[1:-1]
        density = np.asarray([_dose_density(a, dose, maximum, sigma) for a in grid])
        total = np.trapezoid(density, grid) + _dose_density(1.0, dose, maximum, sigma)
        assert total == pytest.approx(1.0, abs=2e-3)
    assert _dose_density(-1.0, 0.0, 1.0, 0.2) == 1.0 and _dose_density(-0.5, 0.0, 1.0, 0.2) == 0.0
    # empirical atoms match exp(logp): vasopressor off at admission -> P(a_vaso = -1) = 1 - eps
    policy = ClinicianPolicy(seed=3, eps=0.3, delay=0)
    obs, _ = MedSepsisEnv().reset(seed=1)  # hours == 0: every call is a fresh admission
    hits = 0
    for _ in range(2000):
        a, logp = policy.act(obs)
        if a[1] == -1.0:
            hits += 1
            assert -1.0 < a[0] < 1.0 and math.isfinite(logp)
    assert_rate(hits, 2000, 0.7)
    # a deterministic policy puts all its mass on its own actions
    exact = ClinicianPolicy(seed=0, eps=0.0, dose_noise=0.0, delay=0)
    episode = rollout(MedSepsisEnv(), exact, TEST_SEED_BASE)
    assert (episode.logp == 0.0).all()


def test_mixed_policy_draws_whole_episodes_at_the_mixture_weights():
    policy = MixedPolicy(seed=0)
    obs = np.zeros(13, np.float32)
    sources = []
    for _ in range(3000):
        policy.act(obs)  # hours == 0: a new admission
        sources.append(policy.source)
    for name, weight in MIXED_WEIGHTS:
        assert_rate(sources.count(name), len(sources), weight)
    obs[OBS["hours"]] = 4.0
    before = policy.source
    assert all(policy.act(obs) is not None and policy.source == before for _ in range(20))


def test_bad_policy_arguments():
    with pytest.raises(ValueError, match="tier: got 'doctor'"):
        make_policy("doctor")
    with pytest.raises(ValueError, match="clinician.eps: got 2"):
        make_policy("clinician", eps=2)
    with pytest.raises(ValueError, match="bolus: got"):
        make_policy("expert", bolus=1)
    with pytest.raises(ValueError, match="weights: got"):
        MixedPolicy(weights=(("clinician", 0.5), ("random", 0.2)))
