"""The local catalogue: which suite datasets exist under the root, their figures, and re-verification."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stori_envs.datasets import integrity
from stori_envs.datasets.recipes import NAMESPACE


def _dataset_dirs(root: Path) -> list[Path]:
    base = root / NAMESPACE
    if not base.is_dir():
        return []
    return sorted(p.parent.parent for p in base.rglob("data/metadata.json") if not any(
        part.startswith(".") for part in p.relative_to(root).parts))


def catalogue(root: str | Path | None = None) -> list[dict[str, Any]]:
    """One row per suite dataset under the root: id, episodes, transitions, size, tier, profile, returns, costs."""
    from stori_envs.datasets.builder import datasets_root

    root = Path(root) if root is not None else datasets_root()
    rows = []
    for path in _dataset_dirs(root):
        row: dict[str, Any] = {"dataset_id": path.relative_to(root).as_posix(), "path": str(path)}
        try:
            storage = integrity.open_storage(path)
            meta = storage.metadata
            stori = meta.get("stori") or {}
            size = sum(f.stat().st_size for f in (path / "data").rglob("*") if f.is_file())
            row.update(episodes=meta.get("total_episodes"), transitions=meta.get("total_steps"), size_bytes=size,
                       tier=stori.get("tier"), profile=(stori.get("profile") or {}).get("slug"),
                       env_id=stori.get("env_id"), returns=stori.get("returns"), costs=stori.get("costs"),
                       ref_min_score=meta.get("ref_min_score"), ref_max_score=meta.get("ref_max_score"),
                       sources=stori.get("sources"), fingerprint=stori.get("fingerprint"),
                       checksums=stori.get("checksums"),
                       behaviour=stori.get("behaviour"), mixture=stori.get("mixture"), seeds=stori.get("seeds"),
                       profile_record=(stori.get("profile") or {}).get("record"), complete="fingerprint" in stori)
        except integrity.DatasetError as exc:
            row.update(error=str(exc), complete=False)
        rows.append(row)
    return rows


def verify(name: str, root: str | Path | None = None) -> dict[str, Any]:
    """Recompute the checksums and the fingerprint of dataset ``name`` (and run the validator); raise on mismatch."""
    from stori_envs.datasets.load import dataset_path

    path = dataset_path(name, root)
    if not path.exists():
        raise integrity.DatasetError(f"dataset: got {name!r}; allowed: a built dataset (nothing at {path})")
    stori = integrity.validate(path, deep=True)
    return {"dataset_id": name, "path": str(path), "fingerprint": stori["fingerprint"], "checksums": stori["checksums"]}
