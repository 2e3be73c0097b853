"""One-call constructors for the common profiles, so code need not spell the dotted keys.

>>> from stori_envs.profiles import action, drift, observation
>>> drift(observation("crop", 1.0, mode=5), "sudden", 300).stochasticity_type
'2.2'
"""

from __future__ import annotations

from typing import Any

from stori_envs.taxonomy.profile import Profile


def default(**overrides: Any) -> Profile:
    """Type 3.1: the environment as it is."""
    return Profile.parse({"stochasticity_type": "3.1"}, **overrides)


def state(**overrides: Any) -> Profile:
    """Type 0: the state observation."""
    return Profile.parse({"stochasticity_type": "0"}, **overrides)


def action(p: float, allowed_actions: list[int] | None = None, **overrides: Any) -> Profile:
    """Type 1: with probability ``p`` the executed action is uniform (over ``allowed_actions`` if given)."""
    section = {"stochastic_action_prob": p}
    if allowed_actions is not None:
        section["allowed_actions"] = allowed_actions
    return Profile.parse({"stochasticity_type": "1", "intrinsic_stochasticity": {"action_dependent": section}},
                         **overrides)


def event(mode: str | int, p: float, **overrides: Any) -> Profile:
    """Type 2.1: random event ``mode`` of the environment's family with probability ``p``."""
    section = {"mode": mode, "random_stochasticity_prob": p}
    return Profile.parse({"stochasticity_type": "2.1",
                          "intrinsic_stochasticity": {"action_independent_random": section}}, **overrides)


def observation(kind: str, p: float, mode: str | int | None = None, **settings: Any) -> Profile:
    """Type 3.2: ``kind`` is crop, blackout, ram, mask, dropout or noise; ``settings``: partial_observation fields."""
    section = {"type": kind, "prob": p, **settings}
    if mode is not None:
        section["mode"] = mode
    return Profile.parse({"stochasticity_type": "3.2", "partial_observation": section})


def drift(secondary: Profile, temporal_mode: str, threshold: int, **overrides: Any) -> Profile:
    """Type 2.2: concept 2 is ``secondary`` (a type 1, 2.1 or 3.2 profile), sudden or cyclic with threshold T."""
    data = secondary.to_dict()
    data["intrinsic_stochasticity"]["action_independent_concept_drift"].update(
        temporal_mode=temporal_mode, temporal_threshold=threshold,
        secondary_concept_type=secondary.stochasticity_type)
    data["stochasticity_type"] = "2.2"
    return Profile.parse(data, **overrides)
