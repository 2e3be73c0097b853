"""MedSepsis on the real simulator: determinism, separate streams, bounds, the API checkers, physiology, costs."""

from __future__ import annotations

import math
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from helpers import fingerprint, rollout
from medical_support import TEST_SEED_BASE, run_steps
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from stori_envs.medical import calibrated
from stori_envs.medical.config import COST_NAMES, OBS, MedSepsisConfig
from stori_envs.medical.costs import (
    CostInfo,
    CostTuple,
    CostVector,
    cost_components,
    cost_vector,
    death_hazard,
    map_reward,
    sofa_reward,
)
from stori_envs.medical.env import MedSepsisEnv
from stori_envs.profiles import action, drift, event, observation
from stori_envs.registration import registered_envs

MEDSEPSIS_IDS = [e.env_id for e in registered_envs("medical") if "ICUSepsis" not in e.env_id]
BLOCKS = {
    "base": {},
    "T1": {"profile": action(0.3)},
    "T1-omit": {"profile": action(0.3), "dosing_error": {"err_mode": "omit"}},
    "T2.1": {"adverse_events": {"event_scale": 5.0}},
    "T2.2": {"drift": {"concept": "resistant_strain", "temporal_mode": "cyclic", "threshold": 4, "clock": "episode"}},
    "T3.2": {"missing": {"mode": "mcar"}},
    "T3.2-mnar": {"missing": {"mode": "mnar", "blackout": ["urine"]}},
    "survival": {"reward_mode": "survival"},
    "map": {"reward_mode": "map"},
    "hourly": {"preset": "ogsrl_hypotension"},
}


@pytest.mark.parametrize("name", BLOCKS)
def test_same_seed_same_trajectory_bit_for_bit(name):
    traces = [rollout(MedSepsisEnv(**BLOCKS[name]), seed=7, steps=60) for _ in range(2)]
    assert fingerprint(traces[0]) == fingerprint(traces[1])
    other = rollout(MedSepsisEnv(**BLOCKS[name]), seed=8, steps=60)
    assert fingerprint(other) != fingerprint(traces[0])


def test_reset_without_seed_continues_and_reset_with_seed_restarts():
    env = MedSepsisEnv()
    first = [env.reset(seed=3)[1]["patient_id"], env.reset()[1]["patient_id"], env.reset()[1]["patient_id"]]
    again = [env.reset(seed=3)[1]["patient_id"], env.reset()[1]["patient_id"], env.reset()[1]["patient_id"]]
    assert first == again and len(set(first)) == 3
    # Episode k depends only on (seed, k): stepping episode 0 longer does not change patient 1.
    env.reset(seed=3)
    for _ in range(5):
        env.step(np.zeros(2, np.float32))
    assert env.reset()[1]["patient_id"] == first[1]
    # first_reset: later seeds are ignored.
    fr = MedSepsisEnv(seed_policy="first_reset")
    ids = [fr.reset(seed=3)[1]["patient_id"], fr.reset(seed=3)[1]["patient_id"]]
    assert ids == first[:2]


def test_patient_and_admission_do_not_depend_on_the_knobs():
    base = MedSepsisEnv(expose_latent=True)
    obs0, info0 = base.reset(seed=11)
    for name, kwargs in BLOCKS.items():
        if name in ("hourly", "T3.2", "T3.2-mnar"):
            continue
        obs, info = MedSepsisEnv(expose_latent=True, **kwargs).reset(seed=11)
        assert info["latent"] == info0["latent"], name
        assert np.array_equal(obs, obs0), name
    obs, info = MedSepsisEnv(expose_latent=True, missing={"mode": "schedule"}).reset(seed=11)
    assert info["latent"] == info0["latent"] and np.array_equal(obs[:13], obs0)  # admission is measured


@pytest.mark.parametrize("zero", [{"profile": action(0.0)}, {"adverse_events": {"event_scale": 0.0}},
                                  {"profile": observation("dropout", 0.0)},
                                  {"profile": drift(event("all", 0.0), "sudden", 1)}])
def test_a_knob_at_probability_zero_is_the_base_env_bit_for_bit(zero):
    base = run_steps(MedSepsisEnv(), 80, seed=5)
    knob = run_steps(MedSepsisEnv(**zero), 80, seed=5)
    for (_, _, r1, n1, te1, tr1, i1), (_, _, r2, n2, te2, tr2, i2) in zip(base, knob, strict=True):
        assert np.array_equal(n1, n2[:13]) and r1 == r2 and (te1, tr1) == (te2, tr2)
        for key in ("cost", "cost_components", "sofa", "outcome", "patient_id", "executed_action"):
            assert fingerprint(i1[key]) == fingerprint(i2[key]), key


def test_each_knob_draws_from_its_own_stream():
    """Turning other knobs on leaves a knob's draws unchanged: same replaced steps, events and masks."""
    one = {"profile": action(0.3)}
    two = {"adverse_events": {"event_scale": 5.0}}
    three = {"profile": observation("dropout", 0.4)}

    def pattern(kwargs, key):
        """Per episode, the knob's per-step outcome (episodes may end at different steps)."""
        episodes = [[]]
        for *_, terminated, truncated, info in run_steps(MedSepsisEnv(**kwargs), 200, seed=9):
            episodes[-1].append(info[key].tolist() if hasattr(info[key], "tolist") else info[key])
            if terminated or truncated:
                episodes.append([])
        return episodes

    def same_draws(a, b):
        pairs = list(zip(a, b))
        return len(pairs) >= 8 and all(x[:len(y)] == y[:len(x)] for x, y in pairs)

    # Several knobs at once: the resolved config (one profile carries one type).
    every = {"config": {"dosing_error": {"p_err": 0.3}, "adverse_events": {"event_scale": 5.0},
                        "missing": {"mode": "mcar", "p_miss": 0.4, "spo2_dropout": 0.0}}}
    assert MedSepsisEnv(**every).stori_type == "1+2.1+3.2"
    # Whatever the other knobs do to the patient, the draws of each knob in episode k, step t are the same.
    assert same_draws(pattern(one, "action_replaced"), pattern(every, "action_replaced"))
    assert same_draws(pattern(two, "events"), pattern(every, "events"))
    assert same_draws(pattern(three, "obs_mask"), pattern(every, "obs_mask"))


@pytest.mark.parametrize("env_id", MEDSEPSIS_IDS)
def test_observations_stay_in_bounds(env_id):
    env = gym.make(env_id)
    steps = 10_000 if env_id == "stori/MedSepsis-v0" else 1_000
    space = env.observation_space
    for _, _, _, nxt, *_ in run_steps(env, steps, seed=1):
        assert nxt.dtype == np.float32 and np.isfinite(nxt).all() and space.contains(nxt)


def _no_unexpected_warnings(record):
    msgs = [str(w.message) for w in record if "using the raw environment" not in str(w.message)]
    assert not msgs, msgs


@pytest.mark.parametrize("env_id", MEDSEPSIS_IDS)
def test_check_env_passes(env_id):
    env = gym.make(env_id)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        check_env(env)
        check_env(env.unwrapped)
        sb3_check_env(env.unwrapped if "Discrete" not in env_id else env)
    _no_unexpected_warnings(record)


def test_vasopressor_raises_map_and_fluid_saturates():
    """Common random numbers: same patient and noise, only the dose differs."""
    env = MedSepsisEnv(noise_scale=0.0, expose_latent=True)
    raised = hypotensive = 0
    for seed in range(TEST_SEED_BASE, TEST_SEED_BASE + 300):
        obs, _ = env.reset(seed=seed)
        if obs[OBS["map"]] >= 65.0:
            continue
        hypotensive += 1
        no_vaso = env.step(np.array([-0.5, -1.0], np.float32))[0][OBS["map"]]
        env.reset(seed=seed)
        vaso = env.step(np.array([-0.5, -0.6], np.float32))[0][OBS["map"]]  # 0.2 µg/kg/min
        raised += vaso > no_vaso
    assert hypotensive >= 50 and raised >= 0.95 * hypotensive

    def bolus_effect(env, seed):
        env.reset(seed=seed)
        base = env.step(np.array([-1.0, -1.0], np.float32))[0][OBS["map"]]
        _, info = env.reset(seed=seed)
        bolus = env.step(np.array([0.0, -1.0], np.float32))[0][OBS["map"]]  # 1 L over the step
        return info["latent"]["state"]["vol"], bolus - base

    dry = [bolus_effect(env, s) for s in range(TEST_SEED_BASE, TEST_SEED_BASE + 100)]
    assert all(effect > 0 for vol, effect in dry if vol < 0) and sum(vol < 0 for vol, _ in dry) > 50
    wet_env = MedSepsisEnv(noise_scale=0.0, expose_latent=True, params={"volume0": (3.5, 5.0)})
    wet = [bolus_effect(wet_env, s) for s in range(TEST_SEED_BASE, TEST_SEED_BASE + 100)]
    assert sum(vol > 3.0 for vol, _ in wet) > 50
    assert all(effect <= 2.0 for vol, effect in wet if vol > 3.0)


def test_cost_bookkeeping_and_public_rules_match_the_env():
    """Noise-free charts: the public rule functions on the observation (true SOFA) give the env's cost and reward."""
    for mode, rule in (("sofa", sofa_reward), ("map", map_reward)):
        env = MedSepsisEnv(noise_scale=0.0, reward_mode=mode, cost_weights={"hypoxemia": 2.0, "oliguria": 0.5})
        weights = np.asarray(env.config.weights)
        checked = 0
        for _, _, reward, nxt, _, _, info in run_steps(env, 600, seed=2):
            vec = np.asarray([info["cost_components"][k] for k in COST_NAMES], np.float32)
            assert np.array_equal(vec, info["cost_vector"]) and info["cost_vector"].dtype == np.float32
            assert info["cost"] == pytest.approx(float(vec @ weights)) and isinstance(info["cost"], float)
            assert cost_components(nxt, info["executed_action"]) == info["cost_components"]
            assert np.array_equal(cost_vector(nxt, info["executed_action"]), vec)
            true = nxt.copy()
            true[OBS["sofa"]] = info["sofa"]  # the chart's SOFA reads the chart only (test_charted_sofa_*)
            if info["outcome"] is None:
                assert reward == rule(true)
                checked += 1
        assert checked > 400
    batch = np.stack([s[3] for s in run_steps(MedSepsisEnv(), 50, seed=3)])
    assert cost_vector(batch, np.zeros((50, 2))).shape == (50, 6)
    assert death_hazard(batch).shape == (50,) and ((0 < death_hazard(batch)) & (death_hazard(batch) < 1)).all()
    with pytest.raises(ValueError, match="obs: got shape"):
        sofa_reward(np.zeros(5))


def test_cost_tuple_wrappers_round_trip():
    five = run_steps(MedSepsisEnv(), 40, seed=4)
    six_env = CostTuple(MedSepsisEnv())
    obs, _ = six_env.reset(seed=4)
    rng = np.random.default_rng(4)
    back = CostInfo(CostTuple(MedSepsisEnv()))
    back.reset(seed=4)
    rng_back = np.random.default_rng(4)
    vec_env = CostVector(MedSepsisEnv(), components=["hypoxemia", "oliguria"])
    vec_env.reset(seed=4)
    rng_vec = np.random.default_rng(4)
    for _, _, reward, nxt, terminated, truncated, info in five:
        o6, r6, c6, te6, tr6, i6 = six_env.step(rng.uniform(-1, 1, 2).astype(np.float32))
        o5, r5, te5, tr5, i5 = back.step(rng_back.uniform(-1, 1, 2).astype(np.float32))
        ov, rv, cv, *_, iv = vec_env.step(rng_vec.uniform(-1, 1, 2).astype(np.float32))
        assert np.array_equal(o6, nxt) and (r6, c6, te6, tr6) == (reward, info["cost"], terminated, truncated)
        assert np.array_equal(o5, nxt) and (r5, te5, tr5, i5["cost"]) == (reward, terminated, truncated, info["cost"])
        assert cv.tolist() == [info["cost_components"]["hypoxemia"], info["cost_components"]["oliguria"]]
        if terminated or truncated:
            break
    with pytest.raises(ValueError, match="components: got"):
        CostVector(MedSepsisEnv(), components=["sepsis"])


def test_episode_ends_and_reward_modes():
    h = MedSepsisEnv().horizon
    outcomes = set()
    for mode in ("sofa", "survival"):
        env = MedSepsisEnv(reward_mode=mode)
        for seed in range(TEST_SEED_BASE, TEST_SEED_BASE + 60):
            env.reset(seed=seed)
            t, done = 0, False
            while not done:
                obs, reward, terminated, truncated, info = env.step(np.array([-0.6, -1.0], np.float32))
                done = terminated or truncated
                assert not (terminated and truncated)
                assert terminated == (info["outcome"] is not None)
                if mode == "survival":
                    assert reward == (1.0 if info["outcome"] == "discharge" or truncated else 0.0)
                elif info["outcome"] == "discharge":
                    assert reward == pytest.approx((24 - info["sofa"]) / 24 * (h - t))  # completion reward
                t += 1
            assert t <= h and (truncated == (t == h and info["outcome"] is None))
            assert obs[OBS["hours"]] == 4 * t
            outcomes.add(info["outcome"])
    assert outcomes == {"death", "discharge", None}
    with pytest.raises(gym.error.ResetNeeded):
        env.step(np.zeros(2))


def test_presets_and_cost_limit():
    env = gym.make("stori/MedSepsis-v0", preset="ogsrl_hypotension")
    assert env.unwrapped.horizon == 48 and env.unwrapped.config.reward_mode == "map"
    obs, _ = env.reset(seed=0)
    assert env.observation_space.high[OBS["hours"]] == 48
    n = 0
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(np.array([-0.5, -1.0], np.float32))
        done = terminated or truncated
        n += 1
        assert 0.0 <= reward <= 1.0
    assert n <= 48 and (terminated or n == 48)
    sepsis = MedSepsisEnv(preset="ogsrl_sepsis")
    assert [k for k, w in sepsis.config.cost_weights.items() if w] == ["hypoxemia", "oliguria"]
    assert sepsis.cost_limit == pytest.approx(sum(calibrated.CLINICIAN_EPISODE_COSTS[(4, 72)][i] for i in (1, 2)))
    assert MedSepsisEnv(cost_limit=3.0).cost_limit == 3.0
    assert MedSepsisEnv(dt_hours=1).cost_limit is None  # 1-h steps over 72 h: not calibrated


@pytest.mark.parametrize("kwargs, match", [
    ({"reward_mode": "lives"}, "reward_mode: got 'lives'"),
    ({"dt_hours": 2}, "dt_hours: got 2"),
    ({"horizon_hours": 70}, "horizon_hours: got 70"),
    ({"cost_weights": {"sepsis": 1}}, "cost_weights: got 'sepsis'"),
    ({"dosing_error": {"p_err": 1.5}}, r"dosing_error.p_err: got 1.5 as a keyword; allowed: set it with the "
                                       r"profile's intrinsic_stochasticity.action_dependent.stochastic_action_prob"),
    ({"profile": {"stochasticity_type": "1", "intrinsic_stochasticity.action_dependent.stochastic_action_prob": 1.5}},
     r"stochastic_action_prob: got 1.5"),
    ({"missing": {"p_miss": 0.2}}, r"missing.p_miss: got 0.2 as a keyword"),
    ({"adverse_events": {"haemorrhage": 0.2}}, r"adverse_events.haemorrhage: got 0.2 as a keyword"),
    ({"drift": {"concept": "1"}}, r"drift.concept: got '1' as a keyword; allowed: 'resistant_strain' or"),
    ({"dosing_error": {"rate": 0.1}}, r"dosing_error.rate: got 0.1"),
    ({"missing": {"blackout": ["bp"]}}, r"missing.blackout: got 'bp'"),
    ({"drift": {"concept": "frail_cohort", "clock": "episode"}}, r"drift.clock: got 'episode'"),
    ({"params": {"beta0": float("nan")}}, r"params.beta0: got nan"),
    ({"preset": "icu"}, "preset: got 'icu'"),
    ({"noise": 1.0}, "noise: got 1.0"),
    ({"render_mode": "human"}, "render_mode: got 'human'"),
])
def test_bad_config_names_field_value_and_allowed(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MedSepsisEnv(**kwargs)


def test_bad_actions_and_options():
    env = MedSepsisEnv()
    env.reset(seed=0)
    for bad in (np.array([0.1]), np.array([np.nan, 0.0]), "fluids"):
        with pytest.raises(ValueError, match="action: got"):
            env.step(bad)
    with pytest.raises(ValueError, match="action: got"):
        env.step(np.array([5.0, -7.0]))  # out of the box: refused (wrap with gymnasium's ClipAction to clip)
    obs, _, _, _, info = gym.wrappers.ClipAction(env).step(np.array([5.0, -7.0]))
    assert info["executed_action"].tolist() == [1.0, -1.0] and obs[OBS["prev_fluid"]] == 1.0
    with pytest.raises(ValueError, match="options: got keys"):
        env.reset(options={"patient": 3})
    with pytest.raises(ValueError, match="global_step"):
        env.reset(options={"global_step": -1})


def test_config_round_trips_through_plain_kwargs():
    env = gym.make("stori/MedSepsis-T2.2-NightShift-v0")
    config = env.unwrapped.config
    rebuilt = MedSepsisConfig.make(**config.to_dict())
    assert rebuilt == config
    assert gym.make(env.spec).unwrapped.config == config
    assert math.isfinite(env.unwrapped.cost_limit)
