"""``stori-envs bench``: list the suites, run one into a results folder, report a results folder.

    stori-envs bench list
    stori-envs bench run quick --out results/quick [--backend local|ray] [--workers N] [--seeds K]
    stori-envs bench report results/quick --html
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _list(args: argparse.Namespace) -> int:
    from benchmarks.evaluation.suites import load_suite, shipped_suites

    if args.agents:
        from benchmarks.evaluation.runner import available_agents

        for name, cls in sorted(available_agents().items()):
            doc = (cls.__doc__ or "").strip().splitlines()
            print(f"  {name:<22} {doc[0] if doc else ''}")
        return 0
    for name, path in shipped_suites().items():
        suite = load_suite(path)
        agents = ", ".join(a.label for a in suite.agents)
        print(f"{name:<8} {suite.cell_count():>4} cells  {suite.description}")
        print(f"{'':<8} agents: {agents}")
        if suite.budget_note:
            print(f"{'':<8} budget: {suite.budget_note}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from benchmarks.evaluation.backends import run_suite
    from benchmarks.evaluation.report import print_boards, write_report
    from benchmarks.evaluation.suites import load_suite

    suite = load_suite(args.suite)
    out = Path(args.out)
    summary = run_suite(suite, out, backend=args.backend, workers=args.workers, seeds=args.seeds,
                        address=args.address, progress=not args.no_progress)
    print(f"{summary.done}/{summary.cells} cells done ({summary.computed} computed now, {summary.failed} failed) "
          f"in {summary.seconds:.0f} s; store: {summary.store}")
    if summary.failed:
        print("failed cells keep their traceback in the store (cells.error); run again to retry them.",
              file=sys.stderr)
    if summary.done:
        boards = write_report(out, html_page_too=True)
        print_boards(boards)
        print(f"report: {out / 'report.md'}  page: {out / 'index.html'}")
    return 1 if summary.failed else 0


def _report(args: argparse.Namespace) -> int:
    from benchmarks.evaluation.report import print_boards, write_report

    boards = write_report(args.dir, html_page_too=args.html)
    print_boards(boards)
    print(f"report: {Path(args.dir) / 'report.md'}" + (f"  page: {Path(args.dir) / 'index.html'}" if args.html else ""))
    return 0


def _workers(text: str) -> int:
    value = int(text) if text.lstrip("-").isdigit() else None
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"--workers: got {text!r}; allowed: an integer >= 1")
    return value


def _seeds(text: str) -> int:
    value = int(text) if text.lstrip("-").isdigit() else None
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"--seeds: got {text!r}; allowed: an integer >= 1")
    return value


def add_parser(subparsers) -> None:
    """Add the ``bench`` group to the ``stori-envs`` command line."""
    bench = subparsers.add_parser("bench", help="evaluation suites: run agents under every type, leaderboards")
    sub = bench.add_subparsers(dest="bench_command", required=True)
    p = sub.add_parser("list", help="the shipped suites (or, with --agents, the registered agents)")
    p.add_argument("--agents", action="store_true", help="list the registered agents instead")
    p.set_defaults(func=_list)
    p = sub.add_parser("run", help="run a suite into a results folder (resumable; prints the leaderboard)")
    p.add_argument("suite", help="a shipped suite name (bench list) or a suite .toml file")
    p.add_argument("--out", required=True, help="results folder (holds results.sqlite, report.md, index.html)")
    p.add_argument("--backend", choices=("local", "ray"), default="local", help="local worker processes or Ray")
    p.add_argument("--workers", type=_workers, default=min(2, os.cpu_count() or 1),
                   help="parallel cells (default: min(2, cores))")
    p.add_argument("--seeds", type=_seeds, default=None, help="runs per agent and variant (default: the suite's)")
    p.add_argument("--address", default=None, help="Ray cluster address (default: start a local one)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)
    p = sub.add_parser("report", help="leaderboards of a results folder (terminal, report.md, --html page)")
    p.add_argument("dir", help="a results folder written by bench run")
    p.add_argument("--html", action="store_true", help="also write index.html with the plots")
    p.set_defaults(func=_report)
