"""Gopher: RAM map, fill-cancel and carrot events (2.1), blackout and RAM-peek modes (3.2).

RAM: tunnels 0-23 (4 rows of 6 TIA playfield bytes, top to bottom, not 6 equal columns); 31 farmer x
(about 19..148); 48-50 score (BCD, most significant first); 52 carrots (bit 2 left, 1 middle, 0
right); 92 seed y (128 = hidden); 95 seed x; 94 duck state.

Measured on ale-py 0.12 with random play (40k frames): the gopher *sets* tunnel bits when it digs
(991 frames, never paid); the farmer's fills *clear* them, and every fill pays its 20 points on the
very frame the bits clear (57 of 57); the only unpaid clears are the board reset after a lost life.
About half the fills land on frames without a shovel action (the fill animation runs on). The
original's trigger (a shovel action and *any* tunnel change under the farmer) therefore mostly
catches the gopher digging; the fixed trigger (``game_fixes``) is a real fill: tunnel bits cleared
on a frame that pays the 20 fill points.
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
    to_bcd,
    union,
)

TUNNELS = slice(0, 24)
FARMER_X, CARROTS, SEED_Y, DUCK, SEED_X = 31, 52, 92, 94, 95
SCORE = (48, 49, 50)
FILL_POINTS = 20
#: ALE action ids of the shovel: FIRE, UPFIRE, RIGHTFIRE, LEFTFIRE (indices 1, 5, 6, 7 of the minimal set).
SHOVEL_ACTIONS = frozenset((1, 10, 11, 12))
CARROT_BITS = (2, 1, 0)  # left, middle, right
CARROT_DELAY = 238  # frames after which carrots may be taken

RAM_MAP = {
    "tunnels": "0-23: 4 rows of 6 playfield bytes (set bits = dug)",
    "farmer_x": "31", "score": "48-50 (BCD)", "carrots": "52 (bit 2 left, 1 middle, 0 right)",
    "seed_y": "92 (128 = no seed)", "duck": "94", "seed_x": "95",
}


def score(ram: np.ndarray) -> int:
    return bcd_number(ram, SCORE)


COLUMN_X0, COLUMN_SPAN = 19, 130  # the farmer's x range 19..148 cut into 6 columns of 130/6 pixels


def _column_covers(byte: int, farmer_x: int) -> bool:
    """The original's byte -> x map: column c = byte mod 6 spans [19 + 130c/6, 19 + 130(c+1)/6 - 1].

    Exact rational arithmetic (times 6, in integers); the rounded constants 21.67 and 20.67 put the
    start of column 3 at 84.01 and missed the farmer at x = 84.
    """
    c = byte % 6
    lo6 = 6 * COLUMN_X0 + COLUMN_SPAN * c
    return lo6 <= 6 * farmer_x <= lo6 + COLUMN_SPAN - 6


class FillCancel(AtariEvent):
    """Mode 1: a hole the farmer fills opens again with p (one draw per fill); the points stay paid.

    Fixed trigger (``game_fixes=True``): tunnel bits cleared on a frame that pays the 20 fill points;
    exactly the filled bits are reopened. Original: on a shovel action (1, 5, 6, 7), when tunnel bytes
    changed and the tunnels differ from the start, the changed bytes whose approximate column covers
    the farmer are written back (mostly undoing the gopher's digging, see the module docstring).
    """

    name = "fill_restore"
    cancels_reward = False

    def reset(self, env, rng):
        # Indices of the env's action space that dig (the minimal or the full action set).
        self._shovel = frozenset(i for i, a in enumerate(env.ale_actions) if a.value in SHOVEL_ACTIONS)

    def before(self, env, action, rng):
        watch = self.enabled and (self.fixes or action in self._shovel)
        self._pre = env.emulator.getRAM() if watch else None
        return False

    def after(self, env, action, reward, rng):
        pre = self._pre
        if pre is None:
            return reward, False
        ale = env.emulator
        ram = ale.getRAM()
        if ram[TUNNELS].tobytes() == pre[TUNNELS].tobytes():  # the usual frame: no tunnel changed
            return reward, False
        if self.fixes:
            lost = pre[TUNNELS] & ~ram[TUNNELS]
            filled = np.flatnonzero(lost)
            if filled.size == 0:
                return reward, False
            gained = score(ram) - score(pre)
            if gained < FILL_POINTS or (gained - FILL_POINTS) % 100 or not self.draw(rng):
                return reward, False
            for i in filled:
                ale.setRAM(int(i), int(ram[i] | lost[i]))
        else:
            changed = np.flatnonzero(ram[TUNNELS] != pre[TUNNELS])
            if changed.size == 0 or not np.any(ram[TUNNELS] != env.baseline_ram[TUNNELS]) or not self.draw(rng):
                return reward, False
            farmer_x = int(ram[FARMER_X])
            restored = [int(i) for i in changed if _column_covers(int(i), farmer_x)]
            if not restored:
                return reward, False
            for i in restored:
                ale.setRAM(i, int(pre[i]))
            gained = score(ram) - score(pre)
        if self.cancels_reward:
            points = FILL_POINTS if gained >= FILL_POINTS and (gained - FILL_POINTS) % 100 == 0 else 0
            if self.fixes:
                for i, v in zip(SCORE, to_bcd(score(ram) - points, len(SCORE))):
                    ale.setRAM(i, v)
            reward = env.ledger.cancel(reward, points, score_restored=self.fixes and points > 0)
        return reward, True


class FillCancelNoReward(FillCancel):
    """Mode 2: as mode 1, and a cancelled fill never pays.

    Fixed: the 20 points are taken off the score bytes too and the reward ledger absorbs ALE's
    correction (net exactly 0; screen and reward agree). Original (``reward="original"``): the
    frame's reward is 0 whenever something was restored, whatever it paid for.
    """

    name = "fill_cancel"
    cancels_reward = True


class CarrotKill(AtariEvent):
    """Mode 3: once per episode, after frame 238, with p per frame (or step) one visible carrot goes.

    Fixed: counts the episode's frames and never takes the last carrot. Original: counts the
    emulator's global frames (since the last seeded reset, where ``ALE/<Game>-v5`` reloads the ROM),
    so the delay applies to the first episode only, and may take the last carrot.
    """

    name = "carrot_kill"

    def reset(self, env, rng):
        self.done = False

    def after(self, env, action, reward, rng):
        if self.done or not self.enabled or (self.per_step and env.frame_in_step):
            return reward, False
        ale = env.emulator
        frame = ale.getEpisodeFrameNumber() if self.fixes else env.frame_number
        if frame <= CARROT_DELAY:
            return reward, False
        carrots = int(ale.getRAM()[CARROTS])
        visible = [b for b in CARROT_BITS if carrots >> b & 1]
        if len(visible) < (2 if self.fixes else 1) or not self.draw(rng):
            return reward, False
        bit = visible[rng.integers(len(visible))]
        ale.setRAM(CARROTS, carrots & ~(1 << bit))
        self.done = True
        return reward, True


register_atari_event("gopher", "0", None, "no event")
register_atari_event("gopher", "1", FillCancel, "a filled hole opens again with p (points kept)")
register_atari_event("gopher", "2", FillCancelNoReward, "a filled hole opens again with p and the fill pays nothing")
register_atari_event("gopher", "3", CarrotKill, "once per episode, after frame 238, with p a carrot disappears")

BEFORE_DUG, AFTER_DUG = (187, 159, 71), (223, 183, 85)
_STRIP_BANDS = (((146, 150), (101, 209, 174)), ((151, 155), (117, 231, 194)), ((156, 160), (132, 252, 212)))


def _strip(x0: int, x1: int, name: str) -> BlackoutMode:
    return BlackoutMode(tuple(r for (y0, y1), c in _STRIP_BANDS for r in regions((x0, x1, y0, y1), color=c)), name)


_left = _strip(0, 59, "left attack strip")
_right = _strip(100, 159, "right attack strip")
_ROWS = ((161, 168), (168, 176), (176, 182), (183, 194))


def _underground(y0: int, color, name: str) -> BlackoutMode:
    return BlackoutMode(regions((0, 159, y0, 200), color=color), name)


_farmer = BlackoutMode(regions((0, 159, 87, 145)), "farmer")
_duck = BlackoutMode(regions((0, 159, 26, 56)), "duck")
_score = BlackoutMode(regions((0, 159, 0, 25)), "score")

BLACKOUT_MODES = {
    "0": NONE_BLACKOUT,
    "1": BlackoutMode(union(_underground(161, BEFORE_DUG, ""), _farmer, _duck, _score, _left, _right),
                      "everything: underground, farmer, duck, score and both attack strips"),
    "2": BlackoutMode(union(_left, _right), "both attack strips"),
    "3": _left,
    "4": _right,
    "5": _underground(161, BEFORE_DUG, "underground"),
    "6": _underground(164, BEFORE_DUG, "underground below the hole openings"),
}
for _i, (_y0, _y1) in enumerate(_ROWS):
    BLACKOUT_MODES[str(7 + 2 * _i)] = BlackoutMode(regions((0, 159, _y0, _y1), color=BEFORE_DUG),
                                                   f"tunnel row {_i} (undug colour)")
    BLACKOUT_MODES[str(8 + 2 * _i)] = BlackoutMode(regions((0, 159, _y0, _y1), color=AFTER_DUG),
                                                   f"tunnel row {_i} (dug colour)")
BLACKOUT_MODES.update({
    "15": _farmer,
    "16": BlackoutMode(regions((0, 159, 104, 145)), "farmer below the nose"),
    "17": _duck,
    "18": _score,
})


def _carrot_writes(bits: tuple[int, ...]):
    mask = sum(1 << b for b in bits)

    def writes(ram: np.ndarray) -> tuple[tuple[int, int], ...]:
        carrots = int(ram[CARROTS])
        return ((CARROTS, carrots & ~mask),) if carrots & mask else ()

    return writes


def _seed_writes(ram: np.ndarray) -> tuple[tuple[int, int], ...]:
    return ((SEED_Y, 128),) if ram[SEED_Y] != 128 else ()


RAM_MODES = {
    "0": NONE_RAM,
    "1": RamPeekMode("left carrot hidden", dynamic=_carrot_writes((2,)), always_effective=True),
    "2": RamPeekMode("middle carrot hidden", dynamic=_carrot_writes((1,)), always_effective=True),
    "3": RamPeekMode("right carrot hidden", dynamic=_carrot_writes((0,)), always_effective=True),
    "4": RamPeekMode("all carrots hidden", dynamic=_carrot_writes((2, 1, 0)), always_effective=True),
    "5": RamPeekMode("the duck's seed hidden (seed y = 128)", dynamic=_seed_writes),
}

STATE_FIELDS = (
    StateField("farmer_x", 0, 255, lambda ram, ale: int(ram[FARMER_X]), "farmer x (RAM 31)"),
    StateField("carrots", 0, 3, lambda ram, ale: bin(int(ram[CARROTS]) & 7).count("1"), "carrots left (RAM 52)"),
    StateField("score", 0, 999_999, lambda ram, ale: score(ram), "score (BCD RAM 48-50)"),
    StateField("seed_x", 0, 255, lambda ram, ale: int(ram[SEED_X]), "duck's seed x (RAM 95)"),
    StateField("seed_y", 0, 255, lambda ram, ale: int(ram[SEED_Y]), "duck's seed y (RAM 92; 128 = none)"),
    StateField("duck", 0, 255, lambda ram, ale: int(ram[DUCK]), "duck state (RAM 94)"),
    StateField("lives", 0, 255, lambda ram, ale: int(ale.lives()), "lives left (ALE)"),
    StateField("tunnels_dug", 0, 192, lambda ram, ale: int(np.unpackbits(ram[TUNNELS]).sum()),
               "dug tunnel bits (RAM 0-23)"),
)

GAME = register_game(Game(
    name="Gopher", family="gopher", rom="gopher", ram_map=RAM_MAP,
    blackout_modes=BLACKOUT_MODES, ram_modes=RAM_MODES, state_fields=STATE_FIELDS,
))
