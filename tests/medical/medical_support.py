"""Shared pieces of the medical tests: fixed seed ranges and a stepping helper."""

from __future__ import annotations

import numpy as np

import stori_envs  # noqa: F401  (registers the stori/ ids)

#: Patients of the statistical tests; the calibration script uses 0+ (constants) and 1,000,000+ (evaluation).
TEST_SEED_BASE = 500_000


def uniform_action(obs, rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(-1.0, 1.0, 2).astype(np.float32)


def run_steps(env, steps: int, seed: int, action_fn=None) -> list[tuple]:
    """``steps`` steps from ``reset(seed)`` (unseeded resets after each episode) with actions from a fixed stream
    (uniform on the action space by default).

    Returns (obs, action, reward, next_obs, terminated, truncated, info) per step.
    """
    if action_fn is None:
        n = getattr(env.action_space, "n", None)
        action_fn = uniform_action if n is None else (lambda obs, rng: int(rng.integers(n)))
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    out = []
    for _ in range(steps):
        action = action_fn(obs, rng)
        nxt, reward, terminated, truncated, info = env.step(action)
        out.append((obs, action, reward, nxt, terminated, truncated, info))
        obs = nxt
        if terminated or truncated:
            obs, info = env.reset()
    return out
