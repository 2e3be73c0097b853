"""Every 3.2 mode of every game on the real emulator: blackout, crop and RAM peek at p = 1, 0 and 0.5.

The regions, colours and byte writes below are typed from the spec (stori-taxonomy.md §3), not taken
from the implementation.
"""

from __future__ import annotations

import numpy as np
import pytest
from ale_py import Action
from atari_support import lockstep, make, peek_image, profile, random_policy, state_where, twin
from helpers import assert_rate

BLACK = (0, 0, 0)
GREEN = (110, 156, 66)
BEFORE, AFTER = (187, 159, 71), (223, 183, 85)
S1, S2, S3 = (101, 209, 174), (117, 231, 194), (132, 252, 212)
NAVY, BROWN = (0, 0, 148), (162, 98, 33)


def _strip(x0, x1):
    return [(x0, x1, 146, 150, S1), (x0, x1, 151, 155, S2), (x0, x1, 156, 160, S3)]


_BK = {"blocks": (8, 151, 57, 92, BLACK), "paddle": (7, 152, 189, 195, BLACK), "score": (2, 158, 3, 16, BLACK),
       "top": (8, 151, 105, 130, BLACK), "mid": (8, 151, 131, 156, BLACK), "bot": (8, 151, 157, 182, BLACK)}
_BX = {"full": (32, 127, 36, 176, GREEN), "left": (32, 80, 36, 176, GREEN), "right": (81, 127, 36, 176, GREEN),
       "enemy": (87, 134, 1, 16, GREEN), "player": (33, 69, 1, 16, GREEN), "clock": (57, 97, 14, 27, GREEN)}
_GO_ROWS = [(161, 168), (168, 176), (176, 182), (183, 194)]
_BH = {"top": (12, 147, 37, 44, BLACK), "left": (12, 15, 37, 177, BLACK), "bottom": (12, 147, 173, 177, BLACK),
       "right": (144, 147, 37, 177, BLACK), "fuel": (12, 73, 11, 36, NAVY), "lives": (78, 147, 11, 36, NAVY),
       "score": (12, 147, 178, 186, BROWN)}

BLACKOUT = {
    "Breakout": {
        "1": [_BK[k] for k in ("blocks", "paddle", "score", "top", "mid", "bot")],
        "2": [_BK["blocks"]], "3": [_BK["paddle"]], "4": [_BK["score"]], "5": [_BK["top"]], "6": [_BK["mid"]],
        "7": [_BK["bot"]], "8": [_BK["blocks"], _BK["paddle"]], "9": [_BK["blocks"], _BK["score"]],
        "10": [_BK["top"], _BK["bot"]], "11": [_BK["top"], _BK["mid"], _BK["bot"]],
    },
    "Boxing": {
        "1": [_BX[k] for k in ("full", "enemy", "player", "clock")],
        "2": [_BX["left"]], "3": [_BX["right"]], "4": [_BX["full"]], "5": [_BX["enemy"]], "6": [_BX["player"]],
        "7": [_BX["enemy"], _BX["player"]], "8": [_BX["clock"]], "9": [_BX["enemy"], _BX["player"], _BX["clock"]],
    },
    "Gopher": {
        "1": [(0, 159, 161, 200, BEFORE), (0, 159, 87, 145, BLACK), (0, 159, 26, 56, BLACK), (0, 159, 0, 25, BLACK)]
        + _strip(0, 59) + _strip(100, 159),
        "2": _strip(0, 59) + _strip(100, 159), "3": _strip(0, 59), "4": _strip(100, 159),
        "5": [(0, 159, 161, 200, BEFORE)], "6": [(0, 159, 164, 200, BEFORE)],
        **{str(7 + 2 * i): [(0, 159, y0, y1, BEFORE)] for i, (y0, y1) in enumerate(_GO_ROWS)},
        **{str(8 + 2 * i): [(0, 159, y0, y1, AFTER)] for i, (y0, y1) in enumerate(_GO_ROWS)},
        "15": [(0, 159, 87, 145, BLACK)], "16": [(0, 159, 104, 145, BLACK)], "17": [(0, 159, 26, 56, BLACK)],
        "18": [(0, 159, 0, 25, BLACK)],
    },
    "BankHeist": {
        "1": [_BH[k] for k in ("top", "left", "bottom", "right", "fuel", "lives", "score")],
        "2": [_BH[k] for k in ("top", "left", "bottom", "right")], "3": [_BH["top"]], "4": [_BH["left"]],
        "5": [_BH["bottom"]], "6": [_BH["right"]], "7": [_BH["left"], _BH["right"]], "8": [_BH["fuel"]],
        "9": [_BH["lives"]], "10": [_BH["score"]],
    },
}
N_ACTIONS = {"Breakout": 4, "Boxing": 18, "Gopher": 8, "BankHeist": 18}
CASES = [(g, m) for g, modes in BLACKOUT.items() for m in modes]
# Rare sights, reached by random play: the duck (Gopher's y 26-56) comes once a carrot is gone; the
# gopher surfaces in an attack strip (the grass bands) now and then.


def _shows(x0, x1):
    return lambda ale: bool(np.any(ale.getScreenRGB()[146:161, x0:x1 + 1] != [[S1]] * 5 + [[S2]] * 5 + [[S3]] * 5))


BLACKOUT_STATES = {("Gopher", "17"): ("gopher", lambda ale: bool(ale.getScreenRGB()[26:57].any())),
                   ("Gopher", "3"): ("gopher", _shows(0, 59)), ("Gopher", "4"): ("gopher", _shows(100, 159))}


def _expected_fill(truth: np.ndarray, rects) -> tuple[np.ndarray, np.ndarray]:
    out, mask = truth.copy(), np.zeros(truth.shape[:2], bool)
    for x0, x1, y0, y1, colour in rects:
        out[y0:y1 + 1, x0:x1 + 1] = colour
        mask[y0:y1 + 1, x0:x1 + 1] = True
    return out, mask


@pytest.mark.parametrize("game, mode", CASES)
def test_blackout_mode_fills_its_regions_and_nothing_else(game, mode):
    rects = BLACKOUT[game][mode]
    envs = [twin(game), make(game, profile("blackout", mode, 1.0)), make(game, profile("blackout", mode, 0.0)),
            make(game, profile("blackout", mode, 0.5))]
    changed = np.zeros(len(rects), bool)
    altered = n = 0
    state = state_where(*BLACKOUT_STATES[(game, mode)]) if (game, mode) in BLACKOUT_STATES else None
    for _, ((truth, *_), (hidden, *_), (off, *_), (half, *_, info)) in lockstep(
            envs, 0, 100, random_policy(N_ACTIONS[game], 1), state):
        expected, _ = _expected_fill(truth, rects)
        assert np.array_equal(hidden, expected)  # the regions hold their colours, the rest is unchanged
        assert np.array_equal(off, truth)
        assert np.array_equal(half, expected if info["stori"]["observation_altered"] else truth)
        altered += info["stori"]["observation_altered"]
        n += 1
        for i, (x0, x1, y0, y1, colour) in enumerate(rects):
            changed[i] |= bool(np.any(truth[y0:y1 + 1, x0:x1 + 1] != colour))
    assert changed.any(), "the mode's regions never showed anything to hide"
    assert_rate(altered, n, 0.5)


@pytest.mark.parametrize("game", list(BLACKOUT))
@pytest.mark.parametrize("mode", ["1", "2", "3", "4", "5"])
def test_crop_modes_on_every_game(game, mode):
    envs = [twin(game), make(game, profile("crop", mode, 1.0)), make(game, profile("crop", mode, 0.0)),
            make(game, profile("crop", mode, 0.5))]
    ys, xs = np.mgrid[0:210, 0:160]
    hidden_area = {"1": xs < 80, "2": xs >= 80, "3": ys < 105, "4": ys >= 105}.get(mode)
    altered = n = 0
    for _, ((truth, *_), (hidden, *_), (off, *_), (half, *_, info)) in lockstep(
            envs, 0, 60, random_policy(N_ACTIONS[game], 2)):
        assert np.array_equal(off, truth)
        if hidden_area is not None:
            assert np.all(hidden[hidden_area] == 0) and np.array_equal(hidden[~hidden_area], truth[~hidden_area])
        else:
            kept = np.all(hidden == truth, axis=2) & np.any(truth > 0, axis=2)
            assert np.all((hidden == truth) | (hidden == 0))
            if kept.any():  # everything kept lies in one disc of radius 75
                ky, kx = ys[kept], xs[kept]
                assert ky.max() - ky.min() <= 150 and kx.max() - kx.min() <= 150
            assert np.any(hidden != truth)
        if info["stori"]["observation_altered"]:
            altered += 1
            assert not np.array_equal(half, truth) or not np.any(truth)
        else:
            assert np.array_equal(half, truth)
        n += 1
    assert_rate(altered, n, 0.5)


# RAM peek writes, from the spec. Each returns the writes for the current RAM (empty: nothing to hide).
def _carrot(mask):
    return lambda ram: [(52, int(ram[52]) & ~mask)] if ram[52] & mask else []


RAM_MODES = {
    ("Breakout", "1"): lambda ram: [(0, 62), (1, 61), (2, 60), (3, 62), (5, 60), (6, 240), (7, 127), (8, 120),
                                    (9, 112), (10, 119), (11, 120), (12, 0)] + [(i, 240) for i in range(13, 18)]
    + [(18, 57), (19, 218)] + [(i, 219) for i in range(20, 24)]
    + [(24, 239), (25, 239), (26, 238), (27, 237), (28, 235), (29, 231)],
    ("Breakout", "2"): lambda ram: [(99, 0), (101, 0)],
    ("Boxing", "1"): lambda ram: [(3, 214)],
    ("Boxing", "2"): lambda ram: [(2, 214)],
    ("Boxing", "3"): lambda ram: [(1, 214)],
    ("Gopher", "1"): _carrot(4), ("Gopher", "2"): _carrot(2), ("Gopher", "3"): _carrot(1), ("Gopher", "4"): _carrot(7),
    ("Gopher", "5"): lambda ram: [(92, 128)] if ram[92] != 128 else [],
    ("BankHeist", "1"): lambda ram: [(8, 155), (28, 12)],
    ("BankHeist", "2"): lambda ram: [(86, 0)],
    ("BankHeist", "3"): lambda ram: [(66, 0), (68, 0)],
    ("BankHeist", "4"): lambda ram: [(69, {0: 30, 1: 190, 2: 46, 3: 126}[int(ram[0]) % 4])],
    ("BankHeist", "5"): lambda ram: [(s, 255) for s in (24, 25, 26) if ram[s] == 253],
    ("BankHeist", "6"): lambda ram: [(s, 255) for s in (24, 25, 26) if ram[s] == 254],
}

# States where the hidden thing exists, reached by random play and restored into every env.
NEEDS_STATE = {("Gopher", "5"): ("gopher", lambda ale: ale.getRAM()[92] != 128),
               ("BankHeist", "2"): ("bank_heist", lambda ale: ale.getRAM()[86] > 2),
               ("BankHeist", "6"): ("bank_heist", lambda ale: 254 in ale.getRAM()[24:27])}


@pytest.mark.parametrize("game, mode", list(RAM_MODES))
def test_ram_peek_mode_writes_its_bytes_in_a_lookahead_and_leaves_the_game_alone(game, mode):
    writes_for = RAM_MODES[(game, mode)]
    envs = [twin(game, 1), make(game, profile("ram", mode, 1.0), frameskip=1),
            make(game, profile("ram", mode, 0.0), frameskip=1), make(game, profile("ram", mode, 0.5), frameskip=1)]
    for env in envs:
        env.reset(seed=0)
    if (game, mode) in NEEDS_STATE:
        state = state_where(*NEEDS_STATE[(game, mode)])
        for env in envs:
            env.unwrapped.ale.restoreState(state)
    truth_ale = envs[0].unwrapped.ale
    hides = altered = hideable = 0
    policy = random_policy(N_ACTIONS[game], 4)
    for _ in range(150):
        a = policy(None)
        results = [env.step(a) for env in envs]
        (truth, r0, t0, _, _), (hidden, r1, t1, _, i1), (off, *_), (half, *_, info) = results
        writes = writes_for(truth_ale.getRAM())
        # The flag says whether the image changed: the same look-ahead without the bytes is the reference.
        effective = bool(writes) and not np.array_equal(peek_image(truth_ale, writes), peek_image(truth_ale, []))
        expected = peek_image(truth_ale, writes) if effective else truth
        assert np.array_equal(hidden, expected) and i1["stori"]["observation_altered"] == effective
        assert np.array_equal(off, truth)
        for env in envs[1:]:  # the peeks leave RAM, rewards and termination alone
            assert np.array_equal(env.unwrapped.ale.getRAM(), truth_ale.getRAM())
        assert (r1, t1) == (r0, t0)
        if effective:
            hideable += 1
            hides += 1
            altered += info["stori"]["observation_altered"]
            assert np.array_equal(half, expected if info["stori"]["observation_altered"] else truth)
        if t0:
            break
    assert hides > 0, "the mode never hid anything"
    assert_rate(altered, hideable, 0.5)


def _lookahead_pair(ale, writes):
    """Two NOOP frames after the step, the bytes written before each, from one snapshot (with RNG)."""
    state = ale.cloneState(include_rng=True)
    frames = []
    for _ in range(2):
        for i, v in writes:
            ale.setRAM(i, v)
        ale.act(Action.NOOP)
        frames.append(ale.getScreenRGB())
    ale.restoreState(state)
    return frames


@pytest.mark.parametrize("timing", ["per_observation", "per_frame"])
def test_pooled_ram_peek(timing):
    """Per observation: the max of two look-ahead frames after the step. Per frame (paper): each pooled
    frame is its own one-frame look-ahead."""
    env = make("BankHeist", profile("ram", "3", 1.0, po_timing=timing))
    per_frame = twin("BankHeist", 1)
    env.reset(seed=0)
    per_frame.reset(seed=0)
    ale = per_frame.unwrapped.ale
    policy = random_policy(18, 5)
    writes = [(66, 0), (68, 0)]
    for _ in range(60):
        a = policy(None)
        obs, *_, info = env.step(a)
        peeks = []
        for _ in range(4):
            per_frame.step(a)
            peeks.append(peek_image(ale, writes))
        expected = _lookahead_pair(ale, writes) if timing == "per_observation" else peeks[-2:]
        assert np.array_equal(obs, np.maximum(*expected)) and info["stori"]["observation_altered"]
        assert np.array_equal(env.unwrapped.ale.getRAM(), ale.getRAM())


def test_enemy_hiding_under_paper_timing_hides_with_one_minus_one_minus_p_squared():
    """Boxing's black enemy made ring-green: a bright fill wins the max-pool if either frame drew it."""
    n, p = 600, 0.7
    env = make("Boxing", profile("ram", "2", p, po_timing="per_frame"))
    env.reset(seed=0)
    shown = 0
    for _ in range(n):
        obs, *_ = env.step(0)
        ring = obs[36:177, 32:128]
        shown += bool(np.any(np.all(ring == 0, axis=2)))  # the enemy is the only black thing in the ring
    assert_rate(n - shown, n, 1 - (1 - p) ** 2)
