"""Type 2.2, concept drift: a secondary concept switched on and off over time."""

from __future__ import annotations

import logging

import gymnasium as gym

from stori_envs.taxonomy.record import stori_record

logger = logging.getLogger(__name__)

SWITCHES = ("T", "T-1")


def concept_two_active(n: int, threshold: int, temporal_mode: str, switch: str = "T") -> bool:
    """Whether concept 2 is active at 0-based agent step ``n`` (the first step after reset is n = 0).

    ``sudden``: from step T on (``switch="T-1"``: from T-1, the original release's off-by-one).
    ``cyclic``: during [T, 2T), [3T, 4T), ..., i.e. when floor(n / T) is odd.
    """
    if temporal_mode == "sudden":
        return n >= (threshold - 1 if switch == "T-1" else threshold)
    return (n // threshold) % 2 == 1


def drift_components(env: gym.Env) -> list:
    """The switchable components of a stack: wrappers with an ``enabled`` flag, then the base env's own."""
    found = []
    while isinstance(env, gym.Wrapper):
        if hasattr(env, "enabled"):
            found.append(env)
        env = env.env
    found.extend(getattr(env, "drift_components", ()))
    return found


class ConceptDrift(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Switch between concept 1 (the environment as it is) and concept 2 over agent steps.

    What changes: the components below this wrapper (every wrapper of the stack with an ``enabled``
    switch, plus the base environment's ``drift_components`` if it defines them; all built once with
    ``enabled=False``) are enabled exactly while concept 2 is active; nothing is re-wrapped and no
    profile is mutated. ``info["stori"]["concept"]`` reports the concept of each step. ``reset``
    returns to concept 1 and zeroes the step counter, so the reset observation is concept 1.
    Why: STORI type 2.2, the world changes under the agent (a sudden regime change, or a cycle).
    """

    def __init__(
        self,
        env: gym.Env,
        threshold: int,
        temporal_mode: str = "sudden",
        *,
        switch: str = "T",
        stori_type: str = "2.2",
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, threshold=threshold, temporal_mode=temporal_mode,
                                                 switch=switch, stori_type=stori_type)
        gym.Wrapper.__init__(self, env)
        if temporal_mode not in ("sudden", "cyclic"):
            raise ValueError(f"intrinsic_stochasticity.action_independent_concept_drift.temporal_mode: got "
                             f"{temporal_mode!r}; allowed: 'sudden', 'cyclic'")
        if switch not in SWITCHES:
            raise ValueError(f"semantics.drift_switch: got {switch!r}; allowed: 'T', 'T-1'")
        self.components = tuple(drift_components(env))
        if not self.components:
            raise ValueError("ConceptDrift: got an environment without a switchable component; allowed: a stack "
                             "built by stori_envs.apply_profile with a type 1, 2.1 or 3.2 secondary")
        self.threshold = int(threshold)
        self.temporal_mode = temporal_mode
        self.switch = switch
        self.stori_type = stori_type
        self.steps = 0
        self.concept = 1

    def _set_concept(self, concept: int) -> None:
        if concept != self.concept:
            logger.debug("concept drift: concept %d -> %d at step %d", self.concept, concept, self.steps)
        self.concept = concept
        enabled = concept == 2
        for component in self.components:
            component.enabled = enabled

    def reset(self, *, seed=None, options=None):
        self.steps = 0
        self._set_concept(1)
        obs, info = self.env.reset(seed=seed, options=options)
        rec = stori_record(info, self.stori_type)
        rec["type"], rec["concept"] = self.stori_type, 1
        return obs, info

    def step(self, action):
        active = concept_two_active(self.steps, self.threshold, self.temporal_mode, self.switch)
        if active != (self.concept == 2):
            self._set_concept(2 if active else 1)
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        rec = stori_record(info, self.stori_type, action)
        rec["type"], rec["concept"] = self.stori_type, self.concept
        return obs, reward, terminated, truncated, info
