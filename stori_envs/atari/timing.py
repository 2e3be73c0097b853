"""How type 3.2 meets the frame loop: one strategy object per timing, so ``step`` carries no flags.

The engine reads the screen only on the frames that reach the observation (the last two with
max-pooling, else the last; or the frame the episode ended on) and calls, per agent step::

    timing.begin_step(env, ale)                 # once, before the first frame (per-observation coin)
    timing.before_read(env, ale)                # before emulating each planned read frame (in_frame only)
    altered |= timing.read(env, ale, buf, over) # after emulating each read frame: the screen into buf
    frame, altered = timing.finish(env, ale, n_read, over, altered)

Strategies: :class:`Plain` (no 3.2 this step), :class:`FillPerObservation` (one coin; the fill applied
once to the pooled frame, which equals filling both frames since fills and the max commute),
:class:`FillPerFrame` (the paper's: a coin, and a torch centre, per pooled frame),
:class:`PeekPerObservation` (one coin; a hidden observation is the max of the two look-ahead frames
after the step, from one snapshot), :class:`PeekPerFrame` (the paper's: each pooled frame its own
one-frame look-ahead) and :class:`PeekInFrame` (opt-in: the bytes written for the duration of the
observed frames, no extra frame).

The look-ahead strategies handle the last step of an episode: after game over the emulator stops, so
no look-ahead frame exists. When the step may end the episode (``env.may_end()``) they keep a snapshot
of the step's start, and a hidden frame of a final step is drawn in-frame by replaying the step
(:func:`final_peek`); without a snapshot the frame is shown as it is and reported unaltered.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stori_envs.atari.emulator import max_pool
from stori_envs.atari.peek import InFrameWrite


def pooled(buffers: tuple[np.ndarray, np.ndarray], n_read: int) -> np.ndarray:
    """A fresh frame: the max of the two read RGB frames, or a copy of the only one."""
    return np.maximum(buffers[0], buffers[1]) if n_read == 2 else buffers[0].copy()


class Plain:
    """No type 3.2 this step (no hider, or a drift's hider in concept 1): the read frames in RGB, max-pooled
    (two pooled frames through the engine's :class:`~stori_envs.atari.emulator.FramePool`: one allocation,
    no copy)."""

    moves_screen = False  # whether the strategy emulates look-ahead frames (the screen is then not the real one)
    in_frame = False  # whether before_read does anything (the frame loop calls it only then)

    def begin_step(self, env: Any, ale) -> None:
        pass

    def before_read(self, env: Any, ale) -> None:
        pass

    def read(self, env: Any, ale, buf: np.ndarray, over: bool) -> bool:
        if env.n_read == 1:
            if env.pool and not over:  # the first of two pooled frames
                env.frame_pool.read_first(ale)
            else:
                ale.getScreenRGB(buf)
        else:
            env.frame_pool.read_last(ale)
        return False

    def frame(self, env: Any, n_read: int) -> np.ndarray:
        """A fresh pooled frame from what :meth:`read` read."""
        return env.frame_pool.pooled() if n_read == 2 else env.buffers[0].copy()

    def finish(self, env: Any, ale, n_read: int, over: bool, altered: bool) -> tuple[np.ndarray, bool]:
        return self.frame(env, n_read), altered

    def on_reset(self, env: Any, ale, frame: np.ndarray) -> bool:
        """Hide the reset observation ``frame`` (the real screen) in place; whether it was altered."""
        return False


PLAIN = Plain()


class FillPerObservation(Plain):
    """One coin per observation; the fill (or the torch) is applied once to the pooled frame."""

    def __init__(self, hider) -> None:
        self.hider = hider
        self.hidden = False

    def begin_step(self, env, ale):
        self.hidden = self.hider.hide()

    def finish(self, env, ale, n_read, over, altered):
        frame = self.frame(env, n_read)
        if self.hidden:
            self.hider.fill_(frame)
        return frame, self.hidden or altered

    def on_reset(self, env, ale, frame):
        if self.hider.hide():
            self.hider.fill_(frame)
            return True
        return False


class FillPerFrame(FillPerObservation):
    """The paper's timing: each read frame draws its own coin (and torch centre) before pooling."""

    def begin_step(self, env, ale):
        pass

    def read(self, env, ale, buf, over):
        ale.getScreenRGB(buf)
        if self.hider.hide():
            self.hider.fill_(buf)
            return True
        return False

    def finish(self, env, ale, n_read, over, altered):
        return pooled(env.buffers, n_read), altered


class _Peek(Plain):
    moves_screen = True

    def read(self, env, ale, buf, over):
        ale.getScreenRGB(buf)  # the real frames may be compared with, or replaced by, peeked ones
        return False

    def frame(self, env, n_read):
        return pooled(env.buffers, n_read)

    def __init__(self, hider) -> None:
        self.hider = hider
        self.snapshot = None
        self.final: list[int] = []  # read frames whose peek must be drawn from the snapshot

    def on_reset(self, env, ale, frame):
        # The reset observation always uses the one-frame look-ahead.
        if self.hider.hide() and self.hider.peek(ale, env.noop, env.peeks[0]):
            frame[...] = env.peeks[0]
            return True
        return False

    def _keep_snapshot(self, env, ale) -> None:
        self.final = []
        # The emulator's RNG only matters with sticky actions (serialising it doubles the clone's cost).
        self.snapshot = ale.cloneState(include_rng=env.settings.sticky) if env.may_end() else None

    def _finish_final(self, env, ale, n_read, altered):
        if self.final and self.snapshot is not None:
            altered = final_peek(env, ale, self.snapshot, n_read, self.final) or altered
        self.snapshot = None
        return pooled(env.buffers, n_read), altered


class PeekPerObservation(_Peek):
    """One coin per observation: a hidden observation is the max of the two NOOP look-ahead frames after
    the step, the bytes written before each, from one snapshot of the step's final state.

    A hidden step reads only the palette indices of its frames (no RGB): the real frames are needed
    only when the peek shows nothing, and then the last one is still on screen (before any look-ahead)
    and the one before is pooled from its indices; the final step of an episode re-reads them in its
    replay (:func:`final_peek`).
    """

    def begin_step(self, env, ale):
        self.hidden = self.hider.hide()
        if self.hidden:
            self._keep_snapshot(env, ale)

    def read(self, env, ale, buf, over):
        if not self.hidden:
            return Plain.read(self, env, ale, buf, over)
        ale.getScreen(env.indices[env.n_read - 1])
        if over:  # the frame stays on screen no longer than this: keep its colours for the fallback
            ale.getScreenRGB(buf)
        return False

    @staticmethod
    def _from_indices(env, n_read) -> np.ndarray:
        """The real pooled frame from the last frame's RGB and the palette indices of the one before."""
        if n_read == 2:
            return max_pool(env.buffers[1], env.indices[0], env.indices[1])
        return env.buffers[0].copy()

    def _real(self, env, ale, n_read) -> np.ndarray:
        """The real pooled frame, the last frame being still on screen (no look-ahead yet)."""
        ale.getScreenRGB(env.buffers[n_read - 1])
        return self._from_indices(env, n_read)

    def finish(self, env, ale, n_read, over, altered):
        if not self.hidden:
            return Plain.frame(self, env, n_read), altered
        if over:
            self.final = list(range(n_read))
            if self.snapshot is not None:
                return self._finish_final(env, ale, n_read, altered)
            return self._from_indices(env, n_read), altered  # no snapshot: shown as it is, unaltered
        hider = self.hider
        writes = hider.writes(ale)
        if not writes:
            return self._real(env, ale, n_read), altered
        if hider.mode.always_effective:
            if n_read == 2:  # the two look-ahead frames read and pooled as the real ones are
                hider.lookahead_pooled(ale, env.noop, env.frame_pool, writes)
                return env.frame_pool.pooled(), True
            hider.peek_pooled(ale, env.noop, env.peeks[:n_read], writes)
            return pooled(env.peeks, n_read), True
        real = self._real(env, ale, n_read)  # read before the look-ahead moves the screen
        if hider.peek_pooled(ale, env.noop, env.peeks[:n_read], writes):
            return pooled(env.peeks, n_read), True
        return real, altered


class PeekPerFrame(_Peek):
    """The paper's timing: each read frame draws its own coin and, if hidden, is its own one-frame look-ahead."""

    def begin_step(self, env, ale):
        self._keep_snapshot(env, ale)

    def read(self, env, ale, buf, over):
        ale.getScreenRGB(buf)
        if not self.hider.hide():
            return False
        if over:  # no look-ahead after game over: drawn from the snapshot in finish
            self.final.append(env.n_read - 1)
            return False
        scratch = env.peeks[0]
        if self.hider.peek(ale, env.noop, scratch):
            buf[...] = scratch
            return True
        return False

    def finish(self, env, ale, n_read, over, altered):
        return self._finish_final(env, ale, n_read, altered)


class PeekInFrame(_Peek):
    """Opt-in fast path: the bytes are written just before each hidden read frame and put back after it.

    One coin per observation (``per_frame=False``) or per read frame. Only modes whose writes always show
    may use it (``RamPeekMode.always_effective``), so a frame drawn with writes is an altered frame."""

    def __init__(self, hider, per_frame: bool) -> None:
        self.hider = hider
        self.per_frame = per_frame
        self.hidden = False
        self.writing = False
        self.writer = InFrameWrite()

    def begin_step(self, env, ale):
        if not self.per_frame:
            self.hidden = self.hider.hide()

    def before_read(self, env, ale):
        hide = self.hider.hide() if self.per_frame else self.hidden
        writes = self.hider.writes(ale) if hide else ()
        self.writing = bool(writes)
        if self.writing:
            self.writer.begin(ale, writes)

    def read(self, env, ale, buf, over):
        ale.getScreenRGB(buf)
        if not self.writing:
            return False
        self.writing = False
        self.writer.end(ale)
        return True

    moves_screen = False  # in-frame writes emulate no extra frame
    in_frame = True

    def finish(self, env, ale, n_read, over, altered):
        return pooled(env.buffers, n_read), altered


def timing_for(hider, per_frame: bool) -> Plain:
    """The strategy of a hider (a fill or a :class:`~stori_envs.atari.components.RamPeek`) under ``po_timing``."""
    if hider is None:
        return PLAIN
    if not hasattr(hider, "peek"):
        return FillPerFrame(hider) if per_frame else FillPerObservation(hider)
    if hider.in_frame:
        return PeekInFrame(hider, per_frame)
    return PeekPerFrame(hider) if per_frame else PeekPerObservation(hider)


def final_peek(env: Any, ale, snapshot, n_read: int, hidden: list[int]) -> bool:
    """Draw the hidden read frames of an episode's last step in-frame, replaying the step from ``snapshot``.

    The step is replayed with the same executed actions (with sticky actions on, the snapshots hold the
    emulator's RNG, so sticky draws repeat): each hidden read frame is emulated once with the bytes written just before
    it (its screen is the hidden frame) and once without (the real frame, which stays on the real
    trajectory); finally the real end state is restored. Only the hider acts in a step with a RAM
    peek (one knob per profile), so the replay is exact. ``env.buffers`` receive the frames shown
    (hidden where the bytes changed the image, else real); returns whether any frame changed.
    """
    acts, executed = env.ale_actions, env.executed_actions
    rng = env.settings.sticky  # the emulator's RNG drives only sticky actions
    end = ale.cloneState(include_rng=rng)
    first = len(executed) - n_read
    targets = {first + i: env.buffers[i] for i in hidden}
    scratch = env.peeks[0]
    altered = False
    ale.restoreState(snapshot)
    for f, action in enumerate(executed):
        out = targets.get(f)
        writes = env.hider.writes(ale) if out is not None else ()
        if writes:
            before = ale.cloneState(include_rng=rng)
            for i, v in writes:
                ale.setRAM(i, v)
            ale.act(acts[action])
            ale.getScreenRGB(scratch)
            ale.restoreState(before)
        ale.act(acts[action])
        if out is not None:
            ale.getScreenRGB(out)
            if writes and not np.array_equal(scratch, out):
                out[...] = scratch
                altered = True
    ale.restoreState(end)
    return altered
