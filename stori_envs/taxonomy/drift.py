"""Type 2.2 as a Gymnasium wrapper: :class:`ConceptDrift` hosts a
:class:`~stori_envs.taxonomy.components.drift.Drift` over the components it is handed."""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym

from stori_envs.taxonomy.components.base import Component
from stori_envs.taxonomy.components.drift import SWITCHES, TEMPORAL_MODES, Drift, concept_two_active
from stori_envs.taxonomy.components.host import ComponentHost

__all__ = ["SWITCHES", "TEMPORAL_MODES", "ConceptDrift", "concept_two_active"]


class ConceptDrift(ComponentHost):
    """Switch between concept 1 (the environment as it is) and concept 2 over agent steps.

    ``components``: the secondary concept's components (built with ``enabled=False``); this wrapper
    hosts them (runs their hooks) and toggles only them. Without ``components``, ``env`` itself
    (not a wrapper chain) must list ``drift_components`` that it hosts at its own timing; the drift
    then only switches them. Nothing else is ever toggled, so a drift stacked over an environment
    that is already stochastic leaves the inner knobs alone. ``info["stori"]["concept"]`` reports
    the concept of each step; ``reset`` returns to concept 1.
    Why: STORI type 2.2, the world changes under the agent (a sudden regime change, or a cycle).
    """

    def __init__(self, env: gym.Env, threshold: int, temporal_mode: str = "sudden", *,
                 components: Sequence[Component] | None = None, switch: str = "T", stori_type: str = "2.2") -> None:
        if components is not None:
            drift = Drift(components, threshold, temporal_mode, switch=switch)
        else:
            inner = () if isinstance(env, gym.Wrapper) else tuple(getattr(env, "drift_components", ()))
            if not inner:
                raise ValueError("ConceptDrift: got no components and an environment without its own "
                                 "drift_components; allowed: components=[...] built with enabled=False")
            drift = Drift(inner, threshold, temporal_mode, switch=switch, forward=False)
        self.drift = drift
        ComponentHost.__init__(self, env, (drift,), stori_type=stori_type)

    @property
    def concept(self) -> int:
        return self.drift.concept

    @property
    def components_switched(self) -> tuple:
        return self.drift.secondaries
