"""What a worker computes for one cell of a suite, over the one episode loop.

:func:`run_cell` takes one cell (a JSON dict, see :meth:`benchmarks.evaluation.suites.Cell.to_dict`):
it builds the agent from its registered name and config, trains it (online ``learn`` or offline
``fit``) with the training seed, then evaluates it on the evaluation seeds with
:func:`agents.rollout.evaluate` (the suite's one episode loop: agents and environments known only
through their interfaces; re-exported here as :func:`evaluate`). It returns a JSON-ready dict and
never touches the store, so the local and the Ray backends run the same function.

Numerical threads are pinned to one per cell (torch and BLAS): results do not depend on the caller's
threading, and two workers on two cores do not fight.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym

from agents.rollout import EpisodeRecord, EpisodeSlots, crashed, evaluate

__all__ = ["EpisodeRecord", "EpisodeSlots", "crashed", "evaluate", "make_env", "run_cell", "build_agent"]

logger = logging.getLogger(__name__)


# -- one cell ---------------------------------------------------------------------------------------
def make_env(variant: dict[str, Any]) -> gym.Env:
    """The environment of a variant: ``stori_envs.make`` or, for ``kind = "game"``, a joint risk game."""
    if variant.get("kind", "gym") == "game":
        from benchmarks.evaluation.games import make_joint_env

        return make_joint_env(variant["env_id"], variant["profile"], **variant["kwargs"])
    import stori_envs

    return stori_envs.make(variant["env_id"], variant["profile"], **variant["kwargs"])


def _variant_factory(variant: dict[str, Any]) -> Callable[[], gym.Env]:
    return lambda: make_env(variant)


def available_agents() -> dict[str, type]:
    """Every registered agent class by name: the suite's agents and the risk-game solvers beside the loop."""
    import benchmarks.evaluation.games  # noqa: F401  (registers the game-* solvers)
    from agents.interface import registered_agents

    return registered_agents()


def build_agent(spec: dict[str, Any], seed: int):
    """The registered agent ``spec['agent']`` with config ``spec['config']`` and ``seed``."""
    known = available_agents()
    if spec["agent"] not in known:
        raise ValueError(f"agent: got {spec['agent']!r}; allowed: {sorted(known)}")
    cls = known[spec["agent"]]
    config = dict(spec.get("config", {}))
    if "seed" in {f.name for f in dataclasses.fields(cls.config_class)}:
        config["seed"] = seed
    return cls(cls.config_class.from_dict(config))


def load_dataset(name: str, variant: dict[str, Any], env_name: str):
    """The offline dataset ``name`` as ``Transitions``, its placeholders filled in for this cell.

    ``{env}`` is the env's name in lower case without its version (``Pendulum-v1`` -> ``pendulum``),
    ``{slug}`` the variant's ``slug``, ``{type}`` and ``{variant}`` its type and name. A dataset that is
    not built raises the datasets floor's ``DatasetError`` (a ``ValueError``) saying how to build it.
    """
    import re

    from stori_envs.datasets import load_transitions

    env_key = re.sub(r"-v\d+$", "", env_name).lower()
    filled = name.format(env=env_key, slug=variant.get("slug", ""), type=variant["type"], variant=variant["name"])
    return load_transitions(filled)


def _pin_threads():
    """One numerical thread for the cell (restored afterwards): results independent of the caller's threading."""
    from threadpoolctl import threadpool_limits

    limits = threadpool_limits(1)
    previous = None
    try:
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(1)
    except ImportError:
        pass
    return limits, previous


def _unpin_threads(state) -> None:
    limits, previous = state
    limits.restore_original_limits()
    if previous is not None:
        import torch

        torch.set_num_threads(previous)


def run_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """Train and evaluate one cell (see the module docstring); returns timings, training facts and episodes."""
    import stori_envs  # noqa: F401  (registers the stori/ ids in this process)

    threads = _pin_threads()
    try:
        spec = cell["agent"]
        agent = build_agent(spec, cell["train_seed"])
        train: dict[str, Any] = {"seconds": 0.0, "cpu_seconds": 0.0}
        start, cpu = time.perf_counter(), time.process_time()
        if cell["train_variant"] is not None:
            variant = cell["train_variant"]
            if spec.get("dataset"):
                data = load_dataset(spec["dataset"], variant, cell["env"]["name"])
                history = agent.fit(data, spec["train_steps"])
            else:
                history = agent.learn(_variant_factory(variant), spec["train_steps"])
            train = {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu,
                     "steps": spec["train_steps"], "history": _summary(history)}
        evals = {}
        for variant in cell["eval_variants"]:
            start, cpu = time.perf_counter(), time.process_time()
            agent.seed(cell["eval_seeds"][0])
            records = evaluate(agent, _variant_factory(variant), cell["eval_seeds"], cell["n_envs"],
                               spec.get("deterministic", True), cell["env"]["crash"])
            evals[variant["name"]] = {"type": variant["type"], "seconds": time.perf_counter() - start,
                                      "cpu_seconds": time.process_time() - cpu,
                                      "episodes": [r.to_dict() for r in records]}
        return {"train": train, "evals": evals}
    finally:
        _unpin_threads(threads)


def _summary(history: Any) -> Any:
    """The JSON-ready scalars of a training history (long curves are not stored per cell)."""
    if not isinstance(history, dict):
        return {}
    return {k: v for k, v in history.items() if isinstance(v, (int, float, str, bool))}
