"""Roll a behaviour policy out on a vector environment and hand finished episodes over in chunks, in order.

Episode ``i`` of a build always starts from ``reset(seed=episode_seed(base, i))`` and its policy draws
from ``policy_seed(base, i, source)``; with autoreset disabled, the collector resets each finished
sub-environment with the next episode's seed. So an episode's data depends on (base seed, index,
source) only, never on the number of workers or on which worker ran it. Finished episodes wait in a
small reorder buffer and leave it in index order, ``chunk`` at a time, so memory holds at most about
``chunk + workers`` episodes whatever the dataset size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from stori_envs.datasets.behaviour.base import Behaviour
from stori_envs.taxonomy.seeding import stream_key

#: Per-step extras stored in ``infos`` (index 0 is a neutral placeholder for the reset; loaders take [1:]).
STEP_KEYS = ("executed_action", "action_replaced", "event", "concept", "observation_altered", "behavior_logp")
COST_NAMES_KEY = "cost_components"


def episode_seed(base: int, index: int) -> int:
    """The reset seed of episode ``index`` of a build with base seed ``base`` (a 32-bit hash of both)."""
    return int(np.random.SeedSequence([int(base), int(index)]).generate_state(1, np.uint32)[0])


def policy_seed(base: int, index: int, source: str) -> int:
    """The behaviour policy's seed for episode ``index`` of source ``source`` (separate from the env's)."""
    return int(np.random.SeedSequence([int(base), int(index), stream_key(source)]).generate_state(1, np.uint32)[0])


@dataclass
class Episode:
    """One finished episode: arrays as Minari stores them plus per-episode facts."""

    index: int
    seed: int
    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    infos: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def length(self) -> int:
        return len(self.rewards)


#: The info keys the recorder and the behaviour policies read (the rest is not unpacked: it costs time).
INFO_KEYS = frozenset({"stori", "cost", "cost_vector", "cost_components", "executed_action", "action_replaced",
                       "concept", "patient_id", "ram"})


def _slot(info: dict[str, Any], i: int, keys: frozenset[str] | None = INFO_KEYS) -> dict[str, Any]:
    """Sub-environment ``i``'s entries of a vector env's info dict (masks ``_key`` respected; top-level
    ``keys`` only)."""
    out = {}
    for k, v in info.items():
        if k.startswith("_") or (keys is not None and k not in keys):
            continue
        mask = info.get(f"_{k}")
        if mask is not None and not mask[i]:
            continue
        out[k] = _slot(v, i, None) if isinstance(v, dict) else v[i]
    return out


class _Recorder:
    """Accumulates one episode of one slot."""

    def __init__(self, index: int, seed: int, obs: np.ndarray, info: dict[str, Any], action_space: gym.Space,
                 cost_names: Sequence[str] | None) -> None:
        self.index, self.seed = index, seed
        self.obs = [np.array(obs)]
        self.actions: list = []
        self.rewards: list[float] = []
        self.terms: list[bool] = []
        self.truncs: list[bool] = []
        self.extras: dict[str, list] = {k: [] for k in STEP_KEYS}
        self.costs: list[float] = []
        self.components: list[np.ndarray] = []
        self.cost_names = cost_names
        self.action_space = action_space
        self.patient_id = info.get("patient_id")

    def step(self, action, logp, obs, reward, term, trunc, info) -> None:
        rec = info.get("stori", {})
        self.actions.append(action)
        self.obs.append(np.array(obs))
        self.rewards.append(float(reward))
        self.terms.append(bool(term))
        self.truncs.append(bool(trunc))
        executed = rec.get("executed_action", info.get("executed_action"))
        e = self.extras
        e["executed_action"].append(action if executed is None else executed)
        e["action_replaced"].append(bool(rec.get("action_replaced", info.get("action_replaced", False))))
        e["event"].append(bool(rec.get("event", False)))
        e["concept"].append(int(rec.get("concept", info.get("concept", 1))))
        e["observation_altered"].append(bool(rec.get("observation_altered", False)))
        e["behavior_logp"].append(float(logp))
        if "cost" in info:
            self.costs.append(float(info["cost"]))
            vec = info.get("cost_vector")
            if vec is None and isinstance(info.get(COST_NAMES_KEY), dict):
                vec = [info[COST_NAMES_KEY][n] for n in self.cost_names]
            if vec is not None:
                self.components.append(np.asarray(vec, np.uint8))

    def finish(self, meta: dict[str, Any]) -> Episode:
        space = self.action_space
        act_dtype = space.dtype if space.dtype is not None else np.int64
        actions = np.asarray(self.actions, dtype=act_dtype).reshape((len(self.actions), *space.shape))
        executed = np.asarray(self.extras["executed_action"], dtype=act_dtype).reshape(actions.shape)
        pad = lambda arr: np.concatenate([np.zeros((1, *arr.shape[1:]), arr.dtype), arr])  # reset placeholder
        infos = {
            "executed_action": pad(executed),
            "action_replaced": pad(np.asarray(self.extras["action_replaced"], np.bool_)),
            "event": pad(np.asarray(self.extras["event"], np.bool_)),
            "concept": pad(np.asarray(self.extras["concept"], np.int8)),
            "observation_altered": pad(np.asarray(self.extras["observation_altered"], np.bool_)),
            "behavior_logp": pad(np.asarray(self.extras["behavior_logp"], np.float32)),
        }
        if self.costs:
            infos["cost"] = pad(np.asarray(self.costs, np.float32))
        if self.components:
            infos[COST_NAMES_KEY] = pad(np.stack(self.components))
        rewards = np.asarray(self.rewards, np.float32)
        concept = infos["concept"][1:]
        switch = np.flatnonzero(concept == 2)
        meta = {**meta, "return": float(rewards.astype(np.float64).sum()), "length": len(rewards),
                "terminated": bool(self.terms[-1]), "truncated": bool(self.truncs[-1]),
                "replaced_actions": int(infos["action_replaced"].sum()), "events": int(infos["event"].sum()),
                "observations_altered": int(infos["observation_altered"].sum()),
                "drift_switch_step": int(switch[0]) if switch.size else -1}
        if self.costs:
            meta["cost"] = float(np.sum(self.costs, dtype=np.float64))
        if self.patient_id is not None:
            meta["patient_id"] = int(self.patient_id)
        obs = np.stack(self.obs)
        return Episode(self.index, self.seed, obs, actions, rewards, np.asarray(self.terms, np.bool_),
                       np.asarray(self.truncs, np.bool_), infos, meta)


def make_vector_env(env_id: str, kwargs: dict[str, Any], workers: int,
                    wrappers: Sequence[Callable[[gym.Env], gym.Env]] = ()) -> gym.vector.VectorEnv:
    """``workers`` sub-environments (processes when > 1), autoreset off: the collector resets with seeds."""
    return gym.make_vec(env_id, num_envs=workers, vectorization_mode="sync" if workers == 1 else "async",
                        vector_kwargs={"autoreset_mode": AutoresetMode.DISABLED}, wrappers=list(wrappers) or None,
                        **kwargs)


def collect(envs: gym.vector.VectorEnv, behaviour: Behaviour, indices: Iterable[int], base_seed: int, source: str,
            on_chunk: Callable[[list[Episode]], None], chunk: int = 64, progress: Callable[[int], None] | None = None,
            cost_names: Sequence[str] | None = None, drop_info: Sequence[str] = ("ram",),
            reset_options: Callable[[int], dict[str, Any]] | None = None) -> None:
    """Run episodes ``indices`` (in this order of ids) and pass them to ``on_chunk`` in id order, ``chunk`` at a time.

    ``progress(n)`` is called with the number of transitions of each finished episode. ``reset_options(i)``
    gives episode ``i``'s reset options (e.g. MedSepsis' place on the drift's admission calendar); a vector
    env shares one options dict across the sub-environments it resets, so those resets go one slot at a time.
    """
    order = list(indices)
    n = envs.num_envs
    space = envs.single_action_space
    # idle slots (no episode left to start) still step with the vector env; their data is dropped
    idle_action = (np.clip(np.zeros(space.shape, space.dtype), space.low, space.high)
                   if isinstance(space, gym.spaces.Box) else 0)
    queue = iter(order)
    recorders: list[_Recorder | None] = [None] * n
    done: dict[int, Episode] = {}
    ready: list[Episode] = []
    next_rank = 0

    def assign(mask: np.ndarray) -> tuple[list, np.ndarray]:
        seeds: list[int | None] = [None] * n
        starts = []
        for i in np.flatnonzero(mask):
            idx = next(queue, None)
            starts.append((int(i), idx))
            seeds[i] = episode_seed(base_seed, idx) if idx is not None else 2**31 - 1 - int(i)
        return starts, seeds

    def begin(starts, obs, info) -> None:
        for i, idx in starts:
            if idx is None:
                recorders[i] = None
                continue
            seed = episode_seed(base_seed, idx)
            recorders[i] = _Recorder(idx, seed, obs[i], _slot(info, i), space, cost_names)
            behaviour.start(i, policy_seed(base_seed, idx, source))

    def reset(mask: np.ndarray, starts, seeds, obs=None, infos_i=None):
        """Reset the slots of ``mask``; one call for all, or one per slot when options differ per episode."""
        groups = [(mask, {})] if reset_options is None else [
            (np.arange(n) == i, reset_options(idx) if idx is not None else {}) for i, idx in starts]
        for m, options in groups:
            obs_r, info_r = envs.reset(seed=[s if m[i] else None for i, s in enumerate(seeds)],
                                       options={"reset_mask": m, **options})
            if obs is None:  # the first reset of all slots
                obs, infos_i = np.array(obs_r), [_slot(info_r, i) for i in range(n)]
            for i in np.flatnonzero(m):
                obs[i] = obs_r[i]
                infos_i[i] = _slot(info_r, i)
            begin([(i, idx) for i, idx in starts if m[i]], obs_r, info_r)
        return obs, infos_i

    starts, seeds = assign(np.ones(n, bool))
    obs, infos_i = reset(np.ones(n, bool), starts, seeds)
    while any(r is not None for r in recorders):
        actions, logps = [], []
        for i in range(n):
            if recorders[i] is None:
                actions.append(idle_action)
                logps.append(0.0)
            else:
                a, lp = behaviour.act(i, obs[i], infos_i[i])
                actions.append(a)
                logps.append(lp)
        batch = np.stack([np.asarray(a) for a in actions])
        obs, rewards, terms, truncs, info = envs.step(batch)
        infos_i = [_slot(info, i) for i in range(n)]
        ended = np.logical_or(terms, truncs)
        for i in range(n):
            r = recorders[i]
            if r is None:
                continue
            step_info = {k: v for k, v in infos_i[i].items() if k not in drop_info}
            r.step(actions[i], logps[i], obs[i], rewards[i], terms[i], truncs[i], step_info)
            if ended[i]:
                meta = {"source": source, "policy_seed": policy_seed(base_seed, r.index, source)}
                stage = getattr(behaviour, "stage", None) or getattr(behaviour, "source", None)
                if stage is not None and stage(i) is not None:
                    meta["stage"] = stage(i)
                ep = r.finish(meta)
                done[ep.index] = ep
                if progress is not None:
                    progress(ep.length)
        while next_rank < len(order) and order[next_rank] in done:
            ready.append(done.pop(order[next_rank]))
            next_rank += 1
            if len(ready) >= chunk:
                on_chunk(ready)
                ready = []
        if ended.any():
            starts, seeds = assign(ended)
            obs, infos_i = reset(ended, starts, seeds, np.array(obs), infos_i)
    if ready:
        on_chunk(ready)
