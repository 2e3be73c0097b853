"""Behaviour policies of the dataset tiers, behind one per-slot interface the collector drives.

A :class:`Behaviour` acts for several environment *slots* (the sub-environments of a vector env) at
once; ``start(slot, seed)`` begins an episode in a slot with its own seeded stream, so an episode's
actions depend only on its seed, never on which slot or how many workers ran it.
"""

from stori_envs.datasets.behaviour.base import Behaviour, RandomBehaviour
from stori_envs.datasets.behaviour.policies import make_behaviour

__all__ = ["Behaviour", "RandomBehaviour", "make_behaviour"]
