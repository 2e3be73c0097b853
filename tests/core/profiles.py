"""Profiles of every type for the generic environments used in the core tests."""

from __future__ import annotations

from stori_envs.profiles import action, drift, event, observation
from stori_envs.taxonomy.profile import Profile

__all__ = ["action", "drift", "event", "every_type", "observation"]


def every_type() -> dict[str, Profile | None]:
    """One profile per type that works on a generic vector environment."""
    return {
        "0": Profile.parse({"stochasticity_type": "0"}),
        "1": action(0.3),
        "2.1-cancel": event("reward_cancel", 0.3),
        "2.1-perturb": event("state_perturbation", 0.3),
        "2.2-1": drift(action(0.5), "cyclic", 7),
        "2.2-3.2": drift(observation("dropout", 0.3), "sudden", 10),
        "3.1": None,
        "3.2-mask": observation("mask", 1.0, features=[0, 1], append_mask=True),
        "3.2-dropout": observation("dropout", 0.25),
        "3.2-noise": observation("noise", 0.5, noise_std=0.05),
    }
