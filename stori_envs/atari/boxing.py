"""Boxing: RAM map, colour-flip / hit-cancel / start-swap events (2.1), blackout and RAM-peek modes (3.2).

RAM (verified on ale-py 0.12): 32/34 player x/y; 33/35 enemy x/y; 18/19 player/enemy score (BCD;
ALE pays Δplayer − Δenemy); 16 clock minutes (high nibble) and 17 seconds (BCD); colours 1 player
(body and score, white), 2 enemy (black), 3 ring ropes, 4 clock. The game rewrites the colour bytes
itself within a few frames. Colour value 214 draws in the ring's green, i.e. invisibly.
"""

from __future__ import annotations

from stori_envs.atari.events import AtariEvent, register_atari_event
from stori_envs.atari.game import (
    NONE_BLACKOUT,
    NONE_RAM,
    BlackoutMode,
    Game,
    RamPeekMode,
    StateField,
    bcd,
    regions,
    register_game,
    union,
)

PLAYER_X, ENEMY_X, PLAYER_Y, ENEMY_Y = 32, 33, 34, 35
PLAYER_SCORE, ENEMY_SCORE = 18, 19
CLOCK_MINUTES, CLOCK_SECONDS = 16, 17
PLAYER_COLOUR, ENEMY_COLOUR, ROPES_COLOUR = 1, 2, 3
INVISIBLE = 214
RING_GREEN = (110, 156, 66)

RAM_MAP = {
    "player_x": "32", "player_y": "34", "enemy_x": "33", "enemy_y": "35",
    "player_score": "18 (BCD)", "enemy_score": "19 (BCD)",
    "clock": "16 (minutes in the high nibble), 17 (seconds, BCD)",
    "colours": "1 player, 2 enemy, 3 ropes, 4 clock (214 = invisible on the ring)",
}


class ColourFlip(AtariEvent):
    """Mode 1: with p per frame (or step) a flag toggles; while it is set the boxers' colours (bodies
    and scores) are swapped.

    The colours are written before every frame, right after the coin, from their values at reset: the
    frame of a flip already shows it, as in the original release (which wrote them before stepping).
    The game rewrites the colour bytes during every frame, so writing them after the frame instead
    would show every flip one frame late.
    """

    name = "colour_flip"

    def reset(self, env, rng):
        self.flipped = False
        self._colours = (int(env.baseline_ram[PLAYER_COLOUR]), int(env.baseline_ram[ENEMY_COLOUR]))

    def before(self, env, action, rng):
        fired = False
        if self.enabled:
            if self.coin(env, rng):
                self.flipped = not self.flipped
                fired = True
        elif not self.flipped:
            return False
        else:
            self.flipped = False  # drift switched back to concept 1: normal colours again
        player, enemy = self._colours
        if self.flipped:
            player, enemy = enemy, player
        env.emulator.setRAM(PLAYER_COLOUR, player)
        env.emulator.setRAM(ENEMY_COLOUR, enemy)
        return fired


class HitCancel(AtariEvent):
    """Mode 2: when exactly one boxer scores in a frame, with p the score byte is written back and
    the point pays nothing. The reward ledger absorbs the opposite point ALE would pay next frame, so
    the net is exactly 0 (``reward="original"``: the frame pays 0 and the next pays the negation)."""

    name = "hit_cancel"

    def before(self, env, action, rng):
        if self.enabled:
            ram = env.emulator.getRAM()
            self._pre = (int(ram[PLAYER_SCORE]), int(ram[ENEMY_SCORE]))
        return False

    def after(self, env, action, reward, rng):
        if not self.enabled:
            return reward, False
        ram = env.emulator.getRAM()
        player, enemy = int(ram[PLAYER_SCORE]), int(ram[ENEMY_SCORE])
        old_player, old_enemy = self._pre
        if (player != old_player) == (enemy != old_enemy) or not self.draw(rng):
            return reward, False
        if player != old_player:
            env.emulator.setRAM(PLAYER_SCORE, old_player)
            points = bcd(player) - bcd(old_player)
        else:
            env.emulator.setRAM(ENEMY_SCORE, old_enemy)
            points = bcd(old_enemy) - bcd(enemy)
        return env.ledger.cancel(reward, points, score_restored=True), True


class StartSwap(AtariEvent):
    """Mode 3 (the original's "displace to corners"): with p per frame (or step) the player jumps to
    the enemy's start position and the enemy to the player's. They are start positions, not corners."""

    name = "start_swap"

    def reset(self, env, rng):
        b = env.baseline_ram
        self._writes = ((PLAYER_X, int(b[ENEMY_X])), (PLAYER_Y, int(b[ENEMY_Y])),
                        (ENEMY_X, int(b[PLAYER_X])), (ENEMY_Y, int(b[PLAYER_Y])))

    def before(self, env, action, rng):
        if not (self.enabled and self.coin(env, rng)):
            return False
        for i, v in self._writes:
            env.emulator.setRAM(i, v)
        return True


register_atari_event("boxing", "0", None, "no event")
register_atari_event("boxing", "1", ColourFlip, "with p the boxers' colours (bodies and scores) swap, and swap back")
register_atari_event("boxing", "2", HitCancel, "a scored point is cancelled with p (score restored, net reward 0)")
register_atari_event("boxing", "3", StartSwap, "with p both boxers jump to each other's start positions")

_full = BlackoutMode(regions((32, 127, 36, 176), color=RING_GREEN), "whole ring")
_left = BlackoutMode(regions((32, 80, 36, 176), color=RING_GREEN), "left half of the ring")
_right = BlackoutMode(regions((81, 127, 36, 176), color=RING_GREEN), "right half of the ring")
_enemy = BlackoutMode(regions((87, 134, 1, 16), color=RING_GREEN), "enemy score")
_player = BlackoutMode(regions((33, 69, 1, 16), color=RING_GREEN), "player score")
_clock = BlackoutMode(regions((57, 97, 14, 27), color=RING_GREEN), "clock")

BLACKOUT_MODES = {
    "0": NONE_BLACKOUT,
    "1": BlackoutMode(union(_full, _enemy, _player, _clock), "ring, scores and clock"),
    "2": _left,
    "3": _right,
    "4": _full,
    "5": _enemy,
    "6": _player,
    "7": BlackoutMode(union(_enemy, _player), "both scores"),
    "8": _clock,
    "9": BlackoutMode(union(_enemy, _player, _clock), "both scores and the clock"),
}

RAM_MODES = {
    "0": NONE_RAM,
    "1": RamPeekMode("ring ropes hidden (colour 214)", writes=((ROPES_COLOUR, INVISIBLE),), in_frame=True,
                     always_effective=True),
    "2": RamPeekMode("enemy body and score hidden (colour 214)", writes=((ENEMY_COLOUR, INVISIBLE),), in_frame=True,
                     always_effective=True),
    "3": RamPeekMode("player body and score hidden (colour 214)", writes=((PLAYER_COLOUR, INVISIBLE),),
                     in_frame=True, always_effective=True),
}


def clock_seconds(ram) -> int:
    return 60 * (int(ram[CLOCK_MINUTES]) >> 4) + bcd(int(ram[CLOCK_SECONDS]))


STATE_FIELDS = (
    StateField("player_x", 0, 255, lambda ram, ale: int(ram[PLAYER_X]), "player x (RAM 32)"),
    StateField("player_y", 0, 255, lambda ram, ale: int(ram[PLAYER_Y]), "player y (RAM 34)"),
    StateField("enemy_x", 0, 255, lambda ram, ale: int(ram[ENEMY_X]), "enemy x (RAM 33)"),
    StateField("enemy_y", 0, 255, lambda ram, ale: int(ram[ENEMY_Y]), "enemy y (RAM 35)"),
    StateField("player_score", 0, 165, lambda ram, ale: bcd(int(ram[PLAYER_SCORE])), "player score (BCD RAM 18)"),
    StateField("enemy_score", 0, 165, lambda ram, ale: bcd(int(ram[ENEMY_SCORE])), "enemy score (BCD RAM 19)"),
    StateField("clock", 0, 1065, lambda ram, ale: clock_seconds(ram), "seconds left in the round (RAM 16-17)"),
)

def ending_soon(ram, lives: int) -> bool:
    """A round ends on the clock or by knock-out (100 points): within a step of either."""
    return clock_seconds(ram) <= 1 or max(bcd(int(ram[PLAYER_SCORE])), bcd(int(ram[ENEMY_SCORE]))) >= 95


GAME = register_game(Game(
    name="Boxing", family="boxing", rom="boxing", ram_map=RAM_MAP,
    blackout_modes=BLACKOUT_MODES, ram_modes=RAM_MODES, state_fields=STATE_FIELDS, ending_soon=ending_soon,
))
