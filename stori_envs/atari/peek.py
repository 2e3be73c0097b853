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
* :class:`InFrameWrite` (opt-in ``semantics.ram_peek="in_frame"``): write the bytes just before the
  observed frame is emulated and put them back right after, with no extra frame. Only modes proven
  equivalent by a determinism test may use it (``RamPeekMode.in_frame``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from stori_envs.atari.game import Write


def effective_writes(ale, writes: Sequence[Write]) -> list[Write]:
    """The writes that change a byte (writing a byte's current value hides nothing)."""
    if not writes:
        return []
    ram = ale.getRAM()
    return [(i, v) for i, v in writes if ram[i] != v]


def _held(ale, writes: Sequence[Write]) -> bool:
    """Whether every written byte still holds the written value after the frame (the game did not rewrite it)."""
    ram = ale.getRAM()
    return all(ram[i] == v for i, v in writes)


def lookahead_peek(ale, writes: Sequence[Write], noop, out: np.ndarray, include_rng: bool = False) -> bool:
    """Fill ``out`` with the screen one NOOP frame after writing ``writes``; leave the emulator as it was.

    Returns whether the image differs from the same look-ahead without the writes. That is checked
    only when the game rewrote a written byte during the frame (otherwise the frame was drawn with the
    bytes, and the writes are effective by construction), so the usual cost is one RAM read.
    """
    state = ale.cloneState(include_rng=include_rng)
    set_ram = ale.setRAM
    for index, value in writes:
        set_ram(index, value)
    ale.act(noop)
    ale.getScreenRGB(out)
    altered = _held(ale, writes)
    if not altered:
        ale.restoreState(state)
        ale.act(noop)
        altered = not np.array_equal(ale.getScreenRGB(), out)
    ale.restoreState(state)
    return altered


def lookahead_frames(ale, writes_now: Callable[[], Sequence[Write]], noop, outs: Sequence[np.ndarray],
                     include_rng: bool = False) -> bool:
    """Fill each of ``outs`` with consecutive NOOP look-ahead frames, writing ``writes_now()`` before each;
    leave the emulator as it was. One snapshot serves all the frames (the pooled RAM peek).

    Returns whether the max of ``outs`` differs from the same look-ahead without writes (checked by a
    second look-ahead only when the game rewrote a written byte during one of the frames).
    """
    state = ale.cloneState(include_rng=include_rng)
    set_ram = ale.setRAM
    held = True
    for out in outs:
        writes = writes_now()
        for index, value in writes:
            set_ram(index, value)
        ale.act(noop)
        ale.getScreenRGB(out)
        held = held and _held(ale, writes)
    altered = held
    if not held:
        ale.restoreState(state)
        plain = []
        for _ in outs:
            ale.act(noop)
            plain.append(ale.getScreenRGB())
        altered = not np.array_equal(np.maximum.reduce(plain), np.maximum.reduce(list(outs)))
    ale.restoreState(state)
    return altered


class InFrameWrite:
    """Write bytes for the duration of one emulated frame (the in-frame fast path).

    ``begin`` remembers the current values and writes; ``end`` puts each byte back unless the game
    itself overwrote it during the frame (then the game's value is the true one and is kept), and
    says whether every written byte lasted the frame (the frame was drawn with them).
    """

    __slots__ = ("_saved",)

    def __init__(self) -> None:
        self._saved: list[tuple[int, int, int]] = []

    def begin(self, ale, writes: Sequence[Write]) -> None:
        ram = ale.getRAM()
        self._saved = [(i, int(ram[i]), v) for i, v in writes]
        for i, v in writes:
            ale.setRAM(i, v)

    def end(self, ale) -> bool:
        ram = ale.getRAM()
        held = True
        for i, old, written in self._saved:
            if ram[i] == written:
                ale.setRAM(i, old)
            else:
                held = False
        self._saved = []
        return held
