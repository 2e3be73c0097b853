"""Mixture tiers (``random-<src>-<x>pct``): whole episodes from two sources, the share counted in transitions.

Each source's pool is collected into a temporary dataset (bounded memory), the episodes are chosen
without replacement from seeded permutations, and copied into the final dataset in a seeded order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stori_envs.datasets import collect as C
from stori_envs.datasets import integrity
from stori_envs.datasets.sink import Sink


def plan_mixture(lengths_main: list[int], lengths_src: list[int], share: float, n: int, rng: np.random.Generator
                 ) -> tuple[list[int], list[int]]:
    """Whole episodes without replacement: ``k`` source episodes and ``n - k`` random ones (each pool in a
    seeded random order), ``k`` chosen so the source's share of transitions is closest to ``share``."""
    perm_main, perm_src = rng.permutation(len(lengths_main)), rng.permutation(len(lengths_src))
    best, best_k = None, 0
    for k in range(0, min(n, len(lengths_src)) + 1):
        src = sum(lengths_src[i] for i in perm_src[:k])
        main = sum(lengths_main[i] for i in perm_main[:n - k])
        err = abs(src / max(src + main, 1) - share)
        if best is None or err < best - 1e-12:
            best, best_k = err, k
    return sorted(int(i) for i in perm_main[:n - best_k]), sorted(int(i) for i in perm_src[:best_k])


def collect_mixture(ctx, envs, tmp_root, spec, sources, n, share, sink) -> dict[str, Any]:
    """Collect each source's pool into a temporary dataset, pick whole episodes, copy them in a seeded order."""
    pools = {}
    for source, indices in sources:
        pool = Sink(tmp_root, f"pool/{source}-v0", spec, sink.create_kwargs)
        ctx.run(envs, source, indices, pool)
        pools[source] = pool
    (main, _), (src, _) = sources
    rng = np.random.default_rng(np.random.SeedSequence([ctx.seed, 0x6D6978]))  # "mix"
    keep_main, keep_src = plan_mixture(pools[main].lengths, pools[src].lengths, share, n, rng)
    picks = [(main, i) for i in keep_main] + [(src, i) for i in keep_src]
    order = rng.permutation(len(picks))
    picks = [picks[i] for i in order]
    for start in range(0, len(picks), ctx.chunk):
        part = picks[start:start + ctx.chunk]
        episodes = []
        for source, i in part:
            storage = pools[source].dataset.storage
            (_, data), = integrity.iter_episodes(storage, [i])
            meta = dict(next(iter(storage.get_episode_metadata([i]))))
            meta = {k: (v.item() if hasattr(v, "item") else v) for k, v in meta.items()
                    if k not in ("id", "seed", "total_steps", "options")}  # Minari's own attributes
            index = int(meta.get("source_index", i))
            episodes.append(C.Episode(index, C.episode_seed(ctx.seed, index), data["observations"], data["actions"],
                                      data["rewards"], data["terminations"],
                                      data["truncations"], data["infos"], meta))
        sink(episodes)
    steps = {s: sum(pools[s].lengths[i] for i in ix) for s, ix in ((main, keep_main), (src, keep_src))}
    total = max(sum(steps.values()), 1)
    return {"sources": {s: {"dataset_id": f"{ctx.name.dataset_id.rsplit('/', 1)[0]}/{s}-v{ctx.name.version}",
                            "pool_episodes": len(pools[s].lengths), "selected": ix}
                        for s, ix in ((main, keep_main), (src, keep_src))},
            "target_share": share, "by": "transitions",
            "realised_transition_share": steps[src] / total,
            "realised_episode_share": len(keep_src) / max(len(picks), 1),
            "note": "pool episode i of a source is episode i of that source's dataset with the same base seed"}
