"""Type 2.1, action-independent random events: event kinds, their per-family registry, and the component.

An event is a small object with three hooks (:class:`RandomEvent`); the :class:`Events` component
calls them around each step (generic host) or each emulator frame (a frame-loop host). Families
register their modes with :func:`register_event`; the ``"generic"`` family's events work on any
environment they can act on:

* ``reward_cancel``: each step that pays a non-zero reward, with p the reward is cancelled (0).
* ``state_perturbation``: before each step, with p the simulator state is pushed by Gaussian noise of
  ``perturbation_scale`` (classic control's ``state`` vector, MuJoCo's ``qpos``/``qvel``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from stori_envs.taxonomy.components.base import Component
from stori_envs.taxonomy.profile import ActionIndependentRandom


class RandomEvent:
    """One kind of random event. Subclasses override the hooks they need.

    ``target`` is what the event acts on: the unwrapped Gymnasium env for generic events, the
    emulator host for Atari games. ``rng`` is the component's ``"events"`` stream.
    """

    name = "event"

    def __init__(self, p: float) -> None:
        self.p = float(p)

    def reset(self, target: Any, rng: np.random.Generator) -> None:
        """Called after each environment reset (take baselines here)."""

    def before(self, target: Any, action: Any, rng: np.random.Generator) -> bool:
        """Called before each step (or frame); returns whether the event fired."""
        return False

    def after(self, target: Any, action: Any, reward: float, rng: np.random.Generator) -> tuple[float, bool]:
        """Called after each step (or frame); returns the (possibly changed) reward and whether it fired."""
        return reward, False


class RewardCancel(RandomEvent):
    """With p, a step's non-zero reward is cancelled (set to 0). One draw per rewarded step."""

    name = "reward_cancel"

    def after(self, target, action, reward, rng):
        if reward != 0 and rng.random() < self.p:
            return 0.0, True
        return reward, False


class StatePerturbation(RandomEvent):
    """With p, before a step, add N(0, scale²) noise to the simulator's state.

    Works on environments whose state can be set: MuJoCo (``set_state(qpos, qvel)``) and classic
    control (a ``state`` array attribute). The step then proceeds from the perturbed state, so the
    returned observation, reward and termination are consistent with it.
    """

    name = "state_perturbation"

    def __init__(self, p: float, scale: float) -> None:
        super().__init__(p)
        self.scale = float(scale)

    @staticmethod
    def supports(env: gym.Env) -> bool:
        u = env.unwrapped
        if hasattr(u, "set_state") and hasattr(u, "data") and hasattr(u.data, "qpos"):
            return True
        # Classic control keeps its state in ``state`` (None until the first reset).
        return type(u).__module__.startswith("gymnasium.envs.classic_control")

    def before(self, target, action, rng):
        if rng.random() >= self.p:
            return False
        if hasattr(target, "set_state") and hasattr(target, "data"):
            qpos, qvel = target.data.qpos, target.data.qvel
            target.set_state(qpos + rng.normal(0.0, self.scale, qpos.shape),
                             qvel + rng.normal(0.0, self.scale, qvel.shape))
        else:
            state = np.asarray(target.state, dtype=np.float64)
            target.state = state + rng.normal(0.0, self.scale, state.shape)
        return True


EventFactory = Callable[[ActionIndependentRandom, gym.Env], RandomEvent]


@dataclass(frozen=True)
class EventSpec:
    family: str
    mode: str
    description: str
    factory: EventFactory
    supports: Callable[[gym.Env], bool] | None = None
    requirement: str = ""


_REGISTRY: dict[tuple[str, str], EventSpec] = {}


def register_event(family: str, mode: str, factory: EventFactory, description: str,
                   supports: Callable[[gym.Env], bool] | None = None, requirement: str = "") -> None:
    """Register event ``mode`` of ``family`` (``"generic"`` events are offered to every environment).

    ``supports(env)`` tells whether the event can act on an environment; ``requirement`` says what it needs.
    """
    _REGISTRY[(family, str(mode))] = EventSpec(family, str(mode), description, factory, supports, requirement)


def event_modes(family: str) -> dict[str, EventSpec]:
    """The 2.1 modes a family offers (its own, then the generic ones), keyed by mode id."""
    modes = {m: s for (f, m), s in _REGISTRY.items() if f == family}
    if family != "generic":
        modes.update({m: s for (f, m), s in _REGISTRY.items() if f == "generic" and m not in modes})
    return modes


def build_event(family: str, settings: ActionIndependentRandom, env: gym.Env) -> RandomEvent:
    """Instantiate the configured event, or raise the clear error for an unknown or unsupported mode."""
    modes = event_modes(family)
    spec = modes.get(settings.mode)
    path = "intrinsic_stochasticity.action_independent_random.mode"
    if spec is None:
        raise ValueError(f"{path}: got {settings.mode!r}; allowed for the {family!r} family: "
                         + ", ".join(sorted(modes)))
    if spec.supports is not None and not spec.supports(env):
        usable = sorted(m for m, s in modes.items() if s.supports is None or s.supports(env))
        raise ValueError(f"{path}: got {settings.mode!r}, which needs {spec.requirement}; "
                         f"allowed for this environment: {', '.join(usable)}")
    return spec.factory(settings, env)


register_event("generic", "reward_cancel", lambda s, env: RewardCancel(s.random_stochasticity_prob),
               "Cancel a step's non-zero reward with probability p")
register_event("generic", "state_perturbation",
               lambda s, env: StatePerturbation(s.random_stochasticity_prob, s.perturbation_scale),
               "With probability p, push the simulator state by Gaussian noise of perturbation_scale",
               supports=StatePerturbation.supports,
               requirement="a settable simulator state (classic control or MuJoCo)")


class Events(Component):
    """Fire a :class:`RandomEvent` around every step (or frame) of its host.

    What changes: whatever the event acts on (the state before the step, the reward after it);
    ``info["stori"]["event"]`` says whether it fired this step and ``fired`` counts the firings.
    Why: STORI type 2.1, randomness that does not depend on the agent's action.
    """

    stream_name = "events"
    stori_type = "2.1"

    def __init__(self, event: RandomEvent, *, name: str | None = None, enabled: bool = True,
                 seed_policy: str = "gymnasium") -> None:
        super().__init__(name=name, enabled=enabled, seed_policy=seed_policy)
        self.event = event
        self.target: Any = None
        self.fired = 0
        kind = type(event)
        self._has_before = kind.before is not RandomEvent.before
        self._has_after = kind.after is not RandomEvent.after

    def uses(self, hook: str) -> bool:
        if hook in ("before_action", "step_action"):
            return self._has_before or hook == "step_action"  # step_action also clears the count
        if hook in ("after_step", "after_frame"):
            return self._has_after
        return super().uses(hook)

    def on_reset(self, target: Any) -> None:
        self.target = target
        self.fired = 0
        self.event.reset(target, self.rng)

    def begin_step(self, action: Any) -> None:
        self.fired = 0

    def step_action(self, action: Any) -> Any:
        fired = 0
        if self._has_before and self.enabled and self.event.before(self.target, action, self.rng):
            fired = 1
        self.fired = fired
        return action

    def before_action(self, action: Any) -> Any:
        if self.enabled and self.event.before(self.target, action, self.rng):
            self.fired += 1
        return action

    def after_step(self, action: Any, reward: float) -> float:
        if self.enabled:
            reward, fired = self.event.after(self.target, action, reward, self.rng)
            self.fired += fired
        return reward

    def info_part(self) -> dict[str, Any]:
        return {"event": self.fired > 0}
