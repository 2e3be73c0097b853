"""Offline agents over seeds on the suite's datasets: normalised scores with confidence intervals, and a plot.

For each dataset, agent and seed: train (resumable: each run checkpoints into ``--out`` and a finished
run's ``result.json`` is reused), then evaluate on fresh environment seeds disjoint from the data's.
MedSepsis runs add the treatment metrics (true-simulator cost, mortality, OOD-visit rate against a
guardian fitted on the dataset, MCR/AIR on held-out clinician patients) and the OGSRL ablations.

Datasets are loaded with ``stori_envs.datasets.load_transitions``; a dataset not built yet is built into
``<out>/datasets`` (seed 0) with the episode count listed in ``DATASETS`` (for a ``random-<src>-<x>pct``
mixture, the count of ``<src>`` episodes that sets its size in transitions).

    python benchmarks/offline.py --out runs/offline-bench --steps 4000 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from agents.interface import load_agent, write_json_atomic
from agents.offline import A2PR, BC, IQL, OGSRL, TD3BC, BCSafe
from agents.offline.data import episode_sums, rollout_transitions
from agents.offline.evaluation import evaluate_agent
from agents.offline.guardian import SupportGuard
from agents.offline.treatment import treatment_report
from benchmarks.common import command_line, emit, machine_description, markdown_table

#: (dataset id, episodes when we build it, role). The issue's suite first; Pendulum stands in when absent.
DATASETS = [
    ("stori/hopper/random-expert-10pct-v0", 100, "Hopper mixed-suboptimal"),
    ("stori/hopper/medium-v0", 200, "Hopper medium"),
    ("stori/inverteddoublependulum/medium-v0", 200, "InvertedDoublePendulum medium"),
    ("stori/medsepsis/clinician-v0", 2000, "MedSepsis clinician"),
    ("stori/pendulum/random-medium-25pct-v0", 200, "Pendulum mixed-suboptimal (stand-in)"),
    ("stori/pendulum/medium-v0", 200, "Pendulum medium (stand-in)"),
]
#: name -> (class, config overrides, needs costs). A2PR runs with a 256-wide VAE here (CPU budget).
AGENTS: dict[str, tuple[type, dict[str, Any], bool]] = {
    "bc": (BC, {}, False),
    "td3bc": (TD3BC, {}, False),
    "iql": (IQL, {}, False),
    "a2pr": (A2PR, {"vae_hidden": 256}, False),
    # The released code's hopper-random-v2 settings (spec offline.md 2.3: mask, vae_weight 1.5; discount 0.995)
    "a2pr-hopper-random": (A2PR, {"vae_hidden": 256, "bc_weight": 1.5, "vae_recon_weight": 1.5, "gamma": 0.995}, False),
    "bc-safe": (BCSafe, {}, True),
    "ogsrl": (OGSRL, {"max_reference": 5000}, True),
    "ogsrl-unguarded": (OGSRL, {"guardian": "none"}, True),
    "ogsrl-bw0.2": (OGSRL, {"max_reference": 5000, "bandwidth": 0.2}, True),  # a tighter guardian (variant)
    "ogsrl-freeze": (OGSRL, {"max_reference": 5000, "ood_mode": "freeze"}, True),  # OGSRL's own rollouts (variant)
    "ogsrl-aw3": (OGSRL, {"max_reference": 5000, "model_action_weight": 3.0}, True),  # action-weighted 1-NN (variant)
    "ogsrl-ensemble": (OGSRL, {"max_reference": 5000, "model": "ensemble"}, True),  # the learned model (spec 4.2 b)
    "ogsrl-ensemble-unguarded": (OGSRL, {"model": "ensemble", "guardian": "none"}, True),  # its ablation
}
T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571}  # Student t quantiles for a 95 % CI


def get_dataset(name: str, episodes: int | None, root: Path, build_missing: bool = True):
    """(Transitions, where) or (None, why not)."""
    from stori_envs.datasets import DatasetError, build, load_transitions

    for where in (None, root):
        try:
            return load_transitions(name, root=where), str(where or "default root")
        except DatasetError:
            continue
    if episodes is None:
        return None, "not built (no episode count given to build it)"
    if not build_missing:
        return None, "not built (report only)"
    try:
        build(name, episodes=episodes, root=root, seed=0)
        return load_transitions(name, root=root), f"built here ({episodes} episodes)"
    except Exception as exc:  # noqa: BLE001 - report why, go on with the other datasets
        return None, f"build failed: {exc}"


def data_summary(data) -> str:
    """The dataset's own mean episode return (normalised with its reference scores) and episode cost."""
    from agents.offline.evaluation import normalized_score

    _, first = np.unique(data.episode_ids, return_index=True)
    returns = episode_sums(data, data.rewards)[first]
    meta = data.metadata
    score = normalized_score(float(returns.mean()), meta.get("ref_min_score"), meta.get("ref_max_score"))
    text = f"{len(first)} episodes, mean return {returns.mean():.1f}"
    if score is not None:
        text += f", normalised score {score:.1f}"
    if data.costs is not None:
        text += f", episode cost {episode_sums(data, data.costs)[first].mean():.2f}"
    return text


def ci95(values: list[float]) -> tuple[float, float]:
    arr = np.asarray([v for v in values if v is not None], float)
    if len(arr) == 0:
        return math.nan, math.nan
    half = T_975.get(len(arr) - 1, 1.96) * arr.std(ddof=1) / math.sqrt(len(arr)) if len(arr) > 1 else math.nan
    return float(arr.mean()), float(half)


def run_one(name: str, data, env_id: str, seed: int, steps: int, out: Path, medical: dict | None,
            report_only: bool = False) -> dict | None:
    result_file = out / "result.json"
    if result_file.exists():
        return json.loads(result_file.read_text())
    if report_only:
        return None
    cls, overrides, _ = AGENTS[name]
    is_ogsrl = cls is OGSRL
    n = steps if not is_ogsrl else max(50, steps // 20)  # OGSRL: one step = one PPO iteration
    agent = load_agent(out) if (out / "agent.json").exists() else cls(cls.config_class(seed=seed, **overrides))
    if isinstance(agent, BCSafe) and agent.config.cost_limit is None and not data.metadata.get("cost_limit"):
        raise ValueError("bc-safe needs a cost_limit")
    start = time.perf_counter()
    agent.fit(data, n, out=out, progress=False)
    train_s = time.perf_counter() - start
    if medical is None:
        summary = evaluate_agent(agent, env_id, 20, seed=1_000_000)
    else:
        summary = treatment_report(agent, env_id, range(2_000_000, 2_000_000 + medical["episodes"]),
                                   test_data=medical["test"], guard=medical["guard"])
    result = {"agent": name, "seed": seed, "steps": n, "train_seconds": train_s, **summary}
    write_json_atomic(result_file, result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/offline-bench")
    parser.add_argument("--steps", type=int, default=4000, help="gradient steps per run (OGSRL: steps / 20 iterations)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--agents", nargs="+", default=list(AGENTS))
    parser.add_argument("--datasets", nargs="+", default=[d[0] for d in DATASETS])
    parser.add_argument("--medical-episodes", type=int, default=200, help="evaluation patients per MedSepsis run")
    parser.add_argument("--plot", default="docs/images/offline_scores.png")
    parser.add_argument("--report-only", action="store_true", help="tabulate finished runs only, train nothing")
    args = parser.parse_args()
    out = Path(args.out)
    tables, availability, plot_rows = [], [], []
    for dataset_id, episodes, role in DATASETS:
        if dataset_id not in args.datasets:
            continue
        root = (out / "datasets").resolve()  # the builder needs an absolute root
        data, where = get_dataset(dataset_id, episodes, root, not args.report_only)
        availability.append([role, f"`{dataset_id}`", where if data is None else f"{len(data)} transitions, {where}"])
        if data is None:
            continue
        env_id = data.metadata["env_id"]
        medical = None
        if data.costs is not None and "MedSepsis" in env_id and args.report_only:
            medical = {"episodes": args.medical_episodes, "test": None, "guard": None}
        elif data.costs is not None and "MedSepsis" in env_id:
            from stori_envs.medical.policies import make_policy

            test = rollout_transitions(env_id, make_policy("clinician", seed=3_000_000),
                                       range(3_000_000, 3_000_200))
            guard = SupportGuard.from_data(data.observations, data.actions, max_reference=5000)
            medical = {"episodes": args.medical_episodes, "test": test, "guard": guard}
        rows = []
        for name in args.agents:
            if AGENTS[name][2] and data.costs is None:
                continue
            run_dir = out / "runs" / dataset_id.replace("/", "_") / name / f"steps{args.steps}"
            results = [run_one(name, data, env_id, seed, args.steps, run_dir / f"seed{seed}", medical,
                               args.report_only) for seed in args.seeds]
            results = [r for r in results if r is not None]
            if not results:
                continue
            score, half = ci95([r["normalized_score"] for r in results])
            mean_return = np.mean([r["return_mean"] for r in results])
            row = [name, len(results), f"{score:.1f} ± {half:.1f}", f"{mean_return:.1f}"]
            cost = chalf = None
            if medical is not None:
                cost, chalf = ci95([r["cost_mean"] for r in results])
                row += [f"{cost:.2f} ± {chalf:.2f}", f"{np.mean([r['mortality'] for r in results]):.3f}",
                        f"{np.mean([r['ood_visit_rate'] for r in results]):.3f}",
                        f"{np.mean([r['mcr'] for r in results]):.3f}"]
            rows.append(row)
            plot_rows.append((role, name, score, half, cost, chalf))
        header = ["agent", "seeds", "normalised score (95 % CI)", "mean return"]
        if medical is not None:
            header += ["episode cost (95 % CI)", "mortality", "OOD-visit rate", "MCR"]
        tables.append((role, dataset_id, data_summary(data), markdown_table(header, rows)))
    emit(f"Machine: {machine_description()}")
    emit(f"Command: `{command_line()}`")
    emit()
    emit(markdown_table(["dataset", "id", "status"], availability))
    for role, dataset_id, summary, table in tables:
        emit()
        emit(f"**{role}** (`{dataset_id}`; the data itself: {summary})")
        emit()
        emit(table)
    if args.plot and plot_rows:
        plot(plot_rows, args.plot)
        emit()
        emit(f"Plot: `{args.plot}`")


def plot(rows: list[tuple], path: str) -> list[tuple[str, str]]:
    """Bar charts of ``rows`` = (dataset, agent, score, CI, cost or None, CI) into ``path``; returns the panels
    drawn as (dataset, y label)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # One panel of normalised scores per dataset, and one of true episode costs for a dataset that has them.
    panels = []
    for role in dict.fromkeys(r[0] for r in rows):
        sub = [r for r in rows if r[0] == role]
        panels.append((role, "normalised score (mean, 95 % CI)", [(r[1], r[2], r[3]) for r in sub], "tab:blue"))
        if any(r[4] is not None for r in sub):
            panels.append((role, "true episode cost (mean, 95 % CI)", [(r[1], r[4], r[5]) for r in sub], "tab:red"))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.6), squeeze=False)
    for ax, (role, label, bars, colour) in zip(axes[0], panels, strict=True):
        ax.bar([b[0] for b in bars], [b[1] for b in bars], yerr=[0 if math.isnan(b[2]) else b[2] for b in bars],
               capsize=3, color=colour)
        ax.set_title(role, fontsize=9)
        ax.set_ylabel(label)
        ax.tick_params(axis="x", labelsize=8)
        plt.setp(ax.get_xticklabels(), rotation=45, ha="right", rotation_mode="anchor")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [(role, label) for role, label, _, _ in panels]


if __name__ == "__main__":
    main()
