"""The core contract for the Atari family (issue 8): every route and spelling means one environment,
ale-py ids keep their Gymnasium semantics, the agent's action is checked every time, the RAM peek
reports exactly what it altered (also on an episode's last step), and the env works with Gymnasium's
and SB3's machinery (AtariPreprocessing, make_vec, pickling, specs). All on the real emulator."""

from __future__ import annotations

import pickle

import ale_py
import cloudpickle
import gymnasium as gym
import numpy as np
import pytest
from atari_support import make, profile, random_policy, twin
from helpers import assert_rate

import stori_envs
from stori_envs.atari.env import AtariStoriEnv
from stori_envs.atari.gopher import _column_covers
from stori_envs.atari.presets import PRESETS, preset_id
from stori_envs.atari.rates import event_per_step, pooled_hidden, type1_rates

gym.register_envs(ale_py)

RAM_BOXING = {"stochasticity_type": "3.2", "partial_observation.type": "ram", "partial_observation.mode": "2",
              "partial_observation.prob": 1.0}
TYPE1 = {"stochasticity_type": "1", "intrinsic_stochasticity.action_dependent.stochastic_action_prob": 0.3}
#: v5/v4 spellings set to the stori pipeline's settings, so that every spelling must agree.
SAME = {"repeat_action_probability": 0.0, "frameskip": 4, "pool": True}


def trajectory(env, seed: int = 3, steps: int = 40, actions_seed: int = 0):
    obs, _ = env.reset(seed=seed)
    frames, rewards, infos = [np.asarray(obs).copy()], [], []
    rng = np.random.default_rng(actions_seed)
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(int(rng.integers(env.action_space.n)))
        frames.append(np.asarray(obs).copy())
        rewards.append(float(reward))
        if "stori" in info:
            infos.append({k: info["stori"].get(k) for k in ("executed_actions", "observation_altered", "event")})
        if terminated or truncated:
            break
    return np.array(frames), rewards, infos


def vector_trajectory(env_id: str, seed: int = 3, steps: int = 40, **kwargs):
    """The first env of a sync vector, stepped with the same actions as :func:`trajectory`."""
    vec = gym.make_vec(env_id, num_envs=2, vectorization_mode="sync", **kwargs)
    obs, _ = vec.reset(seed=seed)
    frames, rewards = [obs[0].copy()], []
    rng = np.random.default_rng(0)
    for _ in range(steps):
        a = int(rng.integers(vec.single_action_space.n))
        obs, reward, terminated, truncated, _ = vec.step(np.array([a, 0]))
        if terminated[0] or truncated[0]:
            break
        frames.append(obs[0].copy())
        rewards.append(float(reward[0]))
    vec.close()
    return np.array(frames), rewards


# -- routes ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("prof", [TYPE1, RAM_BOXING, "3.2B"], ids=["type1", "ram", "preset"])
def test_every_spelling_and_route_gives_the_same_trajectory(prof):
    game = "Boxing"
    ref = trajectory(stori_envs.make(game, prof))
    routes = [
        stori_envs.make(f"stori/{game}-v0", prof),
        stori_envs.make(f"ALE/{game}-v5", prof, **SAME),
        stori_envs.make(f"{game}NoFrameskip-v4", prof, **SAME),
        gym.make(f"stori/{game}-v0", profile=prof),
    ]
    for env in routes:
        frames, rewards, infos = trajectory(env)
        assert np.array_equal(frames, ref[0]) and rewards == ref[1] and infos == ref[2]
    frames, rewards = vector_trajectory(f"stori/{game}-v0", profile=prof)
    assert np.array_equal(frames, ref[0][:len(frames)]) and rewards == ref[1][:len(rewards)]


def test_routes_match_ale_pys_registrations():
    """The family's declared routes for ale-py spellings carry exactly that id's registered settings."""
    from stori_envs.atari.registration import ATARI_FAMILY

    ale_routes = {k: r for k, r in ATARI_FAMILY.routes.items() if not k.startswith("stori/") and "-v" in k}
    assert len(ale_routes) == 3 * len(PRESETS)
    for spelling, route in ale_routes.items():
        spec = gym.spec(spelling)
        expected = {k: spec.kwargs[k] for k in ("repeat_action_probability", "frameskip", "full_action_space",
                                                "max_num_frames_per_episode")}
        assert {k: route.kwargs[k] for k in expected} == expected and route.kwargs["pool"] is False
        a = trajectory(stori_envs.make(spelling, TYPE1), steps=15)
        b = trajectory(gym.make(route.gym_id, profile=TYPE1, **route.kwargs), steps=15)
        assert np.array_equal(a[0], b[0]) and a[1] == b[1], spelling


def test_preset_names_work_on_every_route():
    ref = trajectory(gym.make(preset_id("Breakout", "3.2A")), steps=20)
    for env in (stori_envs.make("Breakout", "3.2A"), stori_envs.make("stori/Breakout-v0", "T3.2A"),
                stori_envs.make(preset_id("Breakout", "3.2A")), gym.make("stori/Breakout-v0", profile="3.2A"),
                stori_envs.make("ALE/Breakout-v5", "3.2A", **SAME)):
        assert np.array_equal(trajectory(env, steps=20)[0], ref[0])
    frames, _ = vector_trajectory(preset_id("Breakout", "3.2A"), steps=20)
    assert np.array_equal(frames, ref[0][:len(frames)])


def test_a_preset_id_refuses_another_profile_on_every_route():
    with pytest.raises(ValueError, match="profile: got .* with the preset id"):
        stori_envs.make(preset_id("Boxing", "3.2A"), TYPE1)
    with pytest.raises(ValueError, match="profile: got .* with the preset id"):
        gym.make(preset_id("Boxing", "3.2A"), profile=TYPE1)


def test_a_ram_profile_works_on_the_stori_id():
    env = stori_envs.make("stori/Boxing-v0", RAM_BOXING)
    env.reset(seed=0)
    _, _, _, _, info = env.step(0)
    assert isinstance(env.unwrapped, AtariStoriEnv) and info["stori"]["observation_altered"]


@pytest.mark.parametrize("env_id,kwargs", [
    ("ALE/Breakout-v5", {}),
    ("ALE/Boxing-v5", {"obs_type": "grayscale"}),
    ("ALE/Gopher-v5", {"repeat_action_probability": 0.5, "frameskip": 3}),
    ("ALE/BankHeist-v5", {"full_action_space": True, "obs_type": "ram"}),
    ("BreakoutNoFrameskip-v4", {}),
    ("Breakout-v0", {"frameskip": 4}),
])
def test_ale_ids_under_the_default_profile_give_gym_makes_frames_and_rewards(env_id, kwargs):
    ours = stori_envs.make(env_id, None, **kwargs)
    theirs = gym.make(env_id, **kwargs)
    assert ours.action_space == theirs.action_space and ours.observation_space == theirs.observation_space
    for seed in (0, 5):
        a, b = trajectory(ours, seed=seed, steps=150), trajectory(theirs.unwrapped, seed=seed, steps=150)
        assert np.array_equal(a[0], b[0]) and a[1] == b[1]


def test_ale_v5_keeps_sticky_actions_and_its_keywords():
    env = stori_envs.make("ALE/Breakout-v5")
    assert env.unwrapped.settings.repeat_action_probability == 0.25 and not env.unwrapped.pool
    sticky = trajectory(env, steps=150)[0]
    plain = trajectory(stori_envs.make("ALE/Breakout-v5", None, repeat_action_probability=0.0), steps=150)[0]
    assert len(sticky) != len(plain) or not np.array_equal(sticky, plain)
    with pytest.raises(ValueError, match="repeat_action_probability: got 1.5"):
        stori_envs.make("ALE/Breakout-v5", None, repeat_action_probability=1.5)
    with pytest.raises(ValueError, match="frameskip: got \\(2, 5\\)"):
        stori_envs.make("Breakout-v4")  # ale-py's stochastic frame skip


# -- the agent's action ---------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.0, 1.0])
def test_out_of_space_actions_are_refused_every_time_before_any_replacement(p):
    env = make("Breakout", profile("1", p=p))
    env.reset(seed=0)
    for bad in (4, -1, 1.0, "1", None, np.array([1]), 2**70, np.float32(2)):
        for _ in range(20):
            with pytest.raises(ValueError, match="action: got"):
                env.step(bad)
    for good in (3, np.int8(2), np.array(1), np.uint64(0)):
        env.step(good)


def test_action_fuzz_on_every_atari_id():
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    envs = {g: stori_envs.make(g, "1") for g in PRESETS}
    for env in envs.values():
        env.reset(seed=0)

    @hypothesis.settings(max_examples=60, deadline=None, derandomize=True)
    @hypothesis.given(st.sampled_from(sorted(envs)), st.one_of(st.integers(), st.floats(), st.text(max_size=3),
                                                                st.none(), st.booleans()))
    def check(game, action):
        env = envs[game]
        if env.action_space.contains(action):
            env.step(action)
        else:
            with pytest.raises(ValueError, match="action: got"):
                env.step(action)

    check()


# -- RAM peek: the flag and the last step -----------------------------------------------------------
def _plain_lookahead(ale, n: int) -> np.ndarray:
    state = ale.cloneState(include_rng=True)
    frames = []
    for _ in range(n):
        ale.act(ale_py.Action.NOOP)
        frames.append(ale.getScreenRGB())
    ale.restoreState(state)
    return np.maximum.reduce(frames)


@pytest.mark.parametrize("game,mode", [("BankHeist", "3"), ("Boxing", "2"), ("Gopher", "4")])
def test_peek_flag_is_true_exactly_when_the_observation_was_altered(game, mode):
    """Against a twin without 3.2: a flagged observation differs from the same look-ahead without the
    bytes; an unflagged one is exactly the twin's real observation."""
    env = make(game, profile("ram", mode, 1.0))
    truth = twin(game)
    policy = random_policy(env.action_space.n, 1)
    flagged = 0
    env.reset(seed=2)
    truth.reset(seed=2)
    for _ in range(300):
        a = policy(None)
        obs, _, terminated, truncated, info = env.step(a)
        real, *_ = truth.step(a)
        if terminated or truncated:
            break
        if info["stori"]["observation_altered"]:
            flagged += 1
            assert not np.array_equal(obs, _plain_lookahead(truth.unwrapped.emulator, 2))
        else:
            assert np.array_equal(obs, real)
    assert flagged > 100


def test_the_last_observation_of_an_episode_is_hidden_too():
    """After game over the emulator stops (no look-ahead): the final frame is drawn in-frame from the
    step's snapshot. Boxing's enemy (the only black in the ring) must be gone on the truncated last step."""
    env = make("Boxing", profile("ram", "2", 1.0), max_num_frames_per_episode=400)
    truth = twin("Boxing")
    env.reset(seed=0)
    truth.reset(seed=0)
    policy = random_policy(18, 0)
    steps = 0
    while steps < 200:
        a = policy(None)
        obs, _, terminated, truncated, info = env.step(a)
        real = truth.step(a)[0]
        steps += 1
        if terminated or truncated:
            break
    assert truncated and steps == 100
    ring, real_ring = obs[36:177, 32:128], real[36:177, 32:128]
    assert np.any(np.all(real_ring == 0, axis=2)) and not np.any(np.all(ring == 0, axis=2))
    assert info["stori"]["observation_altered"]


def test_a_final_step_without_anything_hidden_is_reported_unaltered():
    """Breakout's ball (ram 2) is usually gone when the game ends: the flag must then say False."""
    env = make("Breakout", profile("ram", "2", 1.0))
    truth = twin("Breakout")
    policy = random_policy(4, 3)
    env.reset(seed=1)
    truth.reset(seed=1)
    while True:
        a = policy(None)
        obs, _, terminated, truncated, info = env.step(a)
        real = truth.step(a)[0]
        if terminated or truncated:
            break
    assert terminated
    assert info["stori"]["observation_altered"] == (not np.array_equal(obs, real))


def test_modes_declared_always_effective_always_show_their_writes():
    """``always_effective`` lets a peek skip the comparison frame: for every such mode, look-aheads from
    states of random play with and without the bytes always differ when a byte changes."""
    from stori_envs.atari.game import games

    for game in games().values():
        for m, mode in game.ram_modes.items():
            if not mode.always_effective:
                continue
            ale = ale_py.ALEInterface()
            ale.setFloat("repeat_action_probability", 0.0)
            ale.loadROM(ale_py.roms.get_rom_path(game.rom))
            ale.reset_game()
            actions, rng, checked = ale.getMinimalActionSet(), np.random.default_rng(7), 0
            for t in range(1200):
                ale.act(actions[rng.integers(len(actions))])
                if ale.game_over():
                    ale.reset_game()
                ram = ale.getRAM()
                writes = [(i, v) for i, v in (mode.dynamic(ram) if mode.dynamic else mode.writes) if ram[i] != v]
                if t % 4 or not writes:
                    continue
                state = ale.cloneState()
                images = []
                for w in (writes, []):
                    for i, v in w:
                        ale.setRAM(i, v)
                    ale.act(ale_py.Action.NOOP)
                    images.append(ale.getScreenRGB())
                    ale.restoreState(state)
                assert not np.array_equal(*images), (game.name, m, t)
                checked += 1
            assert checked > 100, (game.name, m)


def test_pooling_from_palette_indices_equals_the_max_of_the_rgb_frames():
    """The pooled frame built from palette indices (hidden RAM-peek steps whose peek shows nothing) is the
    max of the two RGB frames, on frames of random play of every game."""
    from stori_envs.atari.emulator import max_pool, palette, read_palette

    assert np.array_equal(palette(), read_palette())
    for game in PRESETS:
        per_frame = twin(game, 1)
        per_frame.reset(seed=1)
        ale = per_frame.unwrapped.emulator
        policy = random_policy(per_frame.action_space.n, 0)
        previous = (ale.getScreen(), ale.getScreenRGB())
        for _ in range(300):
            obs, _, terminated, truncated, _ = per_frame.step(policy(None))
            current = (ale.getScreen(), ale.getScreenRGB())
            assert np.array_equal(max_pool(current[1], previous[0], current[0]), np.maximum(previous[1], current[1]))
            previous = current
            if terminated or truncated:
                break


# -- per-game fixes ---------------------------------------------------------------------------------
def test_gopher_column_bounds_use_exact_arithmetic():
    from fractions import Fraction

    width = Fraction(130, 6)
    for byte in range(24):
        c = byte % 6
        lo, hi = 19 + width * c, 19 + width * c + width - 1
        for x in range(0, 170):
            assert _column_covers(byte, x) == (lo <= x <= hi)
    assert _column_covers(3, 84) and _column_covers(9, 84)  # the farmer at x = 84 is in column 3


# -- effective probabilities ----------------------------------------------------------------------------
def test_type1_effective_rates_match_the_mechanism_on_the_emulator():
    n, p, k = 1500, 0.3, 4
    env = make("Breakout", profile("1", p=p))
    env.reset(seed=0)
    policy = random_policy(4, 2)
    replaced = as_chosen = 0
    for _ in range(n):
        a = policy(None)
        _, _, terminated, truncated, info = env.step(a)
        rec = info["stori"]
        assert rec["changed_frames"] == sum(e != a for e in rec["executed_actions"])
        assert rec["action_replaced"] == (rec["replaced_frames"] > 0)
        assert rec["changed_frames"] <= rec["replaced_frames"]
        replaced += rec["action_replaced"]
        as_chosen += rec["changed_frames"] == 0
        if terminated or truncated:
            env.reset()
    rates = type1_rates(p, k, 4)
    assert abs(rates.as_chosen_step - 0.775 ** 4) < 1e-12 and abs(rates.replaced_step - (1 - 0.7 ** 4)) < 1e-12
    assert_rate(as_chosen, n, rates.as_chosen_step)
    assert_rate(replaced, n, rates.replaced_step)


def test_bankheist_paper_set_rates_depend_on_whether_the_chosen_action_is_in_it():
    n, p = 800, 0.3
    env = stori_envs.make(preset_id("BankHeist", "1"))
    env.reset(seed=0)
    counts = {3: 0, 12: 0}  # 3 (RIGHT) is in the paper's set 0-9, 12 (LEFTFIRE) is not
    for t in range(2 * n):
        a = 3 if t % 2 else 12
        _, _, terminated, truncated, info = env.step(a)
        counts[a] += info["stori"]["changed_frames"] == 0
        if terminated or truncated:
            env.reset()
    assert_rate(counts[3], n, type1_rates(p, 4, 10, chosen_in_set=True).as_chosen_step)
    assert_rate(counts[12], n, type1_rates(p, 4, 10, chosen_in_set=False).as_chosen_step)


def test_docs_show_the_computed_rates():
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "atari.md").read_text()
    r = type1_rates(0.3, 4, 4)
    for value in (r.as_chosen_step, r.replaced_step, type1_rates(0.3, 4, 18).as_chosen_step,
                  type1_rates(0.3, 4, 8).as_chosen_step, event_per_step(0.001, 4),
                  pooled_hidden(0.75, bright=False), pooled_hidden(0.7, bright=True)):
        assert f"{value:.3f}" in text, value


# -- Gymnasium and ecosystem ----------------------------------------------------------------------------
def test_atari_preprocessing_over_a_frameskip_1_preset_sees_what_the_agent_sees():
    """``AtariPreprocessing`` reads the screen from ``env.unwrapped.ale``: right after a step that is the
    observed frame (3.2 applied), so the wrapper pools the hidden frames, not the true screen."""
    from gymnasium.wrappers import AtariPreprocessing

    wrapped = AtariPreprocessing(gym.make(preset_id("Boxing", "3.2C"), frameskip=1), frame_skip=4, noop_max=0,
                                 screen_size=(160, 210), grayscale_obs=False)
    plain = gym.make(preset_id("Boxing", "3.2C"), frameskip=1)
    obs, _ = wrapped.reset(seed=0)
    first, _ = plain.reset(seed=0)
    assert np.array_equal(obs, first)
    for a in [3, 5, 1, 0, 7, 2, 11, 4]:
        obs, *_ = wrapped.step(a)
        frames = [plain.step(a)[0] for _ in range(4)]
        assert np.array_equal(obs, np.maximum(frames[2], frames[3]))
    gray = AtariPreprocessing(gym.make(preset_id("Breakout", "3.2A"), frameskip=1), frame_skip=4)
    obs, _ = gray.reset(seed=0)
    assert obs.shape == (84, 84)


def test_render_fps_follows_the_frame_skip_and_close_releases_the_emulator():
    assert gym.make(preset_id("Breakout", "3.1")).metadata["render_fps"] == 15
    assert make("Breakout", frameskip=1).metadata["render_fps"] == 60
    assert make("Breakout", frameskip=3).metadata["render_fps"] == 20
    env = make("Breakout")
    env.reset(seed=0)
    env.close()
    assert env.unwrapped.emulator is None
    with pytest.raises(RuntimeError, match="closed"):
        env.step(0)


@pytest.mark.parametrize("dumps", [pickle.dumps, cloudpickle.dumps])
def test_envs_pickle_as_their_constructor_arguments(dumps):
    env = gym.make(preset_id("BankHeist", "2.2"), frameskip=2)
    clone = pickle.loads(dumps(env))
    a, b = trajectory(env, steps=30), trajectory(clone, steps=30)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]


def _stori_ids() -> list[str]:
    return sorted(i for i in gym.registry if i.startswith("stori/") and i.split("/")[1].split("-")[0] in PRESETS)


def test_every_id_rebuilds_from_its_spec_and_serialises():
    for env_id in _stori_ids():
        env = gym.make(env_id, frameskip=2)
        rebuilt = gym.make(gym.envs.registration.EnvSpec.from_json(env.spec.to_json()))
        a, b = env.reset(seed=1)[0], rebuilt.reset(seed=1)[0]
        assert np.array_equal(a["ram"], b["ram"]) if isinstance(a, dict) else np.array_equal(a, b), env_id


def test_make_vec_sync_for_every_id_batches_the_stori_record():
    for env_id in _stori_ids():
        vec = gym.make_vec(env_id, num_envs=2, vectorization_mode="sync")
        vec.reset(seed=0)
        *_, info = vec.step(np.array([1, 0]))
        rec = info["stori"]
        assert rec["observation_altered"].shape == (2,) and rec["observation_altered"].dtype == bool, env_id
        assert rec["_observation_altered"].all() and rec["frames"].tolist() == [4, 4]
        vec.close()


@pytest.mark.parametrize("env_id,kwargs", [(preset_id("Breakout", "3.2A"), {}), (preset_id("BankHeist", "2.2"), {}),
                                           ("stori/Boxing-v0", {"profile": "3.2C", "repeat_action_probability": 0.25})])
def test_make_vec_async_matches_sync(env_id, kwargs):
    out = {}
    for mode in ("sync", "async"):
        vec = gym.make_vec(env_id, num_envs=2, vectorization_mode=mode, **kwargs)
        obs, _ = vec.reset(seed=4)
        frames = [obs]
        for t in range(10):
            obs, reward, *_, info = vec.step(np.array([t % 4, 1]))
            frames.append(obs)
        out[mode] = (np.array(frames), info["stori"]["observation_altered"])
        vec.close()
    assert np.array_equal(out["sync"][0], out["async"][0])
    assert np.array_equal(out["sync"][1], out["async"][1])


def test_gymnasium_check_env_passes_on_every_id_without_warnings():
    import warnings

    from gymnasium.utils.env_checker import check_env

    for env_id in _stori_ids():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            check_env(gym.make(env_id).unwrapped, skip_render_check=True)


@pytest.mark.parametrize("game", sorted(PRESETS))
def test_every_final_step_was_announced_by_the_games_ending_predicate(game):
    """A RAM peek keeps a snapshot only on steps ``may_end()`` announces: every episode's last step must be one."""
    env = make(game, None, max_num_frames_per_episode=2000 if game == "Boxing" else 0)
    env.reset(seed=0)
    policy = random_policy(env.action_space.n, 1)
    endings = 0
    while endings < 3:
        announced = env.unwrapped.may_end()
        *_, terminated, truncated, _ = env.step(policy(None))
        if terminated or truncated:
            assert announced, game
            endings += 1
            env.reset()
