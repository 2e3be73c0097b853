"""Test helpers shared by every area: binomial confidence intervals and trajectory fingerprints."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from scipy.stats import binomtest


def binomial_interval(successes: int, trials: int, confidence: float = 0.999) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval for a binomial proportion."""
    ci = binomtest(int(successes), int(trials)).proportion_ci(confidence_level=confidence, method="exact")
    return float(ci.low), float(ci.high)


def assert_rate(successes: int, trials: int, p: float, confidence: float = 0.999) -> None:
    """Assert that ``p`` lies inside the binomial interval of the observed rate."""
    low, high = binomial_interval(successes, trials, confidence)
    assert low <= p <= high, (f"observed {successes}/{trials} = {successes / trials:.4f}; "
                              f"p={p} not in [{low:.4f}, {high:.4f}]")


def fingerprint(*items: Any) -> str:
    """A digest of arrays, numbers and nested containers: equal iff the contents are bit-for-bit equal."""
    h = hashlib.sha256()

    def feed(x: Any) -> None:
        if isinstance(x, np.ndarray):
            h.update(str(x.dtype).encode() + str(x.shape).encode())
            h.update(np.ascontiguousarray(x).tobytes())
        elif isinstance(x, dict):
            for k in sorted(x, key=str):
                h.update(str(k).encode())
                feed(x[k])
        elif isinstance(x, (list, tuple)):
            h.update(b"[")
            for v in x:
                feed(v)
            h.update(b"]")
        else:
            h.update(repr(x).encode())

    for item in items:
        feed(item)
    return h.hexdigest()


def rollout(env, seed: int, steps: int, action_seed: int = 0) -> list[Any]:
    """Run ``steps`` steps with actions from a fixed stream (episodes after the first reset unseeded)."""
    env.action_space.seed(action_seed)
    obs, info = env.reset(seed=seed)
    trace: list[Any] = [obs, info]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        trace += [obs, reward, terminated, truncated, info]
        if terminated or truncated:
            obs, info = env.reset()
            trace += [obs, info]
    return trace


def count_info_flag(env, steps: int, flag: str, seed: int = 0, action=None) -> int:
    """Step ``env`` (random actions unless ``action`` is given) and count steps whose ``info["stori"][flag]`` is set."""
    env.action_space.seed(seed)
    env.reset(seed=seed)
    hits = 0
    for _ in range(steps):
        a = env.action_space.sample() if action is None else action
        _, _, terminated, truncated, info = env.step(a)
        hits += bool(info["stori"][flag])
        if terminated or truncated:
            env.reset()
    return hits
