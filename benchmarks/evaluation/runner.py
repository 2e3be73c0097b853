"""The evaluation loop: agents and environments known only through their interfaces.

:func:`evaluate` runs a list of seeded episodes in a vector environment (:class:`EpisodeSlots`: ``n``
copies in lockstep, every episode from ``reset(seed=its seed)``) and calls the agent once per vector
step on the whole batch. A slot that finishes starts the next pending episode; when none is left it
idles (not stepped, its actions ignored) until the others finish. Each episode yields an
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


def crashed(rule: str, info: dict[str, Any], terminated: bool) -> bool:
    """Whether an episode's last step is a crash under the env's ``crash`` rule (see the suite format)."""
    if rule == "none":
        return False
    if rule == "terminated":
        return bool(terminated)
    key, _, expected = rule[len("info:"):].partition("=")
    value = info.get(key)
    return value is not None and str(value) == expected if expected else bool(value)


class EpisodeSlots:
    """A vector environment for evaluation: ``n`` copies stepped in lockstep, each episode from its own seed.

    Unlike ``gymnasium.vector.SyncVectorEnv`` it keeps each copy's ``info`` as it is (no merging of
    nested dicts into arrays, which cost more than a small policy: measured in
    ``benchmarks/evaluation_speed.py``) and steps only the slots that still have an episode; a finished
    slot keeps its last observation in the batch until it starts the next episode.
    """

    def __init__(self, make_env: Callable[[], gym.Env], n: int) -> None:
        self.envs = [make_env() for _ in range(n)]
        self.single_observation_space = self.envs[0].observation_space
        self.single_action_space = self.envs[0].action_space
        self.obs: np.ndarray | None = None

    def reset(self, slot: int, seed: int) -> None:
        obs, _ = self.envs[slot].reset(seed=seed)
        if self.obs is None:
            self.obs = np.zeros((len(self.envs), *np.shape(obs)), dtype=np.asarray(obs).dtype)
        self.obs[slot] = obs

    def step(self, slot: int, action: Any) -> tuple[float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.envs[slot].step(action)
        self.obs[slot] = obs
        return float(reward), bool(terminated), bool(truncated), info

    def close(self) -> None:
        for env in self.envs:
            env.close()


def evaluate(agent: Any, make_env: Callable[[], gym.Env], seeds: list[int], n_envs: int = 8,
             deterministic: bool = True, crash: str = "none") -> list[EpisodeRecord]:
    """Run one episode per seed with ``agent`` acting on batches of ``min(n_envs, len(seeds))`` slots.

    The records come back in the order of ``seeds``. A deterministic agent's record of a seed does not
    depend on ``n_envs``; neither does a stochastic agent's when it seeds per episode in
    ``on_episode_start`` (the reference agents do).
    """
    seeds = [int(s) for s in seeds]
    n = max(1, min(int(n_envs), len(seeds)))
    slots = EpisodeSlots(make_env, n)
    try:
        agent.bind(slots.single_observation_space, slots.single_action_space)
        for i in range(n):
            slots.reset(i, seeds[i])
        agent.on_episode_start(np.arange(n), np.asarray(seeds[:n]))
        episode = list(range(n))  # index into seeds of each slot's episode; -1 = idle
        next_episode = n
        totals = [[0.0, 0, 0.0, {}] for _ in range(n)]  # return, length, cost, events
        records: dict[int, EpisodeRecord] = {}
        while len(records) < len(seeds):
            actions = agent.act(slots.obs, deterministic=deterministic)
            starting = []
            for i in range(n):
                if episode[i] < 0:
                    continue
                reward, terminated, truncated, info = slots.step(i, actions[i])
                total = totals[i]
                total[0] += reward
                total[1] += 1
                total[2] += float(info.get("cost", 0.0))
                flags = info.get("stori")
                if isinstance(flags, dict):
                    for key, value in flags.items():
                        if value is True or (isinstance(value, np.bool_) and value):
                            total[3][key] = total[3].get(key, 0) + 1
                if not (terminated or truncated):
                    continue
                ep = episode[i]
                records[ep] = EpisodeRecord(seeds[ep], total[0], total[1], total[2], crashed(crash, info, terminated),
                                            terminated, dict(sorted(total[3].items())))
                totals[i] = [0.0, 0, 0.0, {}]
                if next_episode < len(seeds):
                    episode[i] = next_episode
                    slots.reset(i, seeds[next_episode])
                    starting.append(i)
                    next_episode += 1
                else:
                    episode[i] = -1
            if starting:
                agent.on_episode_start(np.asarray(starting), np.asarray([seeds[episode[i]] for i in starting]))
        return [records[i] for i in range(len(seeds))]
    finally:
        slots.close()


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
