"""Small real datasets for the offline-agent tests: rollouts of Pendulum-v1 and of MedSepsis's clinician."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from agents.offline.data import rollout_transitions

sys.path.insert(0, str(Path(__file__).parent))  # helpers_agents


def pendulum_policy(seed: int):
    """A noisy swing-up-ish controller: actions depend on the state, so BC has something to learn."""
    rng = np.random.default_rng(seed)

    def act(obs: np.ndarray) -> np.ndarray:
        cos, sin, speed = obs
        return np.clip([-2.0 * sin - 0.5 * speed + rng.normal(0, 0.3)], -2.0, 2.0)

    return act


def pendulum_data(episodes: int = 8, seed: int = 0):
    return rollout_transitions("Pendulum-v1", pendulum_policy(seed), range(seed, seed + episodes),
                               dataset_id="test/pendulum-noisy", max_episode_steps=100)


def medsepsis_data(episodes: int = 120, seed: int = 5000, tier: str = "clinician"):
    from stori_envs.medical.policies import make_policy

    return rollout_transitions("stori/MedSepsis-v0", make_policy(tier, seed=seed), range(seed, seed + episodes),
                               dataset_id=f"test/medsepsis-{tier}")


@pytest.fixture(scope="session")
def pendulum():
    return pendulum_data()


@pytest.fixture(scope="session")
def medsepsis():
    return medsepsis_data()
