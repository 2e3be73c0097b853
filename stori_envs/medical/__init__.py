"""The medical family: ``MedSepsis`` (our sepsis simulator with safety costs) and an ICU-Sepsis adapter.

>>> import gymnasium as gym, stori_envs
>>> env = gym.make("stori/MedSepsis-v0")
>>> obs, info = env.reset(seed=0)
>>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
>>> sorted(info["cost_components"])[:2]
['fluid_overload', 'hyperlactatemia']

See ``docs/medical.md`` for the equations, the costs, the taxonomy presets and the calibration.
``import stori_envs`` only registers the ids; the simulator's modules load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from stori_envs.medical.registration import register  # noqa: F401  (re-exported: in __all__)

# Public name -> module (loaded lazily, so registering the ids at `import stori_envs` stays cheap).
_EXPORTS = {
    "COST_NAMES": "config", "MedSepsisConfig": "config", "MedSepsisParams": "config",
    "CostInfo": "costs", "CostTuple": "costs", "CostVector": "costs", "cost_components": "costs",
    "cost_vector": "costs", "death_hazard": "costs", "map_reward": "costs", "sofa_reward": "costs",
    "DiscreteDoses": "discrete", "MedSepsisEnv": "env",
    "ClinicianConfig": "policies", "ClinicianPolicy": "policies", "RandomPolicy": "policies", "make_policy": "policies",
}
__all__ = sorted([*_EXPORTS, "register"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return __all__
