"""TD3+BC (Fujimoto & Gu 2021, arXiv 2106.06860), as in CORL ``algorithms/offline/td3_bc.py``.

Critic: clipped double-Q TD target with target-policy smoothing. Actor (every ``policy_freq`` steps):
``-lambda mean Q1(s, pi(s)) + mean (pi(s) - a)^2`` with ``lambda = alpha / mean|Q1(s, pi(s))|`` (detached);
then Polyak updates of actor and critic targets.
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
    TwinCritic,
    adam,
    descend,
    frozen_copy,
    init_,
    no_param_grad,
    polyak_,
)


@dataclasses.dataclass(frozen=True)
class TD3BCConfig(OfflineConfig):
    actor_hidden: tuple[int, ...] = (256, 256)  # TD3+BC paper / CORL
    critic_hidden: tuple[int, ...] = (256, 256)  # TD3+BC paper / CORL
    actor_lr: float = 3e-4  # paper
    critic_lr: float = 3e-4  # paper
    tau: float = 0.005  # paper
    policy_noise: float = 0.2  # paper, x half the action range
    noise_clip: float = 0.5  # paper, x half the action range
    policy_freq: int = 2  # paper
    alpha: float = 2.5  # paper

    RULES = {"actor_hidden": ("widths",), "critic_hidden": ("widths",), "actor_lr": ("num", 0.0, 1.0, True),
             "critic_lr": ("num", 0.0, 1.0, True), "tau": ("num", 0.0, 1.0, True), "policy_noise": ("num", 0.0, 10.0),
             "noise_clip": ("num", 0.0, 10.0), "policy_freq": ("int", 1), "alpha": ("num", 0.0, 1e6)}


def smoothed_target_action(actor_t: torch.nn.Module, next_obs: torch.Tensor, noise: float, clip: float,
                           low: torch.Tensor, high: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """pi_targ(s') plus clipped Gaussian noise (scaled by half the action range), clipped to the box (TD3)."""
    half = (high - low) / 2
    eps = torch.randn((len(next_obs), len(low)), generator=generator, device=next_obs.device)
    eps = (eps * noise).clamp(-clip, clip) * half
    return torch.clamp(actor_t(next_obs) + eps, low, high)


def td_target(batch: Batch, gamma: float, next_value: torch.Tensor) -> torch.Tensor:
    """r + gamma (1 - done) V(s'), in one fused operation."""
    return torch.addcmul(batch.rew, batch.not_done, next_value, value=gamma)


@register_agent("td3bc")
class TD3BC(OfflineBase):
    """TD3+BC: TD3 with a behaviour-cloning term normalised by the Q scale."""

    config_class = TD3BCConfig
    config: TD3BCConfig

    def _build(self) -> None:
        s, c, g = self.spec, self.config, self.generators["init"]
        scale = ActionScale(self.act_low, self.act_high)
        actor = init_(DeterministicActor(s.obs_dim, s.act_dim, c.actor_hidden, scale), g).to(c.device)
        critic = init_(TwinCritic(s.obs_dim, s.act_dim, c.critic_hidden), g).to(c.device)
        self.modules = {"actor": actor, "critic": critic, "actor_target": frozen_copy(actor),
                        "critic_target": frozen_copy(critic)}
        self.optimizers = {"actor": adam(actor.parameters(), c.actor_lr),
                           "critic": adam(critic.parameters(), c.critic_lr)}
        self._low, self._high = self.act_low.to(c.device), self.act_high.to(c.device)

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        c, m = self.config, self.modules
        with torch.no_grad():
            next_act = smoothed_target_action(m["actor_target"], batch.next_obs, c.policy_noise, c.noise_clip,
                                              self._low, self._high, self.generators["noise"])
            target = td_target(batch, c.gamma, m["critic_target"].min(batch.next_obs, next_act))
        q1, q2 = m["critic"](batch.obs, batch.act)
        critic_loss = F.mse_loss(q1, target) + F.mse_loss(q2, target)
        descend(self.optimizers["critic"], critic_loss)
        diag = {"critic_loss": critic_loss.detach()}
        if (self.total_steps + 1) % c.policy_freq == 0:
            pi = m["actor"](batch.obs)
            with no_param_grad(m["critic"]):
                q = m["critic"].q1(batch.obs, pi)
            lmbda = c.alpha / q.detach().abs().mean()
            bc_loss = F.mse_loss(pi, batch.act)
            actor_loss = -lmbda * q.mean() + bc_loss
            descend(self.optimizers["actor"], actor_loss)
            polyak_(m["actor_target"], m["actor"], c.tau)
            polyak_(m["critic_target"], m["critic"], c.tau)
            diag.update(actor_loss=actor_loss.detach(), bc_loss=bc_loss.detach())
        return diag

    def _policy(self, obs: torch.Tensor, deterministic: bool) -> torch.Tensor:
        return self.modules["actor"](obs)
