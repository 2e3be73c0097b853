"""Every pair of stochastic knobs stacked (inner profile, then an outer one on top, drift included) keeps
both knobs' measured rates inside binomial intervals, and the record reports each knob's facts.

The composition defect this guards against: a drift used to switch every wrapper with an ``enabled``
flag it found in the chain, so ``stori_envs.make(already_stochastic_env, drift(...))`` turned the
inner knob off during concept 1 (an inner type 1 at p = 1 replaced 0 of 60 actions).
"""

from __future__ import annotations

import itertools

import pytest
from helpers import assert_rate

import stori_envs
from stori_envs.profiles import action, drift, event, observation
from stori_envs.taxonomy.components import ActionReplacement, Drift, Events, Occlusion

P = 0.3
KNOBS = {
    "action": lambda: action(P),
    "perturb": lambda: event("state_perturbation", P,
                             intrinsic_stochasticity__action_independent_random__perturbation_scale=1e-4),
    "noise": lambda: observation("noise", P, noise_std=1e-4),
    "mask": lambda: observation("mask", P, features=[3]),
    "drift-action": lambda: drift(action(P), "cyclic", 5),
    "drift-noise": lambda: drift(observation("noise", P, noise_std=1e-4), "cyclic", 5),
}
PAIRS = list(itertools.product(KNOBS, repeat=2))
STEPS = 1500


def _decided(component) -> bool:
    """Whether the knob acted at this step (its own decision, read from the component)."""
    if isinstance(component, ActionReplacement):
        return component.replaced > 0
    if isinstance(component, Events):
        return component.fired > 0
    if isinstance(component, Occlusion):
        return component.altered
    raise AssertionError(component)


class Knob:
    """Counts a knob's decisions; for a drift, only over concept-2 steps (and checks it is silent in concept 1)."""

    def __init__(self, host):
        (self.top,) = host.components
        self.leaf = self.top.secondaries[0] if isinstance(self.top, Drift) else self.top
        self.hits = self.trials = self.concept_one_hits = 0

    def record(self) -> bool:
        hit = _decided(self.leaf)
        if isinstance(self.top, Drift) and self.top.concept == 1:
            self.concept_one_hits += hit
            return hit
        self.hits += hit
        self.trials += 1
        return hit


FLAG = {ActionReplacement: "action_replaced", Events: "event", Occlusion: "observation_altered"}


def _flag(knob: Knob) -> str:
    return next(v for k, v in FLAG.items() if isinstance(knob.leaf, k))


@pytest.mark.parametrize("inner, outer", PAIRS, ids=[f"{i}+{o}" for i, o in PAIRS])
def test_stacked_knobs_keep_their_rates(inner, outer):
    inner_env = stori_envs.make("CartPole-v1", KNOBS[inner]())
    env = stori_envs.make(inner_env, KNOBS[outer]())
    knobs = [Knob(inner_env), Knob(env)]
    env.action_space.seed(0)
    env.reset(seed=11)
    for _ in range(STEPS):
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        hits = [k.record() for k in knobs]
        rec = info["stori"]
        for flag in {_flag(k) for k in knobs}:  # the record or-s the facts of both layers
            assert rec[flag] == any(h for k, h in zip(knobs, hits) if _flag(k) == flag)
        if terminated or truncated:
            env.reset()
    for knob in knobs:
        assert knob.concept_one_hits == 0
        assert knob.trials > 300
        assert_rate(knob.hits, knob.trials, P)


def test_drift_over_an_already_stochastic_env_leaves_the_inner_knob_on():
    """The measured defect: inner type 1 at p = 1 under an outer drift replaced 0 of 60 actions."""
    inner_env = stori_envs.make("CartPole-v1", action(1.0, allowed_actions=[1]))
    env = stori_envs.make(inner_env, drift(observation("noise", 1.0, noise_std=1e-4), "sudden", 1000))
    env.reset(seed=0)
    executed = [env.step(0)[4]["stori"]["executed_action"] for _ in range(8)]
    assert executed == [1] * 8


@pytest.mark.parametrize("inner_id, outer", [
    ("Breakout", drift(observation("crop", 1.0, mode="1"), "sudden", 1000)),
    ("MedSepsis-v0", drift(observation("noise", 1.0, noise_std=1e-3), "sudden", 1000)),
], ids=["atari", "medical"])
def test_generic_drift_over_a_family_env_leaves_its_knob_on(inner_id, outer):
    """The same defect across families: the family's own type 1 at p = 1 keeps replacing during concept 1
    of a generic drift stacked on top (the drift switches only the components it was handed)."""
    inner_env = stori_envs.make(inner_id, action(1.0))
    env = stori_envs.make(inner_env, outer)
    env.action_space.seed(0)
    env.reset(seed=0)
    for _ in range(12):
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        assert info["stori"]["concept"] == 1 and info["stori"]["action_replaced"]
        assert info["stori"]["type"] == "2.2"
        if terminated or truncated:
            env.reset()
