"""The one-behaviour-per-class wrappers of ``stori_envs.taxonomy`` are the same environments as the
profile route: same knob, same stream, so the same seed gives the same trajectory bit for bit."""

from __future__ import annotations

import gymnasium as gym
import pytest
from helpers import fingerprint, rollout
from image_env import SquareImageEnv

import stori_envs
from stori_envs.profiles import action, default, observation
from stori_envs.taxonomy.action import RandomActionReplacement
from stori_envs.taxonomy.default import DefaultObservability
from stori_envs.taxonomy.observation import (
    BlackoutObservation,
    CropObservation,
    FeatureDropout,
    FeatureMask,
    ObservationNoise,
)

VECTOR_CASES = {
    "3.1": (lambda env: DefaultObservability(env), default()),
    "1": (lambda env: RandomActionReplacement(env, 0.3), action(0.3)),
    "3.2 dropout": (lambda env: FeatureDropout(env, 0.3, append_mask=True),
                    observation("dropout", 0.3, append_mask=True)),
    "3.2 mask": (lambda env: FeatureMask(env, [1, 3], 0.5), observation("mask", 0.5, features=[1, 3])),
    "3.2 noise": (lambda env: ObservationNoise(env, 0.2, 0.5), observation("noise", 0.5, noise_std=0.2)),
}
REGIONS = [[0, 40, 0, 50, [0, 0, 0]]]
IMAGE_CASES = {
    "crop 5": (lambda env: CropObservation(env, "5", 0.5), observation("crop", 0.5, mode=5)),
    "blackout": (lambda env: BlackoutObservation(env, REGIONS, 0.5), observation("blackout", 0.5, regions=REGIONS)),
}


@pytest.mark.parametrize("name", list(VECTOR_CASES))
def test_vector_wrapper_equals_the_profile_route(name):
    wrap, profile = VECTOR_CASES[name]
    by_wrapper = wrap(gym.make("CartPole-v1"))
    by_profile = stori_envs.make("CartPole-v1", profile)
    assert fingerprint(rollout(by_wrapper, 3, 120)) == fingerprint(rollout(by_profile, 3, 120))


@pytest.mark.parametrize("name", list(IMAGE_CASES))
def test_image_wrapper_equals_the_profile_route(name):
    wrap, profile = IMAGE_CASES[name]
    by_wrapper = wrap(SquareImageEnv(84, 84))
    by_profile = stori_envs.make(SquareImageEnv(84, 84), profile)
    assert fingerprint(rollout(by_wrapper, 5, 30)) == fingerprint(rollout(by_profile, 5, 30))
