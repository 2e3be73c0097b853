"""Type 2.2, concept drift, as a component that holds its secondary components explicitly.

:class:`Drift` switches between concept 1 (its secondaries disabled: the environment as it is) and
concept 2 (enabled) by counting agent steps (:meth:`Drift.begin_step` calls). It toggles only the
components it was handed; it never looks for anything else, so stacking a drift over an
environment that is already stochastic leaves the inner knobs alone. It forwards every hook to
its secondaries, so a host treats it like any other component.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from stori_envs.taxonomy.components.base import Component, SeedLike

logger = logging.getLogger(__name__)

SWITCHES = ("T", "T-1")
TEMPORAL_MODES = ("sudden", "cyclic")
CLOCKS = ("episode", "lifetime")


def concept_two_active(n: int, threshold: int, temporal_mode: str, switch: str = "T") -> bool:
    """Whether concept 2 is active at 0-based agent step ``n`` (the first step after reset is n = 0).

    ``sudden``: from step T on (``switch="T-1"``: from T-1, the original release's off-by-one).
    ``cyclic``: during [T, 2T), [3T, 4T), ..., i.e. when floor(n / T) is odd.
    """
    if temporal_mode == "sudden":
        return n >= (threshold - 1 if switch == "T-1" else threshold)
    return (n // threshold) % 2 == 1


class Drift(Component):
    """Concept drift over the ``components`` it is handed (built with ``enabled=False``).

    Args:
        components: the secondary concept's components (type 1, 2.1 or 3.2); only these are toggled.
        threshold: T, in agent steps.
        temporal_mode: ``"sudden"`` (concept 2 from step T on) or ``"cyclic"`` (alternating every T).
        switch: ``"T"`` or ``"T-1"`` (the original release's off-by-one).
        clock: ``"episode"`` (the count restarts at every reset, the taxonomy's definition) or
            ``"lifetime"`` (the count runs across episodes, for simulators whose episodes are
            shorter than T); a seeded reset restarts it in both cases, so the same seeds give the
            same trajectories. Or a function returning the clock's current value, which its host
            keeps (MedSepsis's admission calendar): the drift reads it at every reset and step
            (:meth:`refresh`) and counts nothing itself.
        forward: whether the hooks reach the secondaries (True, the usual case: the drift's host runs
            them). False: the drift only switches them, for components hosted elsewhere (the inner
            environment runs their hooks at its own timing).

    ``info["stori"]["concept"]`` is the concept of each step (1 at reset).
    """

    stori_type = "2.2"
    stream_name = "drift"

    def __init__(self, components: Sequence[Component], threshold: int, temporal_mode: str = "sudden", *,
                 switch: str = "T", clock: str | Callable[[], int] = "episode", forward: bool = True) -> None:
        super().__init__(enabled=True)
        if temporal_mode not in TEMPORAL_MODES:
            raise ValueError(f"intrinsic_stochasticity.action_independent_concept_drift.temporal_mode: got "
                             f"{temporal_mode!r}; allowed: 'sudden', 'cyclic'")
        if switch not in SWITCHES:
            raise ValueError(f"semantics.drift_switch: got {switch!r}; allowed: 'T', 'T-1'")
        if not callable(clock) and clock not in CLOCKS:
            raise ValueError(f"drift clock: got {clock!r}; allowed: 'episode', 'lifetime' or a function")
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
            raise ValueError(f"intrinsic_stochasticity.action_independent_concept_drift.temporal_threshold: "
                             f"got {threshold!r}; allowed: an integer >= 1")
        self.secondaries = tuple(components)
        if not self.secondaries:
            raise ValueError("Drift: got no secondary component; allowed: one or more type 1, 2.1 or 3.2 components")
        self.threshold = threshold
        self.temporal_mode = temporal_mode
        self.switch = switch
        self.clock = clock
        self._read_clock = clock if callable(clock) else None
        self.forward = bool(forward)
        self._hooked = self.secondaries if self.forward else ()
        self.steps = 0
        self.concept = 1
        self._next_check = 0  # the clock is evaluated at step 0, then only where the concept may change
        self._set_concept(1)

    def _set_concept(self, concept: int) -> None:
        if concept != self.concept:
            logger.debug("concept drift: concept %d -> %d at step %d", self.concept, concept, self.steps)
        self.concept = concept
        on = concept == 2
        for c in self.secondaries:
            c.enabled = on

    def reseed(self, seed: SeedLike) -> None:
        if seed is not None:
            self.steps = 0  # a seeded reset restarts the clock under both clocks (reproducibility)
            self._next_check = 0
        for c in self._hooked:
            c.reseed(seed)

    def on_reset(self, target: Any) -> None:
        if self._read_clock is not None:
            self.refresh()
            for c in self._hooked:
                c.on_reset(target)
            return
        if self.clock == "episode":
            self.steps = 0
        active = self.clock == "lifetime" and concept_two_active(self.steps, self.threshold, self.temporal_mode,
                                                                 self.switch)
        self._set_concept(2 if active else 1)
        self._next_check = self.steps  # re-evaluate at the next step
        for c in self._hooked:
            c.on_reset(target)

    def begin_step(self, action: Any) -> None:
        self.begin_step_clock()
        for c in self._hooked:
            c.begin_step(action)

    def uses(self, hook: str) -> bool:
        if hook in ("begin_step", "step_action"):
            return True  # the clock
        return any(c.uses(hook) for c in self._hooked)

    def step_action(self, action: Any) -> Any:
        self.begin_step_clock()
        for c in self._hooked:
            action = c.step_action(action)
        return action

    def refresh(self) -> int:
        """Set the concept from a host-kept clock's current value (``clock`` a function); returns it."""
        active = concept_two_active(self._read_clock(), self.threshold, self.temporal_mode, self.switch)
        if active != (self.concept == 2):
            self._set_concept(2 if active else 1)
        return self.concept

    def begin_step_clock(self) -> None:
        """Advance the clock by one agent step and switch the concept when it changes."""
        if self._read_clock is not None:
            self.refresh()
            return
        n = self.steps
        if n >= self._next_check:
            self._clock(n)
        self.steps = n + 1

    def _clock(self, n: int) -> None:
        """Set the concept of step ``n`` and the next step at which it may change (checked only then)."""
        active = concept_two_active(n, self.threshold, self.temporal_mode, self.switch)
        if active != (self.concept == 2):
            self._set_concept(2 if active else 1)
        if self.temporal_mode == "cyclic":
            self._next_check = (n // self.threshold + 1) * self.threshold
        else:
            start = self.threshold - 1 if self.switch == "T-1" else self.threshold
            self._next_check = start if n < start else 2**63

    def before_action(self, action: Any) -> Any:
        for c in self._hooked:
            action = c.before_action(action)
        return action

    def after_step(self, action: Any, reward: float) -> float:
        for c in self._hooked:
            reward = c.after_step(action, reward)
        return reward

    def after_frame(self, action: Any, reward: float) -> float:
        for c in self._hooked:
            reward = c.after_frame(action, reward)
        return reward

    def on_observation(self, obs: Any) -> Any:
        for c in self._hooked:
            obs = c.on_observation(obs)
        return obs

    def info_part(self) -> dict[str, Any]:
        hooked = self._hooked
        if len(hooked) == 1:
            return {**hooked[0].info_part(), "concept": self.concept}
        out: dict[str, Any] = {}
        for c in hooked:
            out.update(c.info_part())
        out["concept"] = self.concept
        return out

    def components(self) -> tuple[Component, ...]:
        return (self, *(s for c in self._hooked for s in c.components()))

    @property
    def observation_space(self):  # type: ignore[override]
        space = None
        for c in self._hooked:
            if c.observation_space is not None:
                space = c.observation_space
        return space
