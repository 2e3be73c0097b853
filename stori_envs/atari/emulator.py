"""The emulator as the engine configures it, and as the agent observes it.

* :class:`EmulatorSettings`: the ale-py settings an id spelling may change (sticky actions, action set,
  game mode and difficulty, frame limit) and how a seeded reset re-seeds the emulator. Without sticky
  actions the emulator's RNG drives nothing, so a seeded reset restores the power-on snapshot (50 µs);
  with sticky actions it re-seeds and reloads the ROM exactly as ``ALE/<Game>-v5`` does, so the same
  seed gives the same sticky draws as ``gym.make(id)``.
* :class:`ObservedALE`: ``env.unwrapped.ale``. Wrappers that read the screen from the emulator
  (Gymnasium's ``AtariPreprocessing``, some SB3 wrappers) would otherwise see the true screen and
  bypass type 3.2. Right after a step or reset its screen reads return the frame the agent got;
  every other call, and every screen read after a call that may change the screen, goes to the
  emulator itself (``env.unwrapped.emulator``).
* :func:`luminance`: ALE's grayscale of an RGB frame (rounded ITU-R 601 luma, which is how ALE builds
  its grayscale palette; tested against ``getScreenGrayscale`` on all four games).
* :func:`palette` and :func:`max_pool`: the max of two frames from their palette indices. ALE's
  ``getScreen`` (palette indices, 0.8 µs) is 20 times cheaper than ``getScreenRGB`` (16 µs, a quarter of
  an emulated frame): the pooled frame is the RGB of the last frame, with the pixels whose index changed
  maxed against the palette colour of the frame before. Same result as ``np.maximum`` of the two RGB
  frames (tested). Where many pixels change (Boxing) the lookups cost more than the RGB read they save,
  so it serves only a hidden RAM-peek step, whose real frames are needed only when the peek shows nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from ale_py import ALEInterface, LoggerMode, roms

from stori_envs.taxonomy.validation import check_number, field_error

#: ALE calls after which the screen is the emulator's again, not the observation's.
_MOVES_SCREEN = ("act", "reset_game", "restoreState", "restoreSystemState", "setRAM", "loadROM", "setMode",
                 "setDifficulty")


def luminance(frame: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """ALE's grayscale of an (H, W, 3) uint8 frame: round(0.299 R + 0.587 G + 0.114 B), as uint8 (H, W)."""
    f = frame.astype(np.uint32)
    y = f[..., 0] * 299 + f[..., 1] * 587 + f[..., 2] * 114 + 500
    y //= 1000
    if out is None:
        return y.astype(np.uint8)
    out[...] = y.reshape(out.shape)
    return out


#: ALE's NTSC palette, 128 colours as RGB hex (entry i is palette index 2i; odd indices share the even's).
#: Data read from the emulator by :func:`read_palette` (a test checks it still is).
_NTSC_HEX = (
    "0000004a4a4a6f6f6f8e8e8eaaaaaac0c0c0d6d6d6ececec48480069690f86861da2a22abbbb35d2d240e8e84afcfc54"
    "7c2c00904811a26221b47a30c3903dd2a44adfb755ecc860901c00a33915b55328c66c3ad5824ae39759f0aa67fcbc74"
    "940000a71a1ab83232c84848d65c5ce46f6ff08080fc909084006497197aa8308fb846a2c659b3d46cc3e07cd2ec8ce0"
    "50008468199a7d30ad9246c0a459d0b56ce0c57ceed48cfc140090331aa34e32b56848c67f5cd5956fe3a980f0bc90fc"
    "000094181aa72d32b84248c8545cd6656fe47580f08490fc001c88183b9d2d57b04272c2548ad265a0e175b5ef84c8fc"
    "0030641850802d6d984288b054a0c565b7d975cceb84e0fc00403018624e2d8169429e8254b89965d1ae75e7c284fcd4"
    "0044001a661a32843248a0485cba5c6fd26f80e88090fc90143c00355f18527e2d6e9c4287b7549ed065b4e775c8fc84"
    "3038005059166d762b88923ea0ab4fb7c25fccd86ee0ec7c482c00694d14866a26a28638bb9f47d2b656e8cc63fce070"
)
_PALETTE = np.repeat(np.frombuffer(bytes.fromhex("".join(_NTSC_HEX)), np.uint8).reshape(128, 3), 2, axis=0)


def palette() -> np.ndarray:
    """ALE's NTSC palette as a (256, 3) uint8 table: palette index -> RGB."""
    return _PALETTE


def read_palette() -> np.ndarray:
    """Read the palette from the emulator: Boxing draws its player in the colour held in RAM 1, so writing
    each of the 128 colours there for one frame shows every palette entry."""
    ALEInterface.setLoggerMode(LoggerMode.Error)
    ale = ALEInterface()
    ale.setFloat("repeat_action_probability", 0.0)
    ale.loadROM(roms.get_rom_path("boxing"))
    ale.reset_game()
    for _ in range(60):
        ale.act(0)
    state = ale.cloneState()
    table = np.zeros((256, 3), np.uint8)
    seen = np.zeros(256, bool)
    for colour in range(0, 256, 2):
        ale.restoreState(state)
        ale.setRAM(1, colour)
        ale.act(0)
        index, rgb = ale.getScreen().ravel(), ale.getScreenRGB().reshape(-1, 3)
        table[index] = rgb
        seen[index] = True
    if not seen[::2].all():
        raise RuntimeError("could not read every colour of ALE's palette")
    table[1::2] = table[::2]
    return table


def max_pool(rgb_last: np.ndarray, index_prev: np.ndarray, index_last: np.ndarray) -> np.ndarray:
    """A fresh copy of ``rgb_last`` maxed, pixel by pixel, with the previous frame given by its palette indices.

    The indices are compared eight pixels at a time (as uint64 words); only the pixels of changed words
    are looked up in the palette.
    """
    frame = rgb_last.copy()
    prev, last = index_prev.reshape(-1), index_last.reshape(-1)
    words = np.flatnonzero(prev.view(np.uint64) != last.view(np.uint64))
    if words.size:
        # All eight pixels of a changed word: where a pixel did not change, its palette colour is the
        # last frame's own, and the max leaves it as it is.
        pixels = (words[:, None] * 8 + _EIGHT).reshape(-1)
        flat = frame.reshape(-1, 3)
        flat[pixels] = np.maximum(flat[pixels], _PALETTE[prev[pixels]])
    return frame


_EIGHT = np.arange(8)


class FramePool:
    """The max of a step's two pooled frames with one allocation and no copy: the frame before last is read
    into a reused buffer, the last one straight into the fresh observation, which the max then overwrites
    in place (measured 1-2 % of a Breakout step cheaper than reading both into buffers and allocating the
    max).

    Pooling through the palette instead (the first frame read as palette indices, :func:`max_pool`) was
    measured too: in the engine it cost more than the RGB read it saves, even on Breakout (median 9
    changed 8-pixel words between the two frames; 1.06-1.10x of the bare loop against 1.04-1.08x), and
    much more on Boxing (99 words). It serves only the hidden RAM-peek steps, which need the real frames
    only when the peek shows nothing.
    """

    __slots__ = ("before_last", "out")

    def __init__(self, before_last: np.ndarray) -> None:
        self.before_last = before_last
        self.out: np.ndarray | None = None

    def read_first(self, ale) -> None:
        """Read the first of two pooled frames (a second read follows in this step)."""
        ale.getScreenRGB(self.before_last)

    def read_last(self, ale) -> None:
        """Read the last pooled frame (after :meth:`read_first`)."""
        self.out = np.empty(self.before_last.shape, np.uint8)
        ale.getScreenRGB(self.out)

    def pooled(self) -> np.ndarray:
        """A fresh array: the max of the two frames read."""
        out, self.out = self.out, None
        return np.maximum(out, self.before_last, out=out)


@dataclass(frozen=True)
class EmulatorSettings:
    """ale-py settings of the engine's emulator (the v5 keyword arguments it honours)."""

    rom: str
    repeat_action_probability: float = 0.0
    full_action_space: bool = False
    mode: int | None = None
    difficulty: int | None = None
    max_num_frames_per_episode: int = 108_000

    @classmethod
    def checked(cls, rom: str, *, repeat_action_probability: Any = 0.0, full_action_space: Any = False,
                mode: Any = None, difficulty: Any = None, max_num_frames_per_episode: Any = 108_000
                ) -> EmulatorSettings:
        sticky = check_number("repeat_action_probability", repeat_action_probability, 0.0, 1.0)
        if not isinstance(full_action_space, bool):
            raise field_error("full_action_space", full_action_space, "True or False")
        for name, value in (("mode", mode), ("difficulty", difficulty)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))):
                raise field_error(name, value, "None or an integer game " + name)
        frames = 0 if max_num_frames_per_episode is None else max_num_frames_per_episode
        if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or frames < 0:
            raise field_error("max_num_frames_per_episode", max_num_frames_per_episode,
                              "an integer >= 0 (0 or None: no limit)")
        return cls(rom, sticky, full_action_space, None if mode is None else int(mode),
                   None if difficulty is None else int(difficulty), int(frames))

    @property
    def sticky(self) -> bool:
        return self.repeat_action_probability > 0

    def build(self) -> ALEInterface:
        """A configured emulator with the ROM loaded (seeded from fresh entropy when sticky actions are on)."""
        ALEInterface.setLoggerMode(LoggerMode.Error)  # static, before construction: no banner on stdout
        ale = ALEInterface()
        ale.setFloat("repeat_action_probability", self.repeat_action_probability)
        ale.setInt("frame_skip", 1)
        ale.setInt("max_num_frames_per_episode", self.max_num_frames_per_episode)
        ale.setInt("random_seed", _ale_seed(None) if self.sticky else 0)
        self.load(ale)
        return ale

    def load(self, ale: ALEInterface) -> None:
        ale.loadROM(roms.get_rom_path(self.rom))
        for name, value, available, setter in (
                ("mode", self.mode, ale.getAvailableModes, ale.setMode),
                ("difficulty", self.difficulty, ale.getAvailableDifficulties, ale.setDifficulty)):
            if value is None:
                continue
            allowed = [int(v) for v in available()]
            if value not in allowed:
                raise field_error(name, value, f"one of the game's {name}s {allowed}")
            setter(value)

    def reseed(self, ale: ALEInterface, seed: int) -> None:
        """What ``ALE/<Game>-v5`` does on a seeded reset: seed the emulator's RNG and reload the ROM."""
        ale.setInt("random_seed", _ale_seed(seed))
        self.load(ale)


def _ale_seed(seed: int | None) -> int:
    """The emulator seed ale-py's AtariEnv derives from a reset seed (second word of its SeedSequence)."""
    return int(np.int32(np.random.SeedSequence(seed).generate_state(n_words=2)[1]))


class ObservedALE:
    """``env.unwrapped.ale``: the emulator, except that screen reads right after a step or reset return
    the frame the agent observed (3.2 applied, pooled). See the module docstring."""

    __slots__ = ("_env", "_emulator", "fresh")

    def __init__(self, env: Any, emulator: ALEInterface) -> None:
        self._env = env
        self._emulator = emulator
        self.fresh = False

    def getScreenRGB(self, out: np.ndarray | None = None) -> np.ndarray:  # noqa: N802 - ALE's name
        frame = self._env._last_frame if self.fresh else None
        if frame is None:
            return self._emulator.getScreenRGB() if out is None else self._emulator.getScreenRGB(out)
        if out is None:
            return frame.copy()
        out[...] = frame.reshape(out.shape)
        return out

    def getScreenGrayscale(self, out: np.ndarray | None = None) -> np.ndarray:  # noqa: N802 - ALE's name
        frame = self._env._last_frame if self.fresh else None
        if frame is None:
            return self._emulator.getScreenGrayscale() if out is None else self._emulator.getScreenGrayscale(out)
        return luminance(frame, out)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._emulator, name)
        if name in _MOVES_SCREEN:
            self.fresh = False
        return attr

    def __repr__(self) -> str:
        return f"ObservedALE({self._emulator!r})"
