"""Mixture tiers (``random-<src>-<x>pct``): whole episodes from two sources, the share counted in transitions.

Size: ``n`` episodes of the source tier set the target size ``T`` (their transitions), so a mixture of
long expert episodes with short random ones still holds a meaningful share. The source's episodes are
drawn without replacement in a seeded order until their transitions are closest to ``x * T``; random
episodes (consecutive indices: the random tier's first episodes) are collected until they fill the rest.
Both pools stream into temporary datasets (bounded memory) and the chosen episodes are copied into the
final dataset in a seeded order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stori_envs.datasets import collect as C
from stori_envs.datasets import integrity
from stori_envs.datasets.sink import Sink


def choose_source(lengths: list[int], share: float, rng: np.random.Generator) -> list[int]:
    """Source episodes (a seeded permutation's prefix) whose transitions are closest to ``share`` of the pool's."""
    target = share * sum(lengths)
    perm = rng.permutation(len(lengths))
    sums = np.concatenate([[0], np.cumsum([lengths[i] for i in perm])])
    k = int(np.argmin(np.abs(sums - target)))
    return sorted(int(i) for i in perm[:k])


def collect_mixture(ctx, envs, tmp_root, spec, main: str, src: str, n: int, share: float, sink) -> dict[str, Any]:
    """Build the mixture of ``main`` (random) and ``src`` episodes into ``sink``; return its ``mixture`` record."""
    rng = np.random.default_rng(np.random.SeedSequence([ctx.seed, 0x6D6978]))  # "mix"
    pools = {src: Sink(tmp_root, f"pool/{src}-v0", spec, sink.create_kwargs),
             main: Sink(tmp_root, f"pool/{main}-v0", spec, sink.create_kwargs)}
    ctx.run(envs, src, range(n), pools[src])
    keep_src = choose_source(pools[src].lengths, share, rng)
    src_steps = sum(pools[src].lengths[i] for i in keep_src)
    need = max(sum(pools[src].lengths) - src_steps, 1)  # random transitions that fill the target size
    start = 0
    while sum(pools[main].lengths) < need:  # collect in batches sized by the mean length so far
        lengths = pools[main].lengths
        batch = n if not lengths else int(np.clip((need - sum(lengths)) / np.mean(lengths), 1, 100_000)) + 1
        ctx.run(envs, main, range(start, start + batch), pools[main])
        start += batch
    lengths = np.cumsum(pools[main].lengths)
    keep_main = list(range(int(np.searchsorted(lengths, need)) + 1))  # the first episodes that reach ``need``
    picks = [(main, i) for i in keep_main] + [(src, i) for i in keep_src]
    picks = [picks[i] for i in rng.permutation(len(picks))]
    for first in range(0, len(picks), ctx.chunk):
        sink([_episode(ctx, pools[source].dataset.storage, i) for source, i in picks[first:first + ctx.chunk]])
    steps = {main: int(lengths[keep_main[-1]]), src: src_steps}
    total = max(sum(steps.values()), 1)
    return {"sources": {s: {"dataset_id": f"{ctx.name.dataset_id.rsplit('/', 1)[0]}/{s}-v{ctx.name.version}",
                            "pool_episodes": len(pools[s].lengths), "selected": ix}
                        for s, ix in ((main, keep_main), (src, keep_src))},
            "target_share": share, "by": "transitions", "target_transitions": int(sum(pools[src].lengths)),
            "realised_transition_share": steps[src] / total,
            "realised_episode_share": len(keep_src) / max(len(picks), 1),
            "note": "pool episode i of a source is episode i of that source's dataset with the same base seed"}


def _episode(ctx, storage, i: int) -> C.Episode:
    """Pool episode ``i`` read back as a collector episode (Minari's own attributes dropped from its metadata)."""
    (_, data), = integrity.iter_episodes(storage, [i])
    meta = dict(next(iter(storage.get_episode_metadata([i]))))
    meta = {k: (v.item() if hasattr(v, "item") else v) for k, v in meta.items()
            if k not in ("id", "seed", "total_steps", "options")}
    index = int(meta.get("source_index", i))
    return C.Episode(index, C.episode_seed(ctx.seed, index), data["observations"], data["actions"], data["rewards"],
                     data["terminations"], data["truncations"], data["infos"], meta)
