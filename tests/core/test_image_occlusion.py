"""Crop modes 0-5 and rectangle blackout on a generic image environment."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from helpers import assert_rate, fingerprint, rollout
from image_env import SquareImageEnv
from profiles import drift, observation

import stori_envs
from stori_envs.taxonomy.occlusion import Cropper


def make(profile):
    return stori_envs.make(SquareImageEnv(), profile)


@pytest.mark.parametrize(
    "mode, hidden",
    [("1", (slice(None), slice(0, 80))), ("2", (slice(None), slice(80, 160))),
     ("3", (slice(0, 105), slice(None))), ("4", (slice(105, 210), slice(None)))],
)
def test_half_crops_hide_exactly_their_half(mode, hidden):
    env = make(observation("crop", 1.0, mode))
    obs, _ = env.reset(seed=0)
    truth = env.unwrapped._frame()
    assert np.all(obs[hidden] == 0)
    keep = np.ones(obs.shape[:2], bool)
    keep[hidden] = False
    assert np.array_equal(obs[keep], truth[keep])


def test_torch_leaves_a_disc_of_radius_75():
    cropper = Cropper("5", 210, 160, 75)
    rng = np.random.default_rng(0)
    frame = np.full((210, 160, 3), 200, np.uint8)
    ys, xs = np.mgrid[0:210, 0:160]
    for _ in range(20):
        state = rng.bit_generator.state
        out = cropper.apply(frame, rng)
        replay = np.random.default_rng()
        replay.bit_generator.state = state
        cx, cy = int(replay.integers(160)), int(replay.integers(210))
        inside = (xs - cx) ** 2 + (ys - cy) ** 2 <= 75 ** 2
        assert np.all(out[inside] == 200) and np.all(out[~inside] == 0)
    assert np.all(frame == 200)  # input untouched


def test_crop_mode_zero_and_probability_zero_change_nothing():
    for profile in (observation("crop", 1.0, "0"), observation("crop", 0.0, "5")):
        env = make(profile)
        obs, _ = env.reset(seed=1)
        assert np.array_equal(obs, env.unwrapped._frame())


def test_crop_rate():
    env = make(observation("crop", 0.4, "2"))
    env.reset(seed=0)
    altered = 0
    n = 2000
    for _ in range(n):
        obs, _, _, trunc, info = env.step(0)
        altered += info["stori"]["observation_altered"]
        assert info["stori"]["observation_altered"] == bool(np.all(obs[:, 80:] == 0))
        if trunc:
            env.reset()
    assert_rate(altered, n, 0.4)


def test_blackout_regions_fill_inclusive_rectangles_with_colour():
    regions = [[10, 19, 100, 104, [1, 2, 3]], [0, 159, 0, 4, [9, 9, 9]]]
    env = make(observation("blackout", 1.0, regions=regions))
    obs, info = env.reset(seed=0)
    truth = env.unwrapped._frame()
    assert info["stori"]["observation_altered"]
    assert np.all(obs[100:105, 10:20] == [1, 2, 3]) and np.all(obs[0:5] == 9)
    changed = np.any(obs != truth, axis=2)
    changed[100:105, 10:20] = False
    changed[0:5] = False
    assert not changed.any()


def test_blackout_region_outside_image_is_a_clear_error():
    with pytest.raises(ValueError, match=r"regions\[0\].*x in \[0, 159\]"):
        make(observation("blackout", 1.0, regions=[[0, 160, 0, 3]]))


def test_render_shows_exactly_the_observation_and_draws_nothing():
    env = make(observation("crop", 0.5, "5"))
    obs, _ = env.reset(seed=0)
    for _ in range(30):
        frame = env.render()
        assert np.array_equal(frame, obs)
        obs = env.step(1)[0]
    twin = make(observation("crop", 0.5, "5"))
    twin.reset(seed=0)
    a = fingerprint([env.step(0)[0] for _ in range(5)])
    for _ in range(30):
        twin.step(1)
    b = fingerprint([twin.step(0)[0] for _ in range(5)])
    assert a == b  # the 30 extra render calls above did not consume draws


def test_image_drift_to_torch_and_checkers():
    profile = drift(observation("crop", 1.0, "5"), "sudden", 5)
    env = make(profile)
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    altered = [env.step(0)[4]["stori"]["observation_altered"] for _ in range(8)]
    assert altered == [False] * 5 + [True] * 3


def test_image_determinism():
    profile = observation("crop", 0.5, "5")
    runs = [fingerprint(rollout(make(profile), seed, 60)) for seed in (1, 1, 2)]
    assert runs[0] == runs[1] != runs[2]


def test_vector_kinds_refuse_images():
    with pytest.raises(ValueError, match="1-D float Box"):
        make(observation("dropout", 0.5))
