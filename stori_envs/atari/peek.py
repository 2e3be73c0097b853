"""RAM peek (type 3.2 ``ram``): what the screen would show with a few RAM bytes changed.

Both paths call the ALE directly, so no wrapper, counter or reward bookkeeping sees the peek.

* :func:`lookahead_peek` (default and the paper's): clone the emulator state, write the bytes,
  emulate exactly one NOOP frame, read the screen, restore the state. The image is one frame ahead
  and reflects NOOP; the real trajectory (RAM, frame counters, lives, ALE's remembered score, hence
  the next reward) is untouched, because ``restoreState`` restores all of it.

  The clone leaves out ALE's own RNG by default. That RNG only decides sticky actions, which the
  engine keeps off, so it drives nothing: two ALE seeds give identical RAM in all four games, across
  resets (tested), and trajectories with and without peeks are identical (tested). Serialising the
  Mersenne-Twister state roughly doubles the cost of a clone and a restore (about 92 µs against 48 µs,
  i.e. more than a BankHeist frame, per peek). ``include_rng=True`` restores it too, bit for bit.
  :func:`lookahead_frames` and :func:`lookahead_pooled` emulate the pooled pair of look-ahead frames
  from one snapshot.
* :class:`InFrameWrite` (opt-in ``semantics.ram_peek="in_frame"``): write the bytes just before the
  observed frame is emulated and put them back right after, with no extra frame. Only modes proven
  equivalent by a determinism test may use it (``RamPeekMode.in_frame``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np

from stori_envs.atari.game import Write


def effective_writes(ale, writes: Sequence[Write]) -> list[Write]:
    """The writes that change a byte (writing a byte's current value hides nothing)."""
    if not writes:
        return []
    ram = ale.getRAM()
    return [(i, v) for i, v in writes if ram[i] != v]


def _emulate(ale, writes_now: Callable[[], Sequence[Write]], noop, reads: Sequence[Callable]) -> None:
    """One NOOP frame per entry of ``reads``: ``writes_now()`` written before it, ``read(ale)`` after it."""
    set_ram = ale.setRAM
    for read in reads:
        for index, value in writes_now():
            set_ram(index, value)
        ale.act(noop)
        read(ale)


def _max(frames: Sequence[np.ndarray]) -> np.ndarray:
    return functools.reduce(np.maximum, frames)


def _no_writes() -> Sequence[Write]:
    return ()


def lookahead_frames(ale, writes_now: Callable[[], Sequence[Write]], noop, outs: Sequence[np.ndarray],
                     verify: bool = True, include_rng: bool = False) -> bool:
    """Fill each of ``outs`` with consecutive NOOP look-ahead frames, writing ``writes_now()`` before each;
    leave the emulator as it was. One snapshot serves all the frames (the pooled RAM peek).

    Returns whether the max of ``outs`` differs from the same look-ahead without writes (taken as true
    without emulating it when ``verify=False``: a mode whose writes always show).
    """
    state = ale.cloneState(include_rng=include_rng)
    _emulate(ale, writes_now, noop, [lambda a, out=out: a.getScreenRGB(out) for out in outs])
    altered = True
    if verify:
        ale.restoreState(state)
        plain: list[np.ndarray] = []
        _emulate(ale, _no_writes, noop, [lambda a: plain.append(a.getScreenRGB())] * len(outs))
        altered = not np.array_equal(_max(plain), _max(outs))
    ale.restoreState(state)
    return altered


def lookahead_peek(ale, writes: Sequence[Write], noop, out: np.ndarray, verify: bool = True,
                   include_rng: bool = False) -> bool:
    """Fill ``out`` with the screen one NOOP frame after writing ``writes``; leave the emulator as it was
    (:func:`lookahead_frames` with one frame)."""
    return lookahead_frames(ale, lambda: writes, noop, (out,), verify, include_rng)


def lookahead_pooled(ale, writes_now: Callable[[], Sequence[Write]], noop, pool, include_rng: bool = False):
    """Two consecutive NOOP look-ahead frames, ``writes_now()`` written before each, read through ``pool``
    (a :class:`~stori_envs.atari.emulator.FramePool`: ``pool.pooled()`` is then their max); leave the
    emulator as it was."""
    state = ale.cloneState(include_rng=include_rng)
    _emulate(ale, writes_now, noop, (pool.read_first, pool.read_last))
    ale.restoreState(state)


class InFrameWrite:
    """Write bytes for the duration of one emulated frame (the in-frame fast path).

    ``begin`` remembers the current values and writes; ``end`` puts each byte back unless the game
    itself overwrote it during the frame (then the game's value is the true one and is kept).
    """

    __slots__ = ("_saved",)

    def __init__(self) -> None:
        self._saved: list[tuple[int, int, int]] = []

    def begin(self, ale, writes: Sequence[Write]) -> None:
        ram = ale.getRAM()
        self._saved = [(i, int(ram[i]), v) for i, v in writes]
        for i, v in writes:
            ale.setRAM(i, v)

    def end(self, ale) -> None:
        ram = ale.getRAM()
        for i, old, written in self._saved:
            if ram[i] == written:
                ale.setRAM(i, old)
        self._saved = []
