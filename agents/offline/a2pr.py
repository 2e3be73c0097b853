"""A2PR: adaptive advantage-guided policy regularisation (Liu et al., ICML 2024; spec offline.md section 2).

A TD3+BC-style actor is regularised toward whichever of two candidates has the higher advantage: the
dataset action ``a`` or an action from a conditional VAE trained only on advantageous dataset actions
(EPBL); the per-sample BC weight counts the candidates whose advantage clears the threshold. One
iteration, in order (spec 2.2):

1. critic: clipped double-Q TD target with target-policy smoothing;
2. value: V(s) regressed on min(target TD, online TD) (``value_objective="min_td"``, the code's) or by
   expectile regression on the same target (``"expectile"``);
3. VAE: reconstruction gated by 1[Q1(s, a) - V(s) > adv_threshold], plus ``kl_weight`` x KL;
4. actor (every ``policy_freq``): ``-lambda mean Q1(s, pi(s)) + mean(m (pi(s) - a*)^2)``, then Polyak.

Paper vs released code (spec 2.6): the defaults follow the paper where it states the mechanism;
:meth:`A2PRConfig.code_compat` reproduces the released code (ties to the VAE action with ``>=``, target not
detached, timeout transitions dropped). The code's names ``mask`` / ``vae_weight`` are accepted by
:meth:`A2PRConfig.from_dict` as aliases of ``bc_weight`` / ``vae_recon_weight``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
import torch.nn.functional as F

from agents.interface import register_agent
from agents.offline.base import OfflineBase, OfflineConfig
from agents.offline.data import Batch
from agents.offline.iql import expectile_loss
from agents.offline.nets import (
    ActionScale,
    ConditionalVAE,
    DeterministicActor,
    TwinCritic,
    ValueNet,
    adam,
    descend,
    frozen_copy,
    init_,
    no_param_grad,
    polyak_,
)
from agents.offline.td3bc import smoothed_target_action, td_target
from stori_envs.datasets.transitions import Transitions

ALIASES = {"mask": "bc_weight", "vae_weight": "vae_recon_weight"}


@dataclasses.dataclass(frozen=True)
class A2PRConfig(OfflineConfig):
    actor_hidden: tuple[int, ...] = (256, 256, 256)  # A2PR code: 3 x 256
    critic_hidden: tuple[int, ...] = (256, 256, 256, 256)  # A2PR code: 4 x 256
    value_hidden: tuple[int, ...] = (256, 256, 256, 256)  # A2PR code: 4 x 256
    vae_hidden: int = 750  # A2PR code (BCQ's VAE); dominates CPU cost, configurable (spec 2.7)
    vae_latent_mult: int = 2  # A2PR code: latent = 2 x action_dim
    actor_lr: float = 3e-4  # A2PR code
    critic_lr: float = 3e-4  # A2PR code
    value_lr: float = 3e-4  # A2PR code
    vae_lr: float = 1e-3  # A2PR code (Adam default)
    tau: float = 0.005  # A2PR code
    policy_noise: float = 0.2  # A2PR code, x half the action range
    noise_clip: float = 0.5  # A2PR code, x half the action range
    policy_freq: int = 2  # A2PR code
    alpha: float = 2.5  # A2PR code (per-dataset: 2.5 to 40, spec 2.3)
    bc_weight: float = 0.5  # A2PR code `mask`
    vae_recon_weight: float = 1.0  # A2PR code `vae_weight`
    kl_weight: float = 0.5  # A2PR code
    adv_threshold: float = 0.0  # paper eps_A; the code hard-wires 0 (flag 1)
    tie_rule: str = "strict"  # paper: one strict condition A > eps_A, ties to the dataset action; "code" (flag 2)
    detach_target: bool = True  # paper: a* is a fixed regression target; False = code (flag 3)
    value_objective: str = "min_td"  # code (paper does not pin it); "expectile" (flag 4)
    expectile_tau: float = 0.8  # code's unused expectile (flag 4)
    vae_candidate: str = "posterior_of_pi"  # code: encode pi(s), decode a posterior sample; "prior" (flag 5)
    drop_timeout_transitions: bool = False  # suite; True in code_compat (D4RL qlearning_dataset) (flag 6)

    RULES = {"actor_hidden": ("widths",), "critic_hidden": ("widths",), "value_hidden": ("widths",),
             "vae_hidden": ("int", 1), "vae_latent_mult": ("int", 1), "actor_lr": ("num", 0.0, 1.0, True),
             "critic_lr": ("num", 0.0, 1.0, True), "value_lr": ("num", 0.0, 1.0, True),
             "vae_lr": ("num", 0.0, 1.0, True), "tau": ("num", 0.0, 1.0, True), "policy_noise": ("num", 0.0, 10.0),
             "noise_clip": ("num", 0.0, 10.0), "policy_freq": ("int", 1), "alpha": ("num", 0.0, 1e6),
             "bc_weight": ("num", 0.0, 1e6), "vae_recon_weight": ("num", 0.0, 1e6), "kl_weight": ("num", 0.0, 1e6),
             "adv_threshold": ("num",), "tie_rule": ("choice", ("strict", "code")), "detach_target": ("bool",),
             "value_objective": ("choice", ("min_td", "expectile")), "expectile_tau": ("num", 0.0, 1.0, True),
             "vae_candidate": ("choice", ("posterior_of_pi", "prior")), "drop_timeout_transitions": ("bool",)}

    @classmethod
    def code_compat(cls, **overrides: Any) -> A2PRConfig:
        """The released code's semantics (spec 2.6): ``>=`` ties to the VAE, undetached target, timeouts dropped."""
        return cls(**{"tie_rule": "code", "detach_target": False, "value_objective": "min_td",
                      "vae_candidate": "posterior_of_pi", "adv_threshold": 0.0, "drop_timeout_transitions": True,
                      **overrides})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> A2PRConfig:
        """As :meth:`AgentConfig.from_dict`, accepting the code's names ``mask`` and ``vae_weight``."""
        data = dict(data)
        for old, new in ALIASES.items():
            if old in data:
                if new in data:
                    raise ValueError(f"A2PRConfig.{old}: got both {old!r} and its new name {new!r}; allowed: one")
                data[new] = data.pop(old)
        return super().from_dict(data)


@register_agent("a2pr")
class A2PR(OfflineBase):
    """A2PR-style agent: twin critics, value net, EPBL VAE, advantage-guided BC target, adaptive weight."""

    config_class = A2PRConfig
    config: A2PRConfig

    def prepare_data(self, data: Transitions) -> Transitions:
        if self.config.drop_timeout_transitions:
            return data.select(~(data.timeouts & ~data.terminals))
        return data

    def _build(self) -> None:
        s, c, g = self.spec, self.config, self.generators["init"]
        scale = ActionScale(self.act_low, self.act_high)
        actor = init_(DeterministicActor(s.obs_dim, s.act_dim, c.actor_hidden, scale), g).to(c.device)
        critic = init_(TwinCritic(s.obs_dim, s.act_dim, c.critic_hidden), g).to(c.device)
        value = init_(ValueNet(s.obs_dim, c.value_hidden), g).to(c.device)
        vae = init_(ConditionalVAE(s.obs_dim, s.act_dim, (c.vae_hidden, c.vae_hidden), c.vae_latent_mult * s.act_dim,
                                   ActionScale(self.act_low, self.act_high)), g).to(c.device)
        self.modules = {"actor": actor, "critic": critic, "value": value, "vae": vae,
                        "actor_target": frozen_copy(actor), "critic_target": frozen_copy(critic)}
        self.optimizers = {"actor": adam(actor.parameters(), c.actor_lr),
                           "critic": adam(critic.parameters(), c.critic_lr),
                           "value": adam(value.parameters(), c.value_lr), "vae": adam(vae.parameters(), c.vae_lr)}
        self._low, self._high = self.act_low.to(c.device), self.act_high.to(c.device)

    def _above(self, adv: torch.Tensor, inclusive: bool) -> torch.Tensor:
        """1[adv > eps_A] (or >= for the code's VAE-candidate indicator), as a float."""
        eps = self.config.adv_threshold
        return (adv >= eps if inclusive else adv > eps).float()

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        c, m, o, noise = self.config, self.modules, self.optimizers, self.generators["noise"]
        s, a = batch.obs, batch.act
        # 1. Critic.
        with torch.no_grad():
            next_act = smoothed_target_action(m["actor_target"], batch.next_obs, c.policy_noise, c.noise_clip,
                                              self._low, self._high, noise)
            y = td_target(batch, c.gamma, m["critic_target"].min(batch.next_obs, next_act))
        q1, q2 = m["critic"](s, a)
        critic_loss = F.mse_loss(q1, y) + F.mse_loss(q2, y)
        descend(o["critic"], critic_loss)
        # 2. Value: target min(target-TD, online-TD) with the just-updated critics.
        with torch.no_grad():
            y_on = td_target(batch, c.gamma, m["critic"].min(batch.next_obs, next_act))
            y_v = torch.minimum(y, y_on)
            q1_data = m["critic"].q1(s, a)
        v = m["value"](s)
        value_loss = F.mse_loss(v, y_v) if c.value_objective == "min_td" else expectile_loss(y_v - v, c.expectile_tau)
        descend(o["value"], value_loss)
        v = v.detach()  # V(s) from before the value step, reused below (spec 2.2)
        adv_data = q1_data - v
        # 3. VAE on advantageous actions (EPBL): the mean divides by the whole batch.
        recon, mu, std = m["vae"](s, a, noise)
        gate = c.vae_recon_weight * self._above(adv_data, inclusive=False)
        recon_loss = (gate[:, None] * (recon - a).pow(2)).mean()
        kl = (-0.5 * (1 + torch.log(std.pow(2)) - mu.pow(2) - std.pow(2))).mean()
        vae_loss = recon_loss + c.kl_weight * kl
        descend(o["vae"], vae_loss)
        diag = {"critic_loss": critic_loss.detach(), "value_loss": value_loss.detach(), "vae_loss": vae_loss.detach()}
        # 4. Actor with the advantage-guided target.
        if (self.total_steps + 1) % c.policy_freq == 0:
            pi = m["actor"](s)
            with no_param_grad(m["critic"]):
                q_pi = m["critic"].q1(s, pi)
            lmbda = c.alpha / q_pi.detach().abs().mean()
            with no_param_grad(m["vae"]), torch.set_grad_enabled(not c.detach_target):
                if c.vae_candidate == "prior":
                    a_vae = m["vae"].sample_prior(s, noise)
                else:
                    a_vae = m["vae"](s, pi, noise)[0]
            with torch.no_grad():
                adv_vae = m["critic"].q1(s, a_vae.detach()) - v
                code = c.tie_rule == "code"
                choose_vae = adv_vae >= adv_data if code else adv_vae > adv_data
                weight = c.bc_weight * (self._above(adv_vae, inclusive=code) + self._above(adv_data, inclusive=False))
            target = torch.where(choose_vae[:, None], a_vae, a)
            bc_loss = (weight[:, None] * (pi - target).pow(2)).mean()
            actor_loss = -lmbda * q_pi.mean() + bc_loss
            descend(o["actor"], actor_loss)
            polyak_(m["actor_target"], m["actor"], c.tau)
            polyak_(m["critic_target"], m["critic"], c.tau)
            diag.update(actor_loss=actor_loss.detach(), bc_loss=bc_loss.detach(),
                        vae_target_share=choose_vae.float().mean(), bc_weight_mean=weight.mean())
        return diag

    def _policy(self, obs: torch.Tensor, deterministic: bool) -> torch.Tensor:
        return self.modules["actor"](obs)
