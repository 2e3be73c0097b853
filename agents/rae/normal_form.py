"""Normal-form risk-averse equilibrium: RAE (mean-variance formulation of ``stori_envs``).

Player i's utility against the others' mixed strategies is

    U_i(pi_i; y) = E_i - gamma_i V_i + tau_i H(pi_i),

with E_i the expected payoff and V_i the variance of i's *conditional* expected payoff caused only by the
other players' randomisation (``variance="opponent"``, the default) or the total payoff variance
including i's own sampling (``variance="total"``). A profile is an RAE when every player's strategy is
a risk-averse best response (RABR) to the others; ``RAEConv`` is the sum of the players' gaps
``max_x U_i(x) - U_i(pi_i)`` (``NashConv`` at gamma = tau = 0). This is the package's own definition,
consistent with the abstracts of Slumbers et al. (ICML 2023); it does not reproduce the paper's numbers.

Payoffs are a list of N tensors of shape ``(n_0, ..., n_{N-1})`` (player i's payoff for each joint
action); two-player games may be given as ``(A, B)``.

Solvers: :func:`rae_fictitious_play` with the default running average (``step="harmonic"``, the
specification's RAE-FP; converges on zero-sum and potential games) or, for general-sum two-player games
where the running average cycles, ``step=0.1, polish=True`` (damped dynamics plus a Newton polish of the
supports they visit, :mod:`agents.rae.polish`). Every gap is measured at the returned profile with a
concavity certificate (never under-estimated).

Example:
    >>> import numpy as np
    >>> from agents.rae import rae_fictitious_play
    >>> A = np.array([[-20.0, 2.0], [1.0, 0.5]])           # crash game (Go, Yield)
    >>> res = rae_fictitious_play([A, A.T], gamma=1.0, iters=3000, tol=0.0)
    >>> round(float(res.profile[0][0]), 3)                   # P(Go) falls from 1/15 at gamma = 0
    0.039
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce

import numpy as np

from agents.rae.best_response import (
    EXACT_MAX_ACTIONS,
    FactorCovariance,
    constrained_best_response,
    lexicographic_best_response,
    penalty_best_response,
    penalty_upper_bound,
    penalty_utility,
    total_variance_best_response,
)
from agents.rae.polish import polish_two_player
from agents.rae.threads import bounded_blas
from stori_envs.multiagent.payoffs import as_payoffs, check_payoff_values

logger = logging.getLogger(__name__)

VARIANCES = ("opponent", "total")
MODES = ("penalty", "constrained", "lexicographic")


# ----------------------------------------------------------------------------------------------- input checks
# ``as_payoffs`` and ``check_payoff_values`` live with the games (stori_envs.multiagent.payoffs), which
# validate their tables with them; the solvers import them from there.
#: Largest gamma * max|payoff|^2 accepted (the penalty's scale): beyond it the penalty could overflow.
MAX_PENALTY_SCALE = 1e200


def _check_penalty_scale(gamma: np.ndarray, tables: Sequence[np.ndarray]) -> None:
    """Refuse gamma_i * max|M_i|^2 beyond :data:`MAX_PENALTY_SCALE` (the penalty would overflow)."""
    for i, (g, table) in enumerate(zip(gamma, tables, strict=True)):
        top = float(np.max(np.abs(table))) if table.size else 0.0
        if g * top * top > MAX_PENALTY_SCALE:
            raise ValueError(f"gamma: got {g:g} for player {i} with payoffs up to {top:.3g}; allowed: gamma * "
                             f"max|payoff|^2 <= {MAX_PENALTY_SCALE:g} (rescale the payoffs by c and gamma by 1/c)")


def _per_player(name: str, value, n: int) -> np.ndarray:
    """A non-negative finite parameter given as a scalar or one value per player."""
    arr = np.asarray(value, dtype=float) if not isinstance(value, bool) else None
    if arr is None or arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != n):
        raise ValueError(f"{name}: got {value!r}; allowed: a finite number >= 0 or a sequence of {n} such numbers")
    arr = np.broadcast_to(arr, (n,)).astype(float)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name}: got {value!r}; allowed: a finite number >= 0 or a sequence of {n} such numbers")
    return arr


def _choice(name: str, value, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name}: got {value!r}; allowed: {', '.join(map(repr, allowed))}")
    return value


def as_strategy(name: str, value, n: int) -> np.ndarray:
    """A mixed strategy over n actions (non-negative, sums to 1 within 1e-9); renormalised exactly."""
    try:
        arr = np.asarray(value, dtype=float)
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.shape != (n,) or not np.all(np.isfinite(arr)) or np.any(arr < 0) \
            or abs(arr.sum() - 1.0) > 1e-9:
        raise ValueError(f"{name}: got {value!r}; allowed: {n} non-negative probabilities summing to 1")
    return arr / arr.sum()


def as_profile(profile, shape: tuple[int, ...]) -> list[np.ndarray]:
    if not isinstance(profile, (list, tuple)) or len(profile) != len(shape):
        raise ValueError(f"profile: got {profile!r}; allowed: {len(shape)} mixed strategies, one per player")
    return [as_strategy(f"profile[{i}]", p, n) for i, (p, n) in enumerate(zip(profile, shape, strict=True))]


# ------------------------------------------------------------------------------------------------- moments
def flatten_player(payoff: np.ndarray, i: int) -> np.ndarray:
    """Player i's axis first, the other players' joint profiles flattened (tensor axis order): n_i x K."""
    return np.moveaxis(payoff, i, 0).reshape(payoff.shape[i], -1)


def product_distribution(strategies: Sequence[np.ndarray]) -> np.ndarray:
    """The product distribution over joint profiles, flattened in C order (the first strategy varies slowest)."""
    return reduce(lambda a, b: np.multiply.outer(a, b).ravel(), strategies, np.ones(1))


def _moments_flat(m: np.ndarray, y: np.ndarray, mt: np.ndarray | None = None, second: bool = True
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(mu, Sigma, second moments) of a flattened n_i x K table under the opponent distribution y.

    ``mt`` is a C-contiguous copy of ``m.T`` (BLAS is several times faster with it on large tables).
    ``second=False`` skips the second moments (only the total-variance objective needs them).
    """
    mu = m @ y
    my = m * y
    sigma = my @ (np.ascontiguousarray(m.T) if mt is None else mt)
    sigma -= np.outer(mu, mu)
    sigma += sigma.T  # exact symmetry keeps the KKT systems symmetric
    sigma *= 0.5
    return mu, sigma, (np.einsum("ak,ak->a", my, m) if second else None)


@bounded_blas
def payoff_moments(payoff: np.ndarray, opponent_strategies: Sequence, variance: str = "opponent",
                   player: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean vector and covariance of player ``player``'s action payoffs under the opponents' strategies.

    ``payoff`` is player i's tensor with i's axis at position ``player`` (0 by default, i.e. already
    moved first; a 2-D ``n_i x n_j`` matrix is the two-player case). ``opponent_strategies`` lists the
    other players' mixed strategies in axis order. With ``variance="opponent"`` Sigma is the
    opponent-induced covariance M diag(y) M' - mu mu'; with ``"total"`` the diagonal second moments
    are returned as ``diag(s)`` where s_a = E_y[M[a,k]^2] (the total variance of a mixed x is s.x - (mu.x)^2).
    """
    _choice("variance", variance, VARIANCES)
    payoff = _as_table("payoff", payoff)
    others = [s for j, s in enumerate(_axis_sizes(payoff)) if j != player]
    strategies = [as_strategy(f"opponent_strategies[{j}]", s, n)
                  for j, (s, n) in enumerate(zip(_as_list(opponent_strategies, len(others)), others, strict=True))]
    mu, sigma, second = _moments_flat(flatten_player(payoff, player), product_distribution(strategies))
    return (mu, sigma) if variance == "opponent" else (mu, np.diag(second))


def _as_table(name: str, payoff) -> np.ndarray:
    """One player's payoff tensor as a float array, validated like :func:`as_payoffs`."""
    try:
        arr = np.asarray(payoff, dtype=float)
    except (ValueError, TypeError):
        raise ValueError(f"{name}: got a ragged or non-numeric table; allowed: a tensor of finite numbers with "
                         "one axis per player") from None
    check_payoff_values(name, arr)
    return arr


def _axis_sizes(payoff: np.ndarray) -> tuple[int, ...]:
    if payoff.ndim < 2:
        raise ValueError(f"payoff: got shape {payoff.shape}; allowed: a tensor with one axis per player (>= 2)")
    return payoff.shape


def _as_list(strategies, count: int) -> list:
    if isinstance(strategies, np.ndarray) and strategies.ndim == 1 and count == 1:
        return [strategies]
    if not isinstance(strategies, (list, tuple)) or len(strategies) != count:
        raise ValueError(f"opponent_strategies: got {strategies!r}; allowed: {count} mixed strategies "
                         "(one per other player, in axis order)")
    return list(strategies)


# --------------------------------------------------------------------------------------- best response, gap
def _respond(m: np.ndarray, y: np.ndarray, gamma: float, tau: float, variance: str, mode: str = "penalty",
             eps: float = 0.0, warm_start: np.ndarray | None = None, mt: np.ndarray | None = None,
             m2: np.ndarray | None = None):
    """A best response and the moments it was computed from: (x, mu, Sigma or None, second moments or None).

    Returning the moments lets the gap reuse them instead of recomputing the covariance. Above
    ``EXACT_MAX_ACTIONS`` actions (tau = 0) Sigma is a :class:`FactorCovariance`: the solver only ever
    needs its block on the response's support and products with it.
    """
    if gamma == 0.0 and tau == 0.0 and mode == "penalty":
        # Plain best response: the covariance only matters to break ties between best actions.
        mu = m @ y
        top = float(mu.max())
        face = np.nonzero(mu >= top - 1e-12 * (1.0 + abs(top)))[0]
        if face.size == 1:
            x = np.zeros(mu.shape[0])
            x[face[0]] = 1.0
            return x, mu, None, None
    if mode == "penalty" and variance == "opponent" and tau == 0.0 and m.shape[0] > EXACT_MAX_ACTIONS:
        mu = m @ y
        sigma = FactorCovariance(m, np.ascontiguousarray(m.T) if mt is None else mt, y, mu, m2=m2)
        return penalty_best_response(mu, sigma, gamma, 0.0, warm_start), mu, sigma, None
    mu, sigma, second = _moments_flat(m, y, mt, second=variance == "total")
    if mode == "constrained":
        x = constrained_best_response(mu, sigma, eps)
    elif mode == "lexicographic":
        x = lexicographic_best_response(mu, sigma)
    elif variance == "total":
        x = total_variance_best_response(mu, second, gamma)
    else:
        x = penalty_best_response(mu, sigma, gamma, tau, warm_start)
    return x, mu, sigma, second


def _best_response(m: np.ndarray, y: np.ndarray, gamma: float, tau: float, variance: str, mode: str, eps: float,
                   warm_start: np.ndarray | None = None, mt: np.ndarray | None = None) -> np.ndarray:
    return _respond(m, y, gamma, tau, variance, mode, eps, warm_start, mt)[0]


def _gap_from(x: np.ndarray, mu: np.ndarray, sigma: np.ndarray | None, second: np.ndarray | None, pi: np.ndarray,
              gamma: float, tau: float, variance: str) -> float:
    """max_x' U(x') - U(pi) >= 0, with the maximum bounded from the best response ``x`` (never under-estimated).

    gamma = tau = 0: max_a mu_a - mu.pi exactly. Total variance: the best response is an exact vertex
    enumeration. Penalty: the concavity certificate of :func:`penalty_upper_bound`, equal to U(x) when
    x is the exact maximiser, so a solver failure can only inflate the reported gap.
    """
    if gamma == 0.0 and tau == 0.0:
        return max(0.0, float(mu.max() - mu @ pi))
    if variance == "total":
        e_x, e_p = float(mu @ x), float(mu @ pi)
        return max(0.0, (e_x - gamma * (float(second @ x) - e_x * e_x))
                   - (e_p - gamma * (float(second @ pi) - e_p * e_p)))
    return max(0.0, penalty_upper_bound(x, mu, sigma, gamma, tau) - penalty_utility(pi, mu, sigma, gamma, tau))


def _check_mode(variance: str, mode: str, tau: np.ndarray, eps: float, n_actions: Sequence[int]) -> None:
    _choice("variance", variance, VARIANCES)
    _choice("mode", mode, MODES)
    if variance == "total" and np.any(tau > 0):
        raise ValueError(f"tau: got {tau.tolist()!r} with variance='total'; allowed: 0 (the total-variance "
                         "objective is convex in the own strategy, its best response is pure)")
    if mode != "penalty":
        if variance != "opponent" or np.any(tau > 0):
            raise ValueError(f"mode: got {mode!r} with variance={variance!r}, tau={tau.tolist()!r}; allowed: "
                             "variance='opponent' and tau=0 for the constrained and lexicographic modes")
        if max(n_actions) > 8:
            raise ValueError(f"mode: got {mode!r} for {max(n_actions)} actions; allowed: at most 8 actions "
                             "(exact enumeration), or mode='penalty'")
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps: got {eps!r}; allowed: a finite number >= 0")


@bounded_blas
def risk_averse_best_response(payoff: np.ndarray, opponent_strategies: Sequence, gamma: float, tau: float = 0.0,
                              variance: str = "opponent", mode: str = "penalty", eps: float = 0.0,
                              player: int = 0) -> np.ndarray:
    """The risk-averse best response of one player (see the module docstring).

    ``mode="penalty"`` maximises E - gamma V + tau H; ``"constrained"`` minimises V subject to
    E >= max_a mu_a - eps; ``"lexicographic"`` minimises V, then maximises E. Ties among maximisers are
    broken by (1) smaller variance, (2) smaller support, (3) lexicographically smaller support.

    Example (the closed-form case: p_risky = min(1, 1/(450 gamma))):
        >>> import numpy as np
        >>> A = np.array([[10.0, -40.0], [4.0, 4.0]])
        >>> risk_averse_best_response(A, [np.array([0.9, 0.1])], gamma=0.1).round(6)
        array([0.022222, 0.977778])
    """
    payoff = _as_table("payoff", payoff)
    shape = _axis_sizes(payoff)
    g = _per_player("gamma", gamma, 1)[0]
    t = _per_player("tau", tau, 1)[0]
    _check_penalty_scale(np.array([g]), [payoff])
    _check_mode(variance, mode, np.array([t]), eps, [shape[player]])
    others = [n for j, n in enumerate(shape) if j != player]
    strategies = [as_strategy(f"opponent_strategies[{j}]", s, n)
                  for j, (s, n) in enumerate(zip(_as_list(opponent_strategies, len(others)), others, strict=True))]
    return _best_response(flatten_player(payoff, player), product_distribution(strategies), g, t, variance, mode,
                          float(eps))


class _Game:
    """Flattened tables of a validated game, computed once."""

    def __init__(self, payoffs) -> None:
        self.payoffs = as_payoffs(payoffs)
        self.n = len(self.payoffs)
        self.shape = self.payoffs[0].shape
        self.flat = [flatten_player(p, i) for i, p in enumerate(self.payoffs)]
        self.flat_t = [np.ascontiguousarray(f.T) for f in self.flat]
        self.flat_sq = [f * f for f in self.flat]

    def y(self, profile: Sequence[np.ndarray], i: int) -> np.ndarray:
        if self.n == 2:
            return profile[1 - i]
        return product_distribution([profile[j] for j in range(self.n) if j != i])

    def respond(self, i: int, y: np.ndarray, gamma: float, tau: float, variance: str,
                warm_start: np.ndarray | None):
        """(best response, mu, Sigma, second) of player i against the opponent distribution y."""
        return _respond(self.flat[i], y, gamma, tau, variance, "penalty", 0.0, warm_start, self.flat_t[i],
                        self.flat_sq[i])

    def best_response(self, i: int, y: np.ndarray, gamma: float, tau: float, variance: str,
                      warm_start: np.ndarray | None) -> np.ndarray:
        return self.respond(i, y, gamma, tau, variance, warm_start)[0]

    def utility(self, i: int, x: np.ndarray, y: np.ndarray, gamma: float, tau: float, variance: str) -> float:
        if gamma == 0.0 and tau == 0.0:
            return float(x @ (self.flat[i] @ y))
        mu, sigma, second = _moments_flat(self.flat[i], y, self.flat_t[i], second=variance == "total")
        if variance == "total":
            e = float(mu @ x)
            return e - gamma * (float(second @ x) - e * e)
        return penalty_utility(x, mu, sigma, gamma, tau)


def _gaps(game: _Game, profile: Sequence[np.ndarray], gamma: np.ndarray, tau: np.ndarray, variance: str,
          warm: Sequence[np.ndarray] | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per-player gaps at ``profile`` and the best responses they were measured with (one moment pass each)."""
    gaps, brs = np.zeros(game.n), []
    for i in range(game.n):
        x, mu, sigma, second = game.respond(i, game.y(profile, i), gamma[i], tau[i], variance,
                                            profile[i] if warm is None else warm[i])
        brs.append(x)
        gaps[i] = _gap_from(x, mu, sigma, second, profile[i], gamma[i], tau[i], variance)
    return gaps, brs


@bounded_blas
def rae_gap(payoffs, profile, gamma, tau=0.0, variance: str = "opponent") -> np.ndarray:
    """Per-player gap max_x U_i(x; pi_-i) - U_i(pi_i; pi_-i) >= 0 (penalty mode); its sum is RAEConv.

    With gamma = tau = 0 the sum is NashConv.
    """
    game = _Game(payoffs)
    g, t = _per_player("gamma", gamma, game.n), _per_player("tau", tau, game.n)
    _check_penalty_scale(g, game.payoffs)
    _check_mode(variance, "penalty", t, 0.0, game.shape)
    return _gaps(game, as_profile(profile, game.shape), g, t, variance)[0]


@bounded_blas
def mean_variance(payoffs, profile) -> np.ndarray:
    """Per player (E, V_opp, V_total) at a mixed profile: an array of shape (N, 3)."""
    game = _Game(payoffs)
    return _stats(game, as_profile(profile, game.shape))


def _stats(game: _Game, profile: Sequence[np.ndarray]) -> np.ndarray:
    out = np.zeros((game.n, 3))
    for i in range(game.n):
        mu, sigma, second = _moments_flat(game.flat[i], game.y(profile, i))
        x = profile[i]
        e = float(mu @ x)
        out[i] = (e, max(0.0, float(x @ sigma @ x)), max(0.0, float(second @ x) - e * e))
    return out


# ------------------------------------------------------------------------------------------ fictitious play
@dataclass
class RAEResult:
    """Outcome of an equilibrium computation, always with its measured gap.

    ``converged`` is ``rae_conv <= tol`` for the gap measured at ``profile`` (never assumed);
    ``history`` lists ``(t, rae_conv)`` of the beliefs at every check; ``stats`` is (E, V_opp, V_total)
    per player; ``nash_conv`` is the gap sum at gamma = tau = 0, for comparison with Nash solvers.
    ``method`` names what produced ``profile``: ``"rae_fp"`` (running-average beliefs),
    ``"rae_fp_step<alpha>"`` (constant-step beliefs), a ``"+polish"`` suffix when the profile is a Newton
    polish rather than the beliefs (``note`` says where), or a baseline's name.
    """

    profile: list[np.ndarray]
    gap_per_player: np.ndarray
    rae_conv: float
    converged: bool
    iterations: int
    history: list[tuple[int, float]]
    stats: np.ndarray
    nash_conv: float = float("nan")
    gamma: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tau: np.ndarray = field(default_factory=lambda: np.zeros(0))
    method: str = "rae_fp"
    note: str = ""

    def summary(self) -> str:
        probs = "; ".join("(" + ", ".join(f"{p:.4f}" for p in s) + ")" for s in self.profile)
        return (f"{self.method}: profile {probs}, RAEConv {self.rae_conv:.3g} "
                f"({'converged' if self.converged else 'not converged'}, {self.iterations} iterations)"
                + (f", {self.note}" if self.note else ""))


@bounded_blas
def make_result(payoffs, profile, gamma=0.0, tau=0.0, *, tol: float = 1e-3, iterations: int = 0,
                history: list | None = None, method: str, note: str = "", variance: str = "opponent",
                warm: Sequence[np.ndarray] | None = None) -> RAEResult:
    """Measure gaps and statistics of any profile (used by every solver so that diagnostics agree).

    ``warm`` (e.g. the last best responses of fictitious play) only speeds up the best responses of
    games with more than 8 actions.
    """
    game = payoffs if isinstance(payoffs, _Game) else _Game(payoffs)
    profile = as_profile(list(profile), game.shape)
    g, t = _per_player("gamma", gamma, game.n), _per_player("tau", tau, game.n)
    gaps, _ = _gaps(game, profile, g, t, variance, warm)
    zero = np.zeros(game.n)
    nash = float(_gaps(game, profile, zero, zero, "opponent")[0].sum())
    conv = float(gaps.sum())
    return RAEResult(profile=profile, gap_per_player=gaps, rae_conv=conv, converged=bool(conv <= tol),
                     iterations=iterations, history=list(history or []), stats=_stats(game, profile),
                     nash_conv=nash, gamma=g, tau=t, method=method, note=note)


STEPS = ("harmonic",)

#: Belief weight above which an action joins a polish candidate's support (the second candidate per check).
POLISH_BELIEF_THRESHOLD = 0.02


@bounded_blas
def rae_fictitious_play(payoffs, gamma, tau=0.0, iters: int = 5000, init=None, prior_weight: float = 1.0,
                        tol: float = 1e-3, check_every: int = 10, variance: str = "opponent",
                        step: str | float = "harmonic", polish: bool = False) -> RAEResult:
    """RAE fictitious play: beliefs move towards the simultaneous risk-averse best responses.

    ``step="harmonic"`` (the default, the specification's RAE-FP) moves the beliefs at rate 1/(t+w0),
    i.e. they are the running average of the responses. ``step=alpha`` (a float in (0, 1]) moves them by
    a constant fraction alpha ("damped" best-response dynamics, an exponentially weighted average): on
    general-sum games, where the running average cycles, these dynamics keep moving and pass close to
    equilibria instead of averaging over a cycle.

    Every ``check_every`` steps RAEConv of the beliefs is measured (and recorded in ``history``); the
    run stops early when it is <= ``tol`` (``tol=0`` disables early stopping). With ``polish=True``
    (two players, tau = 0, ``variance="opponent"``, tol > 0) each check also tries Newton's method on
    both players' KKT systems (:mod:`agents.rae.polish`) on the supports of the current best responses
    and of the beliefs' weights above 2 %; a polished profile is returned, and the run stops, only if
    its measured gap is <= ``tol``. The returned gap is always measured at the returned profile (the
    method is then ``"...+polish"`` and ``note`` says where the polish succeeded). General-sum games can
    cycle: then ``converged`` is False and ``gap_per_player`` says how far each player is from a best
    response. With ``tau > 0`` this is stochastic (smooth) fictitious play.
    """
    game = _Game(payoffs)
    n = game.n
    g, t = _per_player("gamma", gamma, n), _per_player("tau", tau, n)
    _check_penalty_scale(g, game.payoffs)
    _check_mode(variance, "penalty", t, 0.0, game.shape)
    if isinstance(iters, bool) or not isinstance(iters, (int, np.integer)) or iters < 0:
        raise ValueError(f"iters: got {iters!r}; allowed: an integer >= 0")
    if isinstance(check_every, bool) or not isinstance(check_every, (int, np.integer)) or check_every < 1:
        raise ValueError(f"check_every: got {check_every!r}; allowed: an integer >= 1")
    if not (isinstance(prior_weight, (int, float)) and math.isfinite(prior_weight) and prior_weight > 0):
        raise ValueError(f"prior_weight: got {prior_weight!r}; allowed: a finite number > 0")
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol: got {tol!r}; allowed: a finite number >= 0")
    alpha = _step_size(step)
    if not isinstance(polish, bool):
        raise ValueError(f"polish: got {polish!r}; allowed: True or False")
    if polish and (n != 2 or np.any(t > 0) or variance != "opponent" or tol == 0):
        raise ValueError(f"polish: got True with {n} players, tau={t.tolist()!r}, variance={variance!r}, "
                         f"tol={tol!r}; allowed: two players, tau=0, variance='opponent' and tol > 0 (a polished "
                         "profile is returned only when its measured gap is <= tol)")
    if init is None:
        beliefs = [np.full(k, 1.0 / k) for k in game.shape]
    else:
        beliefs = as_profile(list(init), game.shape)
        beliefs = [b.copy() for b in beliefs]

    method = "rae_fp" if alpha is None else f"rae_fp_step{alpha:g}"
    history: list[tuple[int, float]] = []
    cached: list[np.ndarray] | None = None  # responses to the current beliefs, if already computed
    last: list[np.ndarray] = [b.copy() for b in beliefs]
    tried: set = set()  # support pairs already polished
    polished: list[np.ndarray] | None = None
    note = ""
    it = 0
    for it in range(1, iters + 1):
        if cached is None:
            cached = [game.best_response(i, game.y(beliefs, i), g[i], t[i], variance, last[i]) for i in range(n)]
        responses, cached = cached, None
        last = responses
        for i in range(n):
            if alpha is None:
                beliefs[i] = beliefs[i] + (responses[i] - beliefs[i]) / (it + prior_weight)
            else:
                beliefs[i] = beliefs[i] + alpha * (responses[i] - beliefs[i])
        if it % check_every == 0:
            gaps, brs = _gaps(game, beliefs, g, t, variance, last)
            cached = brs  # the next step's responses are these best responses
            conv = float(gaps.sum())
            history.append((it, conv))
            if tol > 0 and conv <= tol:
                break
            if polish:
                polished, note = _try_polish(game, g, beliefs, brs, tol, tried, it)
                if polished is not None:
                    break
    if polished is not None:
        return make_result(game, polished, g, t, tol=tol, iterations=it, history=history, method=method + "+polish",
                           note=note, variance=variance)
    return make_result(game, beliefs, g, t, tol=tol, iterations=it, history=history, method=method,
                       variance=variance, warm=last)


def _step_size(step) -> float | None:
    """None for the harmonic (running-average) schedule, else the constant step alpha in (0, 1]."""
    if isinstance(step, str):
        if step in STEPS:
            return None
    elif not isinstance(step, bool) and isinstance(step, (int, float, np.floating)) and 0 < step <= 1:
        return float(step)
    raise ValueError(f"step: got {step!r}; allowed: 'harmonic' (rate 1/(t + prior_weight)) or a constant step in "
                     "(0, 1]")


def _try_polish(game: _Game, gamma: np.ndarray, beliefs: list[np.ndarray], brs: list[np.ndarray], tol: float,
                tried: set, it: int) -> tuple[list[np.ndarray] | None, str]:
    """Polish the support pairs suggested at this check; return the first profile whose measured gap <= tol."""
    masked = [np.where(b > POLISH_BELIEF_THRESHOLD, b, 0.0) for b in beliefs]
    for source, (x0, y0) in (("best responses", brs), ("beliefs", masked)):
        s1, s2 = np.flatnonzero(x0 > 0), np.flatnonzero(y0 > 0)
        key = (s1.tobytes(), s2.tobytes())
        if s1.size != s2.size or key in tried:
            continue
        tried.add(key)
        profile = polish_two_player(game.payoffs[0], game.payoffs[1], (gamma[0], gamma[1]), x0, y0, s1, s2)
        if profile is None:
            continue
        gap = float(_gaps(game, profile, gamma, np.zeros(2), "opponent")[0].sum())
        if gap <= tol:
            return profile, (f"polished at t={it} on supports of sizes ({s1.size}, {s2.size}) from the {source}; "
                             f"the beliefs' own RAEConv there was above tol")
    return None, ""


def harsanyi_selten_risk_dominant(a: np.ndarray, b: np.ndarray) -> tuple[int, int] | None:
    """The risk-dominant one of the two strict pure equilibria of a 2x2 game, or None on a tie.

    For an equilibrium (r, c) the deviation losses are A[r,c] - A[1-r,c] and B[r,c] - B[r,1-c]; the
    equilibrium with the larger product of losses risk-dominates (Harsanyi and Selten). For a symmetric
    stag hunt with a = u(S,S), b = u(H vs S), c = u(S vs H), d = u(H,H): (H,H) iff (d-c)^2 > (a-b)^2.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != (2, 2) or b.shape != (2, 2):
        raise ValueError(f"payoffs: got shapes {a.shape}, {b.shape}; allowed: two 2x2 matrices")
    strict = [(r, c) for r in range(2) for c in range(2)
              if a[r, c] > a[1 - r, c] and b[r, c] > b[r, 1 - c]]
    if len(strict) != 2:
        raise ValueError(f"payoffs: got a game with {len(strict)} strict pure equilibria; allowed: exactly 2")
    products = [(a[r, c] - a[1 - r, c]) * (b[r, c] - b[r, 1 - c]) for r, c in strict]
    if abs(products[0] - products[1]) <= 1e-12 * (1.0 + max(map(abs, products))):
        return None
    return strict[int(np.argmax(products))]
