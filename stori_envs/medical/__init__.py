"""The medical family: ``MedSepsis`` (our sepsis simulator with safety costs) and an ICU-Sepsis adapter.

>>> import gymnasium as gym, stori_envs
>>> env = gym.make("stori/MedSepsis-v0")
>>> obs, info = env.reset(seed=0)
>>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
>>> sorted(info["cost_components"])[:2]
['fluid_overload', 'hyperlactatemia']

See ``docs/medical.md`` for the equations, the costs, the taxonomy presets and the calibration.
"""

from __future__ import annotations

from stori_envs.medical.config import COST_NAMES, MedSepsisConfig, MedSepsisParams
from stori_envs.medical.costs import (
    CostInfo,
    CostTuple,
    CostVector,
    cost_components,
    cost_vector,
    death_hazard,
    map_reward,
    sofa_reward,
)
from stori_envs.medical.discrete import DiscreteDoses
from stori_envs.medical.env import MedSepsisEnv
from stori_envs.medical.policies import ClinicianConfig, ClinicianPolicy, RandomPolicy, make_policy
from stori_envs.medical.registration import register

__all__ = [
    "COST_NAMES",
    "ClinicianConfig",
    "ClinicianPolicy",
    "CostInfo",
    "CostTuple",
    "CostVector",
    "DiscreteDoses",
    "MedSepsisConfig",
    "MedSepsisEnv",
    "MedSepsisParams",
    "RandomPolicy",
    "cost_components",
    "cost_vector",
    "death_hazard",
    "make_policy",
    "map_reward",
    "register",
    "sofa_reward",
]
