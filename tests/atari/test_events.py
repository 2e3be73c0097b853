"""Every 2.1 mode of every game on the real emulator: mechanics at p = 1 and 0, rates at intermediate p,
and reward-screen consistency (the reward ledger) under the clean semantics."""

from __future__ import annotations

import numpy as np
import pytest
from ale_py import ALEInterface, roms
from atari_support import breakout_tracker, lockstep, make, profile, random_policy, score, state_where, twin
from helpers import assert_rate

PAPER = {"game_fixes": False, "reward": "original"}
BRICKS = slice(0, 36)


def run(env, seed, steps, policy, check=None, episodes=1):
    """Step ``env`` for up to ``episodes`` episodes; ``check(env, total, info, before_ram)`` after each step,
    where ``total`` is the episode's summed reward. Returns the last episode's total and all events."""
    env.reset(seed=seed)
    total = 0.0
    events = 0
    for _ in range(steps):
        before = env.unwrapped.ale.getRAM()
        _, reward, term, trunc, info = env.step(policy(env))
        total += reward
        events += info["stori"]["events"]
        if check is not None:
            check(env, total, info, before)
        if term or trunc:
            episodes -= 1
            if not episodes:
                break
            env.reset()
            total = 0.0
    return total, events


@pytest.mark.parametrize("game, mode", [("Breakout", "1"), ("Breakout", "2"), ("Breakout", "3"), ("Boxing", "1"),
                                        ("Boxing", "2"), ("Boxing", "3"), ("Gopher", "1"), ("Gopher", "2"),
                                        ("Gopher", "3"), ("BankHeist", "1"), ("BankHeist", "2"), ("BankHeist", "3"),
                                        ("BankHeist", "4")])
def test_probability_zero_changes_nothing(game, mode):
    n = {"Breakout": 4, "Boxing": 18, "Gopher": 8, "BankHeist": 18}[game]
    policy = breakout_tracker(0) if game == "Breakout" else random_policy(n, 0)
    env = make(game, profile("2.1", mode, 0.0))
    for _step, ((o1, r1, t1, _, _), (o2, r2, t2, _, i2)) in lockstep([twin(game), env], 0, 400, policy):
        assert np.array_equal(o1, o2) and (r1, t1) == (r2, t2) and not i2["stori"]["event"]


# -- Breakout -------------------------------------------------------------------------------------
def _breakout_score(env):
    return score(env.unwrapped.ale.getRAM(), (76, 77))


@pytest.mark.parametrize("mode", ["1", "2"])
def test_breakout_brick_cancel_at_p1_keeps_the_wall_whole(mode):
    env = make("Breakout", profile("2.1", mode, 1.0))
    base = None

    def check(env, total, info, before):
        nonlocal base
        base = env.unwrapped.baseline_ram[BRICKS] if base is None else base
        assert np.array_equal(env.unwrapped.ale.getRAM()[BRICKS], base)
        # The screen score and the summed reward agree: mode 1 keeps the points, mode 2 pays none.
        assert total == _breakout_score(env) == (total if mode == "1" else 0)

    total, events = run(env, 0, 1500, breakout_tracker(0), check)
    assert events > 10 and (total > 0 if mode == "1" else total == 0)


def test_breakout_paper_mode2_pays_nothing_but_the_screen_keeps_counting():
    env = make("Breakout", profile("2.1", "2", 1.0, **PAPER))
    total, events = run(env, 0, 800, breakout_tracker(0))
    assert events > 5 and total == 0 and _breakout_score(env) > 0


def test_breakout_mode2_rate_and_ledger_consistency_at_half():
    env = make("Breakout", profile("2.1", "2", 0.5))
    corrections = []

    def check(env, total, info, before):
        assert total == _breakout_score(env)
        corrections.append(info["stori"]["reward_correction"])

    total, events = run(env, 1, 2500, breakout_tracker(1), check)
    assert total > 0 and any(c > 0 for c in corrections) and any(c < 0 for c in corrections)
    assert_rate(events, env.unwrapped._event.draws, 0.5)


def test_breakout_regrow_at_p1_restores_broken_bricks_and_keeps_points():
    env = make("Breakout", profile("2.1", "3", 1.0))
    whole = 0

    def check(env, total, info, before):
        nonlocal whole
        whole += np.array_equal(env.unwrapped.ale.getRAM()[BRICKS], env.unwrapped.baseline_ram[BRICKS])
        assert total == _breakout_score(env)

    total, events = run(env, 0, 1000, breakout_tracker(0), check)
    assert events > 10 and total > 0 and whole >= 0.95 * 1000


@pytest.mark.parametrize("granularity", ["frame", "agent_step"])
def test_breakout_regrow_rate(granularity):
    env = make("Breakout", profile("2.1", "3", 0.2, granularity=granularity))
    per_step = []

    def check(env, total, info, before):
        per_step.append(env.unwrapped._event.draws - sum(per_step))

    _, events = run(env, 2, 1500, breakout_tracker(2), check)
    assert events > 20 and max(per_step) == (1 if granularity == "agent_step" else 4)
    assert_rate(events, env.unwrapped._event.draws, 0.2)


# -- Boxing ---------------------------------------------------------------------------------------
def test_boxing_colour_flip_swaps_the_boxers_colours_on_screen():
    """At p = 1 the flag toggles before every frame and the colours are written right after the coin,
    so the frame of a flip already shows it (as the original release, which wrote before stepping);
    the game rewrites the colour bytes during the frame, after drawing them."""
    env = make("Boxing", profile("2.1", "1", 1.0), frameskip=1)
    white, black = np.array([214, 214, 214]), np.array([0, 0, 0])
    flips = 0
    for step, ((o1, r1, *_), (o2, r2, *_)) in lockstep([twin("Boxing", 1), env], 0, 300, random_policy(18)):
        if step < 0:
            continue
        ring1, ring2 = o1[36:177, 32:128], o2[36:177, 32:128]
        counts1 = [np.all(ring1 == c, axis=2).sum() for c in (white, black)]
        counts2 = [np.all(ring2 == c, axis=2).sum() for c in (white, black)]
        if step % 2 == 0:  # flipped on frames 0, 2, 4, ... (the flag toggles before each frame)
            flips += 1
            assert counts2 == counts1[::-1] and counts1[0] > 0
        else:
            assert counts2 == counts1
        assert r1 == r2  # colours do not change the fight
    assert flips > 100


def test_boxing_colour_flip_matches_the_original_frame_for_frame():
    """The original's mechanism, restated on a bare emulator: before each frame a coin may toggle the
    flag, then RAM 1/2 are written with the reset colours, swapped while the flag is set. Same coins
    (p = 0.05 from the engine's own reported events) give the same frames, frame for frame."""
    env = make("Boxing", profile("2.1", "1", 0.05, profile="paper"), frameskip=1)
    env.reset(seed=3)
    bare = ALEInterface()
    bare.setFloat("repeat_action_probability", 0.0)
    bare.loadROM(roms.get_rom_path("boxing"))
    bare.restoreState(env.unwrapped.emulator.cloneState(include_rng=True))
    base = env.unwrapped.baseline_ram
    actions = bare.getMinimalActionSet()
    policy = random_policy(18, 4)
    flipped, toggles = False, 0
    for _ in range(1500):
        a = policy(None)
        obs, _, terminated, truncated, info = env.step(a)
        if info["stori"]["event"]:
            flipped, toggles = not flipped, toggles + 1
        player, enemy = (base[2], base[1]) if flipped else (base[1], base[2])
        bare.setRAM(1, int(player))
        bare.setRAM(2, int(enemy))
        bare.act(actions[a])
        assert np.array_equal(obs, bare.getScreenRGB())
        if terminated or truncated:
            break
    assert toggles >= 20


def test_boxing_colour_flip_rate_per_frame():
    env = make("Boxing", profile("2.1", "1", 0.2))
    _, events = run(env, 0, 500, random_policy(18))
    assert env.unwrapped._event.draws == 500 * 4
    assert_rate(events, env.unwrapped._event.draws, 0.2)


def _boxing_net(env):
    ram = env.unwrapped.ale.getRAM()
    return score(ram, (18,)) - score(ram, (19,))


def test_boxing_hit_cancel_at_p1_nets_exactly_zero():
    env = make("Boxing", profile("2.1", "2", 1.0))

    def check(env, total, info, before):
        ram = env.unwrapped.ale.getRAM()
        assert ram[18] == 0 and ram[19] == 0 and total == 0

    _, events = run(env, 0, 900, random_policy(18, 1), check)
    assert events > 5


def test_boxing_hit_cancel_paper_negates_instead_of_cancelling():
    env = make("Boxing", profile("2.1", "2", 1.0, **PAPER))
    total, events = run(env, 0, 900, random_policy(18, 1))
    ram = env.unwrapped.ale.getRAM()
    assert events > 5 and ram[18] == ram[19] == 0 and total != 0  # the screen says 0-0, the reward does not


def test_boxing_hit_cancel_rate_and_consistency_at_half():
    env = make("Boxing", profile("2.1", "2", 0.5))

    def check(env, total, info, before):
        assert total == _boxing_net(env)

    _, events = run(env, 2, 1700, random_policy(18, 2), check)
    assert_rate(events, env.unwrapped._event.draws, 0.5)


def test_boxing_start_swap_moves_each_boxer_to_the_others_start():
    env = make("Boxing", profile("2.1", "3", 1.0), frameskip=1)
    env.reset(seed=0)
    base = env.unwrapped.baseline_ram
    rng = np.random.default_rng(0)
    env.step(0)  # the first frame after a reset places the boxers itself
    for _ in range(100):
        *_, info = env.step(int(rng.integers(18)))
        ram = env.unwrapped.ale.getRAM()
        assert info["stori"]["event"]
        # Moved before the frame; one frame of movement at most afterwards.
        assert abs(int(ram[32]) - int(base[33])) <= 2 and abs(int(ram[34]) - int(base[35])) <= 2
        assert abs(int(ram[33]) - int(base[32])) <= 2 and abs(int(ram[35]) - int(base[34])) <= 2
    env = make("Boxing", profile("2.1", "3", 0.1))
    _, events = run(env, 0, 300, random_policy(18))
    assert_rate(events, env.unwrapped._event.draws, 0.1)


# -- Gopher ---------------------------------------------------------------------------------------
def _gopher_score(env):
    return score(env.unwrapped.ale.getRAM(), (48, 49, 50))


@pytest.mark.parametrize("mode", ["1", "2"])
def test_gopher_fill_cancel_at_p1_reopens_every_fill(mode):
    """Fixed semantics: a fill (tunnel bits cleared on a paying frame) is undone; mode 2 never pays a 20."""
    env = make("Gopher", profile("2.1", mode, 1.0))

    def check(env, total, info, before):
        ram = env.unwrapped.ale.getRAM()
        if info["lives"] == 3:  # apart from the board reset after a lost life, tunnel bits never clear
            assert not np.any(before[:24] & ~ram[:24])
        assert total == _gopher_score(env)
        assert mode == "1" or total == 0

    _, events = run(env, 0, 3000, random_policy(8, 7), check)
    assert events >= 3


def test_gopher_paper_trigger_fires_on_digging_and_still_pays_fills():
    """The original trigger (shovel action, any tunnel change under the farmer) undoes gopher digs."""
    env = make("Gopher", profile("2.1", "2", 1.0, **PAPER), frameskip=1)
    env.reset(seed=0)
    digs_undone = paid = 0
    rng = np.random.default_rng(3)
    for _ in range(15000):
        _, r, term, trunc, info = env.step(int(rng.integers(8)))
        paid += r == 20
        digs_undone += info["stori"]["event"] and r == 0
        if term or trunc:
            env.reset()
    assert digs_undone > 0 and paid > 0


def test_gopher_fill_cancel_rate():
    env = make("Gopher", profile("2.1", "2", 0.5))

    def check(env, total, info, before):
        assert total == _gopher_score(env)

    _, events = run(env, 1, 6000, random_policy(8, 1), check, episodes=10)
    assert_rate(events, env.unwrapped._event.draws, 0.5)


def test_gopher_carrot_kill_once_per_episode_after_frame_238():
    env = make("Gopher", profile("2.1", "3", 1.0), frameskip=1)
    for episode in range(2):
        env.reset(seed=0) if episode == 0 else env.reset()
        carrots = []
        for _ in range(300):
            *_, info = env.step(0)
            carrots.append(bin(int(env.unwrapped.ale.getRAM()[52]) & 7).count("1"))
        # Frame 239 is the first after 238: the kill happens there, in every episode, and only once.
        assert carrots[237] == 3 and carrots[238] == 2 and carrots[-1] == 2


def test_gopher_carrot_kill_paper_uses_the_global_frame_counter():
    env = make("Gopher", profile("2.1", "3", 1.0, **PAPER), frameskip=1)
    env.reset(seed=0)
    for _ in range(300):
        env.step(0)
    env.reset()
    env.step(0)
    assert bin(int(env.unwrapped.ale.getRAM()[52]) & 7).count("1") == 2  # second episode: at once


@pytest.mark.parametrize("fixes, taken", [(True, False), (False, True)])
def test_gopher_carrot_kill_never_takes_the_last_carrot_when_fixed(fixes, taken):
    one_carrot = state_where("gopher", lambda ale: bin(int(ale.getRAM()[52]) & 7).count("1") == 1
                             and ale.getEpisodeFrameNumber() > 300)
    env = make("Gopher", profile("2.1", "3", 1.0, game_fixes=fixes), frameskip=1)
    env.reset(seed=0)
    env.unwrapped.ale.restoreState(one_carrot)
    for _ in range(5):
        env.step(0)
    assert (env.unwrapped.ale.getRAM()[52] & 7 == 0) == taken


def test_gopher_carrot_kill_rate():
    env = make("Gopher", profile("2.1", "3", 0.05), frameskip=1)
    env.reset(seed=0)
    events = 0
    for _ in range(30):
        for _ in range(330):
            *_, info = env.step(0)
            events += info["stori"]["events"]
        env.reset()
    assert events > 20
    assert_rate(events, env.unwrapped._event.draws, 0.05)


# -- BankHeist ------------------------------------------------------------------------------------
def _bomber(seed):
    rng = np.random.default_rng(seed)
    return lambda env: 1 if rng.random() < 0.3 else int(rng.integers(18))


@pytest.mark.parametrize("fixes", [True, False])
def test_bankheist_bomb_dud_fires_on_the_drop_only_when_fixed(fixes):
    env = make("BankHeist", profile("2.1", "1", 0.5, game_fixes=fixes), frameskip=1)
    counts = {"fired on a drop": 0, "fired later": 0, "drops": 0}

    def check(env, total, info, before):
        after = int(env.unwrapped.ale.getRAM()[12])
        if info["stori"]["event"]:
            counts["fired on a drop" if before[12] == 0 else "fired later"] += 1
            assert after == before[12]  # the change is undone at once
        elif before[12] == 0 and after != 0:
            counts["drops"] += 1

    run(env, 0, 8000, _bomber(0), check, episodes=10)
    assert counts["fired on a drop"] > 5 and counts["drops"] > 5
    assert (counts["fired later"] == 0) == fixes  # the original also fires on the byte's later steps
    assert_rate(sum(v for k, v in counts.items() if k != "drops"), env.unwrapped._event.draws, 0.5)


def test_bankheist_bomb_dud_at_p1_no_bomb_ever_lands():
    env = make("BankHeist", profile("2.1", "1", 1.0), frameskip=1)

    def check(env, total, info, before):
        assert env.unwrapped.ale.getRAM()[12] == 0

    _, events = run(env, 0, 3000, _bomber(1), check, episodes=5)
    assert events > 5


def test_bankheist_fuel_leak_once_per_maze():
    env = make("BankHeist", profile("2.1", "2", 1.0), frameskip=1)
    env.reset(seed=0)
    *_, info = env.step(0)
    ale = env.unwrapped.ale
    assert info["stori"]["event"] and ale.getRAM()[86] == 12
    assert not any(env.step(0)[4]["stori"]["event"] for _ in range(50))
    ale.setRAM(0, 1)  # another maze with a full tank: it leaks there too
    ale.setRAM(86, 0)
    assert env.step(0)[4]["stori"]["event"] and ale.getRAM()[86] == 12
    env = make("BankHeist", profile("2.1", "2", 0.05), frameskip=1)
    events = 0
    for episode in range(40):
        env.reset(seed=episode)
        for _ in range(120):
            events += env.step(0)[4]["stori"]["events"]
    assert_rate(events, env.unwrapped._event.draws, 0.05)


@pytest.mark.parametrize("fixes", [True, False])
def test_bankheist_city_switch_changes_the_maze(fixes):
    env = make("BankHeist", profile("2.1", "3", 1.0, game_fixes=fixes), frameskip=1)
    truth = twin("BankHeist", 1)
    env.reset(seed=0)
    truth.reset(seed=0)
    for env_ in (env, truth):
        env_.unwrapped.ale.setRAM(0, 6)  # maze 2 of the second round of cities
    differ = 0
    for _ in range(50):
        prev = int(env.unwrapped.ale.getRAM()[0])
        o1 = env.step(0)[0]
        o2 = truth.step(0)[0]
        city = int(env.unwrapped.ale.getRAM()[0])
        assert city % 4 != prev % 4
        assert city >> 2 == (1 if fixes else 0)
        differ += not np.array_equal(o1, o2)
    assert differ >= 30  # the maze redraws
    env = make("BankHeist", profile("2.1", "3", 0.3))
    _, events = run(env, 0, 300, random_policy(18))
    assert env.unwrapped._event.draws == 1200
    assert_rate(events, env.unwrapped._event.draws, 0.3)


def _bank_score(env):
    return score(env.unwrapped.ale.getRAM(), (88, 89, 90))


@pytest.mark.parametrize("p", [1.0, 0.5])
def test_bankheist_bank_empty_cancels_robberies_consistently(p):
    env = make("BankHeist", profile("2.1", "4", p))
    paid = 0

    def check(env, total, info, before):
        nonlocal paid
        assert total == _bank_score(env)
        paid = total

    _, events = run(env, 0, 3500, random_policy(18, 5), check, episodes=20)
    draws = env.unwrapped._event.draws
    assert draws >= 4
    if p == 1.0:
        assert paid == 0 and events == draws
    else:
        assert_rate(events, draws, p)


def test_bankheist_bank_empty_paper_zeroes_the_reward_but_the_screen_counts():
    env = make("BankHeist", profile("2.1", "4", 1.0, **PAPER))
    shown = []

    def check(env, total, info, before):
        assert total == 0
        shown.append(_bank_score(env))

    _, events = run(env, 0, 3500, random_policy(18, 5), check, episodes=20)
    assert events >= 4 and max(shown) > 0


def test_generic_reward_cancel_runs_per_frame_on_atari():
    """The core's generic events are offered to every family; on Atari they run inside the frame loop."""
    env = make("Breakout", profile("2.1", "reward_cancel", 1.0))
    total, events = run(env, 0, 800, breakout_tracker(0))
    assert total == 0 and events > 0 and _breakout_score(env) > 0  # the reward is cancelled, not the score
