"""Load a built dataset as one aligned transition table (numpy), a torch view, or a d3rlpy ``MDPDataset``.

Alignment (offline.md §1.3): per episode ``s = obs[:-1]``, ``s' = obs[1:]``, ``a``, ``r``;
``terminals = terminations``; ``timeouts = truncations and not terminations`` (never both); step
extras come from ``infos[1:]``. A truncated last transition is kept unless ``drop_timeout_transitions``.
Before reading, the data files' SHA-256 are checked against the metadata (``verify="checksums"``, the
default) or, with ``verify="full"``, everything the validator checks, fingerprint included. Any problem
raises :class:`~stori_envs.datasets.integrity.DatasetError` naming the file. No pickle is involved:
HDF5 arrays and JSON metadata only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from stori_envs.datasets import integrity
from stori_envs.datasets.integrity import DatasetError
from stori_envs.datasets.recipes import parse_name
from stori_envs.datasets.transitions import Transitions

VERIFY = ("checksums", "full", "none")


def dataset_path(name: str, root: str | Path | None = None) -> Path:
    """The directory of dataset ``name`` under the datasets root (it need not exist)."""
    from stori_envs.datasets.builder import datasets_root

    dataset_id = parse_name(name).dataset_id
    return (Path(root) if root is not None else datasets_root()) / dataset_id


def open_dataset(name: str, *, verify: str = "checksums", root: str | Path | None = None):
    """(Minari storage, ``stori`` metadata) of dataset ``name``, after the requested verification."""
    if verify not in VERIFY:
        raise ValueError(f"verify: got {verify!r}; allowed: " + ", ".join(VERIFY))
    path = dataset_path(name, root)
    if not path.exists():
        raise DatasetError(f"dataset: got {name!r}; allowed: a built dataset (nothing at {path}; build it with "
                           f"`stori-envs datasets build {name}`)")
    if verify == "none":
        storage = integrity.open_storage(path)
        return storage, storage.metadata.get("stori", {})
    stori = integrity.validate(path, deep=verify == "full")
    return integrity.open_storage(path), stori


def load_transitions(name: str, *, verify: str = "checksums", drop_timeout_transitions: bool = False,
                     root: str | Path | None = None) -> Transitions:
    """The dataset ``name`` as a :class:`Transitions` table (numpy), with normalisation statistics.

    ``metadata`` holds the dataset id, fingerprint, env id and kwargs, action bounds, reference scores,
    the ``stori`` record and ``stats`` (observation mean/std, reward mean/std).
    """
    storage, stori = open_dataset(name, verify=verify, root=root)
    cols: dict[str, list] = {k: [] for k in ("obs", "next", "act", "rew", "term", "trunc", "ep", "t", "cost",
                                             "comp", "exec", "logp", "repl")}
    for i, ep in integrity.iter_episodes(storage):
        t = len(ep["rewards"])
        if len(ep["observations"]) != t + 1:
            raise DatasetError(f"dataset file {storage.data_path}: episode {i} has {len(ep['observations'])} "
                               f"observations for {t} steps; allowed: T+1")
        term = np.asarray(ep["terminations"], bool)
        trunc = np.asarray(ep["truncations"], bool) & ~term
        keep = slice(None) if not drop_timeout_transitions or term[-1] else slice(0, t - 1)
        obs = np.asarray(ep["observations"])
        infos = ep.get("infos") or {}
        cols["obs"].append(obs[:-1][keep])
        cols["next"].append(obs[1:][keep])
        cols["act"].append(np.asarray(ep["actions"])[keep])
        cols["rew"].append(np.asarray(ep["rewards"], np.float32)[keep])
        cols["term"].append(term[keep])
        cols["trunc"].append(trunc[keep])
        n = len(cols["rew"][-1])
        cols["ep"].append(np.full(n, i, np.int64))
        cols["t"].append(np.arange(n, dtype=np.int64))
        for key, info_key in (("cost", "cost"), ("comp", "cost_components"), ("exec", "executed_action"),
                              ("logp", "behavior_logp"), ("repl", "action_replaced")):
            if info_key in infos:
                cols[key].append(np.asarray(infos[info_key])[1:][keep])
    cat = {k: (np.concatenate(v) if v else None) for k, v in cols.items()}
    meta = storage.metadata
    act_space = storage.action_space
    metadata: dict[str, Any] = {
        "dataset_id": meta["dataset_id"], "fingerprint": stori.get("fingerprint"),
        "env_id": stori.get("env_id"), "env_kwargs": stori.get("env_kwargs"), "env_spec": meta.get("env_spec"),
        "ref_min_score": meta.get("ref_min_score"), "ref_max_score": meta.get("ref_max_score"),
        "observation_space": storage.observation_space, "action_space": act_space,
        "tier": stori.get("tier"), "profile": stori.get("profile"), "stori": stori,
        "drop_timeout_transitions": drop_timeout_transitions,
    }
    if hasattr(act_space, "low"):
        metadata["action_low"], metadata["action_high"] = act_space.low.tolist(), act_space.high.tolist()
    if stori.get("costs"):
        metadata["cost_limit"] = stori["costs"].get("cost_limit")
        metadata["cost_names"] = stori["costs"].get("cost_names")
    data = Transitions(
        observations=cat["obs"], actions=cat["act"], rewards=cat["rew"], next_observations=cat["next"],
        terminals=cat["term"], timeouts=cat["trunc"], episode_ids=cat["ep"], timesteps=cat["t"],
        costs=None if cat["cost"] is None else cat["cost"].astype(np.float32),
        executed_actions=cat["exec"], metadata=metadata, cost_components=cat["comp"],
        behavior_logp=cat["logp"], action_replaced=cat["repl"])
    obs_mean, obs_std = data.observation_stats()
    rew = data.rewards.astype(np.float64)
    metadata["stats"] = {"obs_mean": obs_mean, "obs_std": obs_std, "reward_mean": float(rew.mean()),
                         "reward_std": float(rew.std())}
    return data


def to_torch(data: Transitions, device: str = "cpu") -> dict[str, Any]:
    """A dict of torch tensors over ``data``'s arrays (shared memory with numpy on CPU where dtypes allow)."""
    import torch

    out = {}
    for key in ("observations", "actions", "rewards", "next_observations", "terminals", "timeouts", "costs",
                "executed_actions", "episode_ids", "timesteps", "cost_components", "behavior_logp"):
        value = getattr(data, key)
        if value is not None:
            out[key] = torch.as_tensor(np.ascontiguousarray(value), device=device)
    return out


def mdp_arrays(data: Transitions) -> dict[str, np.ndarray]:
    """The arrays d3rlpy's ``MDPDataset`` takes (per episode ``obs[:-1]``, actions, rewards, terminals,
    timeouts), never ``get_minari``'s misaligned concatenation (offline.md §1.9)."""
    return {"observations": data.observations, "actions": data.actions, "rewards": data.rewards,
            "terminals": data.terminals.astype(np.float32), "timeouts": data.timeouts.astype(np.float32)}


def to_d3rlpy(data: Transitions):
    """A d3rlpy ``MDPDataset`` of ``data`` (d3rlpy is imported here; it is not a dependency).

    d3rlpy ends an episode at each terminal or timeout; a terminated episode's last transition is kept
    with ``terminals=1``; it drops the last transition of a timed-out episode (its own convention).
    """
    try:
        import d3rlpy
    except ImportError as exc:
        raise ImportError("to_d3rlpy needs d3rlpy (pip install d3rlpy; it pins gymnasium==1.0.0, so use a "
                          "separate environment)") from exc
    arrays = mdp_arrays(data)
    return d3rlpy.dataset.MDPDataset(**arrays)
