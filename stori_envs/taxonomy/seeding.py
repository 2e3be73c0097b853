"""Seeded random streams, one per stochastic knob.

Every random draw in ``stori_envs`` comes from a :class:`numpy.random.Generator` derived from the seed
given to ``reset(seed=...)`` and a *stable name* for the knob that draws it (``"action"``, ``"events"``,
``"observation"``, ...). Streams are keyed by name, not by spawn order, so enabling one knob never
shifts the draws of another, and two environments built in a different order still agree.
"""

from __future__ import annotations

import zlib

import numpy as np

SEED_POLICIES = ("gymnasium", "first_reset")


def stream_key(name: str) -> int:
    """A stable 32-bit integer for a stream name (CRC-32, identical across runs and platforms)."""
    return zlib.crc32(name.encode("utf-8"))


def make_stream(seed: int | np.random.SeedSequence | None, name: str) -> np.random.Generator:
    """Return the generator of stream ``name`` for ``seed``.

    ``seed=None`` draws fresh entropy from the operating system (an unseeded run); an integer or a
    :class:`~numpy.random.SeedSequence` gives the same stream every time.
    """
    if isinstance(seed, np.random.SeedSequence):
        entropy, base_key = seed.entropy, tuple(seed.spawn_key)
    else:
        entropy, base_key = (None if seed is None else int(seed)), ()
    seq = np.random.SeedSequence(entropy, spawn_key=base_key + (stream_key(name),))
    return np.random.Generator(np.random.PCG64(seq))


class SeededStream:
    """A named random stream that follows the ``reset(seed=...)`` protocol of Gymnasium.

    ``policy="gymnasium"`` re-seeds on every ``reset`` that passes an integer seed (the Gymnasium
    contract). ``policy="first_reset"`` seeds once and then lets the stream run on, for harnesses that
    pass the same seed at every reset and would otherwise replay identical draws every episode.
    Before the first seeded reset the stream is seeded from OS entropy.
    """

    __slots__ = ("name", "policy", "rng", "_seeded")

    def __init__(self, name: str, policy: str = "gymnasium") -> None:
        if policy not in SEED_POLICIES:
            raise ValueError(f"seed_policy: got {policy!r}; allowed: {', '.join(SEED_POLICIES)}")
        self.name = name
        self.policy = policy
        self.rng = make_stream(None, name)
        self._seeded = False

    def reset(self, seed: int | None) -> np.random.Generator:
        """Re-seed according to the policy and return the generator to draw from."""
        if seed is not None and not (self.policy == "first_reset" and self._seeded):
            self.rng = make_stream(seed, self.name)
            self._seeded = True
        return self.rng
