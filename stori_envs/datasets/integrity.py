"""Checksums, a storage-independent fingerprint, and the validator of a built dataset.

* ``checksums``: SHA-256 of every data file under ``data/`` except ``metadata.json`` (written after them).
* ``fingerprint``: SHA-256 over each episode's arrays in episode order (name, dtype, shape, little-endian
  bytes), read back through Minari, so it does not depend on HDF5's byte layout; a rebuild with the
  same name and seed must reproduce it.

Every failure is a :class:`DatasetError` (a ``ValueError``) naming the file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

CHUNK = 1 << 20


class DatasetError(ValueError):
    """A dataset that is missing, incomplete, corrupted or does not match its checksums."""


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def data_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in data_dir.rglob("*") if p.is_file() and p.name != "metadata.json")


def checksums(data_dir: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of the data files of a dataset's ``data/`` directory."""
    return {p.relative_to(data_dir).as_posix(): file_sha256(p) for p in data_files(data_dir)}


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, np.ndarray]]:
    if isinstance(value, dict):
        for k in sorted(value):
            yield from _flatten(f"{prefix}/{k}", value[k])
    else:
        yield prefix, np.asarray(value)


def _update(h: Any, name: str, arr: np.ndarray) -> None:
    arr = np.ascontiguousarray(arr)
    if arr.dtype.byteorder == ">" or (arr.dtype.byteorder == "=" and np.little_endian is False):
        arr = arr.byteswap().view(arr.dtype.newbyteorder("<"))
    h.update(f"{name}|{arr.dtype.newbyteorder('<').str}|{arr.shape}|".encode())
    h.update(arr.tobytes())


EPISODE_KEYS = ("observations", "actions", "rewards", "terminations", "truncations", "infos")


def episode_digest(h: Any, index: int, episode: dict[str, Any]) -> None:
    """Feed one episode (a dict of Minari arrays) into the running hash ``h``."""
    h.update(f"episode {index}|".encode())
    for key in EPISODE_KEYS:
        if key in episode and episode[key] is not None:
            for name, arr in _flatten(key, episode[key]):
                _update(h, name, arr)


def open_storage(path: Path):
    """Minari's storage of the dataset at ``path`` (its directory holding ``data/``), errors naming the file."""
    from minari.dataset.minari_storage import MinariStorage

    data = Path(path) / "data"
    meta = data / "metadata.json"
    if not meta.is_file():
        raise DatasetError(f"dataset: got {str(path)!r}; allowed: a built dataset ({meta} is missing: the build "
                           "did not finish or the name is wrong)")
    try:
        return MinariStorage.read(data)
    except Exception as exc:  # noqa: BLE001 - h5py/json raise many types; name the file whatever it was
        raise DatasetError(f"dataset file {data}: cannot be read ({type(exc).__name__}: {exc})") from None


def iter_episodes(storage, indices=None, chunk: int = 256) -> Iterator[tuple[int, dict[str, Any]]]:
    """Episodes of ``storage`` in order, read ``chunk`` at a time; errors name the data file."""
    total = storage.total_episodes
    ids = list(range(total)) if indices is None else list(indices)
    files = ", ".join(str(p) for p in data_files(Path(storage.data_path))) or str(storage.data_path)
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        try:
            episodes = list(storage.get_episodes(part))
        except Exception as exc:  # noqa: BLE001
            raise DatasetError(f"dataset file {files}: episodes {part[0]}..{part[-1]} cannot be read "
                               f"({type(exc).__name__}: {exc})") from None
        yield from zip(part, episodes)


def verify_checksums(path: Path, recorded: dict[str, str]) -> None:
    """Raise :class:`DatasetError` naming the first data file whose SHA-256 differs from ``recorded``."""
    data = Path(path) / "data"
    found = checksums(data)
    for name, digest in recorded.items():
        if name not in found:
            raise DatasetError(f"dataset file {data / name}: missing (recorded in the metadata's checksums)")
        if found[name] != digest:
            raise DatasetError(f"dataset file {data / name}: SHA-256 {found[name][:16]}... does not match the "
                               f"recorded {digest[:16]}... (corrupted, truncated or modified)")
    extra = sorted(set(found) - set(recorded))
    if extra:
        raise DatasetError(f"dataset file {data / extra[0]}: not in the recorded checksums")


def scan(storage) -> tuple[str, list[float], int]:
    """One pass over every episode: the fingerprint, the returns and the step count, checking shapes, end
    flags, finite values and spaces on the way (a build records the fingerprint, a verification compares)."""
    data = Path(storage.data_path)
    h = hashlib.sha256()
    returns, steps = [], 0
    obs_space, act_space = storage.observation_space, storage.action_space
    for i, ep in iter_episodes(storage):
        episode_digest(h, i, ep)
        t = len(ep["rewards"])
        where = f"dataset file {data}: episode {i}"
        if len(ep["observations"]) != t + 1 or len(ep["actions"]) != t:
            raise DatasetError(f"{where}: {len(ep['observations'])} observations and {len(ep['actions'])} actions "
                               f"for {t} rewards; allowed: T+1 and T")
        ends = np.logical_or(ep["terminations"], ep["truncations"])
        if t == 0 or not ends[-1] or ends[:-1].any():
            raise DatasetError(f"{where}: end flags must be set at the last step only")
        for name in ("observations", "actions", "rewards"):
            if np.issubdtype(np.asarray(ep[name]).dtype, np.floating) and not np.isfinite(ep[name]).all():
                raise DatasetError(f"{where}: non-finite {name}")
        if not all(obs_space.contains(o) for o in ep["observations"][[0, -1]]):
            raise DatasetError(f"{where}: observations outside the observation space")
        if not all(act_space.contains(a) for a in ep["actions"][[0, -1]]):
            raise DatasetError(f"{where}: actions outside the action space")
        returns.append(float(np.sum(ep["rewards"], dtype=np.float64)))
        steps += t
    return h.hexdigest(), returns, steps


def check_summary(storage, stori: dict[str, Any], returns: list[float], steps: int) -> None:
    """Totals and return statistics against the metadata; the reference scores in order."""
    meta, data = storage.metadata, Path(storage.data_path)
    if len(returns) != meta["total_episodes"] or steps != meta["total_steps"]:
        raise DatasetError(f"dataset file {data}: {len(returns)} episodes / {steps} steps; metadata says "
                           f"{meta['total_episodes']} / {meta['total_steps']}")
    recorded = stori.get("returns", {}).get("mean")
    if recorded is not None and not np.isclose(np.mean(returns), recorded, rtol=1e-6, atol=1e-6):
        raise DatasetError(f"dataset file {data}: mean return {np.mean(returns)} != recorded {recorded}")
    if not meta.get("ref_min_score", 0) < meta.get("ref_max_score", 0):
        raise DatasetError(f"dataset file {data / 'metadata.json'}: ref_min_score < ref_max_score does not hold")


def validate(path: Path, deep: bool = True) -> dict[str, Any]:
    """Check a built dataset: complete, checksums; with ``deep`` also the fingerprint, shapes, end flags,
    finite values, spaces and return statistics (:func:`scan`). Returns the ``stori`` metadata."""
    storage = open_storage(path)
    stori = storage.metadata.get("stori")
    data = Path(path) / "data"
    if not isinstance(stori, dict) or "checksums" not in stori or "fingerprint" not in stori:
        raise DatasetError(f"dataset file {data / 'metadata.json'}: no 'stori' checksums (an incomplete or "
                           "foreign build)")
    verify_checksums(path, stori["checksums"])
    if not deep:
        return stori
    digest, returns, steps = scan(storage)
    if digest != stori["fingerprint"]:
        raise DatasetError(f"dataset file {data}: fingerprint {digest[:16]}... does not match the recorded "
                           f"{stori['fingerprint'][:16]}...")
    check_summary(storage, stori, returns, steps)
    return stori
