"""The Atari engine on the real emulator: pipeline, seeding, render, type 1, RAM-peek invariants, errors."""

from __future__ import annotations

import hashlib

import gymnasium as gym
import numpy as np
import pytest
from ale_py import ALEInterface, LoggerMode, roms
from atari_support import breakout_tracker, lockstep, make, peek_image, profile, random_policy
from helpers import assert_rate, fingerprint

import stori_envs
from stori_envs.atari.env import AtariStoriEnv
from stori_envs.atari.ledger import RewardLedger
from stori_envs.atari.presets import preset_profile

gym.register_envs(__import__("ale_py"))


@pytest.mark.parametrize("game", ["Breakout", "BankHeist"])
def test_frameskip_one_reproduces_ale_v5(game):
    ours = make(game, None, frameskip=1)
    ref = gym.make(f"ALE/{game}-v5", frameskip=1, repeat_action_probability=0.0)
    o1, _ = ours.reset(seed=3)
    o2, _ = ref.reset(seed=3)
    assert np.array_equal(o1, o2)
    rng = np.random.default_rng(0)
    for _ in range(1500):
        a = int(rng.integers(ours.action_space.n))
        s1, s2 = ours.step(a), ref.step(a)
        assert np.array_equal(s1[0], s2[0]) and s1[1:4] == s2[1:4]
        if s1[2] or s1[3]:
            break


def test_skip_and_pool_is_the_max_of_the_last_two_frames_and_sums_rewards():
    k4 = make("Breakout", None, frameskip=4)
    k1 = make("Breakout", None, frameskip=1)
    k4.reset(seed=0)
    k1.reset(seed=0)
    policy = breakout_tracker(0)
    total = 0.0
    for _ in range(400):
        a = policy(k4)
        obs, reward, term, trunc, info = k4.step(a)
        frames, rewards = [], []
        for _ in range(info["stori"]["frames"]):
            o, r, *_ = k1.step(a)
            frames.append(o)
            rewards.append(r)
        expected = np.maximum(frames[-2], frames[-1]) if len(frames) > 1 else frames[-1]
        assert np.array_equal(obs, expected) and reward == sum(rewards)
        total += reward
        if term or trunc:
            break
    assert total > 0  # the tracker hits bricks: rewards were compared, not only zeros


@pytest.mark.parametrize("rom", ["breakout", "boxing", "gopher", "bank_heist"])
def test_the_emulator_seed_changes_no_trajectory(rom):
    """With sticky actions off ALE's RNG drives nothing, across resets too: so reset(seed=...) never
    reloads the ROM, and RAM peeks need not restore that RNG."""
    digests = []
    for ale_seed in (0, 12345):
        ALEInterface.setLoggerMode(LoggerMode.Error)
        ale = ALEInterface()
        ale.setInt("random_seed", ale_seed)
        ale.setFloat("repeat_action_probability", 0.0)
        ale.loadROM(roms.get_rom_path(rom))
        ale.reset_game()
        actions = ale.getMinimalActionSet()
        rng = np.random.default_rng(1)
        h = hashlib.sha256()
        for _ in range(2):
            for _ in range(700):
                ale.act(actions[rng.integers(len(actions))])
                h.update(ale.getRAM().tobytes())
            ale.reset_game()
            h.update(ale.getRAM().tobytes())
        digests.append(h.hexdigest())
    assert digests[0] == digests[1]


def test_a_seeded_reset_does_not_depend_on_earlier_episodes():
    """reset_game() alone keeps some emulator state: after this history (16 short seeded episodes, 9,360
    frames; found by a failing test) Boxing's enemy moved differently from a fresh env's at step 7.
    A seeded reset restores the power-on snapshot, as ALE/<Game>-v5's ROM reload does."""
    used, fresh = make("Boxing"), make("Boxing")
    for steps, seed in [(400, 0)] * 3 + [(100, 1)] * 9 + [(60, 2)] * 4:
        for _ in lockstep([used], 0, steps, random_policy(18, seed)):
            pass
    runs = [[obs for _, [(obs, *_)] in lockstep([env], 0, 60, random_policy(18, 2))] for env in (used, fresh)]
    assert fingerprint(runs[0]) == fingerprint(runs[1])


def test_reset_starts_a_fresh_episode_and_reports_info():
    env = make("Breakout", None)
    obs, info = env.reset(seed=0)
    assert obs.shape == (210, 160, 3) and obs.dtype == np.uint8
    assert info["lives"] == 5 and info["episode_frame_number"] == 0
    for _ in range(50):
        env.step(1)
    obs2, info2 = env.reset()
    assert info2["episode_frame_number"] == 0 and np.array_equal(obs, obs2)
    # At reset there is no action: the keys are absent (a vector env's mask then says so).
    keys = {"type", "concept", "action_replaced", "event", "observation_altered", "frames"}
    assert set(info2["stori"]) == keys
    _, _, _, _, step_info = env.step(0)
    assert set(step_info["stori"]) == keys | {"action", "executed_action"} and step_info["stori"]["frames"] == 4
    # Each knob adds its own keys, at reset and at every step.
    for prof, extra in ((profile("1", p=0.5), {"executed_actions", "replaced_frames", "changed_frames"}),
                        (profile("2.1", "2", 0.5), {"events", "reward_correction"})):
        env = make("Breakout", prof)
        assert set(env.reset(seed=0)[1]["stori"]) == keys | extra
        assert set(env.step(0)[4]["stori"]) == keys | extra | {"action", "executed_action"}


def test_observations_are_fresh_arrays():
    env = make("Boxing", profile("blackout", "9"))
    obs, _ = env.reset(seed=0)
    seen = [obs]
    for _ in range(5):
        seen.append(env.step(0)[0])
    assert len({id(o) for o in seen}) == len(seen)
    assert not any(np.shares_memory(a, b) for i, a in enumerate(seen) for b in seen[i + 1:])


def test_render_returns_the_frame_the_agent_got_without_a_new_draw():
    env = make("Breakout", profile("crop", "5", 0.5), render_mode="rgb_array")
    env.reset(seed=0)
    hider = env.unwrapped._hider
    for _ in range(30):
        obs, *_ = env.step(1)
        state = hider.rng.bit_generator.state
        frame = env.render()
        assert np.array_equal(frame, obs)
        assert hider.rng.bit_generator.state == state


def test_render_is_full_resolution_before_grayscale_and_resize():
    env = make("Breakout", profile("blackout", "4"), render_mode="rgb_array", grayscale=True, screen_size=(84, 64))
    obs, _ = env.reset(seed=0)
    assert obs.shape == (84, 64, 1) and env.observation_space.contains(obs)
    frame = env.render()
    assert frame.shape == (210, 160, 3) and np.all(frame[3:17, 2:159] == 0)


def test_type1_per_frame_replaces_each_frame_with_p_and_reports_what_ran():
    """Replaying the reported executed actions on a per-frame twin gives the same frames and rewards."""
    env = make("Breakout", profile("1", p=0.4))
    twin = make("Breakout", None, frameskip=1)
    env.reset(seed=5)
    twin.reset(seed=5)
    policy = breakout_tracker(1)
    replaced = frames = 0
    for _ in range(600):
        a = policy(env)
        obs, reward, term, trunc, info = env.step(a)
        rec = info["stori"]
        executed = rec["executed_actions"]
        out = [twin.step(x) for x in executed]
        expected = np.maximum(out[-2][0], out[-1][0]) if len(out) > 1 else out[-1][0]
        assert np.array_equal(obs, expected) and reward == sum(o[1] for o in out)
        assert rec["executed_action"] == executed[-1]
        replaced += rec["replaced_frames"]
        frames += len(executed)
        if term or trunc:
            break
    assert_rate(replaced, frames, 0.4)


def test_type1_agent_step_holds_one_random_action_for_the_whole_step():
    env = make("Boxing", profile("1", p=0.3, granularity="agent_step"))
    env.reset(seed=0)
    replaced_steps = n = 0
    for _ in range(1500):
        *_, term, trunc, info = env.step(5)
        rec = info["stori"]
        assert len(set(rec["executed_actions"])) == 1
        assert rec["replaced_frames"] in (0, rec["frames"])
        replaced_steps += rec["action_replaced"]
        n += 1
        if term or trunc:
            break
    assert_rate(replaced_steps, n, 0.3)


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_type1_at_p_zero_and_one(p):
    env = make("BankHeist", profile("1", p=p))
    env.reset(seed=2)
    executed = []
    for _ in range(300):
        *_, info = env.step(17)
        executed += info["stori"]["executed_actions"]
    if p == 0.0:
        assert set(executed) == {17}
    else:
        assert len(set(executed)) == 18  # uniform over all 18 actions when no set is named


def test_bankheist_paper_action_set_draws_actions_0_to_9_only():
    env = make("BankHeist", "T1")
    prof = env.unwrapped.profile.replace(intrinsic_stochasticity__action_dependent__stochastic_action_prob=1.0)
    env = make("BankHeist", prof)
    env.reset(seed=0)
    executed = set()
    for _ in range(200):
        executed |= set(env.step(11)[4]["stori"]["executed_actions"])
    assert executed == set(range(10))  # contains FIRE (1), as in the paper


def test_blackout_per_frame_timing_hides_the_pooled_observation_with_p_squared():
    """Paper timing: a dark fill survives the max-pool only if both frames drew it (rate p^2)."""
    n = 1500
    for timing, rate in (("per_frame", 0.75 ** 2), ("per_observation", 0.75)):
        env = make("Breakout", profile("crop", "1", 0.75, po_timing=timing))
        env.reset(seed=1)
        hidden = 0
        for _ in range(n):
            obs, _, term, trunc, _ = env.step(1)
            hidden += bool(np.all(obs[:, :80] == 0))
            if term or trunc:
                env.reset()
        assert_rate(hidden, n, rate)


def test_torch_per_frame_shows_the_union_of_two_discs():
    env = make("Breakout", profile("crop", "5", 1.0, po_timing="per_frame"))
    env.reset(seed=0)
    ys, xs = np.mgrid[0:210, 0:160]
    larger = 0
    for _ in range(40):
        obs, *_ = env.step(1)
        lit = np.any(obs > 0, axis=2)
        ly, lx = ys[lit], xs[lit]
        # The visible pixels of one disc fit a 151 px box; two independent discs often do not.
        larger += (ly.max() - ly.min() > 151) or (lx.max() - lx.min() > 151)
    assert larger > 0


def test_ram_peek_leaves_the_real_trajectory_untouched():
    """RAM, frame counters, lives, ALE's remembered score (hence rewards) match a twin without peeks."""
    peeking = make("Boxing", profile("ram", "2", 1.0), frameskip=1)
    twin = make("Boxing", None, frameskip=1)
    policy = random_policy(18, 3)
    scoring_lookaheads = rewards = 0
    for _step, ((o1, r1, t1, _, i1), (_o2, r2, t2, _, i2)) in lockstep([peeking, twin], 0, 1500, policy):
        ale1, ale2 = peeking.unwrapped.ale, twin.unwrapped.ale
        assert np.array_equal(ale1.getRAM(), ale2.getRAM())
        assert (r1, t1, i1["lives"], i1["episode_frame_number"], i1["frame_number"]) == \
               (r2, t2, i2["lives"], i2["episode_frame_number"], i2["frame_number"])
        assert np.array_equal(o1, peek_image(ale2, [(2, 214)]))
        state = ale2.cloneState(include_rng=True)
        scoring_lookaheads += ale2.act(0) != 0  # a look-ahead frame that scores: the restore must undo it
        ale2.restoreState(state)
        rewards += r1 != 0
    assert scoring_lookaheads > 0 and rewards > 0


def test_ledger_carries_a_cancelled_event_over_to_the_next_frame():
    ledger = RewardLedger("ledger")
    assert ledger.cancel(reward=3.0, points=2.0, score_restored=True) == 1.0
    assert ledger.settle(-2.0) == 0.0 and ledger.pending == 0.0
    assert ledger.cancel(reward=2.0, points=2.0, score_restored=False) == 0.0 and ledger.pending == 0.0
    original = RewardLedger("original")
    assert original.cancel(reward=3.0, points=2.0, score_restored=True) == 0.0 and original.pending == 0.0
    with pytest.raises(ValueError, match="semantics.reward"):
        RewardLedger("other")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: make("Pong"), "game: got 'Pong'"),
        (lambda: make("Breakout", profile("2.1", "4", 0.5)), "action_independent_random.mode: got '4'"),
        (lambda: make("Breakout", profile("blackout", "12")), "partial_observation.mode: got '12'"),
        (lambda: make("Gopher", profile("ram", "6")), "partial_observation.mode: got '6'"),
        (lambda: make("Breakout", profile("2.1", "state_perturbation", 0.5)), "needs a settable simulator state"),
        (lambda: make("Boxing", {"stochasticity_type": "3.2", "partial_observation.type": "noise",
                                 "partial_observation.prob": 0.5}), "partial_observation.type: got 'noise'"),
        (lambda: make("Breakout", None, frameskip=0), "frameskip: got 0"),
        (lambda: make("Breakout", None, obs_type="pixels"), "obs_type: got 'pixels'"),
        (lambda: make("Breakout", profile("blackout", "2"), obs_type="ram"), "obs_type: got 'ram'"),
        (lambda: make("Breakout", profile("0"), obs_type="rgb"), "obs_type: got 'rgb'"),
        (lambda: make("Breakout", None, screen_size=0), "screen_size: got 0"),
        (lambda: make("Breakout", profile("ram", "2", ram_peek="in_frame")), "semantics.ram_peek: got 'in_frame'"),
        (lambda: make("Breakout", stori_envs.Profile.parse(
            {"stochasticity_type": "1", "intrinsic_stochasticity.action_dependent.stochastic_action_prob": 0.1,
             "intrinsic_stochasticity.action_dependent.random_action_set": "paper"})),
         "random_action_set: got 'paper'"),
        (lambda: make("Breakout", "T9"), "profile: got preset 'T9'"),
        (lambda: make("Breakout", "T2.2", semantics={"drift_unit": "frame"}), "semantics.drift_unit: got 'frame'"),
        (lambda: make("Breakout", None, semantics=3), "semantics: got 3"),
    ],
)
def test_bad_input_raises_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_bad_action_raises():
    env = make("Breakout")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action: got 4; allowed: an integer in \[0, 3\]"):
        env.step(4)


def test_family_builds_from_game_names_and_v5_ids():
    for name in ("Breakout", "breakout", "ALE/Breakout-v5"):
        env = stori_envs.make(name, preset_profile("Breakout", "3.2A"), frameskip=2)
        assert isinstance(env.unwrapped, AtariStoriEnv) and env.unwrapped.game.name == "Breakout"
        assert env.unwrapped.frameskip == 2 and env.unwrapped._hider.filler is not None
    env = stori_envs.make("ALE/BankHeist-v5", preset_profile("BankHeist", "2.2"))
    # The engine holds the drift and its (disabled) secondary itself: no wrapper around it.
    assert env.unwrapped.drift is not None and env.unwrapped.drift.secondaries == env.unwrapped.drift_components
    assert not env.unwrapped.drift_components[0].enabled
