"""A small real build opens in Minari and the loader's arrays are what the environment produced."""

import gymnasium as gym
import minari
import numpy as np
import pytest
from ds_replay import replay

from stori_envs.datasets import DatasetError, build, load_transitions, to_torch
from stori_envs.datasets.integrity import open_storage


def _episodes(dataset_id):
    ds = minari.load_dataset(dataset_id)
    return ds, list(ds.iterate_episodes())


@pytest.mark.parametrize("name,episodes", [("stori/medsepsis/clinician-v0", 12), ("stori/pendulum/expert-v0", 3)])
def test_minari_opens_and_loader_matches_the_environment(name, episodes):
    build(name, episodes=episodes, ref_episodes=5, workers=2)
    ds, eps = _episodes(name)
    assert ds.total_episodes == episodes
    spec = ds.recover_environment().spec
    data = load_transitions(name, verify="full")
    seeds = [int(m["seed"]) for m in ds.storage.get_episode_metadata(range(episodes))]
    truncated_seen = False
    for i, ep in enumerate(eps):
        rows = data.episode_ids == i
        obs, rew, infos, term, trunc = replay(spec, seeds[i], ep.actions)
        np.testing.assert_array_equal(ep.observations, obs)  # the environment produced exactly this
        np.testing.assert_array_equal(ep.rewards, rew)
        np.testing.assert_array_equal(data.observations[rows], obs[:-1])
        np.testing.assert_array_equal(data.next_observations[rows], obs[1:])
        np.testing.assert_array_equal(data.actions[rows], ep.actions)
        np.testing.assert_array_equal(data.rewards[rows], rew)
        np.testing.assert_array_equal(data.terminals[rows], term)
        np.testing.assert_array_equal(data.timeouts[rows], trunc & ~term)
        if trunc[-1] and not term[-1]:
            truncated_seen = True
            assert not data.terminals[rows][-1] and data.timeouts[rows][-1]
        if "cost" in infos[0]:
            np.testing.assert_array_equal(data.costs[rows], np.asarray([x["cost"] for x in infos], np.float32))
            np.testing.assert_array_equal(data.cost_components[rows], np.stack([x["cost_vector"] for x in infos]))
    assert truncated_seen
    assert i == episodes - 1  # the last episode was checked too
    assert len(data) == ds.total_steps
    tensors = to_torch(data)
    assert tensors["observations"].shape == data.observations.shape
    assert data.metadata["ref_min_score"] < data.metadata["ref_max_score"]
    assert set(data.metadata["stats"]) >= {"obs_mean", "obs_std", "reward_mean", "reward_std"}


def test_same_name_and_seed_rebuild_identical_data_with_1_or_2_workers(tmp_path):
    prints = {}
    for name in ("stori/medsepsis/clinician-v0", "stori/pendulum/medium-replay-v0"):
        for workers in (1, 2):
            root = tmp_path / f"w{workers}"
            prints[name, workers] = build(name, episodes=5, seed=7, workers=workers, ref_episodes=5,
                                          root=root)["fingerprint"]
        assert prints[name, 1] == prints[name, 2]
    other = build("stori/medsepsis/clinician-v0", episodes=5, seed=8, ref_episodes=5, root=tmp_path / "s8")
    assert other["fingerprint"] != prints["stori/medsepsis/clinician-v0", 1]


def test_medsepsis_tiers_are_ordered_by_cost():
    costs = {}
    for tier in ("expert", "clinician", "unsafe"):
        costs[tier] = build(f"stori/medsepsis/{tier}-v0", episodes=60, ref_episodes=5, workers=2)["costs"]["mean"]
    assert costs["unsafe"] > costs["clinician"] > costs["expert"]


def test_pendulum_tiers_are_ordered_by_return():
    means = {t: build(f"stori/pendulum/{t}-v0", episodes=8, ref_episodes=5, workers=2)["returns"]["mean"]
             for t in ("random", "medium", "expert")}
    assert means["random"] < means["medium"] < means["expert"]


def test_mixture_records_realised_shares_and_draws_whole_episodes_without_replacement():
    build("stori/pendulum/random-expert-25pct-v0", episodes=8, ref_episodes=5)  # 8 x 200 transitions in all
    data = load_transitions("stori/pendulum/random-expert-25pct-v0")
    mix = data.metadata["stori"]["mixture"]
    assert mix["target_share"] == 0.25
    selected = mix["sources"]["expert"]["selected"]
    assert len(selected) == 2 and len(set(selected)) == 2  # 2 x 200 of 8 x 200 transitions
    assert mix["realised_transition_share"] == pytest.approx(0.25)
    assert len(set(mix["sources"]["random"]["selected"])) == 6
    assert data.metadata["stori"]["sources"]["episodes"] == {"random": 6, "expert": 2}
    ds = minari.load_dataset("stori/pendulum/random-expert-25pct-v0")
    metas = list(ds.storage.get_episode_metadata(range(8)))
    assert [int(m["id"]) for m in metas] == list(range(8))  # Minari's ids stay sequential
    assert sorted((m["source"], int(m["source_index"])) for m in metas if m["source"] == "expert") == \
        [("expert", i) for i in selected]


def test_medsepsis_mixed_tier_records_each_episodes_source():
    build("stori/medsepsis/mixed-v0", episodes=20, ref_episodes=5)
    storage = open_storage(minari.load_dataset("stori/medsepsis/mixed-v0").storage.data_path.parent)
    stages = {m["stage"] for m in storage.get_episode_metadata(range(20))}
    assert stages <= {"clinician", "random", "expert"} and len(stages) >= 2


def test_existing_name_is_never_overwritten_silently():
    build("stori/medsepsis/random-v0", episodes=2, ref_episodes=5)
    with pytest.raises(ValueError, match="name: got 'stori/medsepsis/random-v0', which exists"):
        build("stori/medsepsis/random-v0", episodes=2, ref_episodes=5)
    build("stori/medsepsis/random-v0", episodes=3, ref_episodes=5, overwrite=True)
    assert len(np.unique(load_transitions("stori/medsepsis/random-v0").episode_ids)) == 3


@pytest.mark.parametrize("bad,match", [
    ("stori/medsepsis/t3.2/clinician-v0", "name: got"), ("stori/cartpole/random-v0", "env 'cartpole'"),
    ("stori/medsepsis/medium-v0", "tier 'medium'"), ("stori/medsepsis/random-medium-10pct-v0", "tier"),
    ("stori/pendulum/random-expert-7pct-v0", "tier"),
])
def test_bad_names_are_clear_value_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        build(bad, episodes=1)


def test_bad_arguments_are_clear_value_errors():
    with pytest.raises(ValueError, match="episodes: got 0; allowed: an integer >= 1"):
        build("stori/medsepsis/random-v0", episodes=0)
    with pytest.raises(ValueError, match="profile: got 'T9'"):
        build("stori/medsepsis/random-v0", "T9", episodes=1)
    with pytest.raises(DatasetError, match="nothing at"):
        load_transitions("stori/medsepsis/expert-v0")


def test_action_space_is_respected_and_gym_make_rebuilds_from_env_spec():
    build("stori/medsepsis/t1/random-v0", episodes=2, ref_episodes=5)  # the preset slug names the profile
    ds = minari.load_dataset("stori/medsepsis/t1/random-v0")
    env = ds.recover_environment()
    assert env.spec.id == "stori/MedSepsis-T1-v0"
    assert isinstance(env.action_space, gym.spaces.Box)
    profile = load_transitions("stori/medsepsis/t1/random-v0").metadata["profile"]
    assert profile["slug"] == "t1"
    assert profile["resolved"]["config"]["dosing_error"]["p_err"] == 0.1


def test_medsepsis_admission_drift_switches_at_its_episode(tmp_path):
    """T2.2: a resistant strain from admission 500; dataset episode i is admission i, whichever worker runs it."""
    build("stori/medsepsis/t22/random-v0", "T2.2", episodes=504, ref_episodes=5, workers=2, root=tmp_path)
    data = load_transitions("stori/medsepsis/t22/random-v0", root=tmp_path)
    import h5py

    with h5py.File(tmp_path / "stori/medsepsis/t22/random-v0/data/main_data.hdf5") as f:
        concept = {i: set(f[f"episode_{i}/infos/concept"][1:].tolist()) for i in (0, 499, 500, 503)}
    assert concept == {0: {1}, 499: {1}, 500: {2}, 503: {2}}
    assert len(data) > 0


def test_mixture_of_short_random_and_long_expert_episodes_keeps_its_share():
    """InvertedDoublePendulum: random episodes last ~7 steps, expert ones 1000; the size is in transitions."""
    build("stori/inverteddoublependulum/random-expert-50pct-v0", episodes=2, ref_episodes=2)
    mix = load_transitions("stori/inverteddoublependulum/random-expert-50pct-v0").metadata["stori"]["mixture"]
    assert mix["target_transitions"] == 2000 and len(mix["sources"]["expert"]["selected"]) == 1
    assert mix["realised_transition_share"] == pytest.approx(0.50, abs=0.01)
    assert len(mix["sources"]["random"]["selected"]) > 50


def test_a_relative_root_is_the_same_as_its_absolute_path(tmp_path, monkeypatch):
    """Regression: ``build(..., root="relative/dir")`` doubled the path once Minari was pointed inside it."""
    monkeypatch.chdir(tmp_path)
    record = build("stori/medsepsis/clinician-v0", episodes=3, seed=1, ref_episodes=3, root="rel/data")
    data = load_transitions("stori/medsepsis/clinician-v0", root=tmp_path / "rel" / "data")
    assert data.metadata["fingerprint"] == record["fingerprint"]
