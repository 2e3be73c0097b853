"""Type 1 builds store the executed actions and their provenance; type 3.2 builds the observations seen.
Both are checked against a replay of the environment."""

import gymnasium as gym
import minari
import numpy as np
from ds_replay import replay

from stori_envs.datasets import build, load_transitions

TYPE1 = ('{"stochasticity_type": "1", "intrinsic_stochasticity": {"action_dependent": '
         '{"stochastic_action_prob": 0.3}}}')


def test_type1_build_stores_executed_actions_that_replay_in_the_bare_environment():
    r = build("stori/pendulum/expert-v0", TYPE1, episodes=2, ref_episodes=2)
    name = r["dataset_id"]
    assert name.startswith("stori/pendulum/t1-")
    data = load_transitions(name)
    replaced = data.action_replaced
    assert 0.2 < replaced.mean() < 0.4  # p = 0.3
    assert (data.executed_actions[replaced] != data.actions[replaced]).all()
    np.testing.assert_array_equal(data.executed_actions[~replaced], data.actions[~replaced])
    ds = minari.load_dataset(name)
    seeds = [int(m["seed"]) for m in ds.storage.get_episode_metadata(range(2))]
    metas = list(ds.storage.get_episode_metadata(range(2)))
    for i, ep in enumerate(ds.iterate_episodes()):
        rows = data.episode_ids == i
        # the bare Pendulum, driven by the executed actions, produces the stored observations exactly
        obs, rew, *_ = replay(gym.spec("Pendulum-v1"), seeds[i], data.executed_actions[rows])
        np.testing.assert_array_equal(ep.observations, obs)
        np.testing.assert_array_equal(ep.rewards, rew)
        assert metas[i]["replaced_actions"] == int(replaced[rows].sum())
        # and the profiled env, driven by the chosen actions, reproduces its own replacements
        obs2, _, infos, *_ = replay(ds.recover_environment().spec, seeds[i], ep.actions)
        np.testing.assert_array_equal(ep.observations, obs2)
        np.testing.assert_array_equal([x["stori"]["action_replaced"] for x in infos], replaced[rows])


def test_type32_build_stores_the_observations_the_agent_saw():
    build("stori/medsepsis/t32/clinician-v0", "T3.2", episodes=6, ref_episodes=5)
    ds = minari.load_dataset("stori/medsepsis/t32/clinician-v0")
    data = load_transitions("stori/medsepsis/t32/clinician-v0")
    assert data.observations.shape[1] == 19  # 13 features + the 6-bit measured mask
    spec = ds.recover_environment().spec
    seeds = [int(m["seed"]) for m in ds.storage.get_episode_metadata(range(6))]
    masked = 0
    for i, ep in enumerate(ds.iterate_episodes()):
        obs, _, infos, *_ = replay(spec, seeds[i], ep.actions)
        np.testing.assert_array_equal(ep.observations, obs)  # exactly what the agent was shown
        masked += int((obs[:, 13:] == 0).sum())
        np.testing.assert_array_equal(ep.infos["observation_altered"][1:],
                                      [x["stori"]["observation_altered"] for x in infos])
    assert masked > 0  # some labs were missing


def test_drift_build_records_the_switch_step():
    drift = ('{"stochasticity_type": "2.2", "intrinsic_stochasticity": {"action_independent_concept_drift": '
             '{"temporal_mode": "sudden", "temporal_threshold": 50, "secondary_concept_type": "1"}, '
             '"action_dependent": {"stochastic_action_prob": 0.5}}}')
    r = build("stori/pendulum/random-v0", drift, episodes=2, ref_episodes=2)
    ds = minari.load_dataset(r["dataset_id"])
    metas = list(ds.storage.get_episode_metadata(range(2)))
    for m, ep in zip(metas, ds.iterate_episodes()):
        concept = ep.infos["concept"][1:]
        assert m["drift_switch_step"] == int(np.flatnonzero(concept == 2)[0])
        assert not ep.infos["action_replaced"][1:][concept == 1].any()


def test_medsepsis_dosing_errors_store_the_executed_doses():
    build("stori/medsepsis/t1/clinician-v0", episodes=8, ref_episodes=5)
    ds = minari.load_dataset("stori/medsepsis/t1/clinician-v0")
    data = load_transitions("stori/medsepsis/t1/clinician-v0")
    assert data.action_replaced.any()
    seeds = [int(m["seed"]) for m in ds.storage.get_episode_metadata(range(8))]
    spec = ds.recover_environment().spec
    for i, ep in enumerate(ds.iterate_episodes()):
        rows = data.episode_ids == i
        obs, _, infos, *_ = replay(spec, seeds[i], ep.actions)
        np.testing.assert_array_equal(ep.observations, obs)
        np.testing.assert_array_equal(data.executed_actions[rows], np.stack([x["executed_action"] for x in infos]))
        np.testing.assert_array_equal(data.action_replaced[rows], [x["stori"]["action_replaced"] for x in infos])
