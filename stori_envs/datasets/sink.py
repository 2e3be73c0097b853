"""Stream episodes into a Minari dataset, a chunk at a time (the dataset is created with the first chunk)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stori_envs.datasets import collect as C

_ENV_LOCK = threading.Lock()


@contextlib.contextmanager
def minari_root(path: Path) -> Iterator[None]:
    """Point Minari at ``path`` while it creates files (Minari takes its root only from the environment)."""
    with _ENV_LOCK:
        old = os.environ.get("MINARI_DATASETS_PATH")
        os.environ["MINARI_DATASETS_PATH"] = str(path)
        try:
            yield
        finally:
            if old is None:
                os.environ.pop("MINARI_DATASETS_PATH", None)
            else:
                os.environ["MINARI_DATASETS_PATH"] = old


def _buffer(ep: C.Episode, new_id: int):
    from minari.data_collector import EpisodeBuffer

    return EpisodeBuffer(id=new_id, seed=ep.seed, observations=ep.observations, actions=ep.actions,
                         rewards=ep.rewards, terminations=ep.terminations, truncations=ep.truncations, infos=ep.infos)


class Sink:
    """Appends chunks of episodes to a Minari dataset created on the first chunk (bounded memory)."""

    def __init__(self, tmp_root: Path, dataset_id: str, spec, create_kwargs: dict[str, Any]) -> None:
        self.tmp_root, self.dataset_id, self.spec, self.create_kwargs = tmp_root, dataset_id, spec, create_kwargs
        self.dataset = None
        self.count = 0
        self.returns: list[float] = []
        self.costs: list[float] = []
        self.lengths: list[int] = []
        self.sources: dict[str, int] = {}
        self.source_steps: dict[str, int] = {}
        self.by_source: dict[str, dict[str, list[float]]] = {}

    def __call__(self, episodes: list[C.Episode]) -> None:
        import minari

        buffers = [_buffer(ep, self.count + k) for k, ep in enumerate(episodes)]
        ids = list(range(self.count, self.count + len(episodes)))
        with minari_root(self.tmp_root):
            if self.dataset is None:
                self.dataset = minari.create_dataset_from_buffers(
                    self.dataset_id, buffers, env=self.spec, eval_env=self.spec, data_format="hdf5",
                    jpeg_encoding=False, **self.create_kwargs)
            else:
                self.dataset.storage.update_episodes(buffers)
        metas = []
        for ep in episodes:
            meta = {k: v for k, v in ep.meta.items() if v is not None}
            meta.setdefault("source_index", ep.index)
            metas.append(meta)
            self.returns.append(meta["return"])
            self.lengths.append(meta["length"])
            if "cost" in meta:
                self.costs.append(meta["cost"])
            src = meta.get("stage") if meta.get("source") == "mixed" else meta.get("source", "?")
            self.sources[src] = self.sources.get(src, 0) + 1
            mine = self.by_source.setdefault(src, {"returns": [], "costs": []})
            mine["returns"].append(meta["return"])
            if "cost" in meta:
                mine["costs"].append(meta["cost"])
            self.source_steps[src] = self.source_steps.get(src, 0) + meta["length"]
        self.dataset.storage.update_episode_metadata(metas, ids)
        self.count += len(episodes)

    @property
    def path(self) -> Path:
        return Path(self.dataset.storage.data_path).parent
