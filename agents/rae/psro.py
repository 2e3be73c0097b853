"""PSRO with a risk-averse meta-solver (PSRO-RAE) and its baselines (Nash-PSRO, uniform, FP, PRD, self-play).

The loop (ours; the paper's loop details are unknown):

1. Each seat starts with one policy (or ``symmetric=True`` keeps one population for both seats of a
   symmetric game). Every seat owns its member objects (copies, also of the caller's initial policies):
   a member with state (a random policy's generator) is never played by two seats at once.
2. Meta-game: every joint profile of population members is played ``episodes_per_cell`` times; episode
   seeds derive from (run seed, member indices, episode index), so cells are reproducible and only new
   cells are evaluated when a population grows. Per cell and agent: mean, variance, CVaR, catastrophe rate.
3. Meta-solver on the mean tables: ``"rae"`` = RAE fictitious play from uniform (RAE, mean-variance
   formulation of ``stori_envs``), ``"nash"`` (explicit selection), ``"uniform"``, ``"fp"``, ``"prd"``,
   ``"self_play"`` (latest member).
4. Oracle: a best response of each seat against opponents drawn per episode from the meta-strategy
   (:mod:`agents.rae.oracles`; optionally penalising return variance). All seats respond to the same
   populations and meta-strategies; the new members join only after every seat has responded.
5. Stop after ``max_iters``, when the oracle returns a member again (behaviourally identical), or when for
   two consecutive iterations every seat's improvement U(new) - U(sigma) in the extended meta-game is below
   ``eps_stop``.

A checkpoint (JSON plus numeric arrays in one ``.npz``, written atomically after each iteration; see
:mod:`agents.rae.checkpoint`) lets :meth:`PSRO.resume` continue a run; because every iteration's
randomness derives from (seed, iteration), a resumed run equals an uninterrupted one. Nothing is
unpickled: a crafted checkpoint is refused, never executed.

Design note: the meta-level variance RAE penalises is between members' conditional means; it ignores the
randomness inside a stochastic member, while a ``mean_variance`` oracle penalises total return variance.
The oracle's objective changes which equilibrium PSRO reaches: report it with every result.
"""

from __future__ import annotations

import copy
import itertools
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.rae.baselines import solve
from agents.rae.checkpoint import load_archive, policy_from_dict, policy_to_dict, save_archive
from agents.rae.normal_form import _Game, _per_player, rae_fictitious_play, rae_gap
from agents.rae.oracles import Opponents
from agents.rae.threads import bounded_blas
from stori_envs.multiagent.policies import run_episode

logger = logging.getLogger(__name__)

META_SOLVERS = ("rae", "nash", "uniform", "fp", "prd", "self_play")


@dataclass(frozen=True)
class PSROConfig:
    """Settings of one PSRO run (saved with its checkpoint)."""

    meta_solver: str = "rae"
    gamma: float = 0.1
    tau: float = 0.0
    meta_iters: int = 2000
    nash_select: str = "max_welfare"
    episodes_per_cell: int = 20
    max_iters: int = 20
    eps_stop: float = 1e-3
    symmetric: bool = False
    cvar_alpha: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.meta_solver not in META_SOLVERS:
            raise ValueError(f"meta_solver: got {self.meta_solver!r}; allowed: " + ", ".join(map(repr, META_SOLVERS)))
        for name in ("meta_iters", "episodes_per_cell", "max_iters"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: got {v!r}; allowed: an integer >= 1")
        for name in ("gamma", "tau", "eps_stop"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 <= v < float("inf")):
                raise ValueError(f"{name}: got {v!r}; allowed: a finite number >= 0")
        if not 0 < self.cvar_alpha <= 1:
            raise ValueError(f"cvar_alpha: got {self.cvar_alpha!r}; allowed: a number in (0, 1]")

    @property
    def solver_gamma(self) -> float:
        """The risk weight of the meta-level utility (0 unless the meta-solver is RAE)."""
        return self.gamma if self.meta_solver == "rae" else 0.0

    @property
    def solver_tau(self) -> float:
        return self.tau if self.meta_solver == "rae" else 0.0


@dataclass
class Cell:
    """Evaluation of one joint profile of members: raw returns (episodes x agents) and catastrophe flags."""

    returns: np.ndarray
    catastrophe: np.ndarray

    def mean(self) -> np.ndarray:
        return self.returns.mean(axis=0)


@dataclass
class IterationRecord:
    iteration: int
    sigma: list[np.ndarray]
    population_sizes: list[int]
    rae_conv: float
    nash_conv: float
    improvement: list[float]
    oracle_curves: dict[str, list[tuple[int, float]]]
    seconds: float


@dataclass
class PSROResult:
    """Populations, meta-strategies per iteration, meta-game tables and diagnostics of a PSRO run."""

    config: PSROConfig
    oracle: str
    populations: list[list[Any]]
    sigma: list[np.ndarray]
    tables: list[np.ndarray]
    history: list[IterationRecord]
    stop_reason: str
    wall_time: float

    @property
    def rae_conv(self) -> float:
        return self.history[-1].rae_conv

    @property
    def nash_conv(self) -> float:
        return self.history[-1].nash_conv


def effective_action_distribution(members: Sequence[Any], sigma: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """The mixture of the members' action distributions at ``obs`` (a matrix game's effective strategy)."""
    return sum(s * np.asarray(m.action_probs(obs), dtype=float) for m, s in zip(members, sigma))


class PSRO:
    """Policy-Space Response Oracles on a PettingZoo parallel game.

    Args:
        env_fn: builds a fresh environment (called for evaluation and by oracles).
        initial: the initial policy of each seat (a list, one per agent) or, with ``symmetric=True``, of
            the shared population (a single policy or a one-element list). PSRO plays copies of them.
        oracle: an object with ``best_response(env_fn, seat, opponents, seed) -> OracleResult``.
        config: :class:`PSROConfig`.
        checkpoint: path of the checkpoint written after every iteration (None: no checkpoint).
    """

    def __init__(self, env_fn: Callable[[], Any], initial, oracle, config: PSROConfig = PSROConfig(),
                 checkpoint: str | os.PathLike | None = None) -> None:
        self.env_fn, self.oracle, self.config = env_fn, oracle, config
        self.checkpoint = None if checkpoint is None else Path(checkpoint)
        self._env = env_fn()
        self.agents = list(self._env.possible_agents)
        n = len(self.agents)
        if config.symmetric:
            if n != 2:
                raise ValueError(f"symmetric: got True for a {n}-player game; allowed: two-player games")
            first = initial[0] if isinstance(initial, (list, tuple)) else initial
            self.populations = _seat_copies([first], 2)
        else:
            if not isinstance(initial, (list, tuple)) or len(initial) != n:
                raise ValueError(f"initial: got {initial!r}; allowed: one policy per agent ({n})")
            self.populations = [[copy.deepcopy(p)] for p in initial]
        self.cells: dict[tuple[int, ...], Cell] = {}
        self.history: list[IterationRecord] = []
        self.sigma: list[np.ndarray] = []
        self.iteration = 0
        self.stop_reason = ""
        self._small_improvements = 0
        self._elapsed = 0.0

    # --------------------------------------------------------------------------------------- meta-game
    def _evaluate_cells(self) -> None:
        cfg = self.config
        for profile in itertools.product(*(range(len(p)) for p in self.populations)):
            if profile in self.cells:
                continue
            policies = {a: self.populations[i][m] for i, (a, m) in enumerate(zip(self.agents, profile))}
            rets = np.zeros((cfg.episodes_per_cell, len(self.agents)))
            cats = np.zeros((cfg.episodes_per_cell, len(self.agents)), dtype=bool)
            for e in range(cfg.episodes_per_cell):
                ep = run_episode(self._env, policies, np.random.SeedSequence(cfg.seed, spawn_key=(*profile, e)))
                rets[e] = [ep.returns[a] for a in self.agents]
                cats[e] = [ep.catastrophe[a] for a in self.agents]
            self.cells[profile] = Cell(rets, cats)

    def tables(self) -> list[np.ndarray]:
        """Mean-return tables, one per agent, of shape (|pop_0|, ..., |pop_{N-1}|)."""
        shape = tuple(len(p) for p in self.populations)
        out = [np.zeros(shape) for _ in self.agents]
        for profile in itertools.product(*(range(k) for k in shape)):
            means = self.cells[profile].mean()
            for i in range(len(self.agents)):
                out[i][profile] = means[i]
        if self.config.symmetric:  # average the two seats' estimates of the same matchups
            m = 0.5 * (out[0] + out[1].T)
            out = [m, m.T.copy()]
        return out

    def cell_statistic(self, name: str) -> list[np.ndarray]:
        """Per-agent tables of a cell statistic: ``"variance"`` (ddof 0), ``"cvar"`` or ``"catastrophe"``."""
        shape = tuple(len(p) for p in self.populations)
        out = [np.zeros(shape) for _ in self.agents]
        k = max(1, int(np.ceil(self.config.cvar_alpha * self.config.episodes_per_cell)))
        for profile in itertools.product(*(range(s) for s in shape)):
            cell = self.cells[profile]
            for i in range(len(self.agents)):
                if name == "variance":
                    out[i][profile] = cell.returns[:, i].var()
                elif name == "cvar":
                    out[i][profile] = np.sort(cell.returns[:, i])[:k].mean()
                elif name == "catastrophe":
                    out[i][profile] = cell.catastrophe[:, i].mean()
                else:
                    raise ValueError(f"name: got {name!r}; allowed: 'variance', 'cvar', 'catastrophe'")
        return out

    def _solve(self, tables: list[np.ndarray]) -> list[np.ndarray]:
        cfg = self.config
        if cfg.meta_solver == "rae":
            return rae_fictitious_play(tables, cfg.gamma, cfg.tau, iters=cfg.meta_iters, tol=0.0).profile
        if cfg.meta_solver == "self_play":
            return [np.eye(t.shape[i])[-1] for i, t in enumerate(tables)]
        if cfg.meta_solver == "nash":
            algorithm = "support_enumeration" if max(tables[0].shape) <= 6 else "lemke_howson_enumeration"
            kw = {"symmetric": True} if cfg.symmetric else {"algorithm": algorithm}
            return solve(tables, "nash", select=cfg.nash_select, **kw).profile
        if cfg.meta_solver == "fp":
            return solve(tables, "fp", iters=cfg.meta_iters, tol=0.0).profile
        if cfg.meta_solver == "prd":
            return solve(tables, "prd").profile
        return solve(tables, "uniform").profile

    def _utility(self, tables: list[np.ndarray], sigma: list[np.ndarray], i: int, x: np.ndarray) -> float:
        game = _Game(tables)
        g = _per_player("gamma", self.config.solver_gamma, 1)[0]
        return game.utility(i, x, game.y(sigma, i), g, self.config.solver_tau, "opponent")

    # ------------------------------------------------------------------------------------------- loop
    def _seats(self) -> list[int]:
        return [0] if self.config.symmetric else list(range(len(self.agents)))

    @bounded_blas
    def step(self) -> bool:
        """One PSRO iteration; returns False once the run has stopped."""
        if self.stop_reason:
            return False
        start = time.perf_counter()
        cfg = self.config
        if not self.sigma:  # first call: evaluate the initial population and solve it
            self._evaluate_cells()
            self.sigma = self._solve(self.tables())
        if self.iteration >= cfg.max_iters:
            self.stop_reason = "max_iters"
            return False
        t = self.iteration
        curves, responses, added = {}, {}, []
        # Every seat responds to the current populations and sigma (an Opponents snapshot each); adding a
        # response before the next seat's oracle ran would pair a grown population with the old sigma.
        for i in self._seats():
            seat = self.agents[i]
            opp = Opponents({self.agents[j]: (self.populations[j], self.sigma[j])
                             for j in range(len(self.agents)) if j != i})
            result = self.oracle.best_response(self.env_fn, seat, opp, np.random.SeedSequence(cfg.seed,
                                                                                              spawn_key=(t, i, 1)))
            curves[seat], responses[i] = result.curve, result.policy
        for i, policy in responses.items():
            if any(policy == member for member in self.populations[i]):
                logger.info("iteration %d: %s's best response repeats a member", t + 1, self.agents[i])
                continue
            self._add(i, policy)
            added.append(i)
        self.iteration += 1
        if not added:
            self.stop_reason = "repeat"
            self._record(t + 1, [0.0] * len(self._seats()), curves, start)
            self._save()
            return False
        self._evaluate_cells()
        tables = self.tables()
        improvement = []
        for i in self._seats():
            padded = [np.append(s, np.zeros(len(self.populations[j]) - len(s))) for j, s in enumerate(self.sigma)]
            new = np.eye(len(self.populations[i]))[-1]
            improvement.append(self._utility(tables, padded, i, new) - self._utility(tables, padded, i, padded[i])
                               if i in added else 0.0)
        self.sigma = self._solve(tables)
        self._record(t + 1, improvement, curves, start)
        if max(improvement) < cfg.eps_stop:
            self._small_improvements += 1
        else:
            self._small_improvements = 0
        if self._small_improvements >= 2:
            self.stop_reason = "no_improvement"
        elif self.iteration >= cfg.max_iters:
            self.stop_reason = "max_iters"
        self._save()
        return not self.stop_reason

    def _add(self, i: int, policy: Any) -> None:
        """Add a best response to seat ``i`` (symmetric: a copy of it to the other seat too)."""
        self.populations[i].append(policy)
        if self.config.symmetric:
            self.populations[1 - i].append(copy.deepcopy(policy))

    def _record(self, iteration: int, improvement: list[float], curves: dict, start: float) -> None:
        tables = self.tables()
        conv = float(rae_gap(tables, self.sigma, self.config.solver_gamma, self.config.solver_tau).sum())
        nash = float(rae_gap(tables, self.sigma, 0.0).sum())
        seconds = time.perf_counter() - start
        self._elapsed += seconds
        self.history.append(IterationRecord(iteration, [s.copy() for s in self.sigma],
                                            [len(p) for p in self.populations], conv, nash,
                                            [float(v) for v in improvement], curves, seconds))
        logger.info("iteration %d: populations %s, RAEConv %.3g, NashConv %.3g", iteration,
                    [len(p) for p in self.populations], conv, nash)

    def run(self, progress: Callable[[int, int], None] | None = None) -> PSROResult:
        """Iterate until a stopping rule fires; ``progress(iteration, max_iters)`` is called after each."""
        while self.step():
            if progress is not None:
                progress(self.iteration, self.config.max_iters)
        if progress is not None:
            progress(self.iteration, self.config.max_iters)
        return self.result()

    def result(self) -> PSROResult:
        if not self.sigma:
            self._evaluate_cells()
            self.sigma = self._solve(self.tables())
        describe = getattr(self.oracle, "describe", None)
        return PSROResult(self.config, describe() if describe else type(self.oracle).__name__,
                          [list(p) for p in self.populations], [s.copy() for s in self.sigma], self.tables(),
                          list(self.history), self.stop_reason or "running", self._elapsed)

    # ------------------------------------------------------------------------------------ checkpoints
    def _save(self) -> None:
        if self.checkpoint is None:
            return
        populations = self.populations[:1] if self.config.symmetric else self.populations
        profiles = sorted(self.cells)
        arrays: dict[str, np.ndarray] = {}
        for j, profile in enumerate(profiles):
            arrays[f"cells/{j}/returns"] = self.cells[profile].returns
            arrays[f"cells/{j}/catastrophe"] = self.cells[profile].catastrophe
        for i, s in enumerate(self.sigma):
            arrays[f"sigma/{i}"] = s
        meta = {
            "config": asdict(self.config),
            "populations": [[policy_to_dict(p) for p in pop] for pop in populations],
            "cells": [list(p) for p in profiles],
            "n_sigma": len(self.sigma),
            "history": [{**asdict(r), "sigma": [s.tolist() for s in r.sigma],
                         "oracle_curves": {k: [list(pt) for pt in v] for k, v in r.oracle_curves.items()}}
                        for r in self.history],
            "iteration": self.iteration, "stop_reason": self.stop_reason,
            "small_improvements": self._small_improvements, "elapsed": self._elapsed,
        }
        save_archive(self.checkpoint, meta, arrays)

    @classmethod
    def resume(cls, checkpoint: str | os.PathLike, env_fn: Callable[[], Any], oracle,
               config: PSROConfig | None = None) -> PSRO:
        """Continue a run from its checkpoint (``config`` may only raise ``max_iters``).

        The checkpoint is JSON plus numeric arrays (:mod:`agents.rae.checkpoint`); a file holding a pickle
        or object arrays is refused with a ``ValueError`` and never executed.
        """
        meta, arrays = load_archive(checkpoint)
        try:
            saved = PSROConfig(**meta["config"])
            populations = [[policy_from_dict(p) for p in pop] for pop in meta["populations"]]
            cells = {tuple(int(m) for m in p): Cell(arrays[f"cells/{j}/returns"], arrays[f"cells/{j}/catastrophe"])
                     for j, p in enumerate(meta["cells"])}
            sigma = [arrays[f"sigma/{i}"] for i in range(meta["n_sigma"])]
            history = [IterationRecord(**{**r, "sigma": [np.asarray(s, dtype=float) for s in r["sigma"]],
                                          "oracle_curves": {k: [tuple(pt) for pt in v]
                                                            for k, v in r["oracle_curves"].items()}})
                       for r in meta["history"]]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"checkpoint: got {str(checkpoint)!r} with incomplete PSRO state ({exc!r}); allowed: a "
                             "checkpoint written by PSRO") from None
        if config is not None:
            if asdict(config) | {"max_iters": saved.max_iters} != asdict(saved):
                raise ValueError(f"config: got {config!r}; allowed: the checkpoint's config {saved!r} "
                                 "(only max_iters may change)")
            saved = config
        run = cls.__new__(cls)
        run.env_fn, run.oracle, run.config = env_fn, oracle, saved
        run.checkpoint = Path(checkpoint)
        run._env = env_fn()
        run.agents = list(run._env.possible_agents)
        # A symmetric game keeps one population, each seat its own copies of the members.
        run.populations = _seat_copies(populations[0], 2) if saved.symmetric else populations
        run.cells, run.sigma, run.history = cells, sigma, history
        run.iteration, run.stop_reason = int(meta["iteration"]), str(meta["stop_reason"])
        run._small_improvements, run._elapsed = int(meta["small_improvements"]), float(meta["elapsed"])
        if run.stop_reason == "max_iters" and run.iteration < saved.max_iters:
            run.stop_reason = ""
        return run


def _seat_copies(members: Sequence[Any], seats: int) -> list[list[Any]]:
    """``seats`` lists of independent copies of ``members`` (a seat never plays another seat's object)."""
    return [[copy.deepcopy(m) for m in members] for _ in range(seats)]


__all__ = ["META_SOLVERS", "PSRO", "PSROConfig", "PSROResult", "effective_action_distribution"]
