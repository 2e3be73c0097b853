"""The episode loop: an agent rolled out on seeded episodes, known only through the ``Agent`` interface.

:func:`evaluate` runs a list of seeded episodes in a small vector of environments (:class:`EpisodeSlots`:
``n`` copies in lockstep, every episode from ``reset(seed=its seed)``) and calls the agent once per vector
step on the whole batch. A slot that finishes starts the next pending episode; when none is left it
idles (not stepped, its actions ignored) until the others finish. Each episode yields an
:class:`EpisodeRecord`: return, length, summed ``info["cost"]``, how often each boolean flag of
``info["stori"]`` fired (the STORI events: action replaced, event, observation altered), crash, the
final ``info["outcome"]`` (MedSepsis: survival or death) and, with ``record=True``, the trajectory.

It is the one loop of the suite: the leaderboards' runner (``benchmarks.evaluation.runner``), the
command line's ``agents evaluate`` and the treatment metrics all call it. It lives in ``agents``
because ``agents`` must not import ``benchmarks``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np


@dataclass
class EpisodeRecord:
    """One episode; ``events`` counts the steps on which each ``info["stori"]`` flag was set.

    ``trajectory`` (only with ``record=True``) holds ``observations`` (one more than actions),
    ``actions`` and, when the env reports ``info["cost_vector"]``, ``cost_vectors``; it is not part
    of :meth:`to_dict` (the JSON stored per episode).
    """

    seed: int
    ret: float
    length: int
    cost: float
    crash: bool
    terminated: bool
    events: dict[str, int] = field(default_factory=dict)
    outcome: Any = None
    trajectory: dict[str, np.ndarray] | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        record = {"seed": self.seed, "ret": self.ret, "length": self.length, "cost": self.cost,
                  "crash": self.crash, "terminated": self.terminated, "events": dict(self.events)}
        if self.outcome is not None:
            record["outcome"] = self.outcome
        return record


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


class _Episode:
    """The running totals of one slot's episode (and its trajectory when recording)."""

    def __init__(self, first_obs: np.ndarray | None) -> None:
        self.ret, self.length, self.cost = 0.0, 0, 0.0
        self.events: dict[str, int] = {}
        self.trajectory = None if first_obs is None else {"observations": [first_obs.copy()], "actions": [],
                                                           "cost_vectors": []}

    def add(self, reward: float, info: dict[str, Any], action: Any, obs: np.ndarray) -> None:
        self.ret += reward
        self.length += 1
        self.cost += float(info.get("cost", 0.0))
        flags = info.get("stori")
        if isinstance(flags, dict):
            for key, value in flags.items():
                if value is True or (isinstance(value, np.bool_) and value):
                    self.events[key] = self.events.get(key, 0) + 1
        if self.trajectory is not None:
            self.trajectory["observations"].append(obs.copy())
            self.trajectory["actions"].append(np.array(action, copy=True))
            if "cost_vector" in info:
                self.trajectory["cost_vectors"].append(np.asarray(info["cost_vector"]))

    def close(self, seed: int, crash: bool, terminated: bool, outcome: Any) -> EpisodeRecord:
        trajectory = None
        if self.trajectory is not None:
            trajectory = {k: np.asarray(v) for k, v in self.trajectory.items() if k != "cost_vectors" or v}
        return EpisodeRecord(seed, self.ret, self.length, self.cost, crash, terminated,
                             dict(sorted(self.events.items())), outcome, trajectory)


def evaluate(agent: Any, make_env: Callable[[], gym.Env], seeds: list[int], n_envs: int = 8,
             deterministic: bool = True, crash: str = "none", record: bool = False) -> list[EpisodeRecord]:
    """Run one episode per seed with ``agent`` acting on batches of ``min(n_envs, len(seeds))`` slots.

    The records come back in the order of ``seeds``. A deterministic agent's record of a seed does not
    depend on ``n_envs``; neither does a stochastic agent's when it seeds per episode in
    ``on_episode_start`` (the reference agents do). ``record=True`` keeps each episode's trajectory.
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
        running = [_Episode(slots.obs[i] if record else None) for i in range(n)]
        records: dict[int, EpisodeRecord] = {}
        while len(records) < len(seeds):
            actions = agent.act(slots.obs, deterministic=deterministic)
            starting = []
            for i in range(n):
                if episode[i] < 0:
                    continue
                reward, terminated, truncated, info = slots.step(i, actions[i])
                running[i].add(reward, info, actions[i], slots.obs[i])
                if not (terminated or truncated):
                    continue
                ep = episode[i]
                records[ep] = running[i].close(seeds[ep], crashed(crash, info, terminated), terminated,
                                               info.get("outcome"))
                if next_episode < len(seeds):
                    episode[i] = next_episode
                    slots.reset(i, seeds[next_episode])
                    running[i] = _Episode(slots.obs[i] if record else None)
                    starting.append(i)
                    next_episode += 1
                else:
                    episode[i] = -1
            if starting:
                agent.on_episode_start(np.asarray(starting), np.asarray([seeds[episode[i]] for i in starting]))
        return [records[i] for i in range(len(seeds))]
    finally:
        slots.close()
