"""Implicit Q-learning (Kostrikov, Nair & Levine 2021, arXiv 2110.06169), as in CORL ``iql.py``.

Value: expectile regression of V(s) onto min(Q1, Q2)_targ(s, a) (expectile ``iql_tau``). Critic: MSE of
Q1, Q2 to r + gamma (1 - d) V(s'). Actor: advantage-weighted regression, weights
``exp(beta (Q_targ - V))`` clipped at ``exp_adv_max``, on a Gaussian policy (or MSE for a deterministic one).
Differences from CORL: no cosine decay of the actor learning rate (it depends on the total budget,
which a resumable ``fit`` does not fix in advance).
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

from agents.interface import register_agent
from agents.offline.base import OfflineBase, OfflineConfig
from agents.offline.data import Batch
from agents.offline.nets import (
    ActionScale,
    DeterministicActor,
    GaussianActor,
    TwinCritic,
    ValueNet,
    adam,
    descend,
    frozen_copy,
    init_,
    polyak_,
)
from agents.offline.td3bc import td_target


@dataclasses.dataclass(frozen=True)
class IQLConfig(OfflineConfig):
    actor_hidden: tuple[int, ...] = (256, 256)  # CORL IQL
    critic_hidden: tuple[int, ...] = (256, 256)  # CORL IQL
    value_hidden: tuple[int, ...] = (256, 256)  # CORL IQL
    actor_lr: float = 3e-4  # CORL
    critic_lr: float = 3e-4  # CORL
    value_lr: float = 3e-4  # CORL
    tau: float = 0.005  # CORL (critic target)
    iql_tau: float = 0.7  # IQL paper, locomotion
    beta: float = 3.0  # IQL paper, locomotion (inverse temperature)
    exp_adv_max: float = 100.0  # CORL
    deterministic_actor: bool = False  # CORL iql_deterministic

    RULES = {"actor_hidden": ("widths",), "critic_hidden": ("widths",), "value_hidden": ("widths",),
             "actor_lr": ("num", 0.0, 1.0, True), "critic_lr": ("num", 0.0, 1.0, True),
             "value_lr": ("num", 0.0, 1.0, True), "tau": ("num", 0.0, 1.0, True), "iql_tau": ("num", 0.0, 1.0, True),
             "beta": ("num", 0.0, 1e4), "exp_adv_max": ("num", 0.0, 1e9, True), "deterministic_actor": ("bool",)}


def expectile_loss(diff: torch.Tensor, tau: float) -> torch.Tensor:
    """mean |tau - 1[diff < 0]| diff^2 (diff = target - prediction)."""
    return (torch.where(diff < 0, 1.0 - tau, tau) * diff.square()).mean()


@register_agent("iql")
class IQL(OfflineBase):
    """IQL: expectile value, TD critic, advantage-weighted actor."""

    config_class = IQLConfig
    config: IQLConfig

    def _build(self) -> None:
        s, c, g = self.spec, self.config, self.generators["init"]
        scale = ActionScale(self.act_low, self.act_high)
        actor = (DeterministicActor(s.obs_dim, s.act_dim, c.actor_hidden, scale) if c.deterministic_actor
                 else GaussianActor(s.obs_dim, s.act_dim, c.actor_hidden, scale))
        actor = init_(actor, g).to(c.device)
        critic = init_(TwinCritic(s.obs_dim, s.act_dim, c.critic_hidden), g).to(c.device)
        value = init_(ValueNet(s.obs_dim, c.value_hidden), g).to(c.device)
        self.modules = {"actor": actor, "critic": critic, "value": value, "critic_target": frozen_copy(critic)}
        self.optimizers = {"actor": adam(actor.parameters(), c.actor_lr),
                           "critic": adam(critic.parameters(), c.critic_lr),
                           "value": adam(value.parameters(), c.value_lr)}

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        c, m, o = self.config, self.modules, self.optimizers
        with torch.no_grad():
            q_target = m["critic_target"].min(batch.obs, batch.act)
            next_v = m["value"](batch.next_obs)
        # Value: expectile of the target Q.
        v = m["value"](batch.obs)
        adv = q_target - v
        value_loss = expectile_loss(adv, c.iql_tau)
        descend(o["value"], value_loss)
        # Critic: TD to V(s').
        target = td_target(batch, c.gamma, next_v)
        q1, q2 = m["critic"](batch.obs, batch.act)
        critic_loss = (F.mse_loss(q1, target) + F.mse_loss(q2, target)) / 2
        descend(o["critic"], critic_loss)
        polyak_(m["critic_target"], m["critic"], c.tau)
        # Actor: advantage-weighted regression.
        weights = torch.exp(c.beta * adv.detach()).clamp(max=c.exp_adv_max)
        if c.deterministic_actor:
            bc = (m["actor"](batch.obs) - batch.act).pow(2).sum(-1)
        else:
            bc = -m["actor"].log_prob(batch.obs, batch.act)
        actor_loss = (weights * bc).mean()
        descend(o["actor"], actor_loss)
        return {"value_loss": value_loss.detach(), "critic_loss": critic_loss.detach(),
                "actor_loss": actor_loss.detach()}

    def _policy(self, obs: torch.Tensor, deterministic: bool) -> torch.Tensor:
        actor = self.modules["actor"]
        if deterministic or self.config.deterministic_actor:
            return actor(obs)
        return actor.sample(obs, self.generators["act"])[0]
