"""The opt-in in-frame RAM peek: allowed only for modes whose writes provably leave the game alone.

For each allowed mode, thousands of random-action frames with the write on every frame give exactly the
RAM, rewards and terminal flags of the unmodified game (the spec's determinism test), while the written
object is hidden on screen.
"""

from __future__ import annotations

import numpy as np
import pytest
from atari_support import lockstep, make, profile, random_policy, twin

from stori_envs.atari.game import games
from stori_envs.atari.peek import InFrameWrite


def _enemy_hidden(obs):  # Boxing's enemy is the only black thing in the ring
    return not np.any(np.all(obs[36:177, 32:128] == 0, axis=2))


def _player_hidden(obs):
    return not np.any(np.all(obs[36:177, 32:128] == 214, axis=2))


CASES = {("Boxing", "1"): None, ("Boxing", "2"): _enemy_hidden, ("Boxing", "3"): _player_hidden,
         ("BankHeist", "4"): None}


def test_the_allowed_modes_are_exactly_the_tested_ones():
    allowed = {(g.name, m) for g in games().values() for m, spec in g.ram_modes.items() if spec.in_frame}
    assert allowed == set(CASES)


@pytest.mark.parametrize("game, mode", list(CASES))
def test_in_frame_write_leaves_the_game_unchanged(game, mode):
    env = make(game, profile("ram", mode, 1.0, ram_peek="in_frame"), frameskip=1)
    truth = twin(game, 1)
    hidden = differ = 0
    for step, ((o1, r1, t1, _, _), (o2, r2, t2, _, info)) in lockstep(
            [truth, env], 0, 2000, random_policy(18, 11)):
        assert np.array_equal(truth.unwrapped.ale.getRAM(), env.unwrapped.ale.getRAM())
        assert (r1, t1) == (r2, t2)
        if step >= 0:
            assert info["stori"]["observation_altered"]
            differ += not np.array_equal(o1, o2)
            if CASES[(game, mode)] is not None:
                hidden += CASES[(game, mode)](o2)
    assert differ > 0.9 * step
    if CASES[(game, mode)] is not None:
        assert hidden > 0.99 * step


def test_hiding_bankheist_blocks_in_frame_would_change_the_game():
    """Why BankHeist ram 3 (the paper's mode) is look-ahead only: TIA collisions depend on what is drawn."""
    truth, other = twin("BankHeist", 1), make("BankHeist", None, frameskip=1)
    writer = InFrameWrite()
    policy = random_policy(18, 11)
    truth.reset(seed=0)
    other.reset(seed=0)
    ale = other.unwrapped.ale
    for _ in range(3000):
        a = policy(None)
        truth.step(a)
        writer.begin(ale, ((66, 0), (68, 0)))
        other.step(a)
        writer.end(ale)
        if not np.array_equal(truth.unwrapped.ale.getRAM(), ale.getRAM()):
            return
    pytest.fail("the in-frame write never changed the game")
