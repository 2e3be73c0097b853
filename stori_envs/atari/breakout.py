"""Breakout: RAM map, brick events (2.1), blackout and RAM-peek modes (3.2), decoded state (type 0).

RAM (verified on ale-py 0.12): bricks 0-35 (6 groups of 6 bytes); 99 ball x; 101 ball y; 72 paddle
x; 57 lives; score in BCD, 77 (units and tens) and 76 (hundreds), which is what ALE pays from.
"""

from __future__ import annotations

import numpy as np

from stori_envs.atari.events import AtariEvent, register_atari_event
from stori_envs.atari.game import (
    NONE_BLACKOUT,
    NONE_RAM,
    BlackoutMode,
    Game,
    RamPeekMode,
    StateField,
    bcd_number,
    regions,
    register_game,
    union,
)

BRICKS = slice(0, 36)
SCORE = (76, 77)
BALL_X, BALL_Y, PADDLE_X, LIVES = 99, 101, 72, 57

RAM_MAP = {
    "bricks": "0-35: six groups of six playfield bytes (baseline 63 in 0-5, 255 in 6-29, 192 in 30-35)",
    "ball_x": "99", "ball_y": "101", "paddle_x": "72", "lives": "57",
    "score": "76 (hundreds) and 77 (tens, units), BCD",
}


def score(ram: np.ndarray) -> int:
    return bcd_number(ram, SCORE)


class BrickHitCancel(AtariEvent):
    """Mode 1: when a frame breaks bricks, with p the broken brick bytes are written back.

    The ball has already bounced and the points stay paid (the screen score rises too).
    """

    name = "brick_restore"
    cancels_reward = False

    def before(self, env, action, rng):
        if self.enabled:
            self._pre = env.emulator.getRAM()
        return False

    def after(self, env, action, reward, rng):
        if not self.enabled:
            return reward, False
        ale, pre = env.emulator, self._pre
        ram = ale.getRAM()
        if ram[BRICKS].tobytes() == pre[BRICKS].tobytes():  # the usual frame: no brick touched
            return reward, False
        changed = np.flatnonzero(ram[BRICKS] != pre[BRICKS])
        if changed.size == 0 or not np.any(ram[BRICKS] != env.baseline_ram[BRICKS]):
            return reward, False
        if not self.draw(rng):
            return reward, False
        for i in changed:
            ale.setRAM(int(i), int(pre[i]))
        if self.cancels_reward:
            # Fixed: the score bytes go back too, so the screen, RAM and reward agree (ledger).
            if self.fixes:
                for i in SCORE:
                    ale.setRAM(i, int(pre[i]))
            reward = env.ledger.cancel(reward, score(ram) - score(pre), score_restored=self.fixes)
        return reward, True


class BrickHitCancelNoReward(BrickHitCancel):
    """Mode 2: as mode 1, and the hit pays nothing.

    Fixed: the score bytes are restored and the reward ledger absorbs ALE's correction, so the net
    reward is exactly 0 and the screen shows no points. Original (``game_fixes=False``,
    ``reward="original"``): the frame pays 0 but the screen keeps counting.
    """

    name = "brick_hit_cancel"
    cancels_reward = True


class BrickRegrow(AtariEvent):
    """Mode 3: every frame (or agent step), with p one random brick byte that differs from its
    baseline is restored to it. One byte can hold several bricks, so several may regrow at once."""

    name = "brick_regrow"

    def after(self, env, action, reward, rng):
        if not self.enabled or (self.per_step and env.frame_in_step):
            return reward, False
        ram = env.emulator.getRAM()
        base = env.baseline_ram
        candidates = np.flatnonzero(ram[BRICKS] != base[BRICKS])
        if candidates.size == 0 or not self.draw(rng):
            return reward, False
        i = int(candidates[rng.integers(candidates.size)])
        env.emulator.setRAM(i, int(base[i]))
        return reward, True


register_atari_event("breakout", "0", None, "no event")
register_atari_event("breakout", "1", BrickHitCancel,
                     "a brick hit is undone with p: the brick reappears, the points stay")
register_atari_event("breakout", "2", BrickHitCancelNoReward,
                     "a brick hit is undone with p and pays nothing (score restored, reward ledger)")
register_atari_event("breakout", "3", BrickRegrow,
                     "every frame with p one broken brick byte regrows to its start value")

_blocks = BlackoutMode(regions((8, 151, 57, 92)), "bricks")
_paddle = BlackoutMode(regions((7, 152, 189, 195)), "paddle")
_score = BlackoutMode(regions((2, 158, 3, 16)), "score and lives")
_top = BlackoutMode(regions((8, 151, 105, 130)), "top ball band")
_middle = BlackoutMode(regions((8, 151, 131, 156)), "middle ball band")
_bottom = BlackoutMode(regions((8, 151, 157, 182)), "bottom ball band")

BLACKOUT_MODES = {
    "0": NONE_BLACKOUT,
    "1": BlackoutMode(union(_blocks, _paddle, _score, _top, _middle, _bottom), "all six regions"),
    "2": _blocks,
    "3": _paddle,
    "4": _score,
    "5": _top,
    "6": _middle,
    "7": _bottom,
    "8": BlackoutMode(union(_blocks, _paddle), "bricks and paddle"),
    "9": BlackoutMode(union(_blocks, _score), "bricks and score"),
    "10": BlackoutMode(union(_top, _bottom), "top and bottom ball bands (the ball shows only in the middle band)"),
    "11": BlackoutMode(union(_top, _middle, _bottom), "all three ball bands"),
}

# The "NUS pattern" of the original, byte for byte (bytes 4 and 30-35 untouched, as there).
_NUS = ((0, 62), (1, 61), (2, 60), (3, 62), (5, 60),
        (6, 240), (7, 127), (8, 120), (9, 112), (10, 119), (11, 120),
        (12, 0), (13, 240), (14, 240), (15, 240), (16, 240), (17, 240),
        (18, 57), (19, 218), (20, 219), (21, 219), (22, 219), (23, 219),
        (24, 239), (25, 239), (26, 238), (27, 237), (28, 235), (29, 231))

RAM_MODES = {
    "0": NONE_RAM,
    "1": RamPeekMode("bricks show the fixed 'NUS' pattern instead of the wall", writes=_NUS),
    "2": RamPeekMode("ball hidden (ball x and y set to 0)", writes=((BALL_X, 0), (BALL_Y, 0))),
}

STATE_FIELDS = (
    StateField("ball_x", 0, 255, lambda ram, ale: int(ram[BALL_X]), "ball x (RAM 99)"),
    StateField("ball_y", 0, 255, lambda ram, ale: int(ram[BALL_Y]), "ball y (RAM 101)"),
    StateField("paddle_x", 0, 255, lambda ram, ale: int(ram[PADDLE_X]), "paddle x (RAM 72)"),
    StateField("lives", 0, 255, lambda ram, ale: int(ale.lives()), "lives left (ALE)"),
    StateField("score", 0, 9999, lambda ram, ale: score(ram), "score (BCD in RAM 76-77)"),
)

GAME = register_game(Game(
    name="Breakout", family="breakout", rom="breakout", ram_map=RAM_MAP,
    blackout_modes=BLACKOUT_MODES, ram_modes=RAM_MODES, state_fields=STATE_FIELDS,
))
