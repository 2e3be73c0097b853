"""The switchable components the Atari engine runs inside its frame loop (types 1 and 3.2).

Each component has its own named random stream (:class:`~stori_envs.taxonomy.seeding.SeededStream`)
and an ``enabled`` flag that concept drift toggles. Type 2.1 events are
:class:`~stori_envs.atari.events.AtariEvent` objects and follow the same protocol.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from gymnasium import spaces

from stori_envs.atari.game import RamPeekMode, Write
from stori_envs.atari.peek import lookahead_frames, lookahead_peek
from stori_envs.taxonomy.action import action_sampler
from stori_envs.taxonomy.occlusion import Cropper, RegionFiller
from stori_envs.taxonomy.profile import Region
from stori_envs.taxonomy.seeding import SeededStream


class ActionReplacer:
    """Type 1: with p the executed action is a uniform random one (from ``allowed``, if given).

    ``per_step=False`` (``granularity="frame"``, the paper's): a coin on every emulated frame, each
    replaced frame with its own random action. ``per_step=True``: one coin per agent step, the random
    action held for all its frames.
    """

    def __init__(self, n_actions: int, p: float, allowed: Sequence[int] | None, *, per_step: bool,
                 seed_policy: str, enabled: bool = True) -> None:
        self.p = float(p)
        self.per_step = per_step
        self.enabled = enabled
        self.sample = action_sampler(spaces.Discrete(n_actions), allowed)
        self._stream = SeededStream("action", seed_policy)
        self.rng = self._stream.rng

    def reset(self, seed: int | None) -> None:
        self.rng = self._stream.reset(seed)


class ObservationHider:
    """Type 3.2 on Atari frames: ``blackout`` (filled rectangles), ``crop`` (modes 0-5) or ``ram`` (peek).

    ``per_frame=False`` (``po_timing="per_observation"``): one coin per observation, fills applied
    once to the pooled frame (same result as on both pooled frames, since fills and the max commute);
    a hidden RAM observation is the max of the two NOOP look-ahead frames after the step, each drawn
    with the bytes written, from one snapshot of the step's final state (:meth:`peek_pooled`).
    ``per_frame=True`` (the paper's): an independent coin, centre or one-frame look-ahead for each
    pooled frame, before pooling.
    """

    def __init__(self, kind: str, p: float, *, per_frame: bool, seed_policy: str, height: int, width: int,
                 regions: Sequence[Region] = (), crop_mode: str = "0", torch_radius: int = 75,
                 ram_mode: RamPeekMode | None = None, in_frame: bool = False, enabled: bool = True) -> None:
        self.kind = kind
        self.p = float(p)
        self.per_frame = per_frame
        self.enabled = enabled
        self.in_frame = in_frame
        self.filler = RegionFiller(regions, height, width, 3) if kind == "blackout" else None
        self.cropper = Cropper(crop_mode, height, width, torch_radius) if kind == "crop" else None
        self.ram_mode = ram_mode
        self._stream = SeededStream("observation", seed_policy)
        self.rng = self._stream.rng

    def reset(self, seed: int | None) -> None:
        self.rng = self._stream.reset(seed)

    def hide(self) -> bool:
        return self.rng.random() < self.p

    def fill_(self, frame: np.ndarray) -> None:
        """Hide part of ``frame`` in place (blackout or crop)."""
        if self.filler is not None:
            self.filler.fill_(frame)
        else:
            self.cropper.apply_(frame, self.rng)

    def writes(self, ale) -> Sequence[Write]:
        """The RAM writes of the peek now (empty: nothing to hide, no peek)."""
        mode = self.ram_mode
        if mode.dynamic is not None:
            return mode.dynamic(ale.getRAM())
        return mode.writes

    @property
    def needs_real_frames(self) -> bool:
        """Whether a hidden RAM observation may still need the real screens (the mode can find nothing to hide)."""
        return self.ram_mode is not None and self.ram_mode.dynamic is not None

    def peek(self, ale, noop, out: np.ndarray) -> bool:
        """Fill ``out`` with the look-ahead peek, or the real screen when there is nothing to hide."""
        writes = self.writes(ale)
        if writes:
            lookahead_peek(ale, writes, noop, out)
            return True
        ale.getScreenRGB(out)
        return False

    def peek_pooled(self, ale, noop, outs: Sequence[np.ndarray]) -> bool:
        """Fill ``outs`` with consecutive look-ahead frames from the current state; False (``outs``
        untouched) when there is nothing to hide."""
        if not self.writes(ale):
            return False
        lookahead_frames(ale, lambda: self.writes(ale), noop, outs)
        return True
