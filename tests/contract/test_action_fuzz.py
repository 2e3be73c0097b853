"""Action fuzz (hypothesis) over every id: an action outside the action space is refused every time,
with a ValueError (or Gymnasium's own error), whatever the profile and whether or not a knob would
have replaced it. Ids: every registered stori id, one spelling per family route, and the generic
family on classic control and MuJoCo under every type."""

from __future__ import annotations

import functools

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from routes import GENERIC_IDS, generic_profiles, made

import stori_envs
import stori_envs.families
from stori_envs.registration import registered_envs

REFUSED = (ValueError, gym.error.Error)


def _ids() -> list[tuple[str, str, dict | None]]:
    """(label, id, profile) cases: registered ids with their own profile, other spellings, generic ids."""
    cases = [(e.env_id, e.env_id, None) for e in registered_envs() if e.env_id != "stori/Stochastic-v0"]
    registered = {c[1] for c in cases}
    for family in stori_envs.families.families():
        for spelling in family.routes:
            if spelling not in registered and family.name != "generic":
                cases.append((spelling, spelling, None))
                registered.add(spelling)
    for env_id in GENERIC_IDS:
        for name, profile in generic_profiles().items():
            cases.append((f"{env_id}-{name}", env_id, profile))
    return cases


CASES = _ids()


@functools.cache
def _env(env_id: str, profile_key: str | None):
    profile = None if profile_key is None else dict(generic_profiles())[profile_key]
    env = made(env_id, profile)
    env.reset(seed=0)
    return env


def bad_actions(space: gym.Space) -> st.SearchStrategy:
    """Values that are not elements of ``space``."""
    foreign = st.one_of(st.none(), st.text(max_size=3), st.just([None]), st.just({"a": 1}))
    if isinstance(space, gym.spaces.Discrete):
        lo, hi = int(space.start), int(space.start + space.n)
        outside = st.one_of(st.integers(max_value=lo - 1), st.integers(min_value=hi))
        near = st.one_of(st.integers(lo - 2**40, lo - 1), st.integers(hi, hi + 2**40))
        return st.one_of(foreign, outside, near.map(np.int64),
                         st.floats(allow_nan=True).filter(lambda x: not float(x).is_integer()),
                         st.lists(st.integers(lo, hi - 1), min_size=2, max_size=3).map(np.asarray))
    if isinstance(space, gym.spaces.Box):
        shape = space.shape
        wrong_shape = st.integers(1, 4).filter(lambda n: (n,) != shape).map(lambda n: np.zeros(n, space.dtype))
        bad_value = st.sampled_from([np.nan, np.inf, -np.inf, 1e30, -1e30])
        finite_low = np.isfinite(space.low).all() and np.isfinite(space.high).all()

        def poke(value: float, index: int) -> np.ndarray:
            a = np.clip(np.zeros(shape, space.dtype), space.low, space.high)
            a.flat[index % a.size] = value
            return a

        poked = st.builds(poke, bad_value if finite_low else st.just(np.nan), st.integers(0, 10**6))
        return st.one_of(foreign, wrong_shape, poked)
    return foreign


@pytest.mark.parametrize("label, env_id, profile", CASES, ids=[c[0] for c in CASES])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_out_of_space_actions_are_refused(label, env_id, profile, data):
    key = None if profile is None else next(k for k, v in generic_profiles().items() if v == profile)
    env = _env(env_id, key)
    bad = data.draw(bad_actions(env.action_space), label="action")
    assert not env.action_space.contains(bad) if not isinstance(bad, (str, dict, list, type(None))) else True
    with pytest.raises(REFUSED):
        env.step(bad)
