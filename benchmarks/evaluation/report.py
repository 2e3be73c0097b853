"""Leaderboards from a results store: a rich terminal table, Markdown, and a static HTML page with plots.

:func:`build_boards` reads the store and computes, per environment of each suite: the score matrix
``(runs, variants)`` of every agent (mean return over a run's evaluation episodes), normalised by the
env's ``score_range`` (else per variant by the lowest and highest agent means), the aggregates with
stratified bootstrap intervals, the probability of improving on ``random``, the robustness gap per
type and the risk per type. Agents rank by IQM of the normalised score. All resampling uses one
generator seeded by ``seed`` (same store, same report).

The files written by :func:`write_report` into the results folder: ``report.md``, ``index.html``,
``scores.png`` (score per type per agent with 95 % intervals), ``robustness.png`` (gap to 3.1 per
type), ``profiles.png`` (performance profiles over types and runs) and ``return_cost.png`` (return
against safety cost per type).
"""

from __future__ import annotations

import html
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.evaluation import stats
from benchmarks.evaluation.store import Store

REFERENCE = "random"


@dataclass
class Row:
    agent: str
    runs: int
    aggregates: dict[str, tuple[float, float, float]]
    per_variant: list[tuple[float, float, float]]  # normalised mean and interval per variant
    raw_mean: list[float]
    cost: float
    crash_rate: float
    improvement: tuple[float, float, float] | None = None
    gaps: list[tuple[float, float, float]] | None = None


@dataclass
class Board:
    suite: str
    env: str
    variants: list[tuple[str, str]]  # (name, type)
    score_range: tuple[float, float] | None
    rows: list[Row] = field(default_factory=list)
    risk: dict[tuple[str, str], stats.Risk] = field(default_factory=dict)
    mean_cost: dict[tuple[str, str], float] = field(default_factory=dict)
    mean_return: dict[tuple[str, str], float] = field(default_factory=dict)
    profiles: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    taus: np.ndarray | None = None
    episodes: int = 0
    incomplete: list[str] = field(default_factory=list)

    @property
    def base(self) -> int | None:
        return next((i for i, (_, t) in enumerate(self.variants) if t == "3.1"), None)


def _suite_configs(store: Store) -> dict[str, dict[str, Any]]:
    """The latest recorded config of each suite in the store."""
    return {run["suite"]: json.loads(run["suite_config"]) for run in store.runs()}


def build_boards(store: Store, seed: int = 0, reps: int = 2000) -> list[Board]:
    """Every (suite, env) leaderboard of the store (see the module docstring)."""
    rng = np.random.default_rng(seed)
    configs = _suite_configs(store)
    episodes = store.episodes()
    boards = []
    for suite_name, config in configs.items():
        for env in config["envs"]:
            rows = [e for e in episodes if e["suite"] == suite_name and e["env"] == env["name"]]
            if rows:
                boards.append(_board(suite_name, config, env, rows, rng, reps))
    return boards


def _board(suite: str, config: dict[str, Any], env: dict[str, Any], rows: list[dict[str, Any]],
           rng: np.random.Generator, reps: int) -> Board:
    variants = [(v["name"], v["type"]) for v in env["variants"]]
    names = [v for v, _ in variants]
    agents = [a["label"] for a in config["agents"] if a.get("envs") is None or env["name"] in a["envs"]]
    agents = [a for a in agents if any(r["agent"] == a for r in rows)]
    seeds = sorted({r["seed"] for r in rows})
    board = Board(suite, env["name"], variants, tuple(env["score_range"]) if env.get("score_range") else None)
    grouped: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in rows:
        grouped.setdefault((r["agent"], r["variant"], r["seed"]), []).append(r)
    board.episodes = max((len(v) for v in grouped.values()), default=0)
    raw = {a: np.full((len(seeds), len(names)), np.nan) for a in agents}
    for (agent, variant, seed), eps in grouped.items():
        if agent in raw and variant in names:
            raw[agent][seeds.index(seed), names.index(variant)] = np.mean([e["ret"] for e in eps])
    for agent in agents:
        for variant in names:
            eps = [e for s in seeds for e in grouped.get((agent, variant, s), [])]
            if eps:
                board.risk[(agent, variant)] = stats.risk(np.asarray([e["ret"] for e in eps]),
                                                          np.asarray([e["cost"] for e in eps]),
                                                          np.asarray([e["crash"] for e in eps]))
                board.mean_cost[(agent, variant)] = board.risk[(agent, variant)].cost
                board.mean_return[(agent, variant)] = board.risk[(agent, variant)].mean
    if board.score_range is not None:
        lows = np.full(len(names), board.score_range[0])
        highs = np.full(len(names), board.score_range[1])
    else:  # per variant: the lowest and the highest agent mean
        means = np.asarray([[np.nanmean(raw[a][:, j]) if not np.isnan(raw[a][:, j]).all() else np.nan
                             for j in range(len(names))] for a in agents])
        lows, highs = np.nanmin(means, axis=0), np.nanmax(means, axis=0)
        highs = np.where(highs > lows, highs, lows + 1.0)
    norm = {a: (raw[a] - lows) / (highs - lows) for a in agents}
    complete = {}
    for agent in agents:
        keep = ~np.isnan(norm[agent]).any(axis=1)
        if keep.sum() < len(seeds):
            board.incomplete.append(agent)
        if keep.any():
            complete[agent] = norm[agent][keep]
    aggregates = stats.aggregate_intervals(complete, rng, reps)
    top = max((float(np.max(s)) for s in complete.values()), default=1.0)
    board.taus = np.linspace(min(0.0, min((float(np.min(s)) for s in complete.values()), default=0.0)),
                             max(1.0, top), 41)
    for agent, scores in complete.items():
        per_variant = [stats.interval_estimate(scores[:, [j]], stats.aggregate_mean, rng, reps)
                       for j in range(len(names))]
        costs = [board.mean_cost.get((agent, v), 0.0) for v in names]
        crashes = [board.risk[(agent, v)].crash_rate for v in names if (agent, v) in board.risk]
        intervals = [(float(p), float(lo), float(hi)) for p, lo, hi in per_variant]
        row = Row(agent, len(scores), aggregates[agent], intervals,
                  [float(np.nanmean(raw[agent][:, j])) for j in range(len(names))], float(np.mean(costs)),
                  float(np.mean(crashes)) if crashes else 0.0)
        if board.base is not None:
            row.gaps = stats.robustness_gap(scores, board.base, rng, reps)
        board.profiles[agent] = stats.performance_profile(scores, board.taus, rng, reps)
        board.rows.append(row)
    if REFERENCE in complete:
        for row in board.rows:
            if row.agent != REFERENCE:
                row.improvement = stats.probability_of_improvement_interval(complete[row.agent], complete[REFERENCE],
                                                                            rng, reps)
    board.rows.sort(key=lambda r: -r.aggregates["iqm"][0])
    return board


# -- text forms ------------------------------------------------------------------------------------
def _ci(value: tuple[float, float, float], digits: int = 2) -> str:
    p, lo, hi = value
    return f"{p:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _title(board: Board) -> str:
    scale = (f"score_range {board.score_range[0]:g}..{board.score_range[1]:g}" if board.score_range
             else "per-variant min-max over agents")
    return (f"{board.suite} / {board.env}: normalised score ({scale}), {board.rows[0].runs if board.rows else 0} "
            f"runs x {board.episodes} episodes per variant, 95% stratified bootstrap CIs")


def leaderboard_rows(board: Board) -> tuple[list[str], list[list[str]]]:
    header = ["rank", "agent", "IQM", "mean", "median", "P(> random)"] + [f"{n} [{t}]" for n, t in board.variants] \
        + ["cost/ep", "crash"]
    body = []
    for rank, row in enumerate(board.rows, 1):
        body.append([str(rank), row.agent, _ci(row.aggregates["iqm"]), _ci(row.aggregates["mean"]),
                     f"{row.aggregates['median'][0]:.2f}", _ci(row.improvement) if row.improvement else "-"]
                    + [f"{p:.2f} ({raw:.1f})" for (p, _, _), raw in zip(row.per_variant, row.raw_mean)]
                    + [f"{row.cost:.2f}", f"{row.crash_rate:.0%}"])
    return header, body


def risk_rows(board: Board) -> tuple[list[str], list[list[str]]]:
    header = ["agent", "variant", "type", "episodes", "mean return", "variance", "CVaR 5%", "CVaR 10%", "cost/ep",
              "crash rate", "gap to 3.1"]
    body = []
    for row in board.rows:
        for j, (name, vtype) in enumerate(board.variants):
            r = board.risk.get((row.agent, name))
            if r is None:
                continue
            gap = _ci(row.gaps[j]) if row.gaps is not None else "-"
            body.append([row.agent, name, vtype, str(r.episodes), f"{r.mean:.2f}", f"{r.variance:.2f}",
                         f"{r.cvar5:.2f}", f"{r.cvar10:.2f}", f"{r.cost:.2f}", f"{r.crash_rate:.0%}", gap])
    return header, body


def markdown(boards: list[Board], images: bool = True) -> str:
    from benchmarks.common import markdown_table

    parts = []
    for board in boards:
        header, body = leaderboard_rows(board)
        parts += [f"### {board.suite} / {board.env}", "", _title(board) + ". Per type: normalised mean (raw mean "
                  "return).", "", markdown_table(header, body), ""]
        header, body = risk_rows(board)
        parts += ["Risk per type (episodes of all runs pooled; gap = normalised score on 3.1 minus on the type):", "",
                  markdown_table(header, body), ""]
        if board.incomplete:
            parts += [f"Incomplete runs left out of the aggregates: {', '.join(board.incomplete)}.", ""]
    if images:
        parts += ["![scores per type](scores.png)", "", "![robustness gap](robustness.png)", "",
                  "![performance profiles](profiles.png)", "", "![return against cost](return_cost.png)", ""]
    return "\n".join(parts)


def print_boards(boards: list[Board], console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=None if sys.stdout.isatty() else 240)
    for board in boards:
        header, body = leaderboard_rows(board)
        table = Table(title=_title(board), title_justify="left")
        for i, column in enumerate(header):
            table.add_column(column, justify="left" if i in (1,) else "right", no_wrap=i < 6)
        for row in body:
            table.add_row(*row)
        console.print(table)


# -- plots -----------------------------------------------------------------------------------------
def _agent_colours(boards: list[Board]) -> dict[str, Any]:
    import matplotlib

    agents = list(dict.fromkeys(r.agent for b in boards for r in b.rows))
    cmap = matplotlib.colormaps["tab10"]
    return {a: cmap(i % 10) for i, a in enumerate(agents)}


def plot(boards: list[Board], out: Path) -> list[Path]:
    """Write the four figures (see the module docstring); returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = _agent_colours(boards)
    n = len(boards)
    paths = []

    def figure(name: str, draw, height: float = 3.8):
        fig, axes = plt.subplots(1, n, figsize=(max(6.0, 6.5 * n), height), squeeze=False)
        for ax, board in zip(axes[0], boards):
            draw(ax, board)
            ax.set_title(f"{board.suite} / {board.env}", fontsize=10)
        fig.tight_layout()
        path = out / name
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)

    def scores(ax, board: Board):
        x = np.arange(len(board.variants))
        width = 0.8 / max(len(board.rows), 1)
        for i, row in enumerate(board.rows):
            p = np.asarray([v[0] for v in row.per_variant])
            err = np.asarray([[v[0] - v[1] for v in row.per_variant], [v[2] - v[0] for v in row.per_variant]])
            ax.bar(x + i * width, p, width, yerr=err, capsize=2, label=row.agent, color=colours[row.agent])
        ax.set_xticks(x + width * (len(board.rows) - 1) / 2, [f"{n}\n[{t}]" for n, t in board.variants], fontsize=7)
        ax.set_ylabel("normalised score (95% CI)")
        ax.legend(fontsize=7)

    def robustness(ax, board: Board):
        x = np.arange(len(board.variants))
        for row in board.rows:
            if row.gaps is None:
                continue
            p = np.asarray([g[0] for g in row.gaps])
            err = np.asarray([[g[0] - g[1] for g in row.gaps], [g[2] - g[0] for g in row.gaps]])
            ax.errorbar(x, p, yerr=err, marker="o", capsize=3, label=row.agent, color=colours[row.agent])
        ax.axhline(0.0, color="grey", lw=0.8)
        ax.set_xticks(x, [f"{n}\n[{t}]" for n, t in board.variants], fontsize=7)
        ax.set_ylabel("robustness gap: score on 3.1 - on type")
        ax.legend(fontsize=7)

    def profiles(ax, board: Board):
        for agent, (p, lo, hi) in board.profiles.items():
            ax.plot(board.taus, p, label=agent, color=colours[agent])
            ax.fill_between(board.taus, lo, hi, alpha=0.2, color=colours[agent])
        ax.set_xlabel("normalised score tau")
        ax.set_ylabel("fraction of (type, run) scores > tau")
        ax.legend(fontsize=7)

    def return_cost(ax, board: Board):
        markers = "osD^v<>phX*"
        for row in board.rows:
            for j, (name, _) in enumerate(board.variants):
                if (row.agent, name) in board.mean_return:
                    ax.scatter(board.mean_cost[(row.agent, name)], board.mean_return[(row.agent, name)],
                               color=colours[row.agent], marker=markers[j % len(markers)],
                               label=row.agent if j == 0 else None)
        for j, (name, _) in enumerate(board.variants):
            ax.scatter([], [], color="grey", marker=markers[j % len(markers)], label=name)
        ax.set_xlabel("mean safety cost per episode (info['cost'])")
        ax.set_ylabel("mean return")
        ax.legend(fontsize=6, ncol=2)

    figure("scores.png", scores)
    figure("robustness.png", robustness)
    figure("profiles.png", profiles)
    figure("return_cost.png", return_cost)
    return paths


# -- HTML ------------------------------------------------------------------------------------------
def _html_table(header: list[str], body: list[list[str]], cls: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


_CSS = """body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:.6em 0 1.2em}
td,th{border:1px solid #ccc;padding:3px 7px;font-size:13px;text-align:right}th{background:#f0f0f0}
td:nth-child(2){text-align:left}img{max-width:100%;border:1px solid #eee;margin:.4em 0}
.meta{color:#555;font-size:13px}"""


def html_page(boards: list[Board], runs: list[dict[str, Any]], images: list[str]) -> str:
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>stori-envs leaderboard</title>",
             f"<style>{_CSS}</style></head><body><h1>stori-envs leaderboard</h1>"]
    if runs:
        last = runs[-1]
        parts.append(f"<p class='meta'>stori-envs {html.escape(last['version'])} (git {html.escape(last['git'])}); "
                     f"{html.escape(last['machine'])}; {len(runs)} run(s) into this store; last backend "
                     f"{html.escape(last['backend'])} with {last['workers']} worker(s).</p>")
    for board in boards:
        parts.append(f"<h2>{html.escape(board.suite)} / {html.escape(board.env)}</h2>")
        parts.append(f"<p class='meta'>{html.escape(_title(board))}. Per type: normalised mean (raw mean return).</p>")
        parts.append(_html_table(*leaderboard_rows(board), "leaderboard"))
        parts.append("<h3>Risk per type</h3>")
        parts.append(_html_table(*risk_rows(board), "risk"))
    parts.append("<h2>Plots</h2>")
    parts += [f"<img class='plot' src='{html.escape(name)}' alt='{html.escape(name)}'>" for name in images]
    # Marks how many plots decoded, so a headless browser test can tell that the images are really there.
    parts.append("<script>window.addEventListener('load',function(){document.body.setAttribute('data-plots',"
                 "Array.from(document.images).filter(function(i){return i.naturalWidth>0}).length)})</script>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(out: str | Path, html_page_too: bool = True, seed: int = 0, reps: int = 2000) -> list[Board]:
    """Compute the boards of the store in ``out`` and write ``report.md`` (and the HTML page with plots)."""
    out = Path(out)
    store = Store(out, create=False)
    try:
        boards = build_boards(store, seed=seed, reps=reps)
        runs = store.runs()
    finally:
        store.close()
    if not boards:
        raise ValueError(f"{out}: got a store without finished cells; allowed: a store with results "
                         "(`stori-envs bench run`)")
    images = [p.name for p in plot(boards, out)] if html_page_too else []
    (out / "report.md").write_text(markdown(boards, images=bool(images)) + "\n", encoding="utf-8")
    if html_page_too:
        (out / "index.html").write_text(html_page(boards, runs, images), encoding="utf-8")
    return boards


def ranking(board: Board) -> list[str]:
    return [r.agent for r in board.rows]


__all__ = ["Board", "build_boards", "markdown", "print_boards", "ranking", "write_report"]
