"""Type 3.2, induced partial observation, as components: images (crop, blackout) and vectors (mask,
dropout, noise).

Each draws from its own ``"observation"`` stream, returns a fresh array when it alters the
observation (never mutating its input) and reports ``observation_altered``. Family knowledge is data
handed to the constructor: the image size, the regions, which features (e.g. a simulator's labs).
Frame-loop hosts may use the pieces directly: :meth:`Occlusion.hide` (one coin) and
:meth:`Crop.fill_`/:meth:`Blackout.fill_` (in place, on the host's own frame buffer).

Dropout and noise draw their uniforms and Gaussians in blocks of ``_BLOCK`` steps; the block is
kept across resets that do not re-seed the stream (re-drawing it at every reset cost about 4 µs per
step on 6-step InvertedPendulum episodes) and dropped when the stream is re-seeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from stori_envs.taxonomy.components.base import Component
from stori_envs.taxonomy.occlusion import Cropper, RegionFiller
from stori_envs.taxonomy.profile import Region


def image_shape(space: gym.Space) -> tuple[int, int, int | None] | None:
    """(H, W, C or None) if ``space`` is a uint8 image Box of shape (H, W) or (H, W, C), else None."""
    if isinstance(space, spaces.Box) and space.dtype == np.uint8 and len(space.shape) in (2, 3):
        h, w = space.shape[:2]
        return h, w, (space.shape[2] if len(space.shape) == 3 else None)
    return None


def require_image(space: gym.Space, kind: str) -> tuple[int, int, int | None]:
    """The image shape of ``space``, or the ValueError saying that ``kind`` needs an image."""
    shape = image_shape(space)
    if shape is None:
        raise ValueError(f"partial_observation.type: got {kind!r} for observation space "
                         f"{space}; allowed: 'crop' and 'blackout' need a uint8 image Box "
                         "(H, W) or (H, W, C); use 'mask', 'dropout' or 'noise' for vectors")
    return shape


def require_vector(space: gym.Space, kind: str) -> spaces.Box:
    """``space`` if it is a 1-D float Box, else the ValueError saying that ``kind`` needs one."""
    if not (isinstance(space, spaces.Box) and len(space.shape) == 1 and np.issubdtype(space.dtype, np.floating)):
        raise ValueError(f"partial_observation.type: got {kind!r} for observation space {space}; allowed: "
                         "'mask', 'dropout' and 'noise' need a 1-D float Box; use 'crop' or 'blackout' for images")
    return space


def feature_index(features: Sequence[int] | None, size: int) -> np.ndarray:
    """Sorted unique indices of ``features`` (all when None), or the ValueError for one out of range."""
    if features is None:
        return np.arange(size)
    bad = [f for f in features if not 0 <= f < size]
    if bad:
        raise ValueError(f"partial_observation.features: got {list(features)!r}; allowed: indices in [0, {size - 1}]")
    return np.asarray(sorted(set(features)), dtype=np.intp)


class Occlusion(Component):
    """Shared logic of 3.2: decide with ``p`` (one coin), alter a copy, report ``observation_altered``."""

    stream_name = "observation"
    stori_type = "3.2"

    def __init__(self, p: float, *, name: str | None = None, enabled: bool = True,
                 seed_policy: str = "gymnasium") -> None:
        super().__init__(name=name, enabled=enabled, seed_policy=seed_policy)
        self.p = float(p)
        self._part = {"observation_altered": False}

    @property
    def altered(self) -> bool:
        """Whether the last observation (or frame) this knob saw was altered; a frame-loop host that
        hides frames itself sets it, and :meth:`info_part` reports it."""
        return self._part["observation_altered"]

    @altered.setter
    def altered(self, value: bool) -> None:
        self._part["observation_altered"] = bool(value)

    def hide(self) -> bool:
        """One coin: whether to hide this observation (or frame)."""
        return self.rng.random() < self.p

    def alter(self, obs: Any) -> Any:  # pragma: no cover - abstract
        """A fresh altered copy of ``obs``."""
        raise NotImplementedError

    def maybe_alter(self, obs: Any) -> Any:
        """The altered observation, or None when this step leaves it as it is."""
        return self.alter(obs) if self.rng.random() < self.p else None

    def on_observation(self, obs: Any) -> Any:
        altered = False
        if self.enabled:
            new = self.maybe_alter(obs)
            if new is not None:
                obs, altered = new, True
        self._part["observation_altered"] = altered
        return obs

    def info_part(self) -> dict[str, Any]:
        return self._part  # reused every step: read it, do not keep it


class Crop(Occlusion):
    """With ``p``, black out half of the image (modes 1-4) or all but a random disc (mode 5, the torch).

    The torch draws its centre uniformly over the image's pixels from the same stream.
    """

    def __init__(self, height: int, width: int, mode: str, p: float, torch_radius: int = 75,
                 **kwargs: Any) -> None:
        super().__init__(p, **kwargs)
        self.cropper = Cropper(mode, height, width, torch_radius)

    def fill_(self, frame: np.ndarray) -> None:
        """Crop ``frame`` in place (the host's own buffer)."""
        self.cropper.apply_(frame, self.rng)

    def alter(self, obs):
        return self.cropper.apply(obs, self.rng)


class Blackout(Occlusion):
    """With ``p``, fill fixed rectangles (``regions``, e.g. a game's score band) with their colours."""

    def __init__(self, height: int, width: int, channels: int | None, regions: Sequence[Region], p: float,
                 dtype: Any = np.uint8, **kwargs: Any) -> None:
        super().__init__(p, **kwargs)
        self.filler = RegionFiller(regions, height, width, channels, dtype)

    def fill_(self, frame: np.ndarray) -> None:
        """Fill the regions of ``frame`` in place (the host's own buffer)."""
        self.filler.fill_(frame)

    def alter(self, obs):
        return self.filler.apply(obs)


class _VectorHiding(Occlusion):
    """Hide features (they read ``fill``, clipped into the space) and optionally append a 0/1 "observed" mask.

    Subclasses return the boolean "hidden" vector of a step from :meth:`hidden` (None: nothing hidden).
    """

    def __init__(self, space: gym.Space, p: float, features: Sequence[int] | None, fill: float,
                 append_mask: bool, kind: str, **kwargs: Any) -> None:
        super().__init__(p, **kwargs)
        space = require_vector(space, kind)
        n = space.shape[0]
        self.features = feature_index(features, n)
        self._selected = np.zeros(n, dtype=bool)
        self._selected[self.features] = True
        self._fill = np.clip(np.full(n, fill, dtype=space.dtype), space.low, space.high)
        self._dtype = space.dtype
        self.append_mask = bool(append_mask)
        if self.append_mask:
            self.observation_space = spaces.Box(
                np.concatenate([space.low, np.zeros(n, space.dtype)]),
                np.concatenate([space.high, np.ones(n, space.dtype)]),
                dtype=space.dtype,
            )
            self._all_observed = np.ones(n, dtype=bool)

    def hidden(self) -> np.ndarray | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def maybe_alter(self, obs):
        hidden = self.hidden()
        if hidden is None:
            return None
        out = np.where(hidden, self._fill, obs)
        return np.concatenate((out, ~hidden), dtype=self._dtype) if self.append_mask else out

    def on_observation(self, obs):
        out = super().on_observation(obs)
        if self.append_mask and not self._part["observation_altered"]:  # nothing hidden: every feature observed
            out = np.concatenate((obs, self._all_observed), dtype=self._dtype)
        return out


class Mask(_VectorHiding):
    """With ``p`` (1 for always), hide a fixed subset of features."""

    def __init__(self, space: gym.Space, features: Sequence[int] | None, p: float = 1.0, fill: float = 0.0,
                 append_mask: bool = False, **kwargs: Any) -> None:
        super().__init__(space, p, features, fill, append_mask, "mask", **kwargs)

    def hidden(self):
        return self._selected if self.rng.random() < self.p else None


class Dropout(_VectorHiding):
    """Hide each of ``features`` (all by default) independently with ``p`` at every observation.

    The uniforms come in blocks of ``_BLOCK`` observations: exactly the values of one
    ``rng.random(k)`` per observation (the stream is private to this knob), at a fraction of the cost.
    """

    _BLOCK = 512

    def __init__(self, space: gym.Space, p: float, features: Sequence[int] | None = None, fill: float = 0.0,
                 append_mask: bool = False, **kwargs: Any) -> None:
        super().__init__(space, p, features, fill, append_mask, "dropout", **kwargs)
        self._k = self.features.shape[0]
        self._row = self._BLOCK  # no block drawn yet

    def on_reseed(self) -> None:
        self._row = self._BLOCK  # drawn from the old generator: draw afresh

    def hidden(self):
        if self._row == self._BLOCK:
            drawn = self.rng.random((self._BLOCK, self._k)) < self.p
            if self._k == self._selected.shape[0]:
                self._block = drawn
            else:
                self._block = np.zeros((self._BLOCK, self._selected.shape[0]), dtype=bool)
                self._block[:, self.features] = drawn
            self._any = self._block.any(axis=1)
            self._row = 0
        row = self._row
        self._row = row + 1
        return self._block[row] if self._any[row] else None


class Noise(Occlusion):
    """With ``p`` per observation, add N(0, std²) noise to ``features`` (all by default), clipped to bounds.

    Coins and noise come in blocks of ``_BLOCK`` observations (deterministic per seed).
    """

    _BLOCK = 512

    def __init__(self, space: gym.Space, std: float, p: float = 1.0, features: Sequence[int] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(p, **kwargs)
        space = require_vector(space, "noise")
        self.features = feature_index(features, space.shape[0])
        self._all = self.features.shape[0] == space.shape[0]
        self.std = float(std)
        self._low, self._high = space.low, space.high
        self._bounded = bool(np.isfinite(space.low).any() or np.isfinite(space.high).any())
        self._row = self._BLOCK

    def on_reseed(self) -> None:
        self._row = self._BLOCK  # drawn from the old generator: draw afresh

    def maybe_alter(self, obs):
        if self._row == self._BLOCK:
            self._coins = (self.rng.random(self._BLOCK) < self.p).tolist()
            self._noise = self.rng.standard_normal((self._BLOCK, self.features.shape[0])) * self.std
            self._row = 0
        row = self._row
        self._row = row + 1
        if not self._coins[row]:
            return None
        noise = self._noise[row]
        if self._all:
            out = obs + noise.astype(obs.dtype, copy=False)
        else:
            out = obs.copy()
            out[self.features] += noise.astype(out.dtype, copy=False)
        if self._bounded:  # maximum/minimum in place: np.clip costs more on small vectors
            np.minimum(np.maximum(out, self._low, out=out), self._high, out=out)
        return out
