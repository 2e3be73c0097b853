"""OGSRL's parts (guardian, guarded model, limits) and the treatment metrics, on MedSepsis rollouts."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from conftest import medsepsis_data
from helpers_agents import tiny

from agents.interface import load_agent
from agents.offline.data import rollout_transitions
from agents.offline.dynamics import EnsembleModel
from agents.offline.guardian import DensityGuardian, SupportGuard
from agents.offline.ogsrl import GuardedModel
from agents.offline.treatment import acp, air, mcr, treatment_report


@pytest.mark.parametrize("kind", ["kde", "knn"])
def test_guardian_flag_rates(kind, medsepsis):
    """Spec A16: LOO flag rate on its own data = alpha +- 1/N; far above alpha on random-tier data."""
    guard = SupportGuard.from_data(medsepsis.observations, medsepsis.actions, kind, alpha=0.1)
    ref = guard.guardian.reference
    own = guard.guardian.flags(ref, self_index=torch.arange(len(ref))).float().mean().item()
    assert abs(own - 0.1) <= 1.0 / len(ref) + 1e-9
    rng = np.random.default_rng(1)
    random_tier = rollout_transitions("stori/MedSepsis-v0", lambda o: rng.uniform(-1, 1, 2), range(900, 930))
    assert guard.flags(random_tier.observations, random_tier.actions).float().mean().item() > 0.5
    held_out = medsepsis_data(episodes=80, seed=7000)
    rate = guard.flags(held_out.observations, held_out.actions).float().mean().item()
    assert rate < 0.35  # same tier, unseen patients: near alpha (small data, so a loose bound)


def test_guardian_state_round_trip(medsepsis):
    x = torch.as_tensor(np.c_[medsepsis.observations, medsepsis.actions])
    x = (x - x.mean(0)) / x.std(0)
    g = DensityGuardian.fit(x, "kde", max_reference=300, generator=torch.Generator().manual_seed(0))
    assert len(g.reference) == 300
    h = DensityGuardian.from_state(g.state())
    assert torch.equal(g.flags(x), h.flags(x)) and h.threshold == g.threshold


def test_guarded_model_lookup_and_ood(medsepsis):
    """Spec A17: a logged (s, a) returns its own row; a far-away query is OOD (then terminate + penalty)."""
    agent = tiny("ogsrl")
    agent.fit(medsepsis, 1, progress=False)
    train = agent.prepare_data(medsepsis)
    model = GuardedModel(agent, train)
    i = np.flatnonzero(~model.row_flag.numpy())[:5]
    nxt, rew, cost, term, ood = model.step(model.keys[i])
    assert torch.equal(nxt, model.next_obs[i]) and torch.equal(rew, model.rew[i]) and not ood.any()
    np.testing.assert_array_equal(nxt.numpy(), train.next_observations[i])
    np.testing.assert_array_equal(cost.numpy(), train.costs[i])
    far = model.keys[i] + 5.0
    assert model.step(far)[-1].all()
    assert model.ood_reward < train.rewards.min()


def test_ogsrl_limits_and_split(medsepsis):
    agent = tiny("ogsrl", holdout_fraction=0.25)
    agent.fit(medsepsis, 1, progress=False)
    held = agent.split(medsepsis)
    assert 0.15 < held.mean() < 0.35
    train_eps, held_eps = set(medsepsis.episode_ids[~held]), set(medsepsis.episode_ids[held])
    assert not train_eps & held_eps  # split by whole episodes
    phys, ood = agent.extra_state["limits"].tolist()
    horizon = int(agent.extra_state["horizon"])
    assert horizon == medsepsis.timesteps.max() + 1
    beta = tiny("ogsrl", holdout_fraction=0.25, ood_limit="beta")
    beta.fit(medsepsis, 1, progress=False)
    assert beta.extra_state["limits"][1].item() == pytest.approx(0.05 * 0.99 ** (horizon - 1))
    train = medsepsis.select(~held)
    # ood_limit="data": each training episode scores gamma^t at its first guardian-flagged step (by hand)
    flagged = GuardedModel(agent, train).row_flag.numpy()
    firsts = [0.99 ** train.timesteps[(train.episode_ids == e) & flagged].min() if flagged[train.episode_ids == e].any()
              else 0.0 for e in np.unique(train.episode_ids)]
    assert 0 < ood == pytest.approx(np.mean(firsts))
    assert ood > 0.05 * 0.99 ** (horizon - 1)  # alpha = 5 % per step makes the data's own episodes leave more often
    disc = []
    for e in np.unique(train.episode_ids):
        rows = train.episode_ids == e
        disc.append(sum(0.99 ** t * c for t, c in zip(train.timesteps[rows], train.costs[rows], strict=True)))
    assert phys == pytest.approx(np.mean(disc), rel=1e-6)


def test_unguarded_ablation_has_no_ood_cost(medsepsis):
    agent = tiny("ogsrl", guardian="none")
    history = agent.fit(medsepsis, 5, progress=False)["train"]
    assert agent.guardian is None and agent.support_guard() is None
    assert all(row["cost_ood"] == 0 and row["lambda_ood"] == 0 for row in history)


class Constant:
    """A fixed-action agent: metrics on it can be computed by hand."""

    spec = None

    def __init__(self, action):
        self.action = np.asarray(action, np.float32)

    def act(self, obs, deterministic=True):
        return np.tile(self.action, (len(obs), 1))


def test_treatment_metrics_by_hand(medsepsis):
    from stori_envs.medical.config import OBS

    agent = Constant([-1.0, -1.0])  # no fluid, no vasopressor
    expected = (np.linalg.norm(medsepsis.actions - agent.action, axis=1) < 0.1).mean()
    assert mcr(agent, medsepsis) == pytest.approx(expected)
    assert air(agent, medsepsis) == 0.0  # never raises a dose above the previous one (-1 is the minimum)
    up = air(Constant([1.0, 1.0]), medsepsis)
    obs = medsepsis.observations
    risk = (obs[:, OBS["spo2"]] < 92) | (obs[:, OBS["urine"]] < 0.5)
    prev = obs[risk][:, [OBS["prev_fluid"], OBS["prev_vasopressor"]]]
    assert up == pytest.approx((prev < 1.0).any(1).mean())
    steady = acp([np.zeros((5, 2)), np.ones((3, 2))])
    assert steady == {"ifa_ml": 0.0, "mvd_ug_kg_min": 0.0}
    swing = acp([np.array([[-1.0, -1.0], [1.0, 1.0]])])
    assert swing == pytest.approx({"ifa_ml": 2000.0, "mvd_ug_kg_min": 1.0})


def test_treatment_report_on_the_simulator(medsepsis):
    agent = tiny("ogsrl")
    agent.fit(medsepsis, 3, progress=False)
    test_rows = medsepsis.select(agent.split(medsepsis))
    report = treatment_report(agent, "stori/MedSepsis-v0", range(100, 106), test_data=test_rows,
                              guard=agent.support_guard())
    assert report["episodes"] == 6 and 0 <= report["mortality"] <= 1
    assert 0 <= report["ood_visit_rate"] <= 1 and 0 <= report["mcr"] <= 1
    assert set(report["component_rates"]) >= {"hypoxemia", "oliguria"}
    json.dumps(report)  # JSON-ready


def test_guarded_model_knows_which_rows_are_reference_points(medsepsis):
    """Leave-one-out for logged rows: each reference point is found by identity, the others are not."""
    agent = tiny("ogsrl", max_reference=200)
    agent.fit(medsepsis, 1, progress=False)
    model = GuardedModel(agent, agent.prepare_data(medsepsis))
    own = model._self_index()
    hit = own >= 0
    assert hit.sum() == 200 and torch.equal(model.keys[hit], agent.guardian.reference[own[hit]])


def test_ogsrl_runs_on_any_dataset_with_costs(pendulum):
    """Not only MedSepsis: Pendulum rollouts with a cost of 1 on high-torque steps (a real, defined cost)."""
    import dataclasses

    costly = dataclasses.replace(pendulum, costs=(np.abs(pendulum.actions[:, 0]) > 1.0).astype(np.float32))
    agent = tiny("ogsrl", rollouts_per_iter=8)
    history = agent.fit(costly, 4, progress=False)["train"]
    assert int(agent.extra_state["horizon"]) == 100 and all(np.isfinite(list(r.values())).all() for r in history)
    assert agent.act(pendulum.observations[:3]).shape == (3, 1)


@pytest.mark.parametrize("mode", ["terminate", "freeze"])
def test_ood_exit_carries_the_worst_remaining_cost(mode, medsepsis):
    """Leaving the support saves no physiological cost: the exit is charged the data's mean per-step cost for every
    step it cuts off (terminate: their discounted sum at once; freeze: per frozen step); 0 turns it off."""
    charged, free = (tiny("ogsrl", ood_mode=mode, rollouts_per_iter=4, ood_phys_cost=w) for w in (1.0, 0.0))
    for agent in (charged, free):
        agent.fit(medsepsis, 1, progress=False)
        agent.guardian.threshold = math.inf  # every query is outside the support
    train = charged.prepare_data(medsepsis)
    horizon, gamma, per_step = int(charged.extra_state["horizon"]), charged.config.gamma, float(train.costs.mean())
    roll = charged._rollouts(GuardedModel(charged, train))
    assert (roll["cost_ood"] == 1).all()
    if mode == "terminate":
        assert len(roll["cost_phys"]) == 1  # every rollout ends at its first step
        expected = per_step * sum(gamma ** k for k in range(horizon))
        assert roll["cost_phys"][0].tolist() == pytest.approx([expected] * 4)
    else:
        alive = roll["alive"]
        assert torch.equal(roll["cost_phys"][alive], torch.full((int(alive.sum()),), per_step))
    assert (free._rollouts(GuardedModel(free, train))["cost_phys"] == 0).all()


def test_model_action_weight_makes_the_lookup_follow_the_action(medsepsis):
    """With a heavy action weight the 1-NN match of (s, a') has the queried action a', not the logged a of s."""
    plain, heavy = (tiny("ogsrl", model_action_weight=w) for w in (1.0, 30.0))
    for agent in (plain, heavy):
        agent.fit(medsepsis, 1, progress=False)
    train = plain.prepare_data(medsepsis)
    models = [GuardedModel(a, train) for a in (plain, heavy)]
    assert torch.equal(models[0].keys, models[1].keys)  # the guardian's space is unchanged
    keys = models[0].keys
    n_obs = train.observations.shape[1]
    i = torch.arange(0, len(keys), 7)
    query = keys[i].clone()
    query[:, n_obs:] = keys[i.flip(0), n_obs:]  # the states of rows i with the actions of other rows
    gaps = []
    for model in models:
        match = torch.cdist(query * model.weights, model.lookup).argmin(1)
        gaps.append((keys[match, n_obs:] - query[:, n_obs:]).norm(dim=1).mean().item())
    assert gaps[1] < 0.5 * gaps[0], gaps
    nxt = models[0].step(keys[i])[0]  # a logged (s, a) still returns its own row
    assert torch.equal(nxt, models[1].step(keys[i])[0])


def _ensemble_inputs(agent, data):
    obs, act = torch.as_tensor(data.observations), torch.as_tensor(data.actions)
    keys = torch.cat([agent.obs_norm(obs), agent.act_norm(act)], 1)
    nxt = agent.obs_norm(torch.as_tensor(data.next_observations))
    return keys, nxt


def test_ensemble_model_learns_the_transitions(medsepsis):
    """The learned model (spec 4.2 (b)): its loss falls, and its mean state change beats predicting the data's mean."""
    agent = tiny("ogsrl")
    agent.fit(medsepsis, 1, progress=False)
    keys, nxt = _ensemble_inputs(agent, medsepsis)
    f32 = dict(dtype=torch.float32)
    model, losses = EnsembleModel.fit(
        keys, nxt, torch.as_tensor(medsepsis.rewards, **f32), torch.as_tensor(medsepsis.costs, **f32),
        torch.as_tensor(medsepsis.terminals), agent.obs_norm.loc, agent.obs_norm.scale, members=3, hidden=(64, 64),
        steps=600, lr=1e-3, batch_size=128, init=torch.Generator().manual_seed(0),
        sample=torch.Generator().manual_seed(1))
    assert losses[-1] < losses[0] - 1.0, losses
    ds = nxt - keys[:, :nxt.shape[1]]
    with torch.no_grad():
        mean = torch.stack([model.ensemble.heads(m, keys)[0] for m in model.ensemble.members]).mean(0)
    assert (ds - mean).square().mean() < 0.7 * (ds - ds.mean(0)).square().mean()
    # A step: raw next states, costs >= 0, boolean terminations, reproducible from the generator.
    out = model.step(keys[:50], torch.Generator().manual_seed(5))
    again = model.step(keys[:50], torch.Generator().manual_seed(5))
    assert all(torch.equal(a, b) for a, b in zip(out, again, strict=True))
    assert out[0].shape == (50, medsepsis.observations.shape[1]) and out[3].dtype == torch.bool
    assert (out[2] >= 0).all()
    np.testing.assert_allclose(out[0].mean(0).numpy(), medsepsis.next_observations[:50].mean(0), rtol=0.5, atol=0.5)
    # Saved and restored as tensors: the same draws.
    back = EnsembleModel.from_state(model.state(), keys.shape[1], agent.obs_norm.loc, agent.obs_norm.scale,
                                    hidden=(64, 64), members=3)
    assert all(torch.equal(a, b) for a, b in zip(out, back.step(keys[:50], torch.Generator().manual_seed(5)),
                                                 strict=True))


def test_ogsrl_with_the_ensemble_model_keeps_the_guardian(medsepsis, tmp_path):
    """The learned model sits behind the same guardian: a far-away query is OOD; a loaded agent keeps the model."""
    agent = tiny("ogsrl-ensemble")
    agent.fit(medsepsis, 2, progress=False)
    model = GuardedModel(agent, agent.prepare_data(medsepsis))
    assert model.learned is not None
    far = model.keys[:5] + 5.0
    assert model.step(far, torch.Generator().manual_seed(0))[-1].all()
    with pytest.raises(ValueError, match="generator: got None"):
        model.step(model.keys[:5])
    weights = {k: v for k, v in agent.extra_state.items() if k.startswith("model.")}
    assert weights  # trained once, kept with the agent
    agent.save(tmp_path)
    loaded = load_agent(tmp_path)
    assert all(torch.equal(loaded.extra_state[k], v) for k, v in weights.items())
    curve = agent.history["model"]  # the model's training curve, saved with the agent
    assert len(curve) == 10 and curve[-1]["fraction"] == 1.0 and loaded.history["model"] == curve
