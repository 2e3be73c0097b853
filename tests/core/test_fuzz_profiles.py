"""Property test: any profile, valid or malformed, either builds a working environment or raises ValueError."""

from __future__ import annotations

import gymnasium as gym
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stori_envs
from stori_envs.taxonomy.profile import Profile

KEYS = [
    "stochasticity_type",
    "intrinsic_stochasticity.action_dependent.stochastic_action_prob",
    "intrinsic_stochasticity.action_dependent.allowed_actions",
    "intrinsic_stochasticity.action_independent_random.mode",
    "intrinsic_stochasticity.action_independent_random.random_stochasticity_prob",
    "intrinsic_stochasticity.action_independent_random.perturbation_scale",
    "intrinsic_stochasticity.action_independent_concept_drift.temporal_mode",
    "intrinsic_stochasticity.action_independent_concept_drift.temporal_threshold",
    "intrinsic_stochasticity.action_independent_concept_drift.secondary_concept_type",
    "partial_observation.type",
    "partial_observation.mode",
    "partial_observation.prob",
    "partial_observation.features",
    "partial_observation.noise_std",
    "partial_observation.append_mask",
    "partial_observation.regions",
    "semantics.profile",
    "semantics.drift_switch",
    "semantics.seed_policy",
    "bogus",
    "partial_observation.bogus",
]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 400), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["0", "1", "2.1", "2.2", "3.1", "3.2", "4", "sudden", "cyclic", "crop", "blackout", "ram", "mask",
                     "dropout", "noise", "reward_cancel", "state_perturbation", "clean", "paper", "T", "T-1",
                     "gymnasium", "first_reset", "", "5", "10"]),
    st.text(max_size=4),
)
values = st.one_of(scalars, st.lists(st.integers(-2, 6), max_size=4), st.lists(scalars, max_size=3),
                   st.dictionaries(st.sampled_from(["mode", "prob", "x"]), scalars, max_size=2))
profiles = st.dictionaries(st.sampled_from(KEYS), values, max_size=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profiles)
def test_profiles_build_or_raise_value_error(data):
    try:
        profile = Profile.parse(data)
        env = stori_envs.make("CartPole-v1", profile)
    except ValueError as exc:
        assert "got" in str(exc) or "required" in str(exc)
        return
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    for _ in range(3):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)
        assert info["stori"]["type"] == profile.stochasticity_type
    assert isinstance(env, gym.Env)
