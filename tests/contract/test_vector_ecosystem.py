"""Vector envs and the ecosystem: gym.make_vec (sync and async) batches info["stori"] the Gymnasium way,
SB3's checker and SubprocVecEnv accept the environments, environments pickle (cloudpickle) and every
registered id's spec serialises and rebuilds. SB3 (and torch) are imported inside the tests that need them."""

from __future__ import annotations

import cloudpickle
import gymnasium as gym
import numpy as np
import pytest
from helpers import fingerprint
from routes import GENERIC_IDS, generic_profiles, gym_made, strip_info, trajectory, vector_trajectory

import stori_envs
from stori_envs.families import GENERIC_ID
from stori_envs.registration import registered_envs
from stori_envs.taxonomy.components import base as components_base

RECORD_KEYS = set(components_base.RECORD_KEYS)


@pytest.fixture(autouse=True)
def _quiet(recwarn):
    yield


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("env_id, kwargs", [
    (GENERIC_ID, {"env_id": "CartPole-v1", "profile": {"stochasticity_type": "1",
                  "intrinsic_stochasticity.action_dependent.stochastic_action_prob": 0.3}}),
    (GENERIC_ID, {"env_id": "CartPole-v1"}),
    ("stori/MedSepsis-T1-v0", {}),
])
def test_make_vec_survives_autoreset_next_to_stepping_envs(env_id, kwargs, mode):
    """Regression: a reset record held ``action=None``, which Gymnasium's info batching cannot put in the
    integer array of the stepping sub-environments (TypeError at the first staggered autoreset)."""
    envs = gym.make_vec(env_id, num_envs=3, vectorization_mode=mode, **kwargs)
    try:
        envs.reset(seed=0)
        envs.action_space.seed(0)
        resets = 0
        for _ in range(120):
            _, _, terminated, truncated, info = envs.step(envs.action_space.sample())
            resets += int(np.sum(terminated | truncated))
        assert resets >= 2  # episodes ended while the others kept stepping
        assert info["stori"]["type"].shape == (3,)
    finally:
        envs.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_make_vec_batches_the_record(mode):
    profile = generic_profiles()["2.2"]
    envs = gym.make_vec(GENERIC_ID, num_envs=2, vectorization_mode=mode, env_id="CartPole-v1", profile=profile)
    try:
        _, info = envs.reset(seed=0)
        reset_keys = RECORD_KEYS - {"action", "executed_action"}  # a reset record has no action
        assert set(info["stori"]) >= reset_keys | {f"_{k}" for k in reset_keys}
        for _ in range(8):
            _, _, _, _, info = envs.step(np.array([0, 1]))
        rec = info["stori"]
        assert rec["type"].tolist() == ["2.2", "2.2"] and rec["_type"].all()
        assert rec["action"].tolist() == [0, 1]
        assert rec["concept"].shape == (2,) and rec["observation_altered"].dtype == bool
    finally:
        envs.close()


@pytest.mark.parametrize("name", list(generic_profiles()))
def test_generic_envs_pickle_and_continue_identically(name):
    """Mid-episode on CartPole (its state pickles); MuJoCo envs pickle by constructor arguments
    (EzPickle: the simulator state is not kept), so there the clone is compared after a seeded reset."""
    env = stori_envs.make("CartPole-v1", generic_profiles()[name])
    env.action_space.seed(0)
    env.reset(seed=2)
    for _ in range(3):
        env.step(env.action_space.sample())
    clone = cloudpickle.loads(cloudpickle.dumps(env))
    actions = [env.action_space.sample() for _ in range(10)]
    runs = []
    for e in (env, clone):
        trace = []
        for a in actions:
            out = e.step(a)
            trace += list(out)
            if out[2] or out[3]:
                break
        runs.append(fingerprint(trace))
    assert runs[0] == runs[1]


@pytest.mark.parametrize("name", list(generic_profiles()))
def test_mujoco_envs_pickle(name):
    env = stori_envs.make("InvertedPendulum-v5", generic_profiles()[name])
    env.reset(seed=1)
    clone = cloudpickle.loads(cloudpickle.dumps(env))
    assert fingerprint(trajectory(env, 4, 20)) == fingerprint(trajectory(clone, 4, 20))


@pytest.mark.parametrize("env_id", GENERIC_IDS)
@pytest.mark.parametrize("name", list(generic_profiles()))
def test_sb3_checker_accepts_every_type(env_id, name):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    sb3_check_env(stori_envs.make(env_id, generic_profiles()[name]), warn=False)


def test_sb3_subproc_vec_env():
    from stable_baselines3.common.vec_env import SubprocVecEnv

    profile = generic_profiles()["1"]
    venv = SubprocVecEnv([lambda: stori_envs.make("CartPole-v1", profile) for _ in range(2)])
    try:
        venv.seed(3)
        venv.reset()
        for _ in range(5):
            _, _, _, infos = venv.step(np.array([0, 1]))
        assert [i["stori"]["type"] for i in infos] == ["1", "1"]
        assert [i["stori"]["action"] for i in infos] == [0, 1]
    finally:
        venv.close()


REGISTERED = [e.env_id for e in registered_envs() if e.env_id != GENERIC_ID]


@pytest.mark.parametrize("env_id", REGISTERED)
def test_every_registered_id_agrees_on_every_route(env_id):
    """gym.make, its spec serialised and rebuilt, and gym.make_vec (sync) give the same trajectory."""
    env = gym_made(env_id)
    text = env.spec.to_json()
    rebuilt = gym.make(gym.envs.registration.EnvSpec.from_json(text))
    steps = 4 if "MedSepsis" not in env_id else 20
    reference = trajectory(env, 1, steps)
    assert fingerprint(reference) == fingerprint(trajectory(rebuilt, 1, steps))
    vec = gym.make_vec(env_id, num_envs=1, vectorization_mode="sync")
    assert fingerprint(strip_info(reference)) == fingerprint(vector_trajectory(vec, 1, steps))


@pytest.mark.parametrize("name", list(generic_profiles()))
def test_stochastic_id_spec_serialises_and_rebuilds(name):
    env = gym.make(GENERIC_ID, env_id="CartPole-v1", profile=generic_profiles()[name])
    rebuilt = gym.make(gym.envs.registration.EnvSpec.from_json(env.spec.to_json()))
    assert fingerprint(trajectory(env, 1, 30)) == fingerprint(trajectory(rebuilt, 1, 30))


@pytest.mark.parametrize("env_id, profile", [("ALE/Breakout-v5", None), ("MedSepsis-v0", "T1")])
def test_stochastic_id_hands_family_ids_to_their_family(env_id, profile):
    """Regression: ``stori/Stochastic-v0`` built every ``env_id`` with the generic family, so
    ``env_id="ALE/Breakout-v5"`` lost the Atari family's engine (and its presets)."""
    from helpers import rollout

    via_id = gym.make(GENERIC_ID, env_id=env_id, profile=profile)
    direct = stori_envs.make(env_id, profile)
    assert type(via_id.unwrapped) is type(direct.unwrapped)
    assert fingerprint(rollout(via_id, 0, 30)) == fingerprint(rollout(direct, 0, 30))
