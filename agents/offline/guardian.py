"""The density guardian of OGSRL (spec medical.md 4.2): is a normalised (s, a) inside the data support?

Two scorers, both "higher = more in-distribution": a Gaussian KDE log-density (log-sum-exp, since 15-D
densities underflow) and the negative mean distance to the k nearest reference points. The threshold is
the ``alpha``-quantile of the reference points' **leave-one-out** scores, so unseen in-distribution
points are flagged at about ``alpha``. Distances are computed in chunks with ``torch.cdist``.
"""

from __future__ import annotations

import math

import torch

from stori_envs.taxonomy.validation import check_choice

KINDS = ("kde", "knn")
_CHUNK = 512


class DensityGuardian:
    """``flags(x)`` is True where ``x`` (normalised (s, a) rows) lies outside the data support."""

    def __init__(self, kind: str, reference: torch.Tensor, threshold: float, bandwidth: float = 0.5, k: int = 10):
        self.kind = check_choice("guardian", kind, KINDS)
        self.reference = reference
        self.threshold = float(threshold)
        self.bandwidth = float(bandwidth)
        self.k = int(k)

    @classmethod
    def fit(cls, x: torch.Tensor, kind: str = "kde", *, alpha: float = 0.05, bandwidth: float = 0.5, k: int = 10,
            max_reference: int = 20_000, generator: torch.Generator | None = None) -> DensityGuardian:
        """Subsample at most ``max_reference`` rows (without replacement) and set the LOO quantile threshold."""
        if len(x) < 2:
            raise ValueError(f"guardian data: got {len(x)} rows; allowed: at least 2")
        if len(x) > max_reference:
            idx = torch.randperm(len(x), generator=generator, device=x.device)[:max_reference]
            x = x[idx.sort().values]
        guardian = cls(kind, x.contiguous(), 0.0, bandwidth, min(k, len(x) - 1))
        loo = guardian.scores(x, self_index=torch.arange(len(x), device=x.device))
        guardian.threshold = float(torch.quantile(loo.double(), alpha))
        return guardian

    def scores(self, x: torch.Tensor, self_index: torch.Tensor | None = None) -> torch.Tensor:
        """Score of each row; ``self_index[i]`` (>= 0) is row i's own index in the reference, left out."""
        out = []
        m, d = self.reference.shape
        for start in range(0, len(x), _CHUNK):
            sq = torch.cdist(x[start:start + _CHUNK], self.reference).pow(2)
            n_out = 0
            if self_index is not None:
                own = self_index[start:start + _CHUNK]
                rows = torch.nonzero(own >= 0).squeeze(-1)
                sq[rows, own[rows]] = math.inf
                n_out = (own >= 0).to(sq.dtype)
            if self.kind == "kde":
                h2 = self.bandwidth ** 2
                count = m - n_out if self_index is not None else torch.full((len(sq),), float(m))
                score = (torch.logsumexp(-sq / (2 * h2), dim=1) - torch.log(torch.as_tensor(count, dtype=sq.dtype))
                         - 0.5 * d * math.log(2 * math.pi * h2))
            else:
                score = -torch.topk(sq, self.k, dim=1, largest=False).values.sqrt().mean(1)
            out.append(score)
        return torch.cat(out) if out else torch.empty(0)

    def flags(self, x: torch.Tensor, self_index: torch.Tensor | None = None) -> torch.Tensor:
        return self.scores(x, self_index) < self.threshold

    def state(self, prefix: str = "guardian") -> dict[str, torch.Tensor]:
        return {f"{prefix}.reference": self.reference,
                f"{prefix}.params": torch.tensor([self.threshold, self.bandwidth, self.k, KINDS.index(self.kind)],
                                                 dtype=torch.float64)}

    @classmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], prefix: str = "guardian") -> DensityGuardian:
        threshold, bandwidth, k, kind = tensors[f"{prefix}.params"].tolist()
        return cls(KINDS[int(kind)], tensors[f"{prefix}.reference"], threshold, bandwidth, int(k))


class SupportGuard:
    """A guardian with its own min/max normalisers of s and a: ``flags(obs, actions)`` on raw arrays.

    :meth:`from_data` fits one on a training split, so the OOD-visit rate of *any* agent (BC, TD3+BC, ...)
    can be measured against the same support as OGSRL's.
    """

    def __init__(self, guardian: DensityGuardian, obs_loc, obs_scale, act_loc, act_scale) -> None:
        self.guardian = guardian
        self.obs = (torch.as_tensor(obs_loc, dtype=torch.float32), torch.as_tensor(obs_scale, dtype=torch.float32))
        self.act = (torch.as_tensor(act_loc, dtype=torch.float32), torch.as_tensor(act_scale, dtype=torch.float32))

    @classmethod
    def from_data(cls, observations, actions, kind: str = "kde", *, alpha: float = 0.05, bandwidth: float = 0.5,
                  k: int = 10, max_reference: int = 20_000, seed: int = 0, eps: float = 1e-6) -> SupportGuard:
        obs = torch.as_tensor(observations, dtype=torch.float32).reshape(len(observations), -1)
        act = torch.as_tensor(actions, dtype=torch.float32).reshape(len(actions), -1)
        norms = []
        for x in (obs, act):
            lo, hi = x.min(0).values, x.max(0).values
            norms += [(hi + lo) / 2, (hi - lo) / 2 + eps]
        keys = torch.cat([(obs - norms[0]) / norms[1], (act - norms[2]) / norms[3]], 1)
        gen = torch.Generator().manual_seed(int(seed))
        guardian = DensityGuardian.fit(keys, kind, alpha=alpha, bandwidth=bandwidth, k=k, max_reference=max_reference,
                                       generator=gen)
        return cls(guardian, *norms)

    def flags(self, observations, actions) -> torch.Tensor:
        obs = torch.as_tensor(observations, dtype=torch.float32).reshape(len(observations), -1)
        act = torch.as_tensor(actions, dtype=torch.float32).reshape(len(actions), -1)
        keys = torch.cat([(obs - self.obs[0]) / self.obs[1], (act - self.act[0]) / self.act[1]], 1)
        return self.guardian.flags(keys)
