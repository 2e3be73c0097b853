"""Time the normal-form RAE solver against nashpy's Nash computation on random games, 2x2 to 200x200.

    python benchmarks/rae_solver.py                      # all sizes, written to benchmarks/rae/results/solver.md
    python benchmarks/rae_solver.py --sizes 2 10 --games 2

For each size n and game class (Gaussian zero-sum (A, -A) and general-sum (A, B), seeded), every solver
solves the same games, interleaved round-robin (``benchmarks.common.time_interleaved``); the table shows
seconds per game (best of ``--repeats``), the mean gap of the returned profile (RAEConv at the solver's
gamma for RAE-FP, NashConv for the Nash solvers, both measured by ``agents.rae.rae_gap``) and, for
RAE-FP, how many games reached ``--tol``:

* ``rae_fp``: RAE fictitious play (RAE, mean-variance formulation of stori_envs) at ``--gamma``,
  ``--iters`` iterations at most, early stop at ``--tol``;
* ``fp``: the same at gamma = 0 (plain fictitious play);
* ``nashpy_lh``: nashpy ``lemke_howson(initial_dropped_label=0)`` (one exact equilibrium);
* ``nashpy_se``: nashpy ``support_enumeration`` (all equilibria; only up to ``--se-max`` actions).

BLAS is limited to one thread (set before numpy is imported): on these small matrices a multi-threaded
BLAS is up to 15x slower on a loaded 2-core machine, for both nashpy and RAE-FP.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from agents.rae import rae_fictitious_play, rae_gap  # noqa: E402
from benchmarks.common import Case, best, command_line, machine_description, markdown_table, time_interleaved  # noqa: E402


def games(n: int, kind: str, count: int, seed: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng([seed, n, 0 if kind == "zero-sum" else 1])
    out = []
    for _ in range(count):
        a = rng.normal(size=(n, n))
        out.append([a, -a] if kind == "zero-sum" else [a, rng.normal(size=(n, n))])
    return out


def make_cases(batch: list[list[np.ndarray]], args, n: int) -> tuple[list[Case], dict[str, list[float]],
                                                                      dict[str, list[bool]]]:
    gaps: dict[str, list[float]] = {}
    converged: dict[str, list[bool]] = {}

    def rae(gamma: float, name: str):
        def run(count: int) -> None:
            for k in range(count):
                res = rae_fictitious_play(batch[k % len(batch)], gamma, iters=args.iters, tol=args.tol)
                gaps.setdefault(name, []).append(res.rae_conv)
                converged.setdefault(name, []).append(res.converged)
        return Case(name, run, unit="games")

    def nash(algorithm: str):
        import nashpy

        name = f"nashpy_{'lh' if algorithm == 'lemke_howson' else 'se'}"

        def run(count: int) -> None:
            for k in range(count):
                a, b = batch[k % len(batch)]
                game = nashpy.Game(a, b)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    eq = game.lemke_howson(initial_dropped_label=0) if algorithm == "lemke_howson" \
                        else next(iter(game.support_enumeration()))
                x, y = (np.clip(np.nan_to_num(e), 0, None) for e in eq)
                ok = x.sum() > 0 and y.sum() > 0
                gaps.setdefault(name, []).append(
                    float(rae_gap([a, b], [x / x.sum(), y / y.sum()], 0.0).sum()) if ok else float("nan"))
        return Case(name, run, unit="games")

    cases = [rae(args.gamma, "rae_fp"), rae(0.0, "fp"), nash("lemke_howson")]
    if n <= args.se_max:
        cases.append(nash("support_enumeration"))
    return cases, gaps, converged


def main(argv=None) -> None:
    from rich.console import Console
    from rich.progress import Progress

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[2, 5, 10, 20, 50, 100, 200])
    p.add_argument("--games", type=int, default=3, help="random games per size and class")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--gamma", type=float, default=0.5)
    p.add_argument("--iters", type=int, default=2000)
    p.add_argument("--tol", type=float, default=1e-3)
    p.add_argument("--se-max", type=int, default=6)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="benchmarks/rae/results/solver.md")
    args = p.parse_args(argv)
    console = Console()
    rows = []
    start = time.perf_counter()
    with Progress(console=console) as progress:
        task = progress.add_task("sizes x classes", total=2 * len(args.sizes))
        for n in args.sizes:
            for kind in ("zero-sum", "general-sum"):
                batch = games(n, kind, args.games, args.seed)
                cases, gaps, converged = make_cases(batch, args, n)
                times = time_interleaved(cases, len(batch), args.repeats)
                for case in cases:
                    g = gaps[case.name]
                    conv = converged.get(case.name)
                    rows.append([f"{n}x{n}", kind, case.name, f"{best(times[case.name]):.4g}",
                                 f"{np.nanmean(g):.3g}",
                                 f"{sum(conv[:len(batch)])}/{len(batch)}" if conv else "exact"])
                progress.advance(task)
    table = markdown_table(["size", "class", "solver", "seconds per game (best)", "mean gap", "reached tol"], rows)
    header = (f"Machine: {machine_description()}\n\nCommand: `{command_line()}`\n\nSettings: gamma={args.gamma}, "
              f"iters={args.iters}, tol={args.tol}, games={args.games}, repeats={args.repeats}, seed={args.seed}; "
              f"BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS')}\n\nWall time: {time.perf_counter() - start:.0f} s\n\n")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(header + table + "\n")
    console.print(header + table)


if __name__ == "__main__":
    main()
