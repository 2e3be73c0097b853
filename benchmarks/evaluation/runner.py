"""The evaluation loop: agents and environments known only through their interfaces.

:func:`evaluate` runs a list of seeded episodes in a Gymnasium vector environment (``SyncVectorEnv``,
autoreset disabled so that every episode starts from ``reset(seed=its seed)``) and calls the agent
once per vector step on the whole batch. A slot that finishes starts the next pending episode; when
none is left it idles (reset, its actions ignored) until the others finish. Each episode yields an
:class:`EpisodeRecord`: return, length, summed ``info["cost"]``, how often each boolean flag of
``info["stori"]`` fired (the STORI events: action replaced, event, observation altered), and crash.

:func:`run_cell` is what a worker computes for one cell of a suite (a JSON dict, see
:meth:`benchmarks.evaluation.suites.Cell.to_dict`): build the agent from its registered name and
config, train it (online ``learn`` or offline ``fit``) with the training seed, then evaluate it on
the evaluation seeds. It returns a JSON-ready dict and never touches the store, so the local and the
Ray backends run the same function.

Numerical threads are pinned to one per cell (torch and BLAS): results do not depend on the caller's
threading, and two workers on two cores do not fight.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

logger = logging.getLogger(__name__)


@dataclass
class EpisodeRecord:
    """One evaluation episode; ``events`` counts the steps on which each ``info["stori"]`` flag was set."""

    seed: int
    ret: float
    length: int
    cost: float
    crash: bool
    terminated: bool
    events: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _flags(infos: dict[str, Any], n: int) -> dict[str, np.ndarray]:
    """Boolean per-slot arrays of every flag of the vectorised ``info["stori"]`` (absent slots: False)."""
    stori = infos.get("stori")
    out = {}
    if isinstance(stori, dict):
        for key, value in stori.items():
            if key.startswith("_"):
                continue
            arr = np.asarray(value)
            if arr.shape == (n,) and arr.dtype == np.bool_:
                out[key] = arr & np.asarray(stori.get("_" + key, np.ones(n, bool)))
    return out


def _per_slot(infos: dict[str, Any], key: str, n: int, default: Any) -> np.ndarray:
    value = infos.get(key)
    if value is None:
        return np.full(n, default)
    mask = np.asarray(infos.get("_" + key, np.ones(n, bool)))
    arr = np.asarray(value)
    return np.where(mask, arr, default) if arr.shape == (n,) else np.full(n, default)


def crash_flags(rule: str, infos: dict[str, Any], terminated: np.ndarray, n: int) -> np.ndarray:
    """Which slots' final step is a crash under the env's ``crash`` rule (see the suite format)."""
    if rule == "none":
        return np.zeros(n, bool)
    if rule == "terminated":
        return np.asarray(terminated, bool)
    key, _, expected = rule[len("info:"):].partition("=")
    values = _per_slot(infos, key, n, None)
    if expected:
        return np.asarray([v is not None and str(v) == expected for v in values], bool)
    return np.asarray([bool(v) for v in values], bool)


def evaluate(agent: Any, make_env: Callable[[], gym.Env], seeds: list[int], n_envs: int = 8,
             deterministic: bool = True, crash: str = "none") -> list[EpisodeRecord]:
    """Run one episode per seed with ``agent`` acting on batches of ``min(n_envs, len(seeds))`` slots.

    The records come back in the order of ``seeds``. A deterministic agent's record of a seed does not
    depend on ``n_envs``; neither does a stochastic agent's when it seeds per episode in
    ``on_episode_start`` (the reference agents do).
    """
    seeds = [int(s) for s in seeds]
    n = max(1, min(int(n_envs), len(seeds)))
    venv = gym.vector.SyncVectorEnv([make_env] * n, autoreset_mode=gym.vector.AutoresetMode.DISABLED)
    try:
        agent.bind(venv.single_observation_space, venv.single_action_space)
        slot_episode = np.arange(n)  # index into seeds of each slot's episode; -1 = idle
        next_episode = n
        obs, _ = venv.reset(seed=seeds[:n])
        agent.on_episode_start(np.arange(n), np.asarray(seeds[:n]))
        ret, cost = np.zeros(n), np.zeros(n)
        length = np.zeros(n, dtype=np.int64)
        events: list[dict[str, int]] = [{} for _ in range(n)]
        records: dict[int, EpisodeRecord] = {}
        while len(records) < len(seeds):
            actions = agent.act(obs, deterministic=deterministic)
            obs, rewards, terminated, truncated, infos = venv.step(actions)
            active = slot_episode >= 0
            ret += np.where(active, rewards, 0.0)
            cost += np.where(active, _per_slot(infos, "cost", n, 0.0).astype(np.float64), 0.0)
            length += active
            for key, fired in _flags(infos, n).items():
                for i in np.flatnonzero(fired & active):
                    events[i][key] = events[i].get(key, 0) + 1
            done = terminated | truncated
            if not done.any():
                continue
            crashed = crash_flags(crash, infos, terminated, n)
            reset_seeds: list[int | None] = [None] * n
            starting = []
            for i in np.flatnonzero(done):
                ep = int(slot_episode[i])
                if ep >= 0:
                    records[ep] = EpisodeRecord(seeds[ep], float(ret[i]), int(length[i]), float(cost[i]),
                                                bool(crashed[i]), bool(terminated[i]), dict(sorted(events[i].items())))
                if next_episode < len(seeds):
                    slot_episode[i], reset_seeds[i] = next_episode, seeds[next_episode]
                    starting.append(i)
                    next_episode += 1
                else:
                    slot_episode[i], reset_seeds[i] = -1, seeds[0]  # idle: reset so it may be stepped, ignored
                ret[i] = cost[i] = length[i] = 0
                events[i] = {}
            obs, _ = venv.reset(seed=reset_seeds, options={"reset_mask": done})
            if starting:
                rows = np.asarray(starting)
                agent.on_episode_start(rows, np.asarray([seeds[slot_episode[i]] for i in starting]))
        return [records[i] for i in range(len(seeds))]
    finally:
        venv.close()


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
    """Every registered agent class of the modules present in this installation, by name.

    Like :func:`agents.import_agents`, but an agent module that does not exist yet (the offline agents
    and the RAE policies land separately) is skipped instead of failing the whole sweep.
    """
    import importlib
    import importlib.util

    from agents import AGENT_MODULES, interface

    for name in (*AGENT_MODULES, "benchmarks.evaluation.games"):  # the risk-game solvers live beside the loop
        try:
            if importlib.util.find_spec(name) is None:
                continue
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            logger.debug("agents from %s unavailable: %s is not installed", name, exc.name)
    return dict(interface._REGISTRY)


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
