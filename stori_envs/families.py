"""Environment families: who builds a stochastic environment for a given id.

A family with game knowledge (the Atari games, the medical simulator) registers a matcher and a
builder; every other id is a generic Gymnasium environment and gets the generic taxonomy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from stori_envs.taxonomy.build import apply_profile
from stori_envs.taxonomy.profile import Profile, as_profile


@dataclass(frozen=True)
class Family:
    """``matches(env_id)`` says whether the family owns an id; ``build(env_id, profile, **kwargs)`` makes it."""

    name: str
    matches: Callable[[str], bool]
    build: Callable[..., gym.Env]
    description: str = ""


_FAMILIES: list[Family] = []


def register_family(family: Family) -> None:
    """Register (or replace, by name) an environment family."""
    _FAMILIES[:] = [f for f in _FAMILIES if f.name != family.name]
    _FAMILIES.append(family)


def families() -> tuple[Family, ...]:
    return tuple(_FAMILIES)


def make(env: str | gym.Env, profile: Profile | dict | str | None = None, /, **kwargs: Any) -> gym.Env:
    """Make any Gymnasium environment stochastic under ``profile``.

    ``env`` is a registered id (``"CartPole-v1"``, ``"Breakout"``) or an environment instance.
    Ids owned by a family (see :func:`register_family`) get that family's game modes; any other id
    is made with :func:`gymnasium.make` (``kwargs`` go to it) and wrapped by the generic taxonomy.
    ``state_extractor``/``state_space`` configure type 0 on generic environments.

    Example:
        >>> import stori_envs
        >>> env = stori_envs.make("CartPole-v1", {"stochasticity_type": "1",
        ...     "intrinsic_stochasticity.action_dependent.stochastic_action_prob": 0.2})
        >>> obs, info = env.reset(seed=0)
    """
    profile = as_profile(profile)
    generic = {k: kwargs.pop(k) for k in ("state_extractor", "state_space") if k in kwargs}
    if isinstance(env, str):
        for family in _FAMILIES:
            if family.matches(env):
                return family.build(env, profile, **kwargs, **generic)
        try:
            base = gym.make(env, **kwargs)
        except gym.error.Error as exc:
            raise ValueError(f"env: got {env!r}; allowed: a registered Gymnasium id ({exc})") from None
    elif isinstance(env, gym.Env):
        if kwargs:
            raise ValueError(f"kwargs: got {sorted(kwargs)!r} with an environment instance; allowed: none")
        base = env
    else:
        raise ValueError(f"env: got {env!r}; allowed: a Gymnasium id or a gymnasium.Env instance")
    return apply_profile(base, profile, **generic)


def make_from_spec(env_id: str, profile: Profile | dict | str | None = None, **kwargs: Any) -> gym.Env:
    """Entry point of the ``stori/Stochastic-v0`` id: ``gym.make("stori/Stochastic-v0", env_id=..., profile=...)``."""
    return make(env_id, profile, **kwargs)
