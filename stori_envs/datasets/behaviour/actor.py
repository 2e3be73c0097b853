"""A numpy rebuild of Stable-Baselines3's SAC actor, loaded from safetensors (no pickle, no torch needed).

SB3 stores a trained agent as a zip of pickled objects; the suite commits only the actor's weights
(``benchmarks/train_behaviour.py`` exports them) and rebuilds the network here for acting. The forward
pass is computed one row at a time so an action never depends on how many environments are batched
together (a BLAS kernel for a matrix may sum in another order than the one for a vector), which keeps
datasets identical for any number of workers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0  # SB3 sac/policies.py


@dataclass(frozen=True)
class SquashedGaussianActor:
    """SAC's actor: ReLU MLP -> (mu, log_std) -> tanh squash -> rescale to the action box."""

    weights: tuple[tuple[np.ndarray, np.ndarray], ...]  # hidden layers (W, b)
    mu: tuple[np.ndarray, np.ndarray]
    log_std: tuple[np.ndarray, np.ndarray]
    low: np.ndarray
    high: np.ndarray
    metadata: dict
    sha256: str

    @classmethod
    def load(cls, path: str | Path) -> SquashedGaussianActor:
        """Load ``path`` (a safetensors file written by :func:`export_sb3_actor`)."""
        from safetensors import safe_open

        path = Path(path)
        if not path.is_file():
            raise ValueError(f"checkpoint: got {str(path)!r}; allowed: an existing .safetensors file")
        with safe_open(str(path), framework="numpy") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
            meta = dict(f.metadata() or {})
        n_hidden = len([k for k in tensors if k.startswith("latent_pi.") and k.endswith(".weight")])
        hidden = tuple((tensors[f"latent_pi.{2 * i}.weight"].astype(np.float32),
                        tensors[f"latent_pi.{2 * i}.bias"].astype(np.float32)) for i in range(n_hidden))
        info = json.loads(meta.get("stori", "{}"))
        return cls(hidden, (tensors["mu.weight"], tensors["mu.bias"]),
                   (tensors["log_std.weight"], tensors["log_std.bias"]),
                   np.asarray(info["action_low"], np.float32), np.asarray(info["action_high"], np.float32),
                   info, hashlib.sha256(path.read_bytes()).hexdigest())

    def _heads(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows_mu, rows_ls = [], []
        for x in np.asarray(obs, np.float32).reshape(len(obs), -1):
            for w, b in self.weights:
                x = np.maximum(w @ x + b, 0.0)
            rows_mu.append(self.mu[0] @ x + self.mu[1])
            rows_ls.append(self.log_std[0] @ x + self.log_std[1])
        return np.stack(rows_mu), np.clip(np.stack(rows_ls), LOG_STD_MIN, LOG_STD_MAX)

    def _scale(self, squashed: np.ndarray) -> np.ndarray:
        return (self.low + 0.5 * (squashed + 1.0) * (self.high - self.low)).astype(np.float32)

    def act(self, obs: np.ndarray, rng: np.random.Generator | list[np.random.Generator] | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
        """Actions for a batch ``obs`` (n, obs_dim) and their log-densities (in the squashed [-1, 1] space).

        ``rng=None`` is SAC's deterministic action (``predict(deterministic=True)``), with log-density 0;
        otherwise one generator per row (or one for all) draws the Gaussian noise.
        """
        mu, log_std = self._heads(obs)
        if rng is None:
            return self._scale(np.tanh(mu)), np.zeros(len(mu), np.float32)
        rngs = rng if isinstance(rng, list) else [rng] * len(mu)
        eps = np.stack([g.standard_normal(mu.shape[1]) for g in rngs]).astype(np.float32)
        u = mu + np.exp(log_std) * eps
        a = np.tanh(u)
        logp = (-0.5 * eps**2 - log_std - 0.5 * np.log(2 * np.pi)).sum(1) - np.log(1 - a**2 + 1e-6).sum(1)
        return self._scale(a), logp.astype(np.float32)


def export_sb3_actor(model, path: str | Path, **metadata) -> Path:
    """Write an SB3 SAC model's actor weights (float32) and action bounds to a safetensors file."""
    from safetensors.numpy import save_file

    state = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.actor.state_dict().items()
             if k.startswith(("latent_pi.", "mu.", "log_std."))}
    space = model.action_space
    info = {"action_low": space.low.tolist(), "action_high": space.high.tolist(), **metadata}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata={"stori": json.dumps(info, sort_keys=True)})
    return path
