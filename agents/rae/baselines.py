"""Equilibrium baselines behind one call: ``solve(payoffs, method, **kw)``.

Every method returns an :class:`~agents.rae.normal_form.RAEResult` whose gaps are *measured* at the
returned profile (at the ``gamma``/``tau`` passed, 0 by default, and always ``nash_conv``), so RAE and its
baselines are compared on the same diagnostics.

===============  =========================================================================================
``"rae"``        RAE fictitious play (:func:`~agents.rae.normal_form.rae_fictitious_play`; its options, e.g.
                 ``step=0.1, polish=True`` for general-sum games, are passed through)
``"nash"``       2 players: nashpy (``algorithm`` = ``"support_enumeration"``, ``"vertex_enumeration"``,
                 ``"lemke_howson"`` with ``initial_dropped_label``, ``"lemke_howson_enumeration"``) or, with
                 ``symmetric=True``, our symmetric support enumeration; the equilibrium is chosen by an
                 explicit ``select``: ``"first"``, ``"max_welfare"``, ``"min_variance"`` (smallest sum of
                 V_opp), ``"risk_dominant"`` (2x2), ``"payoff_dominant"``. N >= 3 players: exact pure-NE
                 enumeration, else the FP average at gamma = 0 labelled "approximate NE".
``"fp"``         fictitious play, RAE-FP at gamma = tau = 0
``"uniform"``    uniform over every player's actions
``"prd"``        projected replicator dynamics (own numpy implementation)
===============  =========================================================================================

Example:
    >>> import numpy as np
    >>> from agents.rae.baselines import solve
    >>> A = np.array([[4.0, 0.0], [3.0, 3.0]])                  # stag hunt
    >>> solve([A, A.T], "nash", select="payoff_dominant").profile[0]
    array([1., 0.])
"""

from __future__ import annotations

import itertools
import logging
import warnings

import numpy as np

from agents.rae.best_response import project_simplex
from agents.rae.normal_form import (
    RAEResult,
    _choice,
    _Game,
    as_profile,
    harsanyi_selten_risk_dominant,
    make_result,
    rae_fictitious_play,
)
from agents.rae.threads import bounded_blas

logger = logging.getLogger(__name__)

METHODS = ("rae", "nash", "fp", "uniform", "prd")
SELECTIONS = ("first", "max_welfare", "min_variance", "risk_dominant", "payoff_dominant")
NASH_ALGORITHMS = ("support_enumeration", "vertex_enumeration", "lemke_howson", "lemke_howson_enumeration")


@bounded_blas
def solve(payoffs, method: str, **kw) -> RAEResult:
    """Solve a normal-form game with ``method`` (see the module table); keyword arguments go to the method.

    ``gamma``/``tau`` (default 0) are the risk weights at which gaps are reported for the non-RAE methods.
    """
    _choice("method", method, METHODS)
    game = _Game(payoffs)
    if method == "rae":
        return rae_fictitious_play(game.payoffs, **kw)
    gamma, tau, tol = kw.pop("gamma", 0.0), kw.pop("tau", 0.0), kw.pop("tol", 1e-3)
    if method == "fp":
        res = rae_fictitious_play(game.payoffs, 0.0, 0.0, tol=tol, **kw)
        return make_result(game, res.profile, gamma, tau, tol=tol, iterations=res.iterations, history=res.history,
                           method="fp")
    if method == "uniform":
        _no_kwargs("uniform", kw)
        return make_result(game, [np.full(k, 1.0 / k) for k in game.shape], gamma, tau, tol=tol, method="uniform")
    if method == "prd":
        profile, iters = projected_replicator_dynamics(game, **kw)
        return make_result(game, profile, gamma, tau, tol=tol, iterations=iters, method="prd")
    profile, note = nash_equilibrium(game, **kw)
    return make_result(game, profile, gamma, tau, tol=tol, method="nash", note=note)


def _no_kwargs(method: str, kw: dict) -> None:
    if kw:
        raise ValueError(f"{sorted(kw)[0]}: got {kw[sorted(kw)[0]]!r} for method {method!r}; allowed: no options")


# ------------------------------------------------------------------------------------------------------- Nash
def nash_equilibrium(game: _Game, select: str | None = None, algorithm: str = "support_enumeration",
                     initial_dropped_label: int = 0, symmetric: bool = False,
                     fp_iters: int = 5000) -> tuple[list[np.ndarray], str]:
    """One Nash equilibrium chosen by ``select`` among those ``algorithm`` finds; returns (profile, note)."""
    if select is None:
        raise ValueError("select: got None; allowed: " + ", ".join(map(repr, SELECTIONS))
                         + " (the equilibrium choice must be explicit: stag hunt has three)")
    _choice("select", select, SELECTIONS)
    _choice("algorithm", algorithm, NASH_ALGORITHMS)
    if game.n == 2:
        if symmetric:
            candidates = symmetric_equilibria(game)
            note = "symmetric support enumeration"
        else:
            candidates = _nashpy_equilibria(game, algorithm, initial_dropped_label)
            note = f"nashpy {algorithm}"
    else:
        candidates = pure_equilibria(game)
        note = "pure-NE enumeration"
        if not candidates:
            res = rae_fictitious_play(game.payoffs, 0.0, iters=fp_iters, tol=0.0)
            return res.profile, f"approximate NE (FP average, {fp_iters} iterations, NashConv {res.nash_conv:.3g})"
    if not candidates:
        raise ValueError(f"algorithm: got {algorithm!r}, which found no equilibrium on this (degenerate) game; "
                         "allowed: another algorithm, e.g. 'lemke_howson'")
    return _select(game, candidates, select), note


def _nashpy_equilibria(game: _Game, algorithm: str, label: int) -> list[list[np.ndarray]]:
    import nashpy

    g = nashpy.Game(game.payoffs[0], game.payoffs[1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if algorithm == "support_enumeration":
            eqs = list(g.support_enumeration())
        elif algorithm == "vertex_enumeration":
            eqs = list(g.vertex_enumeration())
        elif algorithm == "lemke_howson":
            eqs = [g.lemke_howson(initial_dropped_label=label)]
        else:
            eqs = list(g.lemke_howson_enumeration())
    for w in caught:
        logger.info("nashpy: %s", w.message)
    out = []
    for x, y in eqs:
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if x.shape == (game.shape[0],) and np.all(np.isfinite(x)) and np.all(np.isfinite(y)) \
                and np.all(x >= -1e-9) and np.all(y >= -1e-9):
            out.append([np.maximum(x, 0) / np.maximum(x, 0).sum(), np.maximum(y, 0) / np.maximum(y, 0).sum()])
    return out


def symmetric_equilibria(game: _Game, tol: float = 1e-9) -> list[list[np.ndarray]]:
    """Every symmetric equilibrium (x, x) of a symmetric two-player game with a nonsingular support system.

    Support enumeration with the same support for both players: 2^n - 1 linear systems instead of
    nashpy's (2^n - 1)^2, enough for meta-games of a dozen policies.
    """
    a, b = game.payoffs
    if a.shape[0] != a.shape[1] or not np.allclose(a, b.T, atol=1e-9 * (1 + np.abs(a).max())):
        raise ValueError("symmetric: got True for a game with B != A^T; allowed: symmetric=False")
    n = a.shape[0]
    found = []
    for k in range(1, n + 1):
        for sup in itertools.combinations(range(n), k):
            s = list(sup)
            m = np.zeros((k + 1, k + 1))
            m[:k, :k] = a[np.ix_(s, s)]
            m[:k, k] = -1.0
            m[k, :k] = 1.0
            rhs = np.zeros(k + 1)
            rhs[k] = 1.0
            try:
                sol = np.linalg.solve(m, rhs)
            except np.linalg.LinAlgError:
                continue
            xs, v = sol[:k], sol[k]
            if xs.min() < -tol:
                continue
            x = np.zeros(n)
            x[s] = np.maximum(xs, 0.0)
            x /= x.sum()
            if np.all(a @ x <= v + tol * (1 + abs(v))):
                found.append([x, x.copy()])
    return found


def pure_equilibria(game: _Game) -> list[list[np.ndarray]]:
    """Every pure Nash equilibrium of an N-player game (exact enumeration)."""
    out = []
    for joint in itertools.product(*(range(k) for k in game.shape)):
        stable = True
        for i in range(game.n):
            deviations = list(joint)
            deviations[i] = slice(None)  # every action of player i, the others fixed
            stable &= bool(game.payoffs[i][joint] >= game.payoffs[i][tuple(deviations)].max())
        if stable:
            out.append([np.eye(k)[a] for k, a in zip(game.shape, joint, strict=True)])
    return out


def _select(game: _Game, candidates: list[list[np.ndarray]], select: str) -> list[np.ndarray]:
    if select == "first":
        return candidates[0]
    if select == "risk_dominant":
        if game.shape != (2, 2):
            raise ValueError(f"select: got 'risk_dominant' for a game of shape {game.shape}; allowed: 2x2 games")
        rd = harsanyi_selten_risk_dominant(*game.payoffs)
        if rd is None:
            raise ValueError("select: got 'risk_dominant' for a game whose two equilibria tie; allowed: another rule")
        return [np.eye(2)[rd[0]], np.eye(2)[rd[1]]]
    scores = []
    for profile in candidates:
        stats = make_result(game, profile, method="score").stats
        if select == "max_welfare":
            scores.append(stats[:, 0].sum())
        elif select == "min_variance":
            scores.append(-stats[:, 1].sum())
        else:  # payoff_dominant: a profile no player prefers to change for another candidate
            scores.append(stats[:, 0].min())
    if select == "payoff_dominant":
        best = int(np.argmax(scores))
        stats_best = make_result(game, candidates[best], method="score").stats[:, 0]
        for profile in candidates:
            other = make_result(game, profile, method="score").stats[:, 0]
            if np.any(other > stats_best + 1e-12):
                raise ValueError("select: got 'payoff_dominant' but no equilibrium is best for every player; "
                                 "allowed: 'max_welfare' or another rule")
        return candidates[best]
    return candidates[int(np.argmax(scores))]


# -------------------------------------------------------------------------------------------------------- PRD
def projected_replicator_dynamics(game: _Game, iters: int = 100_000, dt: float = 1e-3, floor: float = 1e-6,
                                  init=None) -> tuple[list[np.ndarray], int]:
    """Projected replicator dynamics with an exploration floor (OpenSpiel's defaults), averaged iterate.

    Each step x_i <- proj_floor(x_i + dt * x_i * (mu_i - x_i.mu_i)); the returned profile is the time
    average, as OpenSpiel's PRD meta-solver returns.
    """
    x = [np.full(k, 1.0 / k) for k in game.shape] if init is None else [p.copy() for p in as_profile(init, game.shape)]
    avg = [np.zeros(k) for k in game.shape]
    for _ in range(iters):
        new = []
        for i in range(game.n):
            mu = game.flat[i] @ game.y(x, i)
            z = x[i] + dt * x[i] * (mu - x[i] @ mu)
            new.append(_project_floor(z, floor))
        x = new
        for i in range(game.n):
            avg[i] += x[i]
    return [a / a.sum() for a in avg], iters


def _project_floor(z: np.ndarray, floor: float) -> np.ndarray:
    """Projection onto {x : x >= floor, sum x = 1} (shifted simplex projection)."""
    n = z.shape[0]
    mass = 1.0 - n * floor
    return floor + mass * project_simplex((z - floor) / mass) if mass > 0 else np.full(n, 1.0 / n)
