"""Build a dataset: roll the tier's behaviour out, stream episodes into a Minari dataset, verify, publish.

A build writes into ``<root>/.stori-build/<random>/`` (a hidden directory Minari never lists), with
``MINARI_DATASETS_PATH`` pointed there only while Minari creates files, records checksums and the
fingerprint, validates the result and only then moves the dataset directory to its final place with one
``os.rename``. A build killed at any point leaves no directory under the dataset's id, so nothing
incomplete loads; a later build removes temporary directories older than 6 hours (younger ones may
belong to builds still running).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from stori_envs.datasets import collect as C
from stori_envs.datasets import integrity
from stori_envs.datasets.behaviour import make_behaviour
from stori_envs.datasets.behaviour.atari import RamInfo
from stori_envs.datasets.mixture import collect_mixture
from stori_envs.datasets.recipes import MIXTURE, DatasetName, EnvRecipe, parse_name, resolve_profile
from stori_envs.datasets.sink import Sink

logger = logging.getLogger(__name__)
SCHEMA_VERSION = 1
BUILD_DIR = ".stori-build"
REFS_DIR = ".stori-refs"
REF_OFFSET = 1_000_000  # reference-score episodes use indices from here: disjoint from the dataset's


def datasets_root() -> Path:
    """``$MINARI_DATASETS_PATH``, or Minari's default (``~/.minari/datasets``)."""
    root = os.environ.get("MINARI_DATASETS_PATH") or os.path.join(os.path.expanduser("~"), ".minari", "datasets")
    return Path(root).expanduser().resolve()  # absolute: Minari is pointed at sub-folders of it during a build


def env_spec(env_id: str, kwargs: dict[str, Any]) -> gym.envs.registration.EnvSpec:
    """The registered spec of ``env_id`` with ``kwargs`` merged in: ``gym.make(spec)`` rebuilds the env."""
    spec = gym.spec(env_id)
    return dataclasses.replace(spec, kwargs={**spec.kwargs, **kwargs})


def resolved_profile(spec) -> dict[str, Any] | None:
    """The stochasticity settings the environment actually runs with (what ``env_spec`` resolves to):
    a MedSepsis config's blocks, or the STORI profile of a suite env; None for a bare Gymnasium env."""
    env = gym.make(spec)
    try:
        inner = env.unwrapped
        for attr in ("config", "profile"):
            value = getattr(inner, attr, None)
            if hasattr(value, "to_dict"):
                return {attr: value.to_dict()}
        e = env
        while hasattr(e, "env"):  # generic profiles live on wrappers; their specs record the settings
            e = e.env
        wrappers = getattr(env.spec, "additional_wrappers", ()) or ()
        return {"wrappers": [{"name": w.name, "kwargs": w.kwargs} for w in wrappers]} if wrappers else None
    finally:
        env.close()


def _stats(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, np.float64)
    if a.size == 0:
        return {}
    return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()), "max": float(a.max()),
            "n": int(a.size)}


@dataclasses.dataclass
class BuildContext:
    """Everything one build needs: the environment, the policies' context, seeds and sizes."""

    name: DatasetName
    recipe: EnvRecipe
    env_id: str
    kwargs: dict[str, Any]
    profile: Any
    seed: int
    workers: int
    chunk: int
    progress: Callable[[int], None] | None = None
    admission_clock: bool = False  # MedSepsis drift on the admission calendar: reset each episode at its place

    def behaviour(self, tier: str, action_space: gym.Space):
        return make_behaviour(self.recipe.kind, tier, action_space, env_id=self.recipe.env_id,
                              game=self.recipe.game, dt_hours=self.kwargs.get("dt_hours", 4))

    def vector_env(self) -> gym.vector.VectorEnv:
        wrappers = (RamInfo,) if self.recipe.kind == "atari" else ()
        return C.make_vector_env(self.env_id, self.kwargs, self.workers, wrappers)

    def run(self, envs, tier: str, indices, on_chunk, progress=True) -> None:
        behaviour = self.behaviour(tier, envs.single_action_space)
        C.collect(envs, behaviour, indices, self.seed, tier, on_chunk, chunk=self.chunk,
                  progress=self.progress if progress else None, cost_names=_cost_names(self.recipe),
                  reset_options=_admission if self.admission_clock else None)


def _admission(index: int) -> dict[str, int]:
    """MedSepsis: episode i is admission i of the drift's calendar (reference episodes restart at 0), so an
    admission-clock drift switches at the same episode for any number of workers."""
    return {"admission": index % REF_OFFSET}


def _cost_names(recipe: EnvRecipe) -> tuple[str, ...] | None:
    if recipe.kind != "medsepsis":
        return None
    from stori_envs.medical.config import COST_NAMES

    return tuple(COST_NAMES)


def reference_scores(ctx: BuildContext, envs, episodes: int, cache_dir: Path | None = None) -> dict[str, Any]:
    """Mean returns of the random and expert policies (and the clinician's mean cost for MedSepsis).

    The same for every tier of an environment + profile + seed; cached as JSON under ``cache_dir``
    keyed by everything they depend on (env, kwargs, seed, episodes, the policies and their checkpoints).
    """
    tiers = ("random", "expert") + (("clinician",) if ctx.recipe.kind == "medsepsis" else ())
    space = envs.single_action_space
    key_data = {"env_id": ctx.env_id, "kwargs": ctx.kwargs, "seed": ctx.seed, "episodes": episodes,
                "schema": SCHEMA_VERSION, "suite": __import__("stori_envs").__version__,
                "policies": {t: ctx.behaviour(t, space).describe() for t in tiers}}
    key = hashlib.sha256(json.dumps(key_data, sort_keys=True, default=str).encode()).hexdigest()[:32]
    cache = cache_dir / f"{key}.json" if cache_dir is not None else None
    if cache is not None and cache.is_file():
        with contextlib.suppress(ValueError, OSError):
            return json.loads(cache.read_text())
    out: dict[str, Any] = {"episodes": episodes, "indices": [REF_OFFSET, REF_OFFSET + episodes - 1]}
    for tier in tiers:
        returns, costs = [], []

        def keep(eps, returns=returns, costs=costs):
            returns.extend(e.meta["return"] for e in eps)
            costs.extend(e.meta.get("cost", 0.0) for e in eps)

        ctx.run(envs, tier, range(REF_OFFSET, REF_OFFSET + episodes), keep, progress=False)
        out[tier] = {"return": float(np.mean(returns)), "cost": float(np.mean(costs))}
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{uuid.uuid4().hex}.tmp")
        tmp.write_text(json.dumps(out))
        os.replace(tmp, cache)  # atomic: a reader sees the old file or the whole new one
    return out


def _cleanup_stale(root: Path, max_age_s: float = 6 * 3600) -> None:
    base = root / BUILD_DIR
    if not base.is_dir():
        return
    for d in base.iterdir():
        with contextlib.suppress(OSError):
            if time.time() - d.stat().st_mtime > max_age_s:
                shutil.rmtree(d, ignore_errors=True)


def _publish(tmp_root: Path, root: Path, dataset_id: str, overwrite: bool) -> Path:
    """Copy missing namespace metadata, then move the dataset directory into place with one rename."""
    parts = dataset_id.split("/")[:-1]
    for depth in range(1, len(parts) + 1):
        rel = Path(*parts[:depth])
        (root / rel).mkdir(parents=True, exist_ok=True)
        src = tmp_root / rel / "namespace_metadata.json"
        dst = root / rel / "namespace_metadata.json"
        if src.is_file() and not dst.is_file():
            shutil.copy(src, dst)
    final = root / dataset_id
    trash = None
    if final.exists():
        if not overwrite:
            raise ValueError(f"name: got {dataset_id!r}, which exists at {final}; allowed: a new name or version "
                             "(or overwrite=True / --overwrite)")
        trash = tmp_root / "replaced"
        os.rename(final, trash)
    os.rename(tmp_root / dataset_id, final)
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)
    return final


def build(name: str, profile: str | dict | None = None, *, episodes: int | None = None, seed: int = 0,
          workers: int = 1, chunk: int = 64, ref_episodes: int | None = None, progress: bool = False,
          overwrite: bool = False, root: str | Path | None = None) -> dict[str, Any]:
    """Build dataset ``name`` (``stori/<env>/[<slug>/]<tier>-v0``) under ``profile``; return its summary.

    ``episodes`` defaults to the environment's size (docs/datasets.md); ``workers`` sub-environments run
    in parallel (the data does not depend on it); ``chunk`` episodes are written at a time;
    ``ref_episodes`` (default: the environment's) episodes of the random and expert policies give
    ``ref_min_score``/``ref_max_score``; ``root`` defaults to ``$MINARI_DATASETS_PATH``.
    """
    parsed = parse_name(name)
    recipe = parsed.recipe
    if profile is None and parsed.slug in recipe.presets:  # stori/medsepsis/t32/clinician-v0 names its preset
        profile = parsed.slug
    slug, env_id, kwargs, profile_record = resolve_profile(recipe, profile)
    if parsed.slug is not None and parsed.slug != slug:
        raise ValueError(f"name: got profile segment {parsed.slug!r} with profile {profile!r} (slug {slug!r}); "
                         "allowed: the slug of the given profile, or omit the segment")
    parsed = dataclasses.replace(parsed, slug=slug)
    for field_name, value, low in (("episodes", episodes, 1), ("workers", workers, 1), ("chunk", chunk, 1),
                                   ("ref_episodes", ref_episodes, 1), ("seed", seed, 0)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise ValueError(f"{field_name}: got {value!r}; allowed: an integer >= {low}")
    n = episodes or recipe.episodes
    ref_episodes = ref_episodes or recipe.ref_episodes
    root = Path(root).expanduser().resolve() if root is not None else datasets_root()
    root.mkdir(parents=True, exist_ok=True)
    _cleanup_stale(root)
    dataset_id = parsed.dataset_id
    if (root / dataset_id).exists() and not overwrite:
        raise ValueError(f"name: got {dataset_id!r}, which exists at {root / dataset_id}; allowed: a new name or "
                         "version (or overwrite=True / --overwrite)")
    tmp_root = root / BUILD_DIR / uuid.uuid4().hex
    tmp_root.mkdir(parents=True)
    try:
        return _build(parsed, recipe, env_id, kwargs, profile_record, n, seed, workers, chunk, ref_episodes,
                      progress, overwrite, root, tmp_root)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)


def _progress_bar(enabled: bool, total: int | None, label: str):
    if not enabled:
        return contextlib.nullcontext(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    @contextlib.contextmanager
    def bar():
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[steps]} transitions"), TimeRemainingColumn()) as p:
            task = p.add_task(label, total=total, steps=0)
            state = {"steps": 0}

            def advance(length: int) -> None:
                state["steps"] += length
                p.update(task, advance=1, steps=state["steps"])

            yield advance

    return bar()


def _build(parsed, recipe, env_id, kwargs, profile_record, n, seed, workers, chunk, ref_episodes, show,
           overwrite, root, tmp_root) -> dict[str, Any]:
    import stori_envs

    spec = env_spec(env_id, kwargs)
    resolved = resolved_profile(spec)
    drift = ((resolved or {}).get("config") or {}).get("drift") or {}
    admission_clock = drift.get("clock") == "admission"
    if drift.get("clock") == "global":
        raise ValueError(f"profile: got {parsed.slug!r}, a drift on the global clock; allowed: episode-clock drift "
                         "(every dataset episode starts with its own seeded reset, which restarts the global clock, "
                         "so the drift would never switch)")
    tier = parsed.tier
    mixture = MIXTURE.match(tier)
    if tier == "medium-expert":
        sources = [("medium", list(range(n // 2))), ("expert", list(range(n - n // 2)))]
    elif mixture:  # the random pool's size is decided while collecting (mixture.py)
        sources = [("random", []), (mixture[1], list(range(n)))]
    else:
        sources = [(tier, list(range(n)))]
    total = sum(len(ix) for _, ix in sources)
    started = time.perf_counter()
    with _progress_bar(show, None if mixture else total, f"{parsed.dataset_id}") as advance:
        ctx = BuildContext(parsed, recipe, env_id, kwargs, profile_record, seed, workers, chunk, advance,
                           admission_clock)
        envs = ctx.vector_env()
        try:
            refs = reference_scores(ctx, envs, ref_episodes, root / REFS_DIR)
            behaviours = {s: ctx.behaviour(s, envs.single_action_space).describe() for s, _ in sources}
            create = {"algorithm_name": "+".join(b["policy"] for b in behaviours.values()),
                      "author": "stori-envs", "author_email": "stori-envs@users.noreply.github.com",
                      "code_permalink": "https://github.com/stori-envs/stori-envs/tree/main/stori_envs/datasets",
                      "ref_min_score": refs["random"]["return"], "ref_max_score": refs["expert"]["return"],
                      "description": f"{recipe.env_id} {tier} tier (stori-envs {stori_envs.__version__}); "
                                     "see docs/datasets.md", "requirements": []}
            sink = Sink(tmp_root, parsed.dataset_id, spec, create)
            mix_record = None
            if mixture:
                mix_record = collect_mixture(ctx, envs, tmp_root, spec, "random", mixture[1], n,
                                             int(mixture[2]) / 100, sink)
            else:
                for source, indices in sources:
                    ctx.run(envs, source, indices, sink)
        finally:
            envs.close()
    seconds = time.perf_counter() - started
    storage = sink.dataset.storage
    path = sink.path
    stori = {
        "schema_version": SCHEMA_VERSION, "suite_version": stori_envs.__version__,
        "collector": f"stori_envs.datasets.collect (schema {SCHEMA_VERSION})",
        "env_id": env_id, "base_env_id": recipe.env_id, "env_kwargs": kwargs,
        "profile": {"slug": parsed.slug or "default", "record": profile_record,
                    "resolved": resolved},
        "tier": tier, "behaviour": behaviours, "mixture": mix_record,
        "seeds": {"base": seed, "rule": "episode i: reset(seed=SeedSequence([base, i]).generate_state(1, uint32)[0]);"
                  " policy stream: SeedSequence([base, i, crc32(source)]) (collect.episode_seed/policy_seed)",
                  "ref_indices": refs["indices"]},
        "returns": _stats(sink.returns), "lengths": _stats(sink.lengths),
        "sources": {"episodes": sink.sources, "transitions": sink.source_steps,
                    "returns": {k: _stats(v["returns"]) for k, v in sink.by_source.items()},
                    "costs": {k: _stats(v["costs"]) for k, v in sink.by_source.items() if v["costs"]}},
        "ref_source": {"ref_min_score": f"mean return of the random policy over {ref_episodes} episodes",
                       "ref_max_score": f"mean return of the expert policy over {ref_episodes} episodes",
                       "values": refs},
        "actions": "the action the behaviour chose; infos/executed_action holds what the environment ran",
        "infos": list(C.STEP_KEYS) + (["cost", "cost_components"] if sink.costs else []),
        "workers": workers, "build_seconds": round(seconds, 2),
    }
    if sink.costs:
        stori["costs"] = {**_stats(sink.costs), "cost_limit": refs["clinician"]["cost"] if "clinician" in refs
                          else None, "cost_names": list(_cost_names(recipe) or [])}
    if recipe.kind == "atari":
        stori["observation_format"] = recipe.notes
    stori["fingerprint"], returns, steps = integrity.scan(storage)  # read back once: checks + fingerprint
    stori["checksums"] = integrity.checksums(path / "data")
    storage.update_metadata({"stori": stori})
    integrity.check_summary(storage, stori, returns, steps)
    integrity.validate(path, deep=False)  # the checksums just recorded, and the metadata complete
    final = _publish(tmp_root, root, parsed.dataset_id, overwrite)
    logger.info("built %s (%d episodes) at %s", parsed.dataset_id, sink.count, final)
    return {"dataset_id": parsed.dataset_id, "path": str(final), "episodes": sink.count,
            "transitions": int(sum(sink.lengths)), "seconds": seconds, "fingerprint": stori["fingerprint"],
            "returns": stori["returns"], "costs": stori.get("costs")}
