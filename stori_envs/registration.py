"""The suite's Gymnasium ids (namespace ``stori``) and their one-line descriptions.

``import stori_envs`` registers every id, after which ``gym.make("stori/...")`` works; without the
import, Gymnasium's module syntax does it: ``gym.make("stori_envs:stori/Stochastic-v0", ...)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

NAMESPACE = "stori"


@dataclass(frozen=True)
class EnvInfo:
    """What ``stori-envs list`` shows for an id."""

    env_id: str
    family: str
    description: str
    profile: dict[str, Any] | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)


_ENVS: dict[str, EnvInfo] = {}


def register_env(env_id: str, entry_point: str, *, family: str, description: str,
                 profile: dict[str, Any] | None = None, kwargs: dict[str, Any] | None = None,
                 **register_kwargs: Any) -> None:
    """Register a Gymnasium id and remember its description (idempotent)."""
    kwargs = dict(kwargs or {})
    if profile is not None:
        kwargs["profile"] = profile
    if env_id not in gym.registry:
        gym.register(id=env_id, entry_point=entry_point, kwargs=kwargs, **register_kwargs)
    _ENVS[env_id] = EnvInfo(env_id, family, description, profile, kwargs)


def registered_envs(family: str | None = None) -> list[EnvInfo]:
    """Every id of the suite (optionally of one family), sorted."""
    return sorted((e for e in _ENVS.values() if family is None or e.family == family), key=lambda e: e.env_id)


def register_generic() -> None:
    register_env(
        f"{NAMESPACE}/Stochastic-v0",
        "stori_envs.families:make_from_spec",
        family="generic",
        description="Any Gymnasium id under any profile: gym.make('stori/Stochastic-v0', env_id=..., profile=...)",
    )
