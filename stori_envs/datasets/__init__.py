"""Offline datasets of the suite's environments in the Minari format (building, catalogue, loading).

>>> from stori_envs.datasets import build, load_transitions
>>> build("stori/medsepsis/clinician-v0", episodes=50)          # doctest: +SKIP
>>> data = load_transitions("stori/medsepsis/clinician-v0")      # doctest: +SKIP
"""

from stori_envs.datasets.integrity import DatasetError
from stori_envs.datasets.transitions import Transitions

__all__ = ["DatasetError", "Transitions", "build", "catalogue", "load_transitions", "to_d3rlpy", "to_torch",
           "verify"]


def __getattr__(name: str):
    # Minari (and h5py) load only when a dataset function is used: `import stori_envs.datasets` stays light.
    if name == "build":
        from stori_envs.datasets.builder import build

        return build
    if name in ("load_transitions", "to_torch", "to_d3rlpy", "open_dataset"):
        from stori_envs.datasets import load

        return getattr(load, name)
    if name in ("catalogue", "verify"):
        from stori_envs.datasets import listing

        return getattr(listing, name)
    raise AttributeError(name)
