"""The ``stori-envs`` command line: list environments and presets, describe a profile.

Families add subcommands (the Atari family adds ``gallery`` and ``record``).
"""

from __future__ import annotations

import argparse
import json
import sys

import stori_envs
from stori_envs.families import families_table, family_names
from stori_envs.registration import registered_envs
from stori_envs.taxonomy.profile import TYPE_NAMES, Profile


def _list(args: argparse.Namespace) -> int:
    known = sorted({e.family for e in registered_envs()} | set(family_names()))
    if args.family is not None and args.family not in known:
        raise ValueError(f"--family: got {args.family!r}; allowed: {', '.join(known)}")
    envs = registered_envs(args.family)
    if args.json:
        print(json.dumps([{"id": e.env_id, "family": e.family, "description": e.description} for e in envs], indent=2))
        return 0
    width = max((len(e.env_id) for e in envs), default=0)
    family = None
    for e in envs:
        if e.family != family:
            family = e.family
            print(f"\n[{family}]")
        print(f"  {e.env_id:<{width}}  {e.description}")
    print("\nTypes: " + "; ".join(f"{k} {v}" for k, v in TYPE_NAMES.items()))
    return 0


def _describe(args: argparse.Namespace) -> int:
    source = args.profile
    known = {e.env_id: e for e in registered_envs()}
    if source in known:
        if known[source].profile is None:
            print(f"{source} takes any profile (pass profile=... to gym.make).")
            return 0
        profile = Profile.parse(known[source].profile)
    else:  # a file, or JSON text (an object; a list or a directory is refused with a clear error)
        profile = Profile.parse(source)
    rows = profile.describe()
    width = max(len(k) for k, _, _ in rows)
    for key, value, meaning in rows:
        print(f"{key:<{width}}  {json.dumps(value):<12}  {meaning}")
    return 0


def _families(args: argparse.Namespace) -> int:
    print(families_table())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stori-envs", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"stori-envs {stori_envs.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list the suite's environment ids and presets")
    p.add_argument("--family", help="only this family (" + ", ".join(family_names()) + ")")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_list)
    p = sub.add_parser("describe", help="say what each knob of a profile does")
    p.add_argument("profile", help="an environment id, a .json/.toml profile file, or a JSON object")
    p.set_defaults(func=_describe)
    p = sub.add_parser("families", help="each family's spellings, presets and the profile fields it honours")
    p.set_defaults(func=_families)
    for adder in _family_subcommands():
        adder(sub)
    return parser


#: Modules that add subcommand groups, and the ``add_*(subparsers)`` functions each provides. They are
#: imported only to build the parser; a module missing from this installation drops its commands.
SUBCOMMAND_PROVIDERS = (
    ("stori_envs.atari.cli", ("add_gallery_parser", "add_record_parser")),
    ("stori_envs.datasets.cli", ("add_parser",)),  # stori-envs datasets ...
    ("agents.cli", ("add_parser",)),  # stori-envs agents ...
    ("benchmarks.cli", ("add_parser",)),  # stori-envs bench ...
)


def _family_subcommands():
    """Subcommand builders that families and the other packages provide."""
    import importlib

    adders = []
    for module_name, functions in SUBCOMMAND_PROVIDERS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that part of the suite is not installed here
            raise
        adders += [getattr(module, n) for n in functions if hasattr(module, n)]
    return adders


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"stori-envs: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
