"""What the family registry declares, turned into test cases shared by the contract tests."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

import stori_envs
import stori_envs.families
from stori_envs.profiles import action, drift, event, observation

#: Generic Gymnasium ids the generic family is exercised on (classic control, MuJoCo).
GENERIC_IDS = ("CartPole-v1", "Pendulum-v1", "InvertedPendulum-v5")


def generic_profiles() -> dict[str, dict | None]:
    """One profile per type, as dicts (so that specs serialise)."""
    return {
        "3.1": None,
        "0": {"stochasticity_type": "0"},
        "1": action(0.3).to_dict(),
        "2.1": event("state_perturbation", 0.3).to_dict(),
        "2.2": drift(observation("noise", 0.5), "cyclic", 3).to_dict(),
        "3.2": observation("dropout", 0.3).to_dict(),
    }


_MADE: dict[str, gym.Env] = {}


def made(env_id: str, profile: Any = None, **kwargs: Any) -> gym.Env:
    """``stori_envs.make(env_id, profile, **kwargs)``, made once per session and shared by the contract
    tests (emulators are slow to create; a seeded reset restarts an environment exactly, and the
    action fuzz only makes refused steps)."""
    key = f"stori|{env_id}|{profile!r}|{sorted(kwargs.items())!r}"
    if key not in _MADE:
        _MADE[key] = stori_envs.make(env_id, profile, **kwargs)
    return _MADE[key]


def gym_made(gym_id: str, **kwargs: Any) -> gym.Env:
    """``gym.make(gym_id, **kwargs)``, made once per session (see :func:`made`)."""
    key = f"gym|{gym_id}|{sorted(kwargs.items(), key=lambda kv: kv[0])!r}"
    if key not in _MADE:
        _MADE[key] = gym.make(gym_id, **kwargs)
    return _MADE[key]


def takes_profile(gym_id: str) -> bool:
    """Whether a registered id takes ``profile=`` (preset ids have theirs fixed in the registration)."""
    return "profile" not in (gym.spec(gym_id).kwargs or {})


def family_route_cases() -> list[tuple[str, str, Any, Any]]:
    """(family, spelling, route, profile) for every spelling every non-generic family declares.

    Profiles: the default (None) on every spelling; on the first spelling of each Gymnasium id that
    takes a profile, also the family's first preset name (a raw string: preset names must work on
    every route) and a type 1 profile when the family honours type 1.
    """
    cases, profiled = [], set()
    for family in stori_envs.families.families():
        if family.name == "generic":
            continue
        for spelling, route in family.routes.items():
            cases.append((family.name, spelling, route, None))
            key = (route.gym_id, tuple(sorted(route.kwargs.items())))
            if not takes_profile(route.gym_id) or key in profiled:
                continue
            profiled.add(key)
            if family.presets:
                cases.append((family.name, spelling, route, family.presets[0]))
            if "1" in family.accepts.types:
                cases.append((family.name, spelling, route, action(0.25).to_dict()))
    return cases


def trajectory(env: gym.Env, seed: int, steps: int) -> list[Any]:
    """obs, reward, terminated, truncated and info["stori"] of ``steps`` steps from ``reset(seed)``,
    actions from a stream seeded by ``seed``; stops at the end of the first episode."""
    env.action_space.seed(seed)
    obs, info = env.reset(seed=seed)
    out: list[Any] = [_array(obs), info.get("stori")]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        out += [_array(obs), float(reward), bool(terminated), bool(truncated), info.get("stori")]
        if terminated or truncated:
            break
    return out


def vector_trajectory(envs: gym.vector.VectorEnv, seed: int, steps: int) -> list[Any]:
    """The same as :func:`trajectory` for a one-environment vector env (obs, reward, flags only)."""
    single = envs.single_action_space
    single.seed(seed)
    obs, info = envs.reset(seed=seed)
    out: list[Any] = [_first(obs)]
    for _ in range(steps):
        a = single.sample()
        obs, reward, terminated, truncated, info = envs.step(np.asarray([a]) if np.ndim(a) == 0 else a[None])
        out += [_first(obs), float(reward[0]), bool(terminated[0]), bool(truncated[0])]
        if terminated[0] or truncated[0]:
            break
    return out


def _array(obs: Any) -> Any:
    """Observations as arrays (a Discrete observation is an int alone, an np.int64 in a batch)."""
    return {k: np.asarray(v) for k, v in obs.items()} if isinstance(obs, dict) else np.asarray(obs)


def _first(obs: Any) -> Any:
    """The first environment's observation of a batch (Dict observations are batched per key)."""
    return _array({k: v[0] for k, v in obs.items()} if isinstance(obs, dict) else obs[0])


def strip_info(trace: list[Any]) -> list[Any]:
    """The trace without info records (vector envs batch them differently)."""
    return [x for x in trace if not (isinstance(x, dict) and "type" in x) and x is not None]
