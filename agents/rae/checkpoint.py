"""Files of the RAE solvers: JSON for structure, arrays in ``.npz`` loaded with ``allow_pickle=False``.

Nothing here unpickles: a checkpoint is one ``.npz`` archive holding plain numeric arrays plus a
``meta.json`` entry (UTF-8 bytes of a JSON object). ``np.load(..., allow_pickle=False)`` refuses object
arrays and pickled files, so a crafted checkpoint cannot run code; it fails with a ``ValueError``.

Policies are stored by kind through a small codec registry (:func:`register_policy_codec`): the risk
games' scripted and tabular policies are registered; an unregistered policy cannot be saved, and the
error says how to register it. Files are written through a temporary file and a rename, so a killed
run never leaves half a checkpoint.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from agents.interface import atomic_write

FORMAT = "stori-rae-checkpoint"
VERSION = 1

_CODECS: dict[str, tuple[type, Callable[[Any], dict], Callable[[dict], Any]]] = {}


def register_policy_codec(kind: str, cls: type, to_dict: Callable[[Any], dict],
                          from_dict: Callable[[dict], Any]) -> None:
    """Make policies of class ``cls`` storable: ``to_dict`` gives JSON-ready fields, ``from_dict`` rebuilds."""
    _CODECS[kind] = (cls, to_dict, from_dict)


def policy_to_dict(policy: Any) -> dict[str, Any]:
    for kind, (cls, to_dict, _) in _CODECS.items():
        if type(policy) is cls:
            return {"kind": kind, **to_dict(policy)}
    raise ValueError(f"policy: got {type(policy).__qualname__}; allowed: a policy of a registered kind ("
                     + ", ".join(sorted(_CODECS)) + "; register others with agents.rae.checkpoint."
                     "register_policy_codec)")


def policy_from_dict(data: Mapping[str, Any]) -> Any:
    kind = data.get("kind") if isinstance(data, Mapping) else None
    if kind not in _CODECS:
        raise ValueError(f"policy kind: got {kind!r}; allowed: " + ", ".join(sorted(_CODECS)))
    return _CODECS[kind][2]({k: v for k, v in data.items() if k != "kind"})


def _register_builtin() -> None:
    from agents.rae.oracles import TabularPolicy
    from stori_envs.multiagent.crossing import GoPolicy, YieldPolicy
    from stori_envs.multiagent.policies import FixedActionPolicy, UniformRandomPolicy
    from stori_envs.multiagent.trust_grid import HarePolicy, StagPolicy

    register_policy_codec("uniform", UniformRandomPolicy, lambda p: {"n": p.n}, lambda d: UniformRandomPolicy(d["n"]))
    register_policy_codec("fixed", FixedActionPolicy, lambda p: {"action": p.action, "n": p.n},
                          lambda d: FixedActionPolicy(d["action"], d["n"]))
    register_policy_codec(
        "tabular", TabularPolicy,
        lambda p: {"table": {k.hex(): int(v) for k, v in p.table.items()}, "n": p.n, "default": p.default,
                   "features": None if p.features is None else list(p.features)},
        lambda d: TabularPolicy({bytes.fromhex(k): int(v) for k, v in d["table"].items()}, d["n"], d["default"],
                                None if d["features"] is None else tuple(d["features"])))
    for kind, cls in (("go", GoPolicy), ("yield", YieldPolicy), ("stag", StagPolicy), ("hare", HarePolicy)):
        register_policy_codec(kind, cls, lambda p: {}, lambda d, cls=cls: cls())


_register_builtin()


def save_archive(path: str | os.PathLike, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``meta`` (JSON) and numeric ``arrays`` to one ``.npz`` file atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {name: np.asarray(a) for name, a in arrays.items()}
    for name, a in payload.items():
        if a.dtype.kind not in "biuf":
            raise ValueError(f"arrays[{name!r}]: got dtype {a.dtype}; allowed: numeric arrays")
    header = {"format": FORMAT, "version": VERSION, **meta}
    payload["meta.json"] = np.frombuffer(json.dumps(header, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **payload)
    data = buffer.getvalue()
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))
    return path


def load_archive(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(meta, arrays) of a file written by :func:`save_archive`; anything else is a ``ValueError``."""
    path = Path(path)
    allowed = "a .npz file written by agents.rae (JSON metadata and numeric arrays; pickles are never loaded)"
    if not path.is_file():
        raise ValueError(f"checkpoint: got {str(path)!r}; allowed: {allowed}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"checkpoint: got {str(path)!r}, which is not an npz archive (a pickle?); allowed: {allowed}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"checkpoint: got {str(path)!r}, which holds something else than numeric arrays ({exc}); "
                         f"allowed: {allowed}") from None
    raw = arrays.pop("meta.json", None)
    try:
        meta = json.loads(raw.tobytes().decode("utf-8")) if raw is not None and raw.dtype == np.uint8 else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise ValueError(f"checkpoint: got {str(path)!r} without {FORMAT} version {VERSION} metadata; "
                         f"allowed: {allowed}")
    for name, a in arrays.items():
        if a.dtype.kind not in "biuf":
            raise ValueError(f"checkpoint: got array {name!r} of dtype {a.dtype} in {str(path)!r}; allowed: {allowed}")
    return meta, arrays
