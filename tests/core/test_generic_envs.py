"""Every type on CartPole, Pendulum and a MuJoCo task: checkers, determinism, rates, drift timing."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from helpers import assert_rate, count_info_flag, fingerprint, rollout
from profiles import action, drift, event, every_type, observation

import stori_envs

ENV_IDS = ["CartPole-v1", "Pendulum-v1", "InvertedPendulum-v5"]
CASES = [(env_id, name, profile) for env_id in ENV_IDS for name, profile in every_type().items()]


@pytest.fixture(autouse=True)
def _quiet_checkers(recwarn):
    yield  # check_env warns about infinite Box bounds of the base envs; those are not ours.


@pytest.mark.parametrize("env_id, name, profile", CASES, ids=[f"{e}-{n}" for e, n, _ in CASES])
def test_checkers_and_info(env_id, name, profile):
    env = stori_envs.make(env_id, profile)
    check_env(env, skip_render_check=True)  # SB3's checker: tests/contract/test_vector_ecosystem.py
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    record = info["stori"]
    expected_type = profile.stochasticity_type if profile is not None else "3.1"
    assert record["type"] == expected_type
    assert set(record) >= {"type", "concept", "action", "executed_action", "action_replaced", "event",
                           "observation_altered"}


@pytest.mark.parametrize("env_id, name, profile", CASES, ids=[f"{e}-{n}" for e, n, _ in CASES])
def test_same_seed_same_trajectory_other_seed_other(env_id, name, profile):
    runs = [fingerprint(rollout(stori_envs.make(env_id, profile), seed, 150)) for seed in (11, 11, 12)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_type1_rate_and_subset():
    env = stori_envs.make("CartPole-v1", action(0.3))
    env.reset(seed=0)
    replaced = total = 0
    for _ in range(4000):
        _, _, term, trunc, info = env.step(0)
        rec = info["stori"]
        replaced += rec["action_replaced"]
        total += 1
        assert rec["action"] == 0
        assert rec["executed_action"] == 0 or rec["action_replaced"]
        if term or trunc:
            env.reset()
    assert_rate(replaced, total, 0.3)

    env = stori_envs.make("CartPole-v1", action(1.0, allowed_actions=[1]))
    env.reset(seed=0)
    assert all(env.step(0)[4]["stori"]["executed_action"] == 1 for _ in range(20))


@pytest.mark.parametrize("env_id", ["Pendulum-v1", "InvertedPendulum-v5"])
def test_type1_box_actions_stay_in_space(env_id):
    env = stori_envs.make(env_id, action(1.0))
    env.reset(seed=0)
    for _ in range(50):
        executed = env.step(env.action_space.sample())[4]["stori"]["executed_action"]
        assert env.action_space.contains(executed)


def test_type1_at_zero_is_the_bare_environment():
    bare = rollout(gym.make("CartPole-v1"), 5, 200)
    wrapped = rollout(stori_envs.make("CartPole-v1", action(0.0)), 5, 200)
    strip = lambda trace: [x for x in trace if not isinstance(x, dict)]  # noqa: E731
    assert fingerprint(strip(bare)) == fingerprint(strip(wrapped))


def test_reward_cancel_rate():
    env = stori_envs.make("CartPole-v1", event("reward_cancel", 0.25))
    env.reset(seed=1)
    cancelled = total = 0
    for _ in range(4000):
        _, reward, term, trunc, info = env.step(env.action_space.sample())
        total += 1
        cancelled += info["stori"]["event"]
        assert (reward == 0.0) == info["stori"]["event"]
        if term or trunc:
            env.reset()
    assert_rate(cancelled, total, 0.25)


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1", "InvertedPendulum-v5"])
def test_state_perturbation_rate_and_effect(env_id):
    env = stori_envs.make(env_id, event("state_perturbation", 0.2))
    assert_rate(count_info_flag(env, 1500, "event", seed=2), 1500, 0.2)
    # At p=1 the state moves away from the unperturbed twin; at p=0 it matches it exactly.
    twins = {p: stori_envs.make(env_id, event("state_perturbation", p)) for p in (0.0, 1.0)}
    bare = gym.make(env_id)
    obs = {p: e.reset(seed=4)[0] for p, e in twins.items()}
    bare_obs = bare.reset(seed=4)[0]
    for p, e in twins.items():
        obs[p] = e.step(np.zeros_like(bare.action_space.sample()) if env_id != "CartPole-v1" else 0)[0]
    bare_obs = bare.step(np.zeros_like(bare.action_space.sample()) if env_id != "CartPole-v1" else 0)[0]
    assert np.array_equal(obs[0.0], bare_obs)
    assert not np.allclose(obs[1.0], bare_obs)


@pytest.mark.parametrize("switch, first", [("T", 10), ("T-1", 9)])
def test_sudden_drift_switches_at_documented_step_and_resets(switch, first):
    profile = drift(action(1.0, allowed_actions=[1]), "sudden", 10, semantics__drift_switch=switch)
    env = stori_envs.make("CartPole-v1", profile)
    for episode in range(2):
        _, info = env.reset(seed=episode)
        assert info["stori"]["concept"] == 1
        concepts, replaced = [], []
        for _ in range(25):
            _, _, term, trunc, info = env.step(0)
            concepts.append(info["stori"]["concept"])
            replaced.append(info["stori"]["action_replaced"])
            if term or trunc:
                break
        n = len(concepts)
        assert concepts == [1] * first + [2] * (n - first)
        assert replaced == [False] * first + [True] * (n - first)


def test_cyclic_drift_periods():
    profile = drift(observation("mask", 1.0, features=[0]), "cyclic", 3)
    env = stori_envs.make("CartPole-v1", profile)
    env.reset(seed=0)
    concepts, altered = [], []
    for _ in range(9):
        obs, _, _, _, info = env.step(0)
        concepts.append(info["stori"]["concept"])
        altered.append(info["stori"]["observation_altered"])
        assert (obs[0] == 0.0) == (info["stori"]["concept"] == 2)
    assert concepts == [1, 1, 1, 2, 2, 2, 1, 1, 1]
    assert altered == [c == 2 for c in concepts]


def test_drift_stack_is_built_once():
    env = stori_envs.make("CartPole-v1", drift(action(0.5), "cyclic", 2))
    depth = len(str(env).split("<"))
    env.reset(seed=0)
    for _ in range(100):
        if any(env.step(0)[2:4]):
            env.reset()
    assert len(str(env).split("<")) == depth


def test_dropout_rate_and_mask():
    env = stori_envs.make("CartPole-v1", observation("dropout", 0.3, append_mask=True, fill=0.0))
    assert env.observation_space.shape == (8,)
    env.reset(seed=0)
    hidden = total = 0
    for _ in range(1500):
        obs, _, term, trunc, info = env.step(env.action_space.sample())
        mask = obs[4:]
        assert set(np.unique(mask)) <= {0.0, 1.0}
        assert np.all(obs[:4][mask == 0] == 0.0)
        hidden += int((mask == 0).sum())
        total += 4
        assert info["stori"]["observation_altered"] == bool((mask == 0).any())
        if term or trunc:
            env.reset()
    assert_rate(hidden, total, 0.3)


def test_noise_changes_only_selected_features_within_bounds():
    env = stori_envs.make("Pendulum-v1", observation("noise", 1.0, noise_std=0.5, features=[2]))
    bare = gym.make("Pendulum-v1")
    obs, _ = env.reset(seed=0)
    ref, _ = bare.reset(seed=0)
    assert np.array_equal(obs[:2], ref[:2]) and obs[2] != ref[2]
    assert env.observation_space.contains(obs)


def test_observations_are_fresh_arrays():
    env = stori_envs.make("CartPole-v1", observation("mask", 1.0, features=[1]))
    base_obs = []
    inner = env.env
    original_step = inner.step

    def spy(action):
        out = original_step(action)
        base_obs.append(out[0].copy())
        return out[0], *out[1:]

    inner.step = spy
    env.reset(seed=0)
    obs = env.step(0)[0]
    assert obs[1] == 0.0 and base_obs[0][1] != 0.0  # the inner observation was not mutated


def test_seed_policies():
    fresh = stori_envs.make("CartPole-v1", action(0.5))
    once = stori_envs.make("CartPole-v1", action(0.5, semantics__seed_policy="first_reset"))

    def episode_draws(env):
        env.reset(seed=7)
        return [env.step(0)[4]["stori"]["action_replaced"] for _ in range(8)]

    assert episode_draws(fresh) == episode_draws(fresh)
    assert episode_draws(once) != episode_draws(once)


def test_streams_are_independent_per_knob():
    """Enabling an event stream in the stack does not change the action stream's draws."""
    from stori_envs.taxonomy.action import RandomActionReplacement
    from stori_envs.taxonomy.events import RandomEvents, RewardCancel

    def draws(with_events: bool):
        env = gym.make("CartPole-v1")
        if with_events:
            env = RandomEvents(env, RewardCancel(0.5))
        env = RandomActionReplacement(env, 0.5)
        env.reset(seed=3)
        return [env.step(0)[4]["stori"]["action_replaced"] for _ in range(9)]

    assert draws(False) == draws(True)


def test_gym_make_ids():
    profile = action(0.2)
    env = gym.make("stori/Stochastic-v0", env_id="CartPole-v1", profile=profile)
    assert env.reset(seed=0)[1]["stori"]["type"] == "1"
    env = gym.make("stori_envs:stori/Stochastic-v0", env_id="Pendulum-v1", profile=observation("noise", 1.0))
    check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.parametrize(
    "env_id, profile, message",
    [
        ("CartPole-v1", observation("crop", 1.0, "1"), "need a uint8 image Box"),
        ("CartPole-v1", observation("blackout", 1.0, "3"), "partial_observation.regions"),
        ("CartPole-v1", observation("ram", 1.0, "2"), "got .ram. for the .generic. family.*honoured by: atari"),
        ("CartPole-v1", observation("dropout", 1.0, features=[9]), "partial_observation.features"),
        ("CartPole-v1", event("colour_flip", 0.1), "allowed for the 'generic' family"),
        ("CartPole-v1", action(0.1, allowed_actions=[2]),
         "allowed_actions"),
        ("Pendulum-v1", action(0.1, allowed_actions=[0]),
         "Discrete action space"),
        ("NoSuchEnv-v0", None, "env: got 'NoSuchEnv-v0'"),
    ],
)
def test_clear_errors(env_id, profile, message):
    with pytest.raises(ValueError, match=message):
        stori_envs.make(env_id, profile)


@pytest.mark.parametrize("profile", [observation("mask", 0.4, features=[0, 2]),
                                     observation("noise", 0.4, noise_std=0.1)], ids=["mask", "noise"])
def test_per_step_observation_rates(profile):
    env = stori_envs.make("CartPole-v1", profile)
    assert_rate(count_info_flag(env, 3000, "observation_altered", seed=5), 3000, 0.4)


def test_drift_with_event_secondary_cancels_only_in_concept_two():
    env = stori_envs.make("CartPole-v1", drift(event("reward_cancel", 1.0), "cyclic", 4))
    env.reset(seed=0)
    for n in range(12):
        _, reward, term, trunc, info = env.step(n % 2)
        in_two = (n // 4) % 2 == 1
        assert info["stori"]["concept"] == (2 if in_two else 1)
        assert info["stori"]["event"] == in_two
        assert reward == (0.0 if in_two else 1.0)
