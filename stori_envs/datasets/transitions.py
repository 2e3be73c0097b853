"""The flat transition table that offline agents train from: the contract between datasets and agents.

A Minari dataset stores episodes (``T + 1`` observations, ``T`` actions). Agents want one table of
transitions ``(s, a, r, s', terminal)``; :class:`Transitions` is that table, built by the dataset
loader (:mod:`stori_envs.datasets`) and read by :mod:`agents`. Alignment: row ``t`` of an episode is
``(obs[t], act[t], rew[t], obs[t + 1])``; ``terminals`` marks a true MDP end (no bootstrapping),
``timeouts`` a time limit or cut (the next observation exists and is bootstrapped from). A truncated
last transition is kept (D4RL's ``qlearning_dataset`` drops it).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class Transitions:
    """Aligned transition arrays of a dataset, with its metadata.

    ``actions`` are the actions the behaviour policy chose (what an agent imitates);
    ``executed_actions`` (when a type 1 profile replaced some) are what the environment ran.
    ``costs`` is ``info["cost"]`` of each step (``None`` where the environment has no cost).
    ``metadata`` carries the dataset id, fingerprint, spaces, reference scores and the profile.
    ``cost_components``, ``behavior_logp`` and ``action_replaced`` are optional extras (added later,
    after ``metadata``, so positional construction is unchanged).
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_observations: np.ndarray
    terminals: np.ndarray
    timeouts: np.ndarray
    episode_ids: np.ndarray
    timesteps: np.ndarray
    costs: np.ndarray | None = None
    executed_actions: np.ndarray | None = None
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: optional per-step extras of suite datasets (None when absent): the medical cost components
    #: (N, 6) uint8, the behaviour policy's log-probability of the stored action, and the type 1 flag.
    cost_components: np.ndarray | None = None
    behavior_logp: np.ndarray | None = None
    action_replaced: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.rewards)
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, np.ndarray) and len(value) != n:
                raise ValueError(f"Transitions.{field.name}: got {len(value)} rows; allowed: {n} (as rewards)")

    def __len__(self) -> int:
        return len(self.rewards)

    @property
    def n_episodes(self) -> int:
        return int(len(np.unique(self.episode_ids)))

    def observation_stats(self, eps: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
        """Per-feature mean and standard deviation (+ ``eps``) of the observations, for z-scoring."""
        obs = self.observations.reshape(len(self), -1).astype(np.float64)
        return obs.mean(0).astype(np.float32), (obs.std(0) + eps).astype(np.float32)

    def select(self, mask: np.ndarray) -> Transitions:
        """The rows where ``mask`` is true (e.g. the episodes under a cost limit, for BC-Safe)."""
        arrays = {f.name: (v[mask] if isinstance(v := getattr(self, f.name), np.ndarray) else v)
                  for f in dataclasses.fields(self)}
        return Transitions(**arrays)
