"""PSRO-RAE versus Nash-PSRO on the two-car intersection (``CrossingEnv``), several training seeds.

    python -m benchmarks.rae.intersection                 # 5 seeds, both methods, 2 worker processes
    python -m benchmarks.rae.intersection --seeds 2 --iters 3 --out /tmp/rae_quick   # a quick look

Both methods share one population across the two (symmetric) seats, start from the uniform-random
policy and use the tabular Monte-Carlo oracle on the observation without its time feature:

* ``psro_rae``: meta-solver RAE fictitious play (RAE, mean-variance formulation of stori_envs) at
  ``--gamma``; oracle maximising E[G] - gamma_br Var[G] (``--gamma-br``).
* ``psro_nash``: meta-solver = the symmetric Nash equilibrium of largest welfare; risk-neutral oracle.

Each finished (method, seed) is saved at once under ``--out`` (JSON summary, the population as JSON: nothing
is pickled) and a PSRO checkpoint is written after every iteration, so a rerun resumes where the last one stopped. The
evaluation plays ``--eval-episodes`` episodes of the meta-strategy against itself; the worst case is
measured against held-out populations (the other runs, never seen in training). Results: ``summary.md``,
``summary.json`` and ``intersection.png`` in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from agents.rae.checkpoint import policy_from_dict, policy_to_dict
from agents.rae.oracles import TabularMCOracle
from agents.rae.psro import PSRO, PSROConfig
from benchmarks.common import command_line, machine_description, markdown_table
from benchmarks.rae.metrics import (
    bootstrap_ci,
    catastrophe_rate,
    convergence_gaps,
    evaluate,
    ratio_ci,
    worst_case,
)
from stori_envs.multiagent import CrossingEnv, UniformRandomPolicy

logger = logging.getLogger(__name__)

METHODS = ("psro_rae", "psro_nash")
OBS_FEATURES = (0, 1, 2, 3, 4)  # every feature but t / horizon


def make_env(rho: float) -> CrossingEnv:
    return CrossingEnv(rho=rho)


class EnvFactory:
    """A picklable environment factory (worker processes rebuild environments from it)."""

    def __init__(self, rho: float) -> None:
        self.rho = rho

    def __call__(self) -> CrossingEnv:
        return make_env(self.rho)


def method_setup(method: str, args) -> tuple[PSROConfig, TabularMCOracle]:
    common = dict(symmetric=True, max_iters=args.iters, episodes_per_cell=args.cell_episodes, seed=args.seed0)
    if method == "psro_rae":
        cfg = PSROConfig(meta_solver="rae", gamma=args.gamma, meta_iters=args.meta_iters, **common)
        risk = dict(risk_objective="mean_variance", gamma_br=args.gamma_br) if args.gamma_br > 0 else {}
        oracle = TabularMCOracle(args.oracle_episodes, features=OBS_FEATURES, **risk)
    else:
        cfg = PSROConfig(meta_solver="nash", nash_select="max_welfare", **common)
        oracle = TabularMCOracle(args.oracle_episodes, features=OBS_FEATURES)
    return cfg, oracle


def run_one(method: str, seed: int, args) -> dict:
    """Train one (method, seed), evaluate it, save its files; returns the JSON record."""
    out = Path(args.out)
    cfg, oracle = method_setup(method, args)
    cfg = PSROConfig(**{**cfg.__dict__, "seed": args.seed0 + seed})
    env_fn = EnvFactory(args.rho)
    ckpt = out / "checkpoints" / f"{method}_seed{seed}.npz"
    start = time.perf_counter()
    psro = PSRO.resume(ckpt, env_fn, oracle, cfg) if ckpt.exists() else PSRO(
        env_fn, [UniformRandomPolicy(3)], oracle, cfg, checkpoint=ckpt)
    result = psro.run()
    ev = evaluate(env_fn, result.populations, result.sigma, args.eval_episodes, seed=10_000 + seed)
    summary = ev.summary(agent=0)
    rate, lo, hi = catastrophe_rate(ev.catastrophe.any(axis=1))
    record = {
        "method": method, "seed": seed, "oracle": result.oracle, "stop_reason": result.stop_reason,
        "iterations": len(result.history), "population": len(result.populations[0]),
        "sigma": result.sigma[0].tolist(), "train_seconds": time.perf_counter() - start,
        "crash_ci": [lo, hi], **summary, **convergence_gaps(result.tables, result.sigma, cfg.gamma),
        "crash_flags": ev.catastrophe.any(axis=1).astype(int).tolist(),
    }
    record["crash_rate"] = rate
    (out / f"{method}_seed{seed}_pop.json").write_text(json.dumps({
        "population": [policy_to_dict(p) for p in result.populations[0]], "sigma": result.sigma[0].tolist()}))
    (out / f"{method}_seed{seed}.json").write_text(json.dumps(record))
    return record


def cross_play(records: dict, args) -> dict:
    """Worst case of each run against the populations of every other run (cached in cross_play.json)."""
    out = Path(args.out)
    cache_path = out / "cross_play.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    pops = {}
    for key in records:
        saved = json.loads((out / f"{key}_pop.json").read_text())
        pops[key] = {"population": [policy_from_dict(p) for p in saved["population"]],
                     "sigma": np.asarray(saved["sigma"], dtype=float)}
    for key in records:
        if key in cache:
            continue
        held = {k: (p["population"], p["sigma"]) for k, p in pops.items() if k != key}
        res = worst_case(EnvFactory(args.rho), pops[key]["population"], pops[key]["sigma"], held,
                         args.cross_episodes, seed=20_000)
        cache[key] = res
        cache_path.write_text(json.dumps(cache))
    return cache


def aggregate(records: dict, cross: dict, args) -> str:
    rng = np.random.default_rng(0)
    metrics = ["mean_return", "crash_rate", "CVaR_0.1", "CVaR_0.05", "variance", "var_opponent", "var_own",
               "var_environment", "rae_conv", "nash_conv", "population", "train_seconds"]
    rows, data = [], {}
    for method in METHODS:
        recs = [r for k, r in sorted(records.items()) if r["method"] == method]
        if not recs:
            continue
        data[method] = recs
        for m in metrics:
            vals = [r[m] for r in recs]
            lo, hi = bootstrap_ci(vals, rng)
            rows.append([method, m, f"{np.mean(vals):.4g}", f"[{lo:.4g}, {hi:.4g}]",
                         ", ".join(f"{v:.3g}" for v in vals)])
        worst = [cross[f"{method}_seed{r['seed']}"]["worst_population"] for r in recs if
                 f"{method}_seed{r['seed']}" in cross]
        worst_m = [cross[f"{method}_seed{r['seed']}"]["worst_member"] for r in recs if
                   f"{method}_seed{r['seed']}" in cross]
        for name, vals in (("worst_case_population", worst), ("worst_case_member", worst_m)):
            if vals:
                lo, hi = bootstrap_ci(vals, rng)
                rows.append([method, name, f"{np.mean(vals):.4g}", f"[{lo:.4g}, {hi:.4g}]",
                             ", ".join(f"{v:.3g}" for v in vals)])
    text = markdown_table(["method", "metric", "mean over seeds", "95% bootstrap CI", "per seed"], rows)
    if len(data) == 2:
        ratio = ratio_ci([r["crash_flags"] for r in data["psro_nash"]], [r["crash_flags"] for r in data["psro_rae"]],
                         rng)
        text += (f"\n\nCrash-rate ratio Nash-PSRO / PSRO-RAE: {ratio[0]:.3g} "
                 f"(95% bootstrap CI over seeds and episodes [{ratio[1]:.3g}, {ratio[2]:.3g}])")
    return text


def plot(records: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    colors = {"psro_rae": "tab:blue", "psro_nash": "tab:red"}
    for method in METHODS:
        recs = [r for r in records.values() if r["method"] == method]
        x = [r["seed"] for r in recs]
        for ax, key, label in zip(axes, ("crash_rate", "mean_return", "CVaR_0.1"),
                                  ("crash rate (self-play)", "mean return", "CVaR 10%")):
            ax.scatter(x, [r[key] for r in recs], color=colors[method], label=method)
            ax.axhline(np.mean([r[key] for r in recs]), color=colors[method], lw=1, ls="--")
            ax.set_xlabel("training seed")
            ax.set_title(label)
    axes[0].legend()
    fig.suptitle("CrossingEnv: PSRO-RAE (RAE, mean-variance formulation of stori_envs) vs Nash-PSRO")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--seed0", type=int, default=0, help="base of the PSRO seeds")
    p.add_argument("--iters", type=int, default=8, help="PSRO iterations")
    p.add_argument("--oracle-episodes", type=int, default=2000)
    p.add_argument("--cell-episodes", type=int, default=20)
    p.add_argument("--meta-iters", type=int, default=2000)
    p.add_argument("--gamma", type=float, default=1.0, help="meta-level RAE risk weight")
    p.add_argument("--gamma-br", type=float, default=0.05, help="oracle variance weight (PSRO-RAE)")
    p.add_argument("--rho", type=float, default=0.0, help="probability of an unexpected acceleration")
    p.add_argument("--eval-episodes", type=int, default=1000)
    p.add_argument("--cross-episodes", type=int, default=200)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", default="benchmarks/rae/results/intersection")
    return p.parse_args(argv)


def main(argv=None) -> None:
    from rich.console import Console
    from rich.progress import Progress

    args = parse(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    console = Console()
    settings = {k: v for k, v in vars(args).items() if k not in ("workers", "out")}
    settings_path = out / "settings.json"
    if settings_path.exists() and json.loads(settings_path.read_text()) != settings:
        raise SystemExit(f"{out} holds results of other settings; use another --out or delete it")
    settings_path.write_text(json.dumps(settings))
    jobs = [(m, s) for s in range(args.seeds) for m in METHODS]
    records = {}
    for m, s in jobs:
        path = out / f"{m}_seed{s}.json"
        if path.exists():
            records[f"{m}_seed{s}"] = json.loads(path.read_text())
    todo = [(m, s) for m, s in jobs if f"{m}_seed{s}" not in records]
    start = time.perf_counter()
    with Progress(console=console) as progress:
        task = progress.add_task("PSRO runs", total=len(jobs), completed=len(jobs) - len(todo))
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            futures = {pool.submit(run_one, m, s, args): (m, s) for m, s in todo}
            for fut in as_completed(futures):
                rec = fut.result()
                records[f"{rec['method']}_seed{rec['seed']}"] = rec
                progress.advance(task)
        cross_task = progress.add_task("cross-play vs held-out populations", total=1)
        cross = cross_play(records, args)
        progress.advance(cross_task)
    text = aggregate(records, cross, args)
    plot(records, out / "intersection.png")
    header = (f"Machine: {machine_description()}\n\nCommand: `{command_line()}`\n\n"
              f"Settings: {json.dumps(settings)}\n\nWall time of this invocation: "
              f"{time.perf_counter() - start:.0f} s\n\n")
    (out / "summary.md").write_text(header + text + "\n")
    (out / "summary.json").write_text(json.dumps({k: {kk: vv for kk, vv in r.items() if kk != "crash_flags"}
                                                  for k, r in records.items()}, indent=1))
    console.print(header + text)


if __name__ == "__main__":
    main()
