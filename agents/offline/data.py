"""The dataset side of the offline agents: the tensor-resident table, normalisers and the data spec.

:class:`TensorData` loads a :class:`~stori_envs.datasets.transitions.Transitions` table once into float32
tensors (observations normalised once, at load), and samples uniform batches with replacement on the
device from a dedicated ``torch.Generator`` -- no per-batch host copies (spec offline.md 5.3).
:class:`Normalizer` is the observation transform saved with the agent. :func:`rollout_transitions`
builds a small table from rollouts of a real environment (tests, smoke runs, benchmark fall-backs).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np
import torch

from stori_envs.datasets.transitions import Transitions

logger = logging.getLogger(__name__)

NORMALIZERS = ("zscore", "minmax", "none")


class Normalizer:
    """``(x - loc) / scale`` per feature: z-score (mean, std + eps) or min/max onto [-1, 1] (OGSRL), or identity."""

    def __init__(self, loc: np.ndarray | torch.Tensor, scale: np.ndarray | torch.Tensor) -> None:
        self.loc = torch.as_tensor(np.asarray(loc, dtype=np.float32))
        self.scale = torch.as_tensor(np.asarray(scale, dtype=np.float32))

    @classmethod
    def fit(cls, x: np.ndarray, kind: str, eps: float = 1e-3) -> Normalizer:
        x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        if kind == "zscore":
            return cls(x.mean(0), x.std(0) + eps)
        if kind == "minmax":
            lo, hi = x.min(0), x.max(0)
            return cls((hi + lo) / 2, (hi - lo) / 2 + eps)
        return cls(np.zeros(x.shape[1]), np.ones(x.shape[1]))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.loc) / self.scale

    def state(self, prefix: str) -> dict[str, torch.Tensor]:
        return {f"{prefix}.loc": self.loc, f"{prefix}.scale": self.scale}

    @classmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], prefix: str) -> Normalizer:
        return cls(tensors[f"{prefix}.loc"].numpy(), tensors[f"{prefix}.scale"].numpy())


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """What an agent needs to know of its dataset to be rebuilt: dimensions, action box, provenance."""

    obs_dim: int
    act_dim: int
    act_low: tuple[float, ...]
    act_high: tuple[float, ...]
    dataset_id: str | None = None
    fingerprint: str | None = None
    env_id: str | None = None
    ref_min_score: float | None = None
    ref_max_score: float | None = None
    cost_limit: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataSpec:
        return cls(**{**data, "act_low": tuple(data["act_low"]), "act_high": tuple(data["act_high"])})

    @classmethod
    def of(cls, data: Transitions) -> DataSpec:
        meta = data.metadata or {}
        low, high = action_bounds(data)
        return cls(obs_dim=int(np.prod(data.observations.shape[1:])), act_dim=len(low), act_low=low, act_high=high,
                   dataset_id=_opt(meta, "dataset_id", str), fingerprint=fingerprint(data),
                   env_id=_opt(meta, "env_id", str), ref_min_score=_opt(meta, "ref_min_score", float),
                   ref_max_score=_opt(meta, "ref_max_score", float), cost_limit=_opt(meta, "cost_limit", float))


def _opt(meta: dict[str, Any], key: str, kind: type) -> Any:
    value = meta.get(key)
    return None if value is None else kind(value)


def action_bounds(data: Transitions) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The action box: metadata ``action_low``/``action_high``, a Box ``action_space``, the env's, or the data's."""
    meta = data.metadata or {}
    if data.actions.ndim != 2 or not np.issubdtype(data.actions.dtype, np.floating):
        raise ValueError(f"Transitions.actions: got shape {data.actions.shape} dtype {data.actions.dtype}; "
                         "allowed: float (N, action_dim) continuous actions")
    if "action_low" in meta and "action_high" in meta:
        low, high = np.asarray(meta["action_low"], float), np.asarray(meta["action_high"], float)
    elif hasattr(meta.get("action_space"), "low"):
        low, high = meta["action_space"].low, meta["action_space"].high
    elif meta.get("env_id"):
        import gymnasium as gym

        import stori_envs  # noqa: F401  (registers the suite's ids)

        env = gym.make(meta["env_id"])
        low, high = env.action_space.low, env.action_space.high
        env.close()
    else:
        logger.warning("dataset has no action bounds in its metadata; using the data's min/max")
        low, high = data.actions.min(0), data.actions.max(0)
    low, high = np.broadcast_to(low, data.actions.shape[1:]), np.broadcast_to(high, data.actions.shape[1:])
    return tuple(float(v) for v in low), tuple(float(v) for v in high)


def fingerprint(data: Transitions) -> str:
    """The dataset's own fingerprint (metadata) or a sha256 of its observation/action/reward bytes."""
    meta = data.metadata or {}
    if meta.get("fingerprint"):
        return str(meta["fingerprint"])
    h = hashlib.sha256()
    for arr in (data.observations, data.actions, data.rewards, data.terminals):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()[:16]


def check_transitions(data: Any) -> Transitions:
    if not isinstance(data, Transitions):
        raise ValueError(f"data: got {type(data).__name__}; allowed: stori_envs.datasets.Transitions "
                         "(e.g. stori_envs.datasets.load_transitions(name))")
    if len(data) == 0:
        raise ValueError("data: got 0 transitions; allowed: a non-empty dataset")
    return data


def episode_sums(data: Transitions, values: np.ndarray) -> np.ndarray:
    """Per-row total of ``values`` over the row's episode (e.g. episode return or episode cost)."""
    _, inverse = np.unique(data.episode_ids, return_inverse=True)
    return np.bincount(inverse, weights=np.asarray(values, np.float64))[inverse]


class Batch(NamedTuple):
    obs: torch.Tensor
    act: torch.Tensor
    rew: torch.Tensor
    next_obs: torch.Tensor
    not_done: torch.Tensor


class TensorData:
    """The dataset resident as float32 tensors, observations normalised once; uniform batch sampling."""

    def __init__(self, data: Transitions, normalizer: Normalizer, *, reward_scale: float = 1.0,
                 reward_shift: float = 0.0, device: str = "cpu") -> None:
        n = len(data)

        def tensor(x: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(np.asarray(x, dtype=np.float32).reshape(n, -1), device=device)

        norm = Normalizer(normalizer.loc.to(device), normalizer.scale.to(device))
        # One row-major table [obs | act | rew | next_obs | not_done]: a batch is one gather, then column views.
        columns = [norm(tensor(data.observations)), tensor(data.actions),
                   tensor(data.rewards) * reward_scale + reward_shift, norm(tensor(data.next_observations)),
                   1.0 - tensor(data.terminals)]
        self.table = torch.cat(columns, 1).contiguous()
        widths = [c.shape[1] for c in columns]
        self._splits = widths
        self.obs, self.act, rew, self.next_obs, not_done = torch.split(self.table, widths, 1)
        self.rew, self.not_done = rew.squeeze(-1), not_done.squeeze(-1)
        self.cost = None if data.costs is None else tensor(data.costs).squeeze(-1)
        self.n = n

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        idx = torch.randint(self.n, (batch_size,), generator=generator, device=self.table.device)
        obs, act, rew, next_obs, not_done = torch.split(self.table.index_select(0, idx), self._splits, 1)
        return Batch(obs, act, rew.squeeze(-1), next_obs, not_done.squeeze(-1))


def rollout_transitions(env_id: str, policy: Callable[[np.ndarray], np.ndarray], seeds: Iterable[int],
                        *, dataset_id: str | None = None, **make_kwargs: Any) -> Transitions:
    """A :class:`Transitions` table from one episode of ``policy`` per seed in a real environment.

    ``policy(obs) -> action`` acts on single observations (or an object with ``act(obs) -> (action, logp)`` and
    ``reset(seed)``, as :mod:`stori_envs.medical.policies`); ``info["cost"]`` is recorded when present.
    Metadata carries the env id and action bounds, so agents trained on it know their action box.
    """
    import gymnasium as gym

    import stori_envs  # noqa: F401  (registers the suite's ids)

    env = gym.make(env_id, **make_kwargs)
    reset = getattr(policy, "reset", None)  # stori_envs.medical policies: reset(seed) per episode, act -> (a, logp)
    act = getattr(policy, "act", policy)
    cols: dict[str, list] = {k: [] for k in ("obs", "act", "rew", "next", "term", "trunc", "ep", "t", "cost")}
    has_cost = True
    for episode, seed in enumerate(seeds):
        obs, _ = env.reset(seed=int(seed))
        if reset is not None:
            reset(int(seed))
        done, t = False, 0
        while not done:
            action = act(obs)
            action = np.asarray(action[0] if isinstance(action, tuple) else action, dtype=np.float32)
            nxt, reward, terminated, truncated, info = env.step(action)
            has_cost = has_cost and "cost" in info
            cut = truncated and not terminated
            row = (obs, action, reward, nxt, terminated, cut, episode, t, info.get("cost", 0.0))
            for key, value in zip(cols, row, strict=True):
                cols[key].append(value)
            obs, done, t = nxt, terminated or truncated, t + 1
    space = env.action_space
    env.close()
    return Transitions(
        observations=np.asarray(cols["obs"], np.float32), actions=np.asarray(cols["act"], np.float32),
        rewards=np.asarray(cols["rew"], np.float32), next_observations=np.asarray(cols["next"], np.float32),
        terminals=np.asarray(cols["term"], bool), timeouts=np.asarray(cols["trunc"], bool),
        episode_ids=np.asarray(cols["ep"], np.int64), timesteps=np.asarray(cols["t"], np.int64),
        costs=np.asarray(cols["cost"], np.float32) if has_cost else None,
        metadata={"env_id": env_id, "dataset_id": dataset_id, "action_low": space.low.tolist(),
                  "action_high": space.high.tolist()})
