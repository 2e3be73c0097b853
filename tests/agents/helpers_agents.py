"""Tiny configurations of every offline agent, for fast tests."""

from __future__ import annotations

from agents.offline import A2PR, BC, IQL, OGSRL, TD3BC, BCSafe

W = (32, 32)
OGSRL_TINY = dict(policy_hidden=W, value_hidden=W, rollouts_per_iter=16, ppo_epochs=4, max_reference=500, log_every=5)
TINY = {
    "bc": (BC, dict(actor_hidden=W, batch_size=64)),
    "bc-safe": (BCSafe, dict(actor_hidden=W, batch_size=64)),
    "td3bc": (TD3BC, dict(actor_hidden=W, critic_hidden=W, batch_size=64)),
    "iql": (IQL, dict(actor_hidden=W, critic_hidden=W, value_hidden=W, batch_size=64)),
    "a2pr": (A2PR, dict(actor_hidden=W, critic_hidden=W, value_hidden=W, vae_hidden=32, batch_size=64)),
    "ogsrl": (OGSRL, OGSRL_TINY),
    "ogsrl-ensemble": (OGSRL, dict(OGSRL_TINY, model="ensemble", ensemble_size=3, ensemble_hidden=W,
                                   ensemble_steps=60)),
}
#: Agents that need a dataset with costs (the MedSepsis rollouts); the others train on Pendulum.
NEEDS_COSTS = {"bc-safe", "ogsrl", "ogsrl-ensemble"}
#: Steps for the tests that only need "some training": gradient steps, or PPO iterations for OGSRL.
STEPS = {"ogsrl": 6, "ogsrl-ensemble": 6}


def tiny(name: str, **overrides):
    cls, kwargs = TINY[name]
    config = cls.config_class(**{"log_every": 50, **kwargs, **overrides})
    if name == "bc-safe" and config.cost_limit is None:
        config = config.replace(cost_limit=1.0)
    return cls(config)


def steps(name: str, default: int = 100) -> int:
    return STEPS.get(name, default)
