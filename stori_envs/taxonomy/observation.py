"""Type 3.2 as Gymnasium wrappers, each hosting one component of
:mod:`stori_envs.taxonomy.components.observation`.

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

from stori_envs.taxonomy.components.base import Component
from stori_envs.taxonomy.components.host import ComponentHost
from stori_envs.taxonomy.components.observation import (
    Blackout,
    Crop,
    Dropout,
    Mask,
    Noise,
    image_shape,
    require_image,
)
from stori_envs.taxonomy.profile import Region

__all__ = ["BlackoutObservation", "CropObservation", "FeatureDropout", "FeatureMask", "ObservationNoise",
           "image_shape"]


class _Hosted(ComponentHost, gym.utils.RecordConstructorArgs):
    """One 3.2 component hosted around ``env``; constructor arguments recorded for ``env.spec``."""

    def __init__(self, env: gym.Env, component: Component, stori_type: str, **recorded: Any) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, stori_type=stori_type, **recorded)
        self.component = component
        ComponentHost.__init__(self, env, (component,), stori_type=stori_type)

    @property
    def p(self) -> float:
        return self.component.p


def _common(kwargs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(stori_type, settings)``: the settings go to the component and are recorded for ``env.spec``."""
    stori_type = kwargs.pop("stori_type", "3.2")
    settings = {"seed_policy": kwargs.pop("seed_policy", "gymnasium"), "enabled": kwargs.pop("enabled", True)}
    if kwargs:
        raise TypeError(f"unexpected keyword arguments {sorted(kwargs)}")
    return stori_type, settings


class CropObservation(_Hosted):
    """With probability ``p``, black out half of the image (modes 1-4) or all but a random disc (mode 5)."""

    def __init__(self, env: gym.Env, mode: str, p: float, torch_radius: int = 75, **kwargs: Any) -> None:
        stori_type, settings = _common(kwargs)
        h, w, _ = require_image(env.observation_space, "crop")
        super().__init__(env, Crop(h, w, mode, p, torch_radius, **settings), stori_type, mode=mode, p=p,
                         torch_radius=torch_radius, **settings)


class BlackoutObservation(_Hosted):
    """With probability ``p``, fill fixed rectangles (``regions``) with their colours."""

    def __init__(self, env: gym.Env, regions: Sequence[Region], p: float, **kwargs: Any) -> None:
        stori_type, settings = _common(kwargs)
        h, w, c = require_image(env.observation_space, "blackout")
        recorded = [r.to_list() if isinstance(r, Region) else list(r) for r in regions]
        parsed = [Region.parse(f"partial_observation.regions[{i}]", r) for i, r in enumerate(regions)]
        super().__init__(env, Blackout(h, w, c, parsed, p, env.observation_space.dtype, **settings), stori_type,
                         regions=recorded, p=p, **settings)


class FeatureMask(_Hosted):
    """With probability ``p`` (1 for always), hide a fixed subset of features."""

    def __init__(self, env: gym.Env, features: Sequence[int] | None, p: float = 1.0, fill: float = 0.0,
                 append_mask: bool = False, **kwargs: Any) -> None:
        stori_type, settings = _common(kwargs)
        super().__init__(env, Mask(env.observation_space, features, p, fill, append_mask, **settings), stori_type,
                         features=None if features is None else list(features), p=p, fill=fill,
                         append_mask=append_mask, **settings)


class FeatureDropout(_Hosted):
    """Hide each of ``features`` (all by default) independently with probability ``p`` every step."""

    def __init__(self, env: gym.Env, p: float, features: Sequence[int] | None = None, fill: float = 0.0,
                 append_mask: bool = False, **kwargs: Any) -> None:
        stori_type, settings = _common(kwargs)
        super().__init__(env, Dropout(env.observation_space, p, features, fill, append_mask, **settings), stori_type,
                         p=p, features=None if features is None else list(features), fill=fill,
                         append_mask=append_mask, **settings)


class ObservationNoise(_Hosted):
    """With probability ``p`` per step, add N(0, std²) noise to ``features`` (all by default), clipped to bounds."""

    def __init__(self, env: gym.Env, std: float, p: float = 1.0, features: Sequence[int] | None = None,
                 **kwargs: Any) -> None:
        stori_type, settings = _common(kwargs)
        super().__init__(env, Noise(env.observation_space, std, p, features, **settings), stori_type,
                         std=std, p=p, features=None if features is None else list(features), **settings)
