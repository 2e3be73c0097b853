"""Behaviour cloning, BC-x% (top fraction of episodes by return) and BC-Safe (episodes under the cost limit).

BC (spec offline.md 3; CORL ``any_percent_bc.py``): a deterministic actor regressed onto dataset actions
by MSE. ``top_fraction`` < 1 keeps only the best episodes by return (CORL's "BC-10%" is 0.1).
BC-Safe (OSRL's ``BC-Safe``): the same on the episodes whose total cost is at most ``cost_limit``
(the config's, else the dataset's ``cost_limit`` metadata).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from agents.interface import register_agent
from agents.offline.base import OfflineBase, OfflineConfig
from agents.offline.data import Batch, episode_sums
from agents.offline.nets import ActionScale, DeterministicActor, adam, descend, init_
from stori_envs.datasets.transitions import Transitions


@dataclasses.dataclass(frozen=True)
class BCConfig(OfflineConfig):
    actor_hidden: tuple[int, ...] = (256, 256)  # spec offline.md 3 (CORL BC: 2 x 256)
    actor_lr: float = 3e-4  # CORL
    top_fraction: float = 1.0  # CORL any_percent_bc: 1.0 = all data, 0.1 = BC-10%

    RULES = {"actor_hidden": ("widths",), "actor_lr": ("num", 0.0, 1.0, True), "top_fraction": ("num", 0.0, 1.0, True)}


@register_agent("bc")
class BC(OfflineBase):
    """Deterministic behaviour cloning (optionally on the top fraction of episodes by return)."""

    config_class = BCConfig
    config: BCConfig

    def prepare_data(self, data: Transitions) -> Transitions:
        if self.config.top_fraction >= 1.0:
            return data
        returns = episode_sums(data, data.rewards)
        # Keep whole episodes: the threshold is the return of the episode at the cut.
        ep_returns = np.sort(np.unique(np.stack([data.episode_ids, returns], 1), axis=0)[:, 1])[::-1]
        keep = max(1, int(round(self.config.top_fraction * len(ep_returns))))
        return data.select(returns >= ep_returns[keep - 1])

    def _build(self) -> None:
        s, c, g = self.spec, self.config, self.generators["init"]
        actor = DeterministicActor(s.obs_dim, s.act_dim, c.actor_hidden, ActionScale(self.act_low, self.act_high))
        self.modules = {"actor": init_(actor, g).to(c.device)}
        self.optimizers = {"actor": adam(actor.parameters(), c.actor_lr)}

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        loss = F.mse_loss(self.modules["actor"](batch.obs), batch.act)
        descend(self.optimizers["actor"], loss)
        return {"actor_loss": loss.detach()}

    def _policy(self, obs: torch.Tensor, deterministic: bool) -> torch.Tensor:
        return self.modules["actor"](obs)


@dataclasses.dataclass(frozen=True)
class BCSafeConfig(BCConfig):
    cost_limit: float | None = None  # None: the dataset's metadata["cost_limit"] (OSRL BC-Safe)

    RULES = {"cost_limit": ("opt_num", 0.0, float("inf"))}


@register_agent("bc-safe")
class BCSafe(BC):
    """BC on the episodes whose total cost is at most the cost limit (OSRL's BC-Safe)."""

    config_class = BCSafeConfig
    config: BCSafeConfig

    def prepare_data(self, data: Transitions) -> Transitions:
        if data.costs is None:
            raise ValueError("data.costs: got None; allowed: a dataset that records info['cost'] (BC-Safe)")
        limit = self.config.cost_limit
        if limit is None:
            limit = (data.metadata or {}).get("cost_limit")
        if limit is None:
            raise ValueError("BCSafeConfig.cost_limit: got None and the dataset has no cost_limit metadata; "
                             "allowed: a number >= 0")
        safe = episode_sums(data, data.costs) <= float(limit)
        if not safe.any():
            raise ValueError(f"BCSafeConfig.cost_limit: got {limit}; allowed: a limit that at least one episode meets"
                             f" (lowest episode cost {episode_sums(data, data.costs).min():.3g})")
        return super().prepare_data(data.select(safe))
