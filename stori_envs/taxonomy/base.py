"""The base class shared by the taxonomy's wrappers: a seeded stream, an on/off switch, the info record."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from stori_envs.taxonomy.record import stori_record
from stori_envs.taxonomy.seeding import SeededStream


class StoriWrapper(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """A wrapper that adds one kind of stochasticity, drawing only from its own named stream.

    ``enabled`` switches the behaviour on and off without re-wrapping (concept drift toggles it);
    while disabled the wrapper passes everything through and makes no draws. ``stori_type`` is the
    profile type reported in ``info["stori"]["type"]``.
    """

    #: Name of the random stream; each knob has its own so that enabling one never shifts another.
    stream_name = "stori"

    def __init__(self, env: gym.Env, *, stori_type: str, seed_policy: str = "gymnasium", enabled: bool = True,
                 **constructor_args) -> None:
        # Recorded so that env.spec can re-create the stack (gymnasium's check_env does).
        gym.utils.RecordConstructorArgs.__init__(
            self, stori_type=stori_type, seed_policy=seed_policy, enabled=enabled, **constructor_args)
        gym.Wrapper.__init__(self, env)
        self.stori_type = stori_type
        self.enabled = enabled
        self._stream = SeededStream(self.stream_name, seed_policy)
        self.rng = self._stream.rng

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self.rng = self._stream.reset(seed)
        obs, info = self.env.reset(seed=seed, options=options)
        stori_record(info, self.stori_type)
        return obs, info
