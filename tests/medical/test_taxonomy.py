"""The taxonomy on MedSepsis: each stochastic knob moves its statistic to its nominal rate, on the real simulator."""

from __future__ import annotations

import gymnasium
import gymnasium as gym
import numpy as np
import pytest
from helpers import assert_rate
from medical_support import TEST_SEED_BASE, run_steps

import stori_envs
from stori_envs.medical import calibrated
from stori_envs.medical.config import EVENT_NAMES, MEASURED, OBS, VASO_MAX, AdverseEvents
from stori_envs.medical.env import MedSepsisEnv
from stori_envs.medical.physiology import charted_sofa
from stori_envs.profiles import action, drift, event, observation, state
from stori_envs.taxonomy.drift import concept_two_active

LAB = [MEASURED.index("lactate"), MEASURED.index("creatinine")]
SPO2 = MEASURED.index("spo2")


# -- type 1: dosing errors ----------------------------------------------------------------------------
def test_dosing_errors_replace_at_rate_and_the_chart_keeps_the_chosen_dose():
    env = MedSepsisEnv(profile=action(0.2), noise_scale=0.0)
    steps = run_steps(env, 3000, seed=TEST_SEED_BASE)
    replaced = [info["action_replaced"] for *_, info in steps]
    assert_rate(sum(replaced), len(steps), 0.2)
    differs = 0
    for _, act, _, nxt, _, _, info in steps:
        chosen = np.clip(act, -1, 1).astype(np.float32)
        assert np.array_equal(nxt[[OBS["prev_fluid"], OBS["prev_vasopressor"]]], chosen)  # never the executed one
        assert (not np.array_equal(info["executed_action"], chosen)) == info["action_replaced"]
        assert info["stori"]["action_replaced"] == info["action_replaced"] and info["stori"]["type"] == "1"
        chart = [float(nxt[OBS[k]]) for k in ("map", "hr", "spo2", "creatinine", "urine", "weight")]
        dose = lambda a: (float(a[1]) + 1.0) * 0.5 * VASO_MAX  # noqa: E731
        assert nxt[OBS["sofa"]] == charted_sofa(env.params, *chart, dose(chosen))
        if info["action_replaced"]:
            differs += nxt[OBS["sofa"]] != charted_sofa(env.params, *chart, dose(info["executed_action"]))
    assert differs > 0  # the charted SOFA uses the chosen dose, never the executed one


@pytest.mark.parametrize("mode", ["omit", "decimal"])
def test_pump_errors_change_one_channel(mode):
    env = MedSepsisEnv(profile=action(0.5), dosing_error={"err_mode": mode})
    fixed = lambda obs, rng: np.array([-0.9, -0.95], np.float32)  # noqa: E731  small doses on both pumps
    steps = run_steps(env, 400, seed=1, action_fn=fixed)
    assert_rate(sum(i["action_replaced"] for *_, i in steps), len(steps), 0.5)
    channels = set()
    for *_, info in steps:
        if not info["action_replaced"]:
            continue
        changed = np.flatnonzero(info["executed_action"] != fixed(None, None))
        assert len(changed) == 1
        c = int(changed[0])
        channels.add(c)
        dose = (fixed(None, None)[c] + 1) / 2
        expected = -1.0 if mode == "omit" else 2 * min(1.0, 10 * dose) - 1
        assert info["executed_action"][c] == pytest.approx(expected, abs=1e-6)
    assert channels == {0, 1}


# -- type 2.1: adverse events ---------------------------------------------------------------------------
def test_adverse_events_fire_at_their_hazards_independently_of_the_action():
    block = {"event_scale": 3.0}
    env = MedSepsisEnv(adverse_events=block)
    steps = run_steps(env, 4000, seed=TEST_SEED_BASE + 1)
    for name, hazard in zip(EVENT_NAMES, AdverseEvents(**block).hazards(4)):
        assert_rate(sum(name in i["events"] for *_, i in steps), len(steps), hazard)
    assert all(i["stori"]["event"] == bool(i["events"]) for *_, i in steps)

    def per_episode(action_fn):
        episodes = [[]]
        for *_, terminated, truncated, info in run_steps(MedSepsisEnv(adverse_events=block), 300, 3, action_fn):
            episodes[-1].append(info["events"])
            if terminated or truncated:
                episodes.append([])
        return episodes

    none = per_episode(lambda obs, rng: np.array([-1.0, -1.0], np.float32))
    lots = per_episode(lambda obs, rng: np.array([1.0, 1.0], np.float32))
    assert len(none) > 10 and all(a[:len(b)] == b[:len(a)] for a, b in zip(none, lots))


def test_hourly_event_hazards_are_rescaled():
    hazards = AdverseEvents(event_scale=4.0).hazards(1)
    assert hazards == pytest.approx([1 - (1 - 4 * h) ** 0.25 for h in (0.02, 0.01, 0.02, 0.01)])
    steps = run_steps(MedSepsisEnv(dt_hours=1, adverse_events={"event_scale": 4.0}), 4000, seed=8)
    assert_rate(sum("secondary_infection" in i["events"] for *_, i in steps), len(steps), hazards[0])


def test_each_event_acts_on_the_hidden_physiology():
    quiet = dict(noise_scale=0.0, process_noise=0.0, expose_latent=True)
    a = np.array([-0.5, -1.0], np.float32)
    base, every = MedSepsisEnv(**quiet), MedSepsisEnv(adverse_events={"event_scale": 100.0}, **quiet)
    for seed in range(5):
        base.reset(seed=seed)
        every.reset(seed=seed)
        o0, *_, i0 = base.step(a)
        o1, *_, i1 = every.step(a)
        assert set(i1["events"]) == set(EVENT_NAMES)
        s0, s1 = i0["latent"]["state"], i1["latent"]["state"]
        assert s1["b"] > s0["b"] and s1["vol"] < s0["vol"] and s1["lung"] > s0["lung"] and s1["af_hours"] > 0
        assert o1[OBS["hr"]] > o0[OBS["hr"]] + 25 and o1[OBS["map"]] < o0[OBS["map"]]


@pytest.mark.parametrize("dt", [4, 1])
def test_atrial_fibrillation_lasts_eight_hours(dt):
    env = MedSepsisEnv(dt_hours=dt, expose_latent=True, profile=event("atrial_fibrillation", 0.3))
    previous, fired = 0.0, 0
    for *_, terminated, truncated, info in run_steps(env, 400, seed=2):
        remaining = info["latent"]["state"]["af_hours"]
        fired += "atrial_fibrillation" in info["events"]
        expected = 8.0 - dt if "atrial_fibrillation" in info["events"] else max(0.0, previous - dt)
        assert remaining == expected
        previous = 0.0 if terminated or truncated else remaining
    assert fired > 10


# -- type 2.2: drift ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("type_id, block, key", [("1", "dosing_error", "action_replaced"),
                                                 ("2.1", "adverse_events", "events"),
                                                 ("3.2", "missing", "obs_mask")])
def test_a_drifting_knob_acts_only_in_concept_two_and_shifts_no_other_stream(type_id, block, key):
    """The shared Drift switches only the knob it was handed: nothing happens in concept 1, the knob acts in
    concept 2, and the patients (their own stream) are those of the environment without the knob."""
    secondary = {"1": action(0.5), "2.1": event("all", 0.2), "3.2": observation("dropout", 0.5)}[type_id]
    drifting = {"profile": drift(secondary, "cyclic", 2)}
    acted = {1: 0, 2: 0}
    patients, base_patients = [], []
    for *_, info in run_steps(MedSepsisEnv(**drifting), 300, seed=12):
        value = info[key]
        acted[info["concept"]] += bool(value) if key != "obs_mask" else not np.asarray(value).all()
        patients.append(info["patient_id"])
    for *_, info in run_steps(MedSepsisEnv(), 300, seed=12):
        base_patients.append(info["patient_id"])
    assert acted[1] == 0 and acted[2] > 20
    firsts, base_firsts = list(dict.fromkeys(patients)), list(dict.fromkeys(base_patients))
    n = min(len(firsts), len(base_firsts))
    assert n > 10 and firsts[:n] == base_firsts[:n]


# -- type 2.2: drift (schedules and concepts) -----------------------------------------------------------------
@pytest.mark.parametrize("mode", ["sudden", "cyclic"])
def test_concept_follows_the_schedule_on_every_clock(mode):
    ep = MedSepsisEnv(drift={"concept": "resistant_strain", "temporal_mode": mode, "threshold": 3, "clock": "episode"})
    t = 0
    for *_, terminated, truncated, info in run_steps(ep, 200, seed=4):
        assert info["concept"] == (2 if concept_two_active(t, 3, mode) else 1) == info["stori"]["concept"]
        t = 0 if terminated or truncated else t + 1
    glob = MedSepsisEnv(drift={"concept": "resistant_strain", "temporal_mode": mode, "threshold": 25,
                               "clock": "global"})
    for n, (*_, info) in enumerate(run_steps(glob, 120, seed=4)):
        assert info["concept"] == (2 if concept_two_active(n, 25, mode) else 1)  # counts across episodes
    assert glob.global_step == 120
    _, info = glob.reset(seed=4)
    assert glob.global_step == 0 and info["concept"] == 1  # a seeded reset restarts the global clock
    _, info = glob.reset(options={"global_step": 30})
    assert glob.global_step == 30 and info["concept"] == (2 if concept_two_active(30, 25, mode) else 1)
    adm = MedSepsisEnv(drift={"concept": "resistant_strain", "temporal_mode": mode, "threshold": 4})
    assert adm.config.drift.clock == "admission"
    admission = 2
    for *_, terminated, truncated, info in run_steps(adm, 300, seed=2):  # reset(seed=2), then unseeded resets
        assert info["admission"] == admission and info["concept"] == (2 if concept_two_active(admission, 4, mode)
                                                                      else 1)
        admission += terminated or truncated
    assert admission > 10
    _, info = adm.reset(seed=9, options={"admission": 1})
    assert adm.admission == info["admission"] == 1 and adm.reset()[1]["admission"] == 2


def test_drift_preset_drifts_under_per_episode_seeding_and_replays_by_seed():
    """Regression: a seeded reset used to restart the preset's clock, so seeded episodes never saw concept 2."""
    env = gym.make("stori/MedSepsis-T2.2-v0")
    seen = {seed: env.reset(seed=seed)[1]["concept"] for seed in (0, 1, 499, 500, 501, 999, 1000, 1_000_700)}
    assert seen == {0: 1, 1: 1, 499: 1, 500: 2, 501: 2, 999: 2, 1000: 1, 1_000_700: 2}
    # Episodes seeded 0, 1, 2, ... (the harness whose 20,000 steps never met concept 2) now meet both.
    concepts = set()
    for seed in range(0, 1200, 7):
        concepts.add(env.reset(seed=seed)[1]["concept"])
    assert concepts == {1, 2}

    def episode(e, seed):
        obs, info = e.reset(seed=seed)
        out = [obs]
        for _ in range(6):
            obs, reward, terminated, truncated, info = e.step(np.array([0.2, 0.1], np.float32))
            out.append(np.append(obs, [reward, info["concept"]]))
            if terminated or truncated:
                break
        return np.concatenate(out)

    fresh = gym.make("stori/MedSepsis-T2.2-v0")
    assert np.array_equal(episode(fresh, 700), episode(env, 700))  # same seed, same patient and concept,
    assert np.array_equal(episode(fresh, 3), episode(env, 3))      # whatever ran before
    gymnasium.utils.env_checker.check_env(gym.make("stori/MedSepsis-T2.2-v0").unwrapped, skip_render_check=True)


def test_drift_preset_drifts_in_vector_envs():
    """Each sub-environment walks the admission calendar from its seed: s + i, then one patient per episode."""
    venv = gym.make_vec("stori/MedSepsis-v0", num_envs=2, vectorization_mode="sync",
                        drift={"concept": "resistant_strain", "threshold": 3})
    _, info = venv.reset(seed=0)
    admissions, concepts = [list(info["admission"])], [list(info["concept"])]
    rng = np.random.default_rng(0)
    for _ in range(150):
        _, _, terminated, truncated, info = venv.step(rng.uniform(-1, 1, (2, 2)).astype(np.float32))
        done = terminated | truncated
        admissions.append(list(np.where(done, -1, info["admission"])))
        concepts.append(list(info["concept"]))
    firsts = [a for row in admissions for a in row if a >= 0]
    assert admissions[0] == [0, 1] and max(firsts) >= 5
    assert any(2 in row for row in concepts) and any(1 in row for row in concepts)


def test_resistant_strain_weakens_the_vasopressor_response():
    env = MedSepsisEnv(drift={"concept": "resistant_strain", "threshold": 1000}, noise_scale=0.0)

    def response(seed, admission):
        maps = []
        for vaso in (-1.0, -0.6):
            env.reset(seed=seed, options={"admission": admission})
            obs, *_, info = env.step(np.array([-0.5, vaso], np.float32))
            maps.append(obs[OBS["map"]])
        return info["concept"], maps[1] - maps[0]

    c1 = [response(s, 0) for s in range(TEST_SEED_BASE, TEST_SEED_BASE + 40)]
    c2 = [response(s, 1000) for s in range(TEST_SEED_BASE, TEST_SEED_BASE + 40)]
    assert {c for c, _ in c1} == {1} and {c for c, _ in c2} == {2}
    assert np.mean([r for _, r in c2]) < 0.8 * np.mean([r for _, r in c1])


def test_frail_cohort_admits_older_patients_in_concept_two():
    env = MedSepsisEnv(drift={"concept": "frail_cohort", "threshold": 1}, expose_latent=True)
    ages = [env.reset(seed=s, options={"admission": g})[1]["latent"]["patient"]["age"]
            for s in range(30) for g in (0, 1)]
    assert min(ages[1::2]) >= 65.0 and min(ages[0::2]) < 50.0


def test_night_shift_makes_errors_only_in_concept_two():
    steps = run_steps(MedSepsisEnv(profile=drift(action(0.3), "cyclic", 3)), 3000, seed=6)
    night = [i for *_, i in steps if i["concept"] == 2]
    assert not any(i["action_replaced"] for *_, i in steps if i["concept"] == 1)
    assert_rate(sum(i["action_replaced"] for i in night), len(night), 0.3)


# -- type 3.2: missing charts ------------------------------------------------------------------------------
def test_mcar_missing_rates_and_carry_forward():
    env = MedSepsisEnv(profile=observation("dropout", 0.3), missing={"spo2_dropout": 0.05})
    assert env.observation_space.shape == (19,)
    steps = run_steps(env, 4000, seed=TEST_SEED_BASE + 2)
    masks = np.asarray([i["obs_mask"] for *_, i in steps])
    for j in LAB:
        assert_rate(int((masks[:, j] == 0).sum()), len(masks), 0.3)
    assert_rate(int((masks[:, SPO2] == 0).sum()), len(masks), 0.05)
    assert masks[:, [0, 1, 4]].all()
    for obs, _, _, nxt, _, _, info in steps:
        assert np.array_equal(nxt[13:], info["obs_mask"])
        for j in np.flatnonzero(info["obs_mask"] == 0):
            assert nxt[j] == obs[j]  # carried forward
        assert info["stori"]["observation_altered"] == (not info["obs_mask"].all())


def test_schedule_blackout_and_admission_medians():
    env = MedSepsisEnv(missing={"mode": "schedule", "k": 3, "spo2_dropout": 0.0, "blackout": ["urine"]})
    obs, info = env.reset(seed=0)
    median = np.float32(calibrated.ADMISSION_MEDIANS[MEASURED.index("urine")])
    assert info["obs_mask"][MEASURED.index("urine")] == 0 and obs[OBS["urine"]] == median
    for _, _, _, nxt, _, _, info in run_steps(env, 300, seed=0):
        t = int(nxt[OBS["hours"]]) // 4
        assert all(info["obs_mask"][j] == (t % 3 == 0) for j in LAB)
        assert info["obs_mask"][MEASURED.index("urine")] == 0 and nxt[OBS["urine"]] == median


def test_mnar_measures_sicker_patients_more_and_costs_use_the_truth():
    steps = run_steps(MedSepsisEnv(missing={"mode": "mnar", "p_miss": 0.3}), 4000, seed=TEST_SEED_BASE + 3)
    sofa = np.asarray([i["sofa"] for *_, i in steps])
    lactate_missing = np.asarray([i["obs_mask"][LAB[0]] == 0 for *_, i in steps])
    assert lactate_missing[sofa <= 4].mean() > lactate_missing[sofa >= 9].mean() + 0.1
    base = run_steps(MedSepsisEnv(), 500, seed=11)
    masked = run_steps(MedSepsisEnv(profile=observation("dropout", 0.9), missing={"spo2_dropout": 0.05}), 500,
                       seed=11)
    assert [i["cost_vector"].tolist() for *_, i in base] == [i["cost_vector"].tolist() for *_, i in masked]


# -- generic profiles on the medical family ---------------------------------------------------------------
def test_generic_profiles_map_onto_medsepsis():
    env = stori_envs.make("MedSepsis-v0", action(0.25))
    assert env.unwrapped.config.dosing_error.p_err == 0.25
    assert env.reset(seed=0)[1]["stori"]["type"] == "1"
    ev = stori_envs.make("stori/MedSepsis-v0", event("haemorrhage", 0.05)).unwrapped.config.adverse_events
    assert ev.haemorrhage == 0.05 and ev.secondary_infection == 0.0
    miss = stori_envs.make("MedSepsis", observation("dropout", 0.3)).unwrapped.config.missing
    assert (miss.mode, miss.p_miss) == ("mcar", 0.3)
    black = stori_envs.make("MedSepsis-v0", observation("mask", 1.0, features=[4])).unwrapped.config.missing
    assert black.blackout == ("urine",)
    night = stori_envs.make("MedSepsis-v0", drift(action(0.4), "cyclic", 3))
    steps = run_steps(night, 600, seed=2)
    assert {i["concept"] for *_, i in steps} == {1, 2}
    assert not any(i["action_replaced"] for *_, i in steps if i["concept"] == 1)
    discrete = stori_envs.make("stori/MedSepsisDiscrete-v0", action(0.1))
    assert discrete.action_space.n == 25


@pytest.mark.parametrize("profile, kwargs, match", [
    (state(), {}, "stochasticity_type: got '0'"),
    (event("reward_cancel", 0.1), {}, "mode: got 'reward_cancel'; allowed for the 'medical' family"),
    (observation("noise", 1.0), {}, "partial_observation.type: got 'noise'"),
    (action(0.1), {"dosing_error": {"p_err": 0.2}}, r"dosing_error.p_err: got 0.2 as a keyword"),
])
def test_unsupported_profiles_fail_clearly(profile, kwargs, match):
    with pytest.raises(ValueError, match=match):
        stori_envs.make("MedSepsis-v0", profile, **kwargs)
