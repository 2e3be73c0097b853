"""Route equivalence over every family: for every spelling the registry declares, ``stori_envs.make``,
``gym.make`` of the declared Gymnasium id and ``gym.make_vec`` give identical trajectories for the same
seed and profile (preset names included). Cases come from the registry, so a family that registers is
covered; nothing here is marked as an expected failure."""

from __future__ import annotations

import gymnasium as gym
import pytest
from helpers import fingerprint
from routes import (
    GENERIC_IDS,
    family_route_cases,
    generic_profiles,
    gym_made,
    made,
    strip_info,
    trajectory,
    vector_trajectory,
)

import stori_envs
import stori_envs.families
from stori_envs.families import GENERIC_ID

SEED, STEPS, ATARI_STEPS = 5, 40, 6

GENERIC_CASES = [(env_id, name, p) for env_id in GENERIC_IDS for name, p in generic_profiles().items()]


@pytest.fixture(autouse=True)
def _quiet(recwarn):
    yield


@pytest.mark.parametrize("env_id, name, profile", GENERIC_CASES, ids=[f"{e}-{n}" for e, n, _ in GENERIC_CASES])
def test_generic_routes_agree(env_id, name, profile):
    direct = trajectory(stori_envs.make(env_id, profile), SEED, STEPS)
    via_gym = trajectory(gym.make(GENERIC_ID, env_id=env_id, profile=profile), SEED, STEPS)
    via_spelling = trajectory(stori_envs.make(GENERIC_ID, profile, env_id=env_id), SEED, STEPS)
    assert fingerprint(direct) == fingerprint(via_gym) == fingerprint(via_spelling)
    vec = gym.make_vec(GENERIC_ID, num_envs=1, vectorization_mode="sync", env_id=env_id, profile=profile)
    assert fingerprint(strip_info(direct)) == fingerprint(vector_trajectory(vec, SEED, STEPS))


def test_generic_async_vector_agrees():
    profile = generic_profiles()["2.2"]
    direct = trajectory(stori_envs.make("CartPole-v1", profile), SEED, STEPS)
    vec = gym.make_vec(GENERIC_ID, num_envs=1, vectorization_mode="async", env_id="CartPole-v1", profile=profile)
    try:
        assert fingerprint(strip_info(direct)) == fingerprint(vector_trajectory(vec, SEED, STEPS))
    finally:
        vec.close()


FAMILY_CASES = family_route_cases()


def _steps(family: str) -> int:
    return ATARI_STEPS if family == "atari" else STEPS


@pytest.mark.parametrize("family, spelling, route, profile", FAMILY_CASES,
                         ids=[f"{f}-{s}-{p if isinstance(p, str) or p is None else 'type1'}"
                              for f, s, _, p in FAMILY_CASES])
def test_family_spellings_agree(family, spelling, route, profile):
    steps = _steps(family)
    extra = dict(route.kwargs)
    direct = trajectory(made(spelling, profile), SEED, steps)
    gym_kwargs = extra if profile is None else {**extra, "profile": profile}
    via_gym = trajectory(gym_made(route.gym_id, **gym_kwargs), SEED, steps)
    assert fingerprint(direct) == fingerprint(via_gym)


def _vector_cases():
    """make_vec compared with stori_envs.make for the profiled cases (the registered ids themselves are
    covered by test_vector_ecosystem.py::test_every_registered_id_agrees_on_every_route)."""
    return [c for c in FAMILY_CASES if c[3] is not None]


VECTOR_CASES = _vector_cases()


@pytest.mark.parametrize("family, spelling, route, profile", VECTOR_CASES,
                         ids=[f"{f}-{r.gym_id}-{p if isinstance(p, str) or p is None else 'type1'}"
                              for f, _, r, p in VECTOR_CASES])
def test_family_make_vec_agrees(family, spelling, route, profile):
    steps = _steps(family)
    kwargs = dict(route.kwargs) if profile is None else {**route.kwargs, "profile": profile}
    direct = trajectory(made(spelling, profile), SEED, steps)
    vec = gym.make_vec(route.gym_id, num_envs=1, vectorization_mode="sync", **kwargs)
    assert fingerprint(strip_info(direct)) == fingerprint(vector_trajectory(vec, SEED, steps))


def test_every_family_declares_its_routes():
    for family in stori_envs.families.families():
        assert family.routes, family.name
        for spelling, route in family.routes.items():
            assert route.gym_id in gym.registry, (family.name, spelling, route.gym_id)
            assert stori_envs.family_for(spelling) is family, (spelling, family.name)
