"""Time the normal-form RAE solver against nashpy's Nash computation on random games, 2x2 to 200x200.

    python benchmarks/rae_solver.py                      # all sizes, written to benchmarks/rae/results/solver.md
    python benchmarks/rae_solver.py --sizes 2 10 --games 2
    python benchmarks/rae_solver.py --sizes 100 --games 20 --solvers rae_fp rae_fp_polish rae_fp_step_polish fp \
        --out benchmarks/rae/results/solver_100.md  # the 1 s target on more games, without nashpy

For each size n and game class (Gaussian zero-sum (A, -A) and general-sum (A, B), seeded), every solver
solves the same games, interleaved round-robin (``benchmarks.common.time_interleaved``); the table shows
the median seconds per game over all games (nashpy: over the solved ones), the median and maximum seconds
of the solved games, how many were solved in under 1 s (the issue's target for 100x100), the median
iterations, the mean gap of the returned profile (RAEConv at the solver's gamma
for RAE-FP, NashConv for fp and the Nash solvers, all measured by ``agents.rae.rae_gap``) and how many
solves succeeded (RAE-FP: measured gap <= ``--tol``; nashpy: returned an exact equilibrium within
``--nash-timeout`` seconds; nashpy's Lemke-Howson tableau overflows and never ends on some random games):

* ``rae_fp``: RAE fictitious play (RAE, mean-variance formulation of stori_envs) at ``--gamma``, running
  average (``step="harmonic"``), ``--iters`` iterations at most, early stop at ``--tol``;
* ``rae_fp_polish``: the same with ``polish=True`` (Newton on the KKT systems of guessed supports);
* ``rae_fp_step_polish``: constant step ``--step`` (damped dynamics) with ``polish=True``;
* ``fp``: RAE-FP at gamma = 0 (plain fictitious play);
* ``nashpy_lh``: nashpy ``lemke_howson(initial_dropped_label=0)`` (one exact equilibrium);
* ``nashpy_se``: nashpy ``support_enumeration`` (all equilibria; only up to ``--se-max`` actions).

Every RAE result is re-measured with ``rae_gap`` and the script stops if a reported gap disagrees.

The solvers bound BLAS to one thread themselves (``agents.rae.threads``), whatever the caller's
environment; nashpy is run under the same one-thread limit here. ``--threads`` measures that choice side
by side: ``rae_fp`` as shipped (one BLAS thread) against ``rae_fp`` with the limit lifted (the caller's
default BLAS pool), on the same games, interleaved.

    python benchmarks/rae_solver.py --threads --sizes 100 300 --games 1 --out benchmarks/rae/results/threads.md
"""

from __future__ import annotations

import argparse
import signal
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from agents.rae import rae_fictitious_play, rae_gap, threads
from benchmarks.common import (
    Case,
    command_line,
    emit,
    machine_description,
    markdown_table,
    time_interleaved,
)


def games(n: int, kind: str, count: int, seed: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng([seed, n, 0 if kind == "zero-sum" else 1])
    out = []
    for _ in range(count):
        a = rng.normal(size=(n, n))
        out.append([a, -a] if kind == "zero-sum" else [a, rng.normal(size=(n, n))])
    return out


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout


RAE_SOLVERS = ("rae_fp", "rae_fp_polish", "rae_fp_step_polish", "fp")
SOLVERS = RAE_SOLVERS + ("nashpy_lh", "nashpy_se")
#: ``--threads``: the solver as shipped (BLAS bounded to one thread) and with the caller's default pool.
THREAD_CASES = ("rae_fp, BLAS bounded (1 thread, shipped)", "rae_fp, caller's default BLAS pool")


def default_blas_threads() -> int:
    return max((lib["num_threads"] for lib in threadpool_info() if lib.get("user_api") == "blas"), default=1)


def make_cases(batch: list[list[np.ndarray]], args, n: int) -> tuple[list[Case], dict[str, list[dict]]]:
    """One case per solver; each solve is recorded as {seconds, gap, ok, converged, iterations}."""
    records: dict[str, list[dict]] = {}
    options = {"rae_fp": (args.gamma, {}), "rae_fp_polish": (args.gamma, {"polish": True}),
               "rae_fp_step_polish": (args.gamma, {"step": args.step, "polish": True}), "fp": (0.0, {})}

    def rae(name: str, label: str | None = None, bounded: bool = True):
        gamma, kw = options[name]

        def run(count: int) -> None:
            for k in range(count):
                payoffs = batch[k % len(batch)]
                threads.BLAS_THREADS = 1 if bounded else None
                try:
                    t0 = time.perf_counter()
                    res = rae_fictitious_play(payoffs, gamma, iters=args.iters, tol=args.tol, **kw)
                    seconds = time.perf_counter() - t0
                finally:
                    threads.BLAS_THREADS = 1
                # Honesty check outside the timing: the reported gap is the gap of the returned profile.
                measured = rae_gap(payoffs, res.profile, gamma)
                if not np.allclose(measured, res.gap_per_player, atol=1e-12) or res.converged != (
                        res.rae_conv <= args.tol):
                    raise RuntimeError(f"{name}: reported gap {res.gap_per_player} != measured {measured}")
                records.setdefault(label or name, []).append({"seconds": seconds, "gap": res.rae_conv, "ok": True,
                                                              "converged": res.converged,
                                                              "iterations": res.iterations})
        return Case(label or name, run, unit="games")

    def nash(algorithm: str):
        import nashpy

        name = f"nashpy_{'lh' if algorithm == 'lemke_howson' else 'se'}"

        def run(count: int) -> None:
            for k in range(count):
                a, b = batch[k % len(batch)]
                # Lemke-Howson needs positive payoffs; a constant shift leaves every equilibrium unchanged.
                game = nashpy.Game(a - a.min() + 1.0, b - b.min() + 1.0)
                signal.signal(signal.SIGALRM, _alarm)
                signal.setitimer(signal.ITIMER_REAL, args.nash_timeout)
                t0 = time.perf_counter()
                try:
                    with warnings.catch_warnings(), threadpool_limits(1, user_api="blas"):
                        warnings.simplefilter("ignore")
                        eq = game.lemke_howson(initial_dropped_label=0) if algorithm == "lemke_howson" \
                            else next(iter(game.support_enumeration()))
                    seconds = time.perf_counter() - t0
                except _Timeout:
                    records.setdefault(name, []).append({"seconds": args.nash_timeout, "gap": float("nan"),
                                                         "ok": False, "converged": False, "iterations": 0})
                    continue
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                x, y = (np.asarray(e, dtype=float) for e in eq)
                ok = bool(np.all(np.isfinite(x)) and np.all(np.isfinite(y)) and x.shape == (a.shape[0],)
                          and x.min() >= -1e-9 and y.min() >= -1e-9 and x.sum() > 0 and y.sum() > 0)
                gap = float(rae_gap([a, b], [np.clip(x, 0, None) / np.clip(x, 0, None).sum(),
                                             np.clip(y, 0, None) / np.clip(y, 0, None).sum()], 0.0).sum()) \
                    if ok else float("nan")
                records.setdefault(name, []).append({"seconds": seconds, "gap": gap, "ok": ok and gap < 1e-6,
                                                     "converged": ok and gap < 1e-6, "iterations": 0})
        return Case(name, run, unit="games")

    if args.threads:
        return [rae("rae_fp", THREAD_CASES[0], True), rae("rae_fp", THREAD_CASES[1], False)], records
    cases = [rae(name) for name in RAE_SOLVERS if name in args.solvers]
    if "nashpy_lh" in args.solvers:
        cases.append(nash("lemke_howson"))
    if "nashpy_se" in args.solvers and n <= args.se_max:
        cases.append(nash("support_enumeration"))
    return cases, records


def summary_row(n: int, kind: str, name: str, recs: list[dict]) -> list[str]:
    solved = [r for r in recs if r["ok"]]
    converged = [r for r in recs if r["converged"]]
    nash = name.startswith("nashpy")
    return [f"{n}x{n}", kind, name,
            f"{np.median([r['seconds'] for r in solved]):.3g}" if solved else "-",
            f"{np.median([r['seconds'] for r in converged]):.3g}" if converged else "-",
            f"{max(r['seconds'] for r in converged):.3g}" if converged else "-",
            f"{sum(r['seconds'] < 1.0 for r in converged)}/{len(recs)}",
            "-" if nash else f"{np.median([r['iterations'] for r in recs]):.0f}",
            f"{np.nanmean([r['gap'] for r in recs]):.3g}" if solved else "-",
            f"{len(converged)}/{len(recs)}"]


def main(argv=None) -> None:
    from rich.console import Console
    from rich.progress import Progress

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[2, 5, 10, 20, 50, 100, 200])
    p.add_argument("--games", type=int, default=3, help="random games per size and class")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--gamma", type=float, default=0.5)
    p.add_argument("--iters", type=int, default=5000)
    p.add_argument("--tol", type=float, default=1e-3)
    p.add_argument("--step", type=float, default=0.1, help="constant step of rae_fp_step_polish")
    p.add_argument("--solvers", nargs="+", default=list(SOLVERS), choices=SOLVERS)
    p.add_argument("--se-max", type=int, default=6)
    p.add_argument("--nash-timeout", type=float, default=10.0, help="seconds before a nashpy call is abandoned")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", action="store_true",
                   help="compare the shipped one-thread BLAS bound with the caller's default BLAS pool (rae_fp)")
    p.add_argument("--out", default="benchmarks/rae/results/solver.md")
    args = p.parse_args(argv)
    console = Console(stderr=True)  # progress on stderr, the report on stdout
    rows = []
    start = time.perf_counter()
    with Progress(console=console) as progress:
        task = progress.add_task("sizes x classes", total=2 * len(args.sizes))
        for n in args.sizes:
            for kind in ("zero-sum", "general-sum"):
                batch = games(n, kind, args.games, args.seed)
                cases, records = make_cases(batch, args, n)
                time_interleaved(cases, len(batch), args.repeats)
                rows += [summary_row(n, kind, case.name, records[case.name]) for case in cases]
                progress.advance(task)
    table = markdown_table(["size", "class", "solver", "median s per game (nashpy: per solved game)",
                            "median s per solved game", "max s per solved game", "solved in < 1 s", "median iterations",
                            "mean gap",
                            "solved (gap <= tol / exact NE)"], rows)
    header = (f"Machine: {machine_description()}\n\nCommand: `{command_line()}`\n\nSettings: gamma={args.gamma}, "
              f"iters={args.iters}, tol={args.tol}, step={args.step}, games={args.games}, repeats={args.repeats}, "
              f"seed={args.seed}; BLAS threads inside the solvers: 1 (agents.rae.threads); the caller's default "
              f"pool: {default_blas_threads()} threads\n\n"
              f"Wall time: {time.perf_counter() - start:.0f} s\n\n")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(header + table + "\n")
    emit(header + table)


if __name__ == "__main__":
    main()
