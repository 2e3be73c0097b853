"""Effective probabilities per agent step, computed from the mechanism (docs/atari.md's table comes from here).

Type 1 under ``granularity="frame"`` draws a coin on each of the k frames; a frame whose coin fires
executes an action drawn uniformly from the sampler's set of m actions, which is the chosen action
itself 1 time in m when the set contains it. So a frame runs as chosen with probability
``1 - p (m - 1) / m`` (or ``1 - p`` when the set excludes the chosen action), and a step runs as
chosen on all its frames with that to the power k. ``info["stori"]`` reports both counts:
``replaced_frames`` (coins that fired, whatever they drew; ``action_replaced`` = at least one) and
``changed_frames`` (frames that executed another action than the chosen one).

Unconditional 2.1 events (a coin per frame) fire in a step with ``1 - (1 - p)^k``. Under
``po_timing="per_frame"`` a pooled observation is hidden by a dark fill only when both frames drew it
(``p^2``) and by a bright one when either did (``1 - (1 - p)^2``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Type1Rates:
    """Per-agent-step rates of type 1 (k frames, coin p, m equally likely replacement actions)."""

    replaced_step: float  # P(action_replaced): at least one coin fired
    as_chosen_step: float  # P(changed_frames == 0): every frame executed the chosen action
    replaced_frames: float  # E[replaced_frames]
    changed_frames: float  # E[changed_frames]


def changed_per_draw(p: float, m: int, chosen_in_set: bool = True) -> float:
    """Probability that one coin-and-draw executes another action than the chosen one."""
    return p * (m - 1) / m if chosen_in_set else p


def type1_rates(p: float, k: int, m: int, chosen_in_set: bool = True, per_step: bool = False) -> Type1Rates:
    """Type 1 rates per agent step. ``per_step``: ``granularity="agent_step"`` (one coin held for the k frames)."""
    q = changed_per_draw(p, m, chosen_in_set)
    if per_step:
        return Type1Rates(p, 1 - q, k * p, k * q)
    return Type1Rates(1 - (1 - p) ** k, (1 - q) ** k, k * p, k * q)


def event_per_step(p: float, k: int) -> float:
    """An unconditional per-frame event with probability p fires in a k-frame step with this probability."""
    return 1 - (1 - p) ** k


def pooled_hidden(p: float, bright: bool) -> float:
    """Share of pooled observations hidden under ``po_timing="per_frame"`` (one coin per pooled frame)."""
    return 1 - (1 - p) ** 2 if bright else p * p
