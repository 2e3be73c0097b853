"""BankHeist: RAM map, bomb / fuel / city / bank events (2.1), blackout and RAM-peek modes (3.2).

RAM: 0 city counter (the maze is RAM0 mod 4; the counter keeps rising as the car leaves cities,
0..29 in 60k frames of random play, so the upper bits hold the progression); 8/28 car y/x; 86 fuel
(0 full, about 25 empty); 12 bomb (0 -> 44 when FIRE drops one, 0 again when it explodes); 24-26
bank/police slots (253 bank, 254 police, 255 hidden); 66/68 city-block graphics; 69 background
colour; 85 lives; 88-90 score (BCD, most significant first; ALE pays from it). A robbery changes its
slot from 253 to 255 and pays on that same frame (44 of 44 robberies in 60k random frames).
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

CITY, CAR_Y, CAR_X, BOMB, FUEL, LIVES = 0, 8, 28, 12, 86, 85
SLOTS = (24, 25, 26)
BANK, POLICE, HIDDEN = 253, 254, 255
BLOCKS = (66, 68)
BACKGROUND = 69
SCORE = (88, 89, 90)
LEAK_FUEL = 12
#: Background colour that blends blocks and walls away, per maze (RAM0 mod 4).
BLEND = (30, 190, 46, 126)

RAM_MAP = {
    "city": "0 (maze = value mod 4; upper bits: city counter)", "car_y": "8", "car_x": "28", "bomb": "12",
    "slots": "24-26 (253 bank, 254 police, 255 hidden)", "blocks": "66, 68 (city-block graphics)",
    "background": "69", "lives": "85", "fuel": "86 (0 full .. about 25 empty)", "score": "88-90 (BCD)",
}


def score(ram: np.ndarray) -> int:
    return bcd_number(ram, SCORE)


class BombDud(AtariEvent):
    """Mode 1: when a bomb is dropped (RAM12 leaves its start value), with p it vanishes (a dud).

    Fixed: fires on the drop only. Original: on any change of RAM12 while it differs from its start
    value, which also catches the byte's later steps (44 -> 36 -> 60 -> 44 in random play) and then
    freezes it at its previous value.
    """

    name = "bomb_dud"

    def before(self, env, action, rng):
        if self.enabled:
            self._pre = int(env.emulator.getRAM()[BOMB])
        return False

    def after(self, env, action, reward, rng):
        if not self.enabled:
            return reward, False
        bomb, start = int(env.emulator.getRAM()[BOMB]), int(env.baseline_ram[BOMB])
        if bomb == self._pre or bomb == start or (self.fixes and self._pre != start) or not self.draw(rng):
            return reward, False
        env.emulator.setRAM(BOMB, self._pre)
        return reward, True


class FuelLeak(AtariEvent):
    """Mode 2: once per maze and episode, with p per frame (or step) the tank leaks to half (fuel 12)."""

    name = "fuel_leak"

    def reset(self, env, rng):
        self.processed: set[int] = set()

    def after(self, env, action, reward, rng):
        if not self.enabled or (self.per_step and env.frame_in_step):
            return reward, False
        ram = env.emulator.getRAM()
        city = int(ram[CITY]) % 4
        if city in self.processed or not self.draw(rng):
            return reward, False
        self.processed.add(city)
        if ram[FUEL] < LEAK_FUEL:
            env.emulator.setRAM(FUEL, LEAK_FUEL)
            return reward, True
        return reward, False


class CitySwitch(AtariEvent):
    """Mode 3: with p per frame (or step) the car is moved to another maze (uniform among the other three).

    Fixed: only the maze bits (RAM0 mod 4) change and the city counter in the upper bits is kept.
    Original: RAM0 is overwritten with the plain maze id 0-3, which resets the counter.
    """

    name = "city_switch"

    def after(self, env, action, reward, rng):
        if not (self.enabled and self.coin(env, rng)):
            return reward, False
        current = int(env.emulator.getRAM()[CITY])
        other = int(rng.integers(3))
        other += other >= current % 4  # uniform over the three other mazes
        env.emulator.setRAM(CITY, (current & ~3) | other if self.fixes else other)
        return reward, True


class BankEmpty(AtariEvent):
    """Mode 4: a robbed bank was empty with p: the robbery pays nothing.

    Fixed: fires on a robbery (a slot leaves 253 on a frame that pays), takes exactly its points off
    the score bytes and lets the reward ledger absorb ALE's correction, so screen and reward agree.
    Original: fires on any departure from 253 and zeroes that frame's reward; the screen still counts.
    """

    name = "bank_empty"

    def before(self, env, action, rng):
        if self.enabled:
            self._pre = env.emulator.getRAM()
        return False

    def after(self, env, action, reward, rng):
        if not self.enabled:
            return reward, False
        pre = self._pre
        ram = env.emulator.getRAM()
        if ram[24:27].tobytes() == pre[24:27].tobytes() or not any(pre[s] == BANK and ram[s] != BANK for s in SLOTS):
            return reward, False
        points = score(ram) - score(pre)
        if (self.fixes and points <= 0) or not self.draw(rng):
            return reward, False
        if self.fixes:
            for i in SCORE:
                env.emulator.setRAM(i, int(pre[i]))
        return env.ledger.cancel(reward, points, score_restored=self.fixes), True


register_atari_event("bankheist", "0", None, "no event")
register_atari_event("bankheist", "1", BombDud, "a dropped bomb is a dud with p")
register_atari_event("bankheist", "2", FuelLeak, "once per maze, with p the tank leaks to half")
register_atari_event("bankheist", "3", CitySwitch, "with p the car is moved to another maze")
register_atari_event("bankheist", "4", BankEmpty, "a robbed bank is empty with p: no points")

_top = BlackoutMode(regions((12, 147, 37, 44)), "top wall")
_left = BlackoutMode(regions((12, 15, 37, 177)), "left wall")
_bottom = BlackoutMode(regions((12, 147, 173, 177)), "bottom wall")
_right = BlackoutMode(regions((144, 147, 37, 177)), "right wall")
_fuel = BlackoutMode(regions((12, 73, 11, 36), color=(0, 0, 148)), "fuel gauge")
_lives = BlackoutMode(regions((78, 147, 11, 36), color=(0, 0, 148)), "lives")
_score = BlackoutMode(regions((12, 147, 178, 186), color=(162, 98, 33)), "score")
_walls = union(_top, _left, _bottom, _right)

BLACKOUT_MODES = {
    "0": NONE_BLACKOUT,
    "1": BlackoutMode(union(_walls, _fuel, _lives, _score), "walls, fuel, lives and score"),
    "2": BlackoutMode(_walls, "all four walls"),
    "3": _top,
    "4": _left,
    "5": _bottom,
    "6": _right,
    "7": BlackoutMode(union(_left, _right), "left and right walls"),
    "8": _fuel,
    "9": _lives,
    "10": _score,
}


def _slot_writes(value: int):
    def writes(ram: np.ndarray) -> tuple[tuple[int, int], ...]:
        return tuple((s, HIDDEN) for s in SLOTS if ram[s] == value)

    return writes


def _blend_writes(ram: np.ndarray) -> tuple[tuple[int, int], ...]:
    return ((BACKGROUND, BLEND[int(ram[CITY]) % 4]),)


RAM_MODES = {
    "0": NONE_RAM,
    "1": RamPeekMode("car hidden (moved off the road)", writes=((CAR_Y, 155), (CAR_X, 12))),
    "2": RamPeekMode("fuel gauge shows full", writes=((FUEL, 0),), always_effective=True),
    # Not in-frame: blocks drawn as nothing also collide as nothing, so the car drives through them (tested).
    "3": RamPeekMode("city blocks hidden (one column remains, as in the paper)", writes=((66, 0), (68, 0)),
                     always_effective=True),
    "4": RamPeekMode("blocks and walls blended into the background colour", dynamic=_blend_writes, in_frame=True,
                     always_effective=True),
    "5": RamPeekMode("banks hidden", dynamic=_slot_writes(BANK)),
    "6": RamPeekMode("police cars hidden", dynamic=_slot_writes(POLICE)),
}

STATE_FIELDS = (
    StateField("car_x", 0, 255, lambda ram, ale: int(ram[CAR_X]), "car x (RAM 28)"),
    StateField("car_y", 0, 255, lambda ram, ale: int(ram[CAR_Y]), "car y (RAM 8)"),
    StateField("maze", 0, 3, lambda ram, ale: int(ram[CITY]) & 3, "maze id (RAM 0 mod 4)"),
    StateField("city", 0, 255, lambda ram, ale: int(ram[CITY]), "city counter (RAM 0)"),
    StateField("fuel", 0, 255, lambda ram, ale: int(ram[FUEL]), "fuel used (RAM 86; 0 = full)"),
    StateField("bomb", 0, 255, lambda ram, ale: int(ram[BOMB]), "bomb timer (RAM 12; 0 = none)"),
    StateField("banks", 0, 3, lambda ram, ale: sum(int(ram[s] == BANK) for s in SLOTS), "banks on screen"),
    StateField("police", 0, 3, lambda ram, ale: sum(int(ram[s] == POLICE) for s in SLOTS), "police cars on screen"),
    StateField("lives", 0, 255, lambda ram, ale: int(ale.lives()), "lives left (ALE)"),
    StateField("score", 0, 999_999, lambda ram, ale: score(ram), "score (BCD RAM 88-90)"),
)

GAME = register_game(Game(
    name="BankHeist", family="bankheist", rom="bank_heist", ram_map=RAM_MAP,
    blackout_modes=BLACKOUT_MODES, ram_modes=RAM_MODES, state_fields=STATE_FIELDS,
    action_sets={"paper": tuple(range(10)), "no_fire": (0, *range(2, 10)), "all": None},
    # ALE counts BankHeist's spare lives: the game ends when the car is lost with none left.
    ending_soon=lambda ram, lives: lives == 0,
))
