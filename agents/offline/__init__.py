"""Offline agents: BC (+ top fraction), BC-Safe, TD3+BC, IQL, A2PR-style and OGSRL-style, on one base.

Importing this package registers every algorithm (``bc``, ``bc-safe``, ``td3bc``, ``iql``, ``a2pr``,
``ogsrl``) with :func:`agents.interface.register_agent`. See ``docs/agents.md``.
"""

from agents.offline import a2pr, bc, iql, ogsrl, td3bc  # noqa: F401  (registration)
from agents.offline.a2pr import A2PR, A2PRConfig
from agents.offline.base import OfflineBase, OfflineConfig
from agents.offline.bc import BC, BCConfig, BCSafe, BCSafeConfig
from agents.offline.data import Normalizer, TensorData, rollout_transitions
from agents.offline.iql import IQL, IQLConfig
from agents.offline.ogsrl import OGSRL, OGSRLConfig
from agents.offline.td3bc import TD3BC, TD3BCConfig

__all__ = ["A2PR", "A2PRConfig", "BC", "BCConfig", "BCSafe", "BCSafeConfig", "IQL", "IQLConfig", "Normalizer",
           "OGSRL", "OGSRLConfig", "OfflineBase", "OfflineConfig", "TD3BC", "TD3BCConfig", "TensorData",
           "rollout_transitions"]
