"""Calibration of MedSepsis over 1,000 held-out patients: mortality, returns and costs per behaviour policy.

Every policy meets the same patients (same seeds, common random numbers). Writes two figures under
``docs/images/`` (the per-policy calibration bars and one patient's trajectory under each policy)
and prints the Markdown tables used in ``docs/medical.md``. ``--write-constants`` first regenerates
``stori_envs/medical/calibrated.py`` (discrete dose levels, clinician cost means, admission medians)
from clinician rollouts on the dataset seed range, which is disjoint from the evaluation range.

    python -m benchmarks.medical_calibration                    # ~1 min on one core
    python -m benchmarks.medical_calibration --write-constants  # after changing the physiology or the policy
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from benchmarks.common import command_line, emit, machine_description, markdown_table
from stori_envs.medical import calibrated
from stori_envs.medical.config import COST_NAMES, MEASURED, OBS
from stori_envs.medical.discrete import fit_dose_levels
from stori_envs.medical.env import MedSepsisEnv
from stori_envs.medical.policies import ClinicianPolicy, evaluate, make_policy, rollout

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
CONSTANTS_FILE = ROOT / "stori_envs" / "medical" / "calibrated.py"
#: Seeds of the constants (the "dataset" range) and of the evaluation patients: disjoint ranges.
DATASET_SEED_BASE = 0
EVAL_SEED_BASE = 1_000_000
POLICIES = ("random", "clinician", "expert", "unsafe", "mixed", "permissive")
COLORS = {"random": "tab:gray", "clinician": "tab:blue", "expert": "tab:green", "unsafe": "tab:red",
          "mixed": "tab:purple", "permissive": "tab:orange"}


def build_policy(name: str, seed: int, dt_hours: int = 4):
    """A tier, or ``permissive``: the clinician without vasopressors (the reward/safety trade-off reference)."""
    if name == "permissive":
        return ClinicianPolicy(seed=seed, dt_hours=dt_hours, name="permissive", vaso_cap=0.0)
    return make_policy(name, seed=seed, dt_hours=dt_hours)


def constants(n: int, progress) -> dict:
    """Dose levels, clinician cost means (4-h/72-h and 1-h/48-h configs) and admission medians."""
    seeds = range(DATASET_SEED_BASE, DATASET_SEED_BASE + n)
    env = MedSepsisEnv()
    res = evaluate(env, build_policy("clinician", 0), seeds, progress)
    actions = np.concatenate([e.actions for e in res["episodes"]])
    fractions = (actions.astype(np.float64) + 1.0) * 0.5
    admission = np.asarray([e.observations[0][:len(MEASURED)] for e in res["episodes"]])
    hourly = MedSepsisEnv(preset="ogsrl_hypotension")
    res1 = evaluate(hourly, build_policy("clinician", 0, dt_hours=1), seeds, progress)
    return {
        "fluid": fit_dose_levels(fractions[:, 0]),
        "vaso": fit_dose_levels(fractions[:, 1]),
        "costs": {4: tuple(res["episode_component_costs"][k] for k in COST_NAMES),
                  1: tuple(res1["episode_component_costs"][k] for k in COST_NAMES)},
        "medians": tuple(float(v) for v in np.median(admission, axis=0)),
    }


def write_constants(values: dict) -> None:
    fmt = lambda xs: "(" + ", ".join(f"{x:.4g}" for x in xs) + ")"  # noqa: E731
    text = CONSTANTS_FILE.read_text()
    head = text[:text.index("# Discrete dose levels")]
    body = f"""# Discrete dose levels (fractions of the maximum dose; ICU-Sepsis layout): edges between levels 1-4 are
# the quartiles of the clinician's non-zero doses, level values the medians inside each quartile.
FLUID_EDGES = {fmt(values["fluid"][0])}
FLUID_LEVELS = {fmt(values["fluid"][1])}
VASO_EDGES = {fmt(values["vaso"][0])}
VASO_LEVELS = {fmt(values["vaso"][1])}

# Clinician tier: mean number of steps per episode on which each cost component is active
# (order of COST_NAMES), for the 4-h/72-h default and the 1-h/48-h ogsrl_hypotension preset.
# cost_limit = sum_k w_k * mean_k.
CLINICIAN_EPISODE_COSTS = {{
    (4, 72): {fmt(values["costs"][4])},
    (1, 48): {fmt(values["costs"][1])},
}}

# Admission medians of the charted features (MAP, HR, SpO2, lactate, urine, creatinine): the value
# carried forward before a feature's first measurement under type 3.2.
ADMISSION_MEDIANS = {fmt(values["medians"])}
"""
    CONSTANTS_FILE.write_text(head + body)


def summary_rows(results: dict) -> list[list]:
    rows = []
    for name, r in results.items():
        se = r["returns"].std(ddof=1) / np.sqrt(len(r["returns"]))
        cse = r["costs"].std(ddof=1) / np.sqrt(len(r["costs"]))
        rows.append([name, f"{100 * r['mortality']:.1f} %", f"{100 * r['discharge']:.1f} %", f"{r['length']:.1f}",
                     f"{r['return']:.2f} ± {se:.2f}", f"{r['cost']:.2f} ± {cse:.2f}"]
                    + [f"{100 * r['component_rates'][k]:.1f}" for k in COST_NAMES])
    return rows


def admission_rows(results: dict) -> list[list]:
    obs = np.asarray([e.observations[0] for e in results["clinician"]["episodes"]])
    rows = []
    for name in ("map", "lactate", "sofa", "hr", "spo2", "urine", "creatinine"):
        p5, p50, p95 = np.percentile(obs[:, OBS[name]], [5, 50, 95])
        rows.append([name, f"{p5:.1f}", f"{p50:.1f}", f"{p95:.1f}"])
    return rows


def plot_calibration(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    colors = [COLORS[n] for n in names]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    axes[0].bar(names, [100 * results[n]["mortality"] for n in names], color=colors)
    axes[0].axhspan(15, 25, color="tab:blue", alpha=0.12, label="clinician target 15-25 %")
    axes[0].set_ylabel("mortality (%)")
    axes[0].legend(fontsize=8)
    means = [results[n]["return"] for n in names]
    errs = [results[n]["returns"].std(ddof=1) / np.sqrt(len(results[n]["returns"])) for n in names]
    axes[1].bar(names, means, yerr=errs, color=colors, capsize=3)
    axes[1].set_ylabel("mean return (reward 'sofa')")
    axes[1].set_ylim(min(means) - 1.0, max(means) + 0.5)
    bottom = np.zeros(len(names))
    cmap = plt.get_cmap("tab10")
    for j, k in enumerate(COST_NAMES):
        vals = np.asarray([results[n]["episode_component_costs"][k] for n in names])
        axes[2].bar(names, vals, bottom=bottom, color=cmap(j), label=k)
        bottom += vals
    axes[2].set_ylabel("mean episode cost (steps)")
    axes[2].legend(fontsize=7, ncol=2)
    for ax in axes:
        ax.tick_params(axis="x", rotation=30)
    fig.suptitle(f"MedSepsis-v0 calibration over {len(results['clinician']['returns'])} held-out patients")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_trajectory(seed: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    env = MedSepsisEnv()
    panels = [("map", "MAP (mmHg)", 65.0), ("lactate", "lactate (mmol/L)", 2.0), ("spo2", "SpO2 (%)", 92.0),
              ("urine", "urine (mL/kg/h)", 0.5), ("fluid_balance", "fluid balance (L)", 5.0), ("sofa", "SOFA", None)]
    fig, axes = plt.subplots(2, 4, figsize=(15, 6.2))
    flat = axes.ravel()
    for name in POLICIES:
        policy = build_policy(name, seed)
        ep = rollout(env, policy, seed)
        hours = ep.observations[:, OBS["hours"]]
        label = name + (f" -> {policy.source}" if name == "mixed" else "") + f" ({ep.outcome or 'alive at 72 h'})"
        style = dict(color=COLORS[name], label=label, lw=1.6, ls=":" if name == "mixed" else "-")
        for ax, (feature, label, line) in zip(flat, panels):
            ax.plot(hours, ep.observations[:, OBS[feature]], **style)
            ax.set_title(label, fontsize=9)
            if line is not None:
                ax.axhline(line, color="k", lw=0.6, ls="--")
        step_hours = hours[:-1]
        flat[6].step(step_hours, (ep.actions[:, 0] + 1.0) * 1000.0, where="post", **style)
        flat[7].step(step_hours, (ep.actions[:, 1] + 1.0) * 0.5, where="post", **style)
    flat[6].set_title("IV fluid (mL per 4 h)", fontsize=9)
    flat[7].set_title("norepinephrine (µg/kg/min)", fontsize=9)
    for ax in flat[4:]:
        ax.set_xlabel("hours in ICU")
    flat[0].legend(fontsize=7)
    fig.suptitle(f"One MedSepsis patient (seed {seed}) under each policy (charted values; dashed: cost boundaries)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def icu_rows(episodes: int, progress) -> list[list] | None:
    """ICU-Sepsis reference values: exact DP return and Monte Carlo return, length and cost per policy."""
    try:
        from stori_envs.medical import icu
    except ModuleNotFoundError as exc:
        logger.warning("skipping the ICU-Sepsis table: %s", exc)
        return None
    env = icu.ICUSepsisCostEnv()
    rows = []
    for tier in ("random", "expert", "optimal"):
        table = icu.policy_matrix(tier)
        policy = icu.TabularPolicy(table, name=tier, seed=0)
        returns, lengths, costs = [], [], []
        obs, _ = env.reset(seed=0)
        for i in range(episodes):
            if i:
                obs, _ = env.reset()
            ret = length = cost = 0.0
            done = False
            while not done:
                action, _ = policy.act(obs)
                obs, r, terminated, truncated, info = env.step(action)
                ret, length, cost = ret + r, length + 1, cost + info["cost"]
                done = terminated or truncated or length >= icu.MAX_EPISODE_STEPS
            returns.append(ret)
            lengths.append(length)
            costs.append(cost)
            progress()
        rows.append([tier, f"{icu.policy_return(table):.4f}", f"{np.mean(returns):.3f}", f"{np.mean(lengths):.2f}",
                     f"{np.mean(costs):.3f}"])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000, help="held-out evaluation patients per policy")
    parser.add_argument("--write-constants", action="store_true", help="regenerate stori_envs/medical/calibrated.py")
    parser.add_argument("--constants-patients", type=int, default=5000)
    parser.add_argument("--icu-episodes", type=int, default=20_000, help="Monte Carlo episodes per ICU-Sepsis policy")
    parser.add_argument("--trajectory-seed", type=int, default=EVAL_SEED_BASE + 3)
    parser.add_argument("--images", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args(argv)

    from rich.progress import Progress

    args.images.mkdir(parents=True, exist_ok=True)
    with Progress() as bar:
        if args.write_constants:
            task = bar.add_task("constants (clinician, 4 h and 1 h)", total=2 * args.constants_patients)
            write_constants(constants(args.constants_patients, lambda: bar.advance(task)))
            emit(f"wrote {CONSTANTS_FILE.relative_to(ROOT)}; re-run without --write-constants to use them")
            return 0
        seeds = range(EVAL_SEED_BASE, EVAL_SEED_BASE + args.patients)
        env = MedSepsisEnv()
        results = {}
        for name in POLICIES:
            task = bar.add_task(f"MedSepsis-v0 {name}", total=args.patients)
            results[name] = evaluate(env, build_policy(name, 0), seeds, lambda t=task: bar.advance(t))
        task = bar.add_task("ICU-Sepsis Monte Carlo", total=3 * args.icu_episodes)
        icu = icu_rows(args.icu_episodes, lambda: bar.advance(task))

    plot_calibration(results, args.images / "medsepsis_calibration.png")
    plot_trajectory(args.trajectory_seed, args.images / "medsepsis_trajectory.png")
    clin = results["clinician"]
    emit(f"Machine: {machine_description()}\nCommand: `{command_line()}`\n")
    emit(f"### Per policy ({args.patients} held-out patients, seeds {EVAL_SEED_BASE}+; "
          "component columns: % of steps)\n")
    emit(markdown_table(["policy", "mortality", "discharged", "steps", "return", "episode cost"]
                         + [k for k in COST_NAMES], summary_rows(results)))
    emit("\n### Admission (clinician run; charted values)\n")
    emit(markdown_table(["feature", "5th pct", "median", "95th pct"], admission_rows(results)))
    emit(f"\nclinician cost_limit (default weights): {clin['cost']:.3f}; shipped: "
          f"{sum(calibrated.CLINICIAN_EPISODE_COSTS[(4, 72)]):.3f}")
    if icu is not None:
        emit(f"\n### ICU-Sepsis ({args.icu_episodes} Monte Carlo episodes per policy; cost = high_sofa)\n")
        emit(markdown_table(["policy", "exact DP return", "MC return", "MC length", "MC episode cost"], icu))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
