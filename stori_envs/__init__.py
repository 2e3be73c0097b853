"""stori-envs: Gymnasium environments for testing RL agents under the STORI taxonomy of stochasticity.

>>> import gymnasium as gym, stori_envs
>>> env = stori_envs.make("CartPole-v1", {"stochasticity_type": "3.2", "partial_observation.type": "dropout",
...                                       "partial_observation.prob": 0.2})
"""

from __future__ import annotations

import logging

from stori_envs import profiles
from stori_envs.families import Accepts, Family, Route, family_for, make, register_family
from stori_envs.registration import registered_envs
from stori_envs.taxonomy.build import apply_profile
from stori_envs.taxonomy.profile import Profile

__version__ = "0.1.0"
__all__ = ["Accepts", "Family", "Profile", "Route", "apply_profile", "family_for", "make", "profiles",
           "register_family", "registered_envs", "__version__"]

logging.getLogger(__name__).addHandler(logging.NullHandler())


# Each family module registers its Gymnasium ids and its Family in ``register()``.
_FAMILY_MODULES = ("stori_envs.atari", "stori_envs.medical")


def _register_all() -> None:
    import importlib

    from stori_envs import registration

    registration.register_generic()
    for name in _FAMILY_MODULES:
        importlib.import_module(name).register()


_register_all()
