"""The ``gallery`` and ``record`` subcommands of ``stori-envs`` (the logic is in :mod:`stori_envs.atari.media`)."""

from __future__ import annotations

import argparse


def _gallery(args: argparse.Namespace) -> int:
    from stori_envs.atari.media import gallery

    games = ["Breakout", "Boxing", "Gopher", "BankHeist"] if args.game == "all" else [args.game]
    if args.out is not None and len(games) > 1:
        raise ValueError(f"--out: got {args.out!r} with game 'all'; allowed: --out-dir for several games")
    for game in games:
        out = args.out or (None if args.out_dir is None else f"{args.out_dir}/atari-{game.lower()}-modes.png")
        path = gallery(game, out, steps=args.steps, seed=args.seed, kinds=tuple(args.kinds.split(",")))
        print(f"wrote {path}")
    return 0


def _record(args: argparse.Namespace) -> int:
    from stori_envs.atari.media import record

    path = record(args.env, args.out, profile=args.profile, steps=args.steps, seed=args.seed, fps=args.fps)
    print(f"wrote {path}")
    return 0


def add_gallery_parser(subparsers) -> None:
    p = subparsers.add_parser("gallery", help="PNG grid of every mode of an Atari game (what the agent sees)")
    p.add_argument("game", help="Breakout, Boxing, Gopher, BankHeist, or all")
    p.add_argument("--out", help="PNG path (default docs/images/atari-<game>-modes.png)")
    p.add_argument("--out-dir", help="folder for the PNGs (with game 'all')")
    p.add_argument("--steps", type=int, default=80, help="agent steps before the picture (default 80)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--kinds", default="2.1,blackout,crop,ram", help="comma-separated: 2.1, blackout, crop, ram")
    p.set_defaults(func=_gallery)


def add_record_parser(subparsers) -> None:
    p = subparsers.add_parser("record", help="GIF (or MP4) of an Atari episode under a profile, random actions")
    p.add_argument("env", help="an id such as stori/Breakout-T3.2C-v0, or a game name with --profile")
    p.add_argument("--profile", help="preset name for a game name, e.g. 3.2C")
    p.add_argument("--out", required=True, help="output path ending in .gif or .mp4")
    p.add_argument("--steps", type=int, default=300, help="agent steps at most (default 300)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fps", type=float, default=15, help="frames per second of the file, > 0 (default 15)")
    p.set_defaults(func=_record)
