"""Type 3.2, induced partial observation, as Gymnasium observation wrappers.

Images: :class:`CropObservation` and :class:`BlackoutObservation`. Vectors: :class:`FeatureMask`,
:class:`FeatureDropout` and :class:`ObservationNoise`. Each draws from its own ``"observation"``
stream, returns a fresh array when it alters the observation (never mutating its input) and reports
``info["stori"]["observation_altered"]``. For image observations ``render()`` returns the observation
the agent last received, making no new draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from stori_envs.taxonomy.base import StoriWrapper
from stori_envs.taxonomy.occlusion import Cropper, RegionFiller
from stori_envs.taxonomy.profile import Region
from stori_envs.taxonomy.record import stori_record


def image_shape(space: gym.Space) -> tuple[int, int, int | None] | None:
    """(H, W, C or None) if ``space`` is a uint8 image Box of shape (H, W) or (H, W, C), else None."""
    if isinstance(space, spaces.Box) and space.dtype == np.uint8 and len(space.shape) in (2, 3):
        h, w = space.shape[:2]
        return h, w, (space.shape[2] if len(space.shape) == 3 else None)
    return None


def _require_image(env: gym.Env, kind: str) -> tuple[int, int, int | None]:
    shape = image_shape(env.observation_space)
    if shape is None:
        raise ValueError(f"partial_observation.type: got {kind!r} for observation space "
                         f"{env.observation_space}; allowed: 'crop' and 'blackout' need a uint8 image Box "
                         "(H, W) or (H, W, C); use 'mask', 'dropout' or 'noise' for vectors")
    return shape


class _Occlusion(StoriWrapper):
    """Shared step/reset/render logic: decide with p, alter a copy, remember what the agent saw."""

    stream_name = "observation"

    def __init__(self, env, p: float, *, stori_type="3.2", seed_policy="gymnasium", enabled=True, **constructor_args):
        super().__init__(env, stori_type=stori_type, seed_policy=seed_policy, enabled=enabled, p=p, **constructor_args)
        self.p = float(p)
        self._last_obs = None

    def _alter(self, obs):  # pragma: no cover - abstract
        raise NotImplementedError

    def _maybe_alter(self, obs):
        """The altered observation, or None when this step leaves it as it is (one coin with p)."""
        return self._alter(obs) if self.rng.random() < self.p else None

    def _observe(self, obs, info):
        altered = False
        if self.enabled:
            new = self._maybe_alter(obs)
            if new is not None:
                obs, altered = new, True
        stori_record(info, self.stori_type)["observation_altered"] = altered
        self._last_obs = obs
        return obs

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        return self._observe(obs, info), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        stori_record(info, self.stori_type, action)
        return self._observe(obs, info), reward, terminated, truncated, info

    def render(self):
        if self.render_mode == "rgb_array" and self._last_obs is not None and image_shape(self.observation_space):
            return self._last_obs.copy()
        return self.env.render()


class CropObservation(_Occlusion):
    """With probability ``p``, black out half of the image (modes 1-4) or all but a random disc (mode 5).

    The torch (mode 5) draws its centre uniformly over the image's pixels from the same stream.
    """

    def __init__(self, env: gym.Env, mode: str, p: float, torch_radius: int = 75, **kwargs: Any) -> None:
        super().__init__(env, p, mode=mode, torch_radius=torch_radius, **kwargs)
        h, w, _ = _require_image(env, "crop")
        self.cropper = Cropper(mode, h, w, torch_radius)

    def _alter(self, obs):
        return self.cropper.apply(obs, self.rng)


class BlackoutObservation(_Occlusion):
    """With probability ``p``, fill fixed rectangles (``regions``) with their colours."""

    def __init__(self, env: gym.Env, regions: Sequence[Region], p: float, **kwargs: Any) -> None:
        super().__init__(env, p, regions=regions, **kwargs)
        h, w, c = _require_image(env, "blackout")
        self.filler = RegionFiller(regions, h, w, c, env.observation_space.dtype)

    def _alter(self, obs):
        return self.filler.apply(obs)


def _vector_space(env: gym.Env, kind: str) -> spaces.Box:
    space = env.observation_space
    if not (isinstance(space, spaces.Box) and len(space.shape) == 1 and np.issubdtype(space.dtype, np.floating)):
        raise ValueError(f"partial_observation.type: got {kind!r} for observation space {space}; allowed: "
                         "'mask', 'dropout' and 'noise' need a 1-D float Box; use 'crop' or 'blackout' for images")
    return space


def _feature_index(features: Sequence[int] | None, size: int) -> np.ndarray:
    if features is None:
        return np.arange(size)
    bad = [f for f in features if not 0 <= f < size]
    if bad:
        raise ValueError(f"partial_observation.features: got {list(features)!r}; allowed: indices in [0, {size - 1}]")
    return np.asarray(sorted(set(features)), dtype=np.intp)


class _VectorHiding(_Occlusion):
    """Hide features (they read ``fill``, clipped into the space) and optionally append a 0/1 "observed" mask.

    Subclasses return the boolean "hidden" vector of a step from :meth:`_hidden` (None: nothing hidden).
    """

    def __init__(self, env, p, features, fill, append_mask, kind, **kwargs):
        super().__init__(env, p, features=features, fill=fill, append_mask=append_mask, **kwargs)
        space = _vector_space(env, kind)
        n = space.shape[0]
        self.features = _feature_index(features, n)
        self._selected = np.zeros(n, dtype=bool)
        self._selected[self.features] = True
        self._fill = np.clip(np.full(n, fill, dtype=space.dtype), space.low, space.high)
        self._dtype = space.dtype
        self.append_mask = append_mask
        if append_mask:
            self.observation_space = spaces.Box(
                np.concatenate([space.low, np.zeros(n, space.dtype)]),
                np.concatenate([space.high, np.ones(n, space.dtype)]),
                dtype=space.dtype,
            )
            self._nothing_hidden = np.zeros(n, dtype=bool)

    def _hidden(self) -> np.ndarray | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _maybe_alter(self, obs):
        hidden = self._hidden()
        if hidden is None:
            return None
        out = np.where(hidden, self._fill, obs)
        return np.concatenate((out, ~hidden), dtype=self._dtype) if self.append_mask else out

    def _observe(self, obs, info):
        out = super()._observe(obs, info)
        if self.append_mask and out is obs:  # nothing hidden this step: every feature observed
            out = self._last_obs = np.concatenate((obs, ~self._nothing_hidden), dtype=self._dtype)
        return out


class FeatureMask(_VectorHiding):
    """With probability ``p`` (1 for always), hide a fixed subset of features."""

    def __init__(self, env: gym.Env, features: Sequence[int] | None, p: float = 1.0, fill: float = 0.0,
                 append_mask: bool = False, **kwargs: Any) -> None:
        super().__init__(env, p, features, fill, append_mask, "mask", **kwargs)

    def _hidden(self):
        return self._selected if self.rng.random() < self.p else None


class FeatureDropout(_VectorHiding):
    """Hide each of ``features`` (all by default) independently with probability ``p`` every step.

    The uniforms are drawn from the stream in blocks of ``_BLOCK`` steps: the values are exactly those
    of one ``rng.random(n)`` per step (the stream is private to this knob), at a fraction of the cost.
    """

    _BLOCK = 512

    def __init__(self, env: gym.Env, p: float, features: Sequence[int] | None = None, fill: float = 0.0,
                 append_mask: bool = False, **kwargs: Any) -> None:
        super().__init__(env, p, features, fill, append_mask, "dropout", **kwargs)
        self._k = self.features.shape[0]
        self._row = self._BLOCK  # no block drawn yet

    def reset(self, *, seed=None, options=None):
        self._row = self._BLOCK  # the stream may be re-seeded: discard the rest of the block
        return super().reset(seed=seed, options=options)

    def _hidden(self):
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


class ObservationNoise(_Occlusion):
    """With probability ``p`` per step, add N(0, std²) noise to ``features`` (all by default), clipped to bounds.

    Coins and noise are drawn from the stream in blocks of ``_BLOCK`` steps (deterministic per seed,
    a fraction of the per-step cost of small draws).
    """

    _BLOCK = 512

    def __init__(self, env: gym.Env, std: float, p: float = 1.0, features: Sequence[int] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(env, p, std=std, features=features, **kwargs)
        space = _vector_space(env, "noise")
        self.features = _feature_index(features, space.shape[0])
        self._all = self.features.shape[0] == space.shape[0]
        self.std = float(std)
        self._low, self._high = space.low, space.high
        self._bounded = bool(np.isfinite(space.low).any() or np.isfinite(space.high).any())
        self._row = self._BLOCK

    def reset(self, *, seed=None, options=None):
        self._row = self._BLOCK  # the stream may be re-seeded: discard the rest of the block
        return super().reset(seed=seed, options=options)

    def _maybe_alter(self, obs):
        if self._row == self._BLOCK:
            self._coins = self.rng.random(self._BLOCK) < self.p
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
