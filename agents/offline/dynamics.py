"""A learned ensemble transition model for model-based offline agents (OGSRL's optional model (b), spec
medical.md 4.2).

``E`` members, each an MLP on the normalised ``(s, a)`` with a Gaussian head for the normalised state change
``ds`` and point heads for the reward, the cost and the termination logit. The spec's MedSepsis recipe takes
reward, costs and death from the simulator's public rule functions; learning them instead keeps the model
usable on any dataset that carries costs, as the 1-NN model is. Members differ by initialisation and by their
own minibatches. Unlike the 1-NN lookup, whose next states are always logged ones, a learned model can carry
an effect across steps (a state drifting where no logged episode went); the guardian still decides what is
out of support.

A rollout step (:meth:`EnsembleModel.step`) draws one member per query (as MBPO and MOPO do), samples ``ds``
from its Gaussian and the termination from its Bernoulli, all from the caller's generator.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from agents.offline.nets import adam, descend, init_, mlp

LOG_STD_MIN, LOG_STD_MAX = -10.0, 2.0  # bounds of the predicted log-std of ds (MBPO clamps softly; we clamp)


class Ensemble(nn.Module):
    """``members`` MLPs mapping normalised (s, a) to (ds mean, ds log-std, reward, cost, termination logit)."""

    def __init__(self, in_dim: int, obs_dim: int, hidden: Sequence[int], members: int) -> None:
        super().__init__()
        self.obs_dim = obs_dim
        self.members = nn.ModuleList(mlp(in_dim, hidden, 2 * obs_dim + 3) for _ in range(members))

    def heads(self, member: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = member(x)
        d = self.obs_dim
        log_std = out[:, d:2 * d].clamp(LOG_STD_MIN, LOG_STD_MAX)
        return out[:, :d], log_std, out[:, 2 * d], out[:, 2 * d + 1], out[:, 2 * d + 2]


class EnsembleModel:
    """The trained ensemble with its target scales: a transition function on normalised (s, a) queries.

    Args:
        ensemble: the networks.
        obs_loc, obs_scale: the observation normaliser (``s = norm * scale + loc``), to return raw next states.
        rew_loc, rew_scale: the reward standardisation the reward head was trained in.
    """

    def __init__(self, ensemble: Ensemble, obs_loc: torch.Tensor, obs_scale: torch.Tensor, rew_loc: float,
                 rew_scale: float) -> None:
        self.ensemble = ensemble
        self.obs_loc, self.obs_scale = obs_loc, obs_scale
        self.rew_loc, self.rew_scale = float(rew_loc), float(rew_scale)

    @classmethod
    def fit(cls, x: torch.Tensor, next_norm: torch.Tensor, rewards: torch.Tensor, costs: torch.Tensor,
            terminals: torch.Tensor, obs_loc: torch.Tensor, obs_scale: torch.Tensor, *, members: int,
            hidden: Sequence[int], steps: int, lr: float, batch_size: int, init: torch.Generator,
            sample: torch.Generator) -> tuple[EnsembleModel, list[float]]:
        """Train on rows ``x`` = normalised (s, a) with targets ``next_norm - s`` (ds), the reward, cost and
        termination; returns the model and the mean loss per tenth of training (for "the loss falls")."""
        obs_dim = next_norm.shape[1]
        ensemble = init_(Ensemble(x.shape[1], obs_dim, hidden, members), init).to(x.device)
        optimizer = adam(ensemble.parameters(), lr)
        ds = next_norm - x[:, :obs_dim]
        rew_loc, rew_scale = float(rewards.mean()), float(rewards.std(correction=0)) + 1e-6
        rew = (rewards - rew_loc) / rew_scale
        done = terminals.float()
        n, losses, window = len(x), [], []
        for step in range(steps):
            loss = torch.zeros((), device=x.device)
            for member in ensemble.members:  # each member its own minibatch
                idx = torch.randint(n, (min(batch_size, n),), generator=sample, device=x.device)
                mean, log_std, r, c, t = ensemble.heads(member, x[idx])
                nll = (((ds[idx] - mean) * torch.exp(-log_std)).square() + 2 * log_std).mean()
                loss = loss + nll + F.mse_loss(r, rew[idx]) + F.mse_loss(c, costs[idx]) \
                    + F.binary_cross_entropy_with_logits(t, done[idx])
            descend(optimizer, loss)
            window.append(loss.detach())
            if (step + 1) % max(1, steps // 10) == 0:
                losses.append(float(torch.stack(window).mean()) / members)
                window = []
        ensemble.requires_grad_(False)
        return cls(ensemble, obs_loc, obs_scale, rew_loc, rew_scale), losses

    @torch.no_grad()
    def step(self, x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """``(next_obs, reward, cost, terminal)`` for normalised queries ``x``: one member drawn per query."""
        members = self.ensemble.members
        pick = torch.randint(len(members), (len(x),), generator=generator, device=x.device)
        outs = [torch.stack(h) for h in zip(*(self.ensemble.heads(m, x) for m in members), strict=True)]
        rows = torch.arange(len(x), device=x.device)
        mean, log_std, r, c, t = (o[pick, rows] for o in outs)
        noise = torch.randn(mean.shape, generator=generator, device=x.device, dtype=mean.dtype)
        obs_dim = self.ensemble.obs_dim
        next_norm = x[:, :obs_dim] + mean + log_std.exp() * noise
        terminal = torch.rand(len(x), generator=generator, device=x.device, dtype=mean.dtype) < torch.sigmoid(t)
        return (next_norm * self.obs_scale + self.obs_loc, r * self.rew_scale + self.rew_loc, c.clamp(min=0.0),
                terminal)

    # -- persistence (tensors only: the agent saves them with its other extra state) ----------------------
    def state(self, prefix: str = "model") -> dict[str, torch.Tensor]:
        out = {f"{prefix}.net.{k}": v for k, v in self.ensemble.state_dict().items()}
        out[f"{prefix}.reward_scale"] = torch.tensor([self.rew_loc, self.rew_scale], dtype=torch.float64)
        return out

    @classmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], in_dim: int, obs_loc: torch.Tensor,
                   obs_scale: torch.Tensor, hidden: Sequence[int], members: int, prefix: str = "model"
                   ) -> EnsembleModel:
        obs_dim = len(obs_loc)
        ensemble = Ensemble(in_dim, obs_dim, hidden, members)
        net = f"{prefix}.net."
        ensemble.load_state_dict({k[len(net):]: v for k, v in tensors.items() if k.startswith(net)})
        ensemble.requires_grad_(False)
        rew_loc, rew_scale = tensors[f"{prefix}.reward_scale"].tolist()
        return cls(ensemble.to(obs_loc.device), obs_loc, obs_scale, rew_loc, rew_scale)
