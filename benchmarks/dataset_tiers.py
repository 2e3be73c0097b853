"""Build every tier of the suite's datasets and tabulate (and plot) their returns and costs.

Skips datasets that already exist under the root (``$MINARI_DATASETS_PATH``), so it resumes after an
interruption. Prints the Markdown table of docs/datasets.md and writes a plot of the return (and the
MedSepsis cost) per tier.

    MINARI_DATASETS_PATH=/tmp/stori-datasets nice -n 10 python benchmarks/dataset_tiers.py --workers 2 \\
        --envs medsepsis pendulum inverteddoublependulum hopper breakout boxing
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.common import command_line, emit, git_revision, machine_description

#: Tiers built per environment, with the sizes used in docs/datasets.md (episodes).
PLAN = {
    "medsepsis": (["random", "clinician", "expert", "unsafe", "mixed", "random-expert-10pct"], 5000),
    "pendulum": (["random", "medium", "medium-replay", "expert", "medium-expert", "random-expert-10pct"], 200),
    "inverteddoublependulum": (["random", "medium", "medium-replay", "expert", "medium-expert",
                                "random-expert-10pct"], 200),
    "hopper": (["random", "medium", "medium-replay", "expert", "medium-expert", "random-expert-10pct"], 100),
    "breakout": (["random", "medium", "expert", "medium-expert"], 5),
    "boxing": (["random", "medium", "expert", "medium-expert"], 5),
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--envs", nargs="+", default=list(PLAN))
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--scale", type=float, default=1.0, help="multiply the planned episode counts")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", default="docs/images/dataset_tiers.png")
    args = p.parse_args(argv)

    from stori_envs.datasets import build
    from stori_envs.datasets.builder import datasets_root
    from stori_envs.datasets.listing import catalogue

    root = datasets_root()
    emit(f"machine: {machine_description()}\ncommand: {command_line()}\nrevision: {git_revision()}\nroot: {root}")
    for env in args.envs:
        tiers, episodes = PLAN[env]
        for tier in tiers:
            name = f"stori/{env}/{tier}-v0"
            if (root / name).exists():
                continue
            r = build(name, episodes=max(1, int(episodes * args.scale)), seed=args.seed, workers=args.workers,
                      progress=True)
            emit(f"built {name}: {r['episodes']} episodes, {r['transitions']} transitions, {r['seconds']:.0f} s")
    rows = [r for r in catalogue(root) if r.get("complete") and r["dataset_id"].split("/")[1] in args.envs
            and r["dataset_id"].count("/") == 2]
    emit("\n| dataset | episodes | transitions | MB | return mean ± std | normalised | cost mean | ref min / max |")
    emit("|---|---|---|---|---|---|---|---|")
    for r in rows:
        ret = r["returns"]
        norm = 100 * (ret["mean"] - r["ref_min_score"]) / (r["ref_max_score"] - r["ref_min_score"])
        cost = f"{r['costs']['mean']:.2f}" if r.get("costs") else "-"
        emit(f"| {r['dataset_id']} | {r['episodes']} | {r['transitions']} | {r['size_bytes'] / 1e6:.1f} | "
              f"{ret['mean']:.1f} ± {ret['std']:.1f} | {norm:.0f} | {cost} | "
              f"{r['ref_min_score']:.1f} / {r['ref_max_score']:.1f} |")
    _plot(rows, Path(args.plot))
    return 0


ORDER = ("random", "random-medium", "random-expert", "unsafe", "mixed", "medium-replay", "medium", "clinician",
         "medium-expert", "expert")


def _order(dataset_id: str) -> int:
    tier = dataset_id.rsplit("/", 1)[-1].removesuffix("-v0")
    return max((i for i, t in enumerate(ORDER) if tier == t or tier.startswith(t + "-")), default=len(ORDER))


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = sorted({r["dataset_id"].split("/")[1] for r in rows})
    if not envs:
        return
    fig, axes = plt.subplots(1, len(envs), figsize=(3.2 * len(envs), 3.4), squeeze=False)
    for ax, env in zip(axes[0], envs):
        mine = sorted((r for r in rows if r["dataset_id"].split("/")[1] == env), key=lambda r: _order(r["dataset_id"]))
        names = [r["dataset_id"].split("/")[-1].removesuffix("-v0") for r in mine]
        norm = [100 * (r["returns"]["mean"] - r["ref_min_score"]) / (r["ref_max_score"] - r["ref_min_score"])
                for r in mine]
        ax.bar(range(len(mine)), norm, color="tab:blue")
        ax.set_xticks(range(len(mine)), names, rotation=60, ha="right", fontsize=7)
        ax.set_title(env, fontsize=9)
        ax.set_ylabel("normalised return (0 random, 100 expert)", fontsize=7)
        if mine[0].get("costs"):
            ax2 = ax.twinx()
            ax2.plot(range(len(mine)), [r["costs"]["mean"] for r in mine], "o", color="tab:red")
            ax2.set_ylabel("episode cost", color="tab:red", fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    raise SystemExit(main())
