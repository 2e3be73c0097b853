"""``stori-envs datasets build|list|show|verify``: build, list, inspect and re-verify offline datasets."""

from __future__ import annotations

import argparse
import json
import sys


def _build(args: argparse.Namespace) -> int:
    from stori_envs.datasets.builder import build

    result = build(args.name, args.profile, episodes=args.episodes, seed=args.seed, workers=args.workers,
                   chunk=args.chunk, ref_episodes=args.ref_episodes, progress=not args.quiet, overwrite=args.overwrite)
    print(json.dumps({k: v for k, v in result.items()}, indent=2, default=str))
    return 0


def _fmt_stats(stats: dict | None) -> str:
    if not stats:
        return "-"
    return f"{stats['mean']:.2f} ± {stats['std']:.2f} [{stats['min']:.2f}, {stats['max']:.2f}]"


def _list(args: argparse.Namespace) -> int:
    from stori_envs.datasets.listing import catalogue

    rows = catalogue()
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    if not rows:
        print("no datasets (build one with: stori-envs datasets build stori/medsepsis/clinician-v0)")
        return 0
    width = max(len(r["dataset_id"]) for r in rows)
    print(f"{'dataset':<{width}}  {'episodes':>8}  {'steps':>9}  {'MB':>8}  return")
    for r in rows:
        if r.get("error"):
            print(f"{r['dataset_id']:<{width}}  INCOMPLETE: {r['error']}")
            continue
        print(f"{r['dataset_id']:<{width}}  {r['episodes']:>8}  {r['transitions']:>9}  "
              f"{r['size_bytes'] / 1e6:>8.2f}  {_fmt_stats(r['returns'])}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from stori_envs.datasets.listing import catalogue
    from stori_envs.datasets.load import dataset_path

    path = str(dataset_path(args.name))
    rows = [r for r in catalogue() if r["path"] == path]
    if not rows:
        raise ValueError(f"name: got {args.name!r}; allowed: one of `stori-envs datasets list` (nothing at {path})")
    r = rows[0]
    if args.json:
        print(json.dumps(r, indent=2, default=str))
        return 0
    if r.get("error"):
        print(f"{r['dataset_id']}: INCOMPLETE: {r['error']}")
        return 1
    lines = [("dataset", r["dataset_id"]), ("path", r["path"]), ("env", r["env_id"]), ("tier", r["tier"]),
             ("profile", f"{r['profile']} {json.dumps(r['profile_record'])}"),
             ("episodes", r["episodes"]), ("transitions", r["transitions"]),
             ("size", f"{r['size_bytes'] / 1e6:.2f} MB"), ("return", _fmt_stats(r["returns"])),
             ("cost", _fmt_stats(r["costs"])), ("ref min/max", f"{r['ref_min_score']:.2f} / {r['ref_max_score']:.2f}"),
             ("behaviour", json.dumps({k: v.get("policy") for k, v in (r["behaviour"] or {}).items()})),
             ("mixture", json.dumps({k: v for k, v in (r["mixture"] or {}).items() if k != "sources"}) or "-"),
             ("seed", (r["seeds"] or {}).get("base")), ("fingerprint", r["fingerprint"])]
    sources = r.get("sources") or {}
    for src, n in (sources.get("episodes") or {}).items():  # per source tier (mixtures, MedSepsis mixed)
        cost = (sources.get("costs") or {}).get(src)
        lines.append((f"  {src}", f"{n} episodes, {sources['transitions'][src]} transitions, return "
                      f"{_fmt_stats(sources['returns'][src])}" + (f", cost {_fmt_stats(cost)}" if cost else "")))
    lines += [(f"sha256 {k}", v) for k, v in (r["checksums"] or {}).items()]
    for key, value in lines:
        print(f"{key:<14} {value}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from stori_envs.datasets.integrity import DatasetError
    from stori_envs.datasets.listing import verify

    try:
        result = verify(args.name)
    except DatasetError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"OK {result['dataset_id']}: fingerprint {result['fingerprint']}")
    for k, v in result["checksums"].items():
        print(f"   sha256 {k} {v}")
    return 0


def add_parser(subparsers) -> None:
    """Add the ``datasets`` command group to the ``stori-envs`` parser."""
    p = subparsers.add_parser("datasets", help="build, list, show and verify offline datasets (Minari)")
    sub = p.add_subparsers(dest="datasets_command", required=True)
    b = sub.add_parser("build", help="build a dataset locally (under $MINARI_DATASETS_PATH)")
    b.add_argument("name", help="stori/<env>/[<profile-slug>/]<tier>-v0, e.g. stori/medsepsis/clinician-v0")
    b.add_argument("--profile", help="default, a preset (MedSepsis: T1, T2.1, T2.2, T3.2, ...), a JSON profile "
                   "or a .json/.toml file")
    b.add_argument("--episodes", type=int, help="number of episodes (default: the environment's size)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--workers", type=int, default=1, help="parallel environments (the data does not depend on it)")
    b.add_argument("--chunk", type=int, default=64, help="episodes written at a time (bounds memory)")
    b.add_argument("--ref-episodes", type=int, help="episodes for the random/expert reference scores "
                   "(default: the environment's)")
    b.add_argument("--overwrite", action="store_true", help="replace an existing dataset of this name")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=_build)
    lst = sub.add_parser("list", help="datasets under the root")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=_list)
    s = sub.add_parser("show", help="size, episodes, returns, costs, profile and checksums of a dataset")
    s.add_argument("name")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_show)
    v = sub.add_parser("verify", help="recompute the checksums and the fingerprint")
    v.add_argument("name")
    v.set_defaults(func=_verify)
