"""The core contract on MedSepsis (issue 8): one environment per (spelling, profile), no hidden state in the
chart, validated inputs at every boundary. Each test is the regression test of a measured defect."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from medical_support import run_steps

import stori_envs
from stori_envs.medical.config import MEASURED, OBS, MedSepsisConfig
from stori_envs.medical.env import MedSepsisEnv
from stori_envs.medical.physiology import charted_sofa
from stori_envs.medical.policies import ClinicianConfig
from stori_envs.medical.presets import TAXONOMY_PRESETS
from stori_envs.profiles import action, drift, event, observation


def trajectory(env, seed: int = 11, steps: int = 45) -> np.ndarray:
    """Observations, rewards, costs and the STORI facts of ``steps`` steps (unseeded resets between episodes)."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    out = [obs, [info["concept"], info["admission"]]]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(rng.uniform(-1, 1, 2).astype(np.float32))
        out += [obs, [reward, info["cost"], info["concept"], info["action_replaced"], *info["obs_mask"]]]
        if terminated or truncated:
            obs, info = env.reset()
            out.append(obs)
    return np.concatenate([np.ravel(np.asarray(x, dtype=np.float64)) for x in out])


def vector_trajectory(venv, seed: int = 11, steps: int = 45) -> np.ndarray:
    """The first sub-environment's trajectory in a one-env vector (same actions as :func:`trajectory`)."""
    rng = np.random.default_rng(seed)
    obs, info = venv.reset(seed=seed)
    out = [obs[0], [info["concept"][0], info["admission"][0]]]
    autoreset = False
    for _ in range(steps):
        a = rng.uniform(-1, 1, 2).astype(np.float32)
        obs, reward, terminated, truncated, info = venv.step(a[None])
        if autoreset:  # Gymnasium's next-step autoreset: this call was the reset
            out.append(obs[0])
            obs, reward, terminated, truncated, info = venv.step(a[None])
        out += [obs[0], [reward[0], info["cost"][0], info["concept"][0], info["action_replaced"][0],
                         *info["obs_mask"][0]]]
        autoreset = bool(terminated[0] or truncated[0])
    return np.concatenate([np.ravel(np.asarray(x, dtype=np.float64)) for x in out])


PROFILES = {
    "dropout": observation("dropout", 0.5),
    "action": action(0.4),
    "events": event("haemorrhage", 0.3),
    "night shift": drift(action(0.5), "cyclic", 2),
}


@pytest.mark.parametrize("name", list(PROFILES))
def test_every_spelling_and_route_gives_the_same_trajectory(name):
    """Regression: stori_envs.make raised, preset ids lost the mask and demographics, gym.make refused profile=."""
    profile = PROFILES[name]
    reference = trajectory(gym.make("stori/MedSepsis-v0", profile=profile))
    spellings = ["MedSepsis", "MedSepsis-v0", "stori/MedSepsis-v0", "MedSepsis-T3.2-v0", "stori/MedSepsis-T3.2-v0",
                 "stori/MedSepsis-T2.2-v0"]
    for spelling in spellings:
        env = stori_envs.make(spelling, profile)
        assert env.observation_space == gym.make("stori/MedSepsis-v0", profile=profile).observation_space
        assert np.array_equal(trajectory(env), reference), spelling
    for gym_id in ("stori/MedSepsis-v0", "stori/MedSepsis-T3.2-v0", "stori/MedSepsis-T1-v0"):
        assert np.array_equal(trajectory(gym.make(gym_id, profile=profile)), reference), gym_id
        assert np.array_equal(trajectory(gym.make(gym.make(gym_id, profile=profile).spec)), reference), gym_id
    for mode in ("sync", "async"):
        venv = gym.make_vec("stori/MedSepsis-v0", num_envs=1, vectorization_mode=mode, profile=profile)
        assert np.array_equal(vector_trajectory(venv), trajectory(gym.make("stori/MedSepsis-v0", profile=profile)))
        venv.close()


@pytest.mark.parametrize("preset", list(TAXONOMY_PRESETS))
def test_preset_names_work_on_every_route(preset):
    reference = trajectory(gym.make(f"stori/MedSepsis-{preset}-v0"))
    variants = [preset, preset.lower(), preset[1:], f"MedSepsis-{preset}-v0"]
    for env in [stori_envs.make("MedSepsis-v0", v) for v in variants] + [
            stori_envs.make(f"MedSepsis-{preset}-v0"), stori_envs.make(f"stori/MedSepsis-{preset}-v0"),
            gym.make("stori/MedSepsis-v0", profile=preset), MedSepsisEnv(profile=preset)]:
        assert np.array_equal(trajectory(env), reference)
    assert gym.make(f"stori/MedSepsis-{preset}-v0").spec.to_json()  # plain kwargs: the spec serialises


def test_a_preset_id_keeps_the_mask_and_demographics_under_a_dropout_profile():
    """Regression: the generic dropout used to blank the 6-bit mask and age/weight of MedSepsis-T3.2."""
    env = stori_envs.make("stori/MedSepsis-T3.2-v0", observation("dropout", 0.5))
    assert env.observation_space.shape == (13 + len(MEASURED),)
    steps = run_steps(env, 200, seed=5)
    masks = np.stack([nxt[13:] for _, _, _, nxt, *_ in steps])
    assert set(np.unique(masks)) == {0.0, 1.0} and masks[:, 3].mean() == pytest.approx(0.5, abs=0.12)
    assert all(nxt[OBS["age"]] >= 18 and nxt[OBS["weight"]] >= 40 for _, _, _, nxt, *_ in steps)


def test_profile_and_keywords_have_one_meaning():
    # On a preset id any profile replaces the preset, the default one included, on every route.
    from stori_envs.taxonomy.profile import Profile

    for env in (stori_envs.make("stori/MedSepsis-T3.2-v0", Profile()),
                gym.make("stori/MedSepsis-T3.2-v0", profile=Profile())):
        assert env.unwrapped.config.missing is None and env.observation_space.shape == (13,)
    with pytest.raises(ValueError, match=r"missing.p_miss: got 0.1 as a keyword; allowed: set it with the profile's "
                                         r"partial_observation.prob"):
        gym.make("stori/MedSepsis-T3.2-v0", missing={"p_miss": 0.1})
    with pytest.raises(ValueError, match=r"missing.mode: got 'schedule' and a profile that sets 'mcar'"):
        gym.make("stori/MedSepsis-T3.2-v0", missing={"mode": "schedule"})
    env = gym.make("stori/MedSepsis-T3.2-v0", missing={"spo2_dropout": 0.2})  # a MedSepsis-only field: allowed
    assert env.unwrapped.config.missing.spo2_dropout == 0.2 and env.unwrapped.config.missing.p_miss == 0.3
    with pytest.raises(ValueError, match=r"profile: got 'T7'; allowed: a preset name \(T1, T2.1"):
        stori_envs.make("MedSepsis-v0", "T7")
    with pytest.raises(ValueError, match=r"profile: got 'T1' as a keyword of stori_envs.make"):
        stori_envs.make("MedSepsis-v0", profile="T1")
    with pytest.raises(ValueError, match=r"partial_observation.type: got 'noise' for the 'medical' family"):
        gym.make("stori/MedSepsis-v0", profile=observation("noise", 0.2))
    with pytest.raises(ValueError, match=r"semantics.granularity: got 'frame'"):
        gym.make("stori/MedSepsis-v0", profile=action(0.1, semantics__granularity="frame"))


# -- the charted SOFA reads the chart only ------------------------------------------------------------------
def _chart_sofa(env, obs) -> int:
    dose = (float(obs[OBS["prev_vasopressor"]]) + 1.0) * 0.5
    chart = [float(obs[OBS[k]]) for k in ("map", "hr", "spo2", "creatinine", "urine", "weight")]
    return charted_sofa(env.params, *chart, dose)


def test_charted_sofa_is_a_function_of_the_observation_alone():
    """Regression: the charted SOFA read the true lung injury and burden (it equalled the noise-free SOFA)."""
    env = MedSepsisEnv()
    steps = run_steps(env, 400, seed=21)
    assert all(nxt[OBS["sofa"]] == _chart_sofa(env, nxt) for _, _, _, nxt, *_ in steps)
    assert sum(nxt[OBS["sofa"]] != info["sofa"] for _, _, _, nxt, _, _, info in steps) > 40


def test_charted_sofa_stays_put_while_the_chart_is_hidden():
    """Regression: with every charted feature blacked out the SOFA kept following the hidden state."""
    env = MedSepsisEnv(profile=observation("mask", 1.0, features=list(range(len(MEASURED)))))
    hold = lambda obs, rng: np.array([0.0, -0.5], np.float32)  # noqa: E731  one constant chosen dose
    steps = run_steps(env, 150, seed=3, action_fn=hold)
    per_episode: dict[int, set] = {}
    for _, _, _, nxt, _, _, info in steps:
        per_episode.setdefault(info["patient_id"], set()).add(float(nxt[OBS["sofa"]]))
    assert all(len(values) == 1 for values in per_episode.values())
    assert len({float(info["sofa"]) for *_, info in steps}) > 3  # the true SOFA moved meanwhile


# -- validation ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"noise_scale": 1e4}, r"noise_scale: got 10000.0; allowed: a finite number >= 0.0 and <= 10.0"),
    ({"process_noise": float("inf")}, r"process_noise: got inf"),
    ({"params": {"ec50": 0.0}}, r"params.ec50: got 0.0; allowed: a finite number > 0.0"),
    ({"params": {"k_cl": 0}}, r"params.k_cl: got 0"),
    ({"params": {"preload_scale": 0.0}}, r"params.preload_scale: got 0.0"),
    ({"params": {"cr_hours": 0.0}}, r"params.cr_hours: got 0.0"),
    ({"params": {"resistant_ec50": 0.0}}, r"params.resistant_ec50: got 0.0"),
    ({"params": {"weight_sd": -1.0}}, r"params.weight_sd: got -1.0; allowed: a finite number >= 0.0"),
    ({"params": {"theta_cv": -0.1}}, r"params.theta_cv: got -0.1"),
    ({"params": {"measurement_sd": (3.0, -5.0, 1.0, 0.1, 0.15, 0.05)}}, r"params.measurement_sd: got -5.0"),
    ({"params": {"burden0": (0.6, 0.15)}}, r"params.burden0: got \(0.6, 0.15\); allowed: \(low, high\) with low <="),
    ({"params": {"age_low": 95.0, "age_high": 90.0}}, r"params.age_low: got 95.0; allowed: an age <= age_high"),
    ({"params": {"r_g": 1e300}}, r"params.r_g: got 1e\+300"),
])
def test_config_rejects_values_that_used_to_overflow_or_pass_silently(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MedSepsisEnv(**kwargs)


def test_the_largest_allowed_noise_runs_without_overflow():
    env = MedSepsisEnv(noise_scale=10.0, process_noise=10.0,
                       params={"measurement_sd": (10.0, 10.0, 10.0, 10.0, 10.0, 10.0)})
    for obs, *_ in run_steps(env, 100, seed=1):
        assert env.observation_space.contains(obs)


def test_clinician_rejects_a_dose_noise_that_overflowed():
    with pytest.raises(ValueError, match=r"clinician.dose_noise: got 10000.0; allowed: a finite number >= 0.0 and "
                                         r"<= 5.0"):
        ClinicianConfig(dose_noise=1e4)
    assert MedSepsisConfig.make(params={"ec50": 1e-3}).params.ec50 == 1e-3


@pytest.mark.parametrize("bad", [None, "fluid", [0.1], [0.1, 0.2, 0.3], [np.nan, 0.0], [0.0, np.inf], {"a": 1},
                                 np.array([1.5, 0.0]), np.array([0.0, -1.01], np.float32)])
@pytest.mark.parametrize("knobs", [{"profile": action(1.0)},
                                   {"profile": action(1.0), "dosing_error": {"err_mode": "omit"}},
                                   {}, {"profile": "T2.2-NightShift"}])
def test_out_of_space_actions_are_rejected_every_time_even_when_replaced(bad, knobs):
    """The action is checked against the action space before any replacement, under every profile: p_err = 1
    (always replaced), a night shift (the type 1 knob switched off half the time) and no type 1 at all."""
    env = MedSepsisEnv(**knobs)
    env.reset(seed=0)
    for _ in range(8):
        with pytest.raises(ValueError, match=r"action: got .*; allowed: an element of the action space Box\(-1.0, 1.0"):
            env.step(bad)
        *_, terminated, truncated, _ = env.step(np.zeros(2, np.float32))  # still usable; the clocks move
        if terminated or truncated:
            env.reset()
    env.step(np.array([1.0, -1.0]))  # the bounds themselves are inside, in any float dtype
