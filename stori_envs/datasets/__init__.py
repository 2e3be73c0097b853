"""Offline datasets of the suite's environments in the Minari format (building, catalogue, loading)."""

from stori_envs.datasets.transitions import Transitions

__all__ = ["Transitions"]
