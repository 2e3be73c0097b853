"""Risk-averse best responses as small optimisation problems over the probability simplex.

Given the mean vector ``mu`` of one player's actions and the covariance ``Sigma`` that the other players'
randomisation induces (see :func:`agents.rae.normal_form.payoff_moments`), the penalty-form risk-averse
best response (RABR) maximises

    U(x) = mu.x - gamma x'Sigma x + tau H(x),     x in the simplex,  H(x) = -sum x log x.

This module only knows vectors and matrices; games live in :mod:`agents.rae.normal_form`.

Algorithms (RAE = "RAE (mean-variance formulation of stori_envs)"):

* ``tau = 0``, ``n <= 8``: exact support enumeration of the KKT system, supports ordered by size and then
  lexicographically; the first valid support *is* the tie-break of the specification (U is concave, so
  every KKT point is a maximiser). ``gamma = 0``: the optimal face is ``argmax mu`` and the minimum-variance
  point of that face is found by the same enumeration.
* ``tau = 0``, ``n > 8``: active set on the KKT system, started from the support of ``warm_start`` (the
  previous response in fictitious play), else grown from the best vertex; a support whose KKT system is
  inconsistent (Sigma singular on its face) is never accepted, the index the objective's flat ascent
  direction leaves by is dropped instead. Only if the active set cycles: accelerated projected gradient
  (FISTA, constant step 1/L with L the largest eigenvalue of 2 gamma Sigma, monotone restarts) and a KKT
  polish on the identified support. ``Sigma`` may be a :class:`FactorCovariance`, which never forms the
  n x n matrix (the solver only needs its block on the support and products with it).
* ``tau > 0``: the maximiser is interior and unique; damped Newton on the simplex with monotone
  backtracking on U. The specification suggests a damped fixed point; Newton is used instead because the
  fixed-point map x -> softmax((mu - 2 gamma Sigma x)/tau) needs tiny damping when gamma|Sigma|/tau is large
  (4500 in the closed-form case), while Newton converges quadratically there too.

:func:`penalty_upper_bound` turns any point into a certified upper bound on max U (concavity); the gaps
in :mod:`agents.rae.normal_form` use it, so an inexact best response can only inflate a reported gap.
"""

from __future__ import annotations

import itertools
import logging
from functools import lru_cache

import numpy as np

logger = logging.getLogger(__name__)

#: Largest action count solved by exact support enumeration.
EXACT_MAX_ACTIONS = 8


def project_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection of ``v`` onto the probability simplex (sort-based, O(n log n))."""
    n = v.shape[0]
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - 1.0
    rho = np.nonzero(u - css / np.arange(1, n + 1) > 0)[0][-1]
    theta = css[rho] / (rho + 1.0)
    return np.maximum(v - theta, 0.0)


def entropy(x: np.ndarray) -> float:
    """Shannon entropy in nats, with 0 log 0 = 0."""
    nz = x[x > 0]
    return float(-np.sum(nz * np.log(nz)))


class FactorCovariance:
    """c * Sigma with Sigma = M diag(y) M' - mu mu', kept as its factors instead of an n x n matrix.

    The large-game solver only needs Sigma on the best response's support S (a k x k block, O(k^2 K))
    and products Sigma x (two matrix-vector products, O(n K)); forming Sigma costs O(n^2 K). In
    fictitious play on random 100 x 100 games k is about n/3 (zero-sum) or 3 (general-sum), so the
    factored form is several times cheaper per response. ``m`` is n x K, ``mt`` a C-contiguous copy of
    its transpose, ``m2`` the element-wise square of ``m`` (for the diagonal).
    """

    __slots__ = ("m", "mt", "m2", "y", "mu", "c", "shape", "_diag")

    def __init__(self, m: np.ndarray, mt: np.ndarray, y: np.ndarray, mu: np.ndarray, c: float = 1.0,
                 m2: np.ndarray | None = None) -> None:
        self.m, self.mt, self.m2, self.y, self.mu, self.c = m, mt, m2, y, mu, float(c)
        self.shape = (m.shape[0], m.shape[0])
        self._diag = None

    def scaled(self, c: float) -> FactorCovariance:
        out = FactorCovariance(self.m, self.mt, self.y, self.mu, self.c * c, self.m2)
        out._diag = self._diag
        return out

    def __matmul__(self, x: np.ndarray) -> np.ndarray:
        v = self.mt @ x  # the conditional payoff of x against every opponent profile
        return self.c * (self.m @ (self.y * (v - self.mu @ x)))

    def block(self, idx: np.ndarray) -> np.ndarray:
        ms = self.m[idx]
        out = (ms * self.y) @ ms.T
        out -= np.outer(self.mu[idx], self.mu[idx])
        out += out.T
        out *= 0.5 * self.c
        return out

    def cross(self, i: int, idx) -> np.ndarray:
        """Row i restricted to the columns ``idx`` (O(k K))."""
        ms = self.m[idx]
        return self.c * (ms @ (self.m[i] * self.y) - self.mu[i] * self.mu[idx])

    def diagonal(self) -> np.ndarray:
        if self._diag is None:
            m2 = self.m * self.m if self.m2 is None else self.m2
            self._diag = np.maximum(m2 @ self.y - self.mu * self.mu, 0.0)
        return self.c * self._diag

    def abs_max(self) -> float:
        """max |entry|: the largest diagonal entry, as for every PSD matrix."""
        return float(self.diagonal().max(initial=0.0))

    def dense(self) -> np.ndarray:
        return self.block(np.arange(self.shape[0]))


def _block(q, idx: np.ndarray) -> np.ndarray:
    return q.block(idx) if isinstance(q, FactorCovariance) else q[np.ix_(idx, idx)]


def _cross(q, i: int, idx) -> np.ndarray:
    """Row i of Q restricted to the columns ``idx``."""
    return q.cross(i, idx) if isinstance(q, FactorCovariance) else q[i, idx]


def _dense(q) -> np.ndarray:
    return q.dense() if isinstance(q, FactorCovariance) else q


def penalty_utility(x: np.ndarray, mu: np.ndarray, sigma: np.ndarray, gamma: float, tau: float = 0.0) -> float:
    """U(x) = mu.x - gamma x'Sigma x + tau H(x)."""
    u = float(mu @ x - gamma * (x @ (sigma @ x)))
    return u + tau * entropy(x) if tau > 0 else u


def penalty_upper_bound(x: np.ndarray, mu: np.ndarray, sigma: np.ndarray, gamma: float, tau: float = 0.0) -> float:
    """An upper bound on max over the simplex of U = mu.x - gamma x'Sigma x + tau H(x), certified from any ``x``.

    U's quadratic part f is concave, so f(x') <= f(x) + g.(x' - x) with g = mu - 2 gamma Sigma x, and
    max_x' g.x' + tau H(x') is max_a g_a (tau = 0) or tau log sum_a exp(g_a / tau) (tau > 0). The bound
    equals U(x) when x is the maximiser (the KKT conditions), so ``bound - U(pi)`` is the exact gap when
    the best-response solver is exact and an over-estimate, never an under-estimate, when it is not.
    """
    sx = sigma @ x
    g = mu - 2.0 * gamma * sx
    f = float(mu @ x - gamma * (x @ sx))
    if tau > 0:
        z = g / tau
        top = float(z.max())
        return f - float(g @ x) + tau * (top + float(np.log(np.exp(z - top).sum())))
    return f + float(g.max() - g @ x)


def _scale(mu: np.ndarray, q: np.ndarray) -> float:
    """Magnitude of the problem's numbers: tolerances are relative to it so that rescaling changes nothing."""
    q_max = q.abs_max() if isinstance(q, FactorCovariance) else float(np.max(np.abs(q), initial=0.0))
    return 1.0 + float(np.max(np.abs(mu), initial=0.0)) + q_max


@lru_cache(maxsize=64)
def _supports(n: int, k: int) -> np.ndarray:
    return np.array(list(itertools.combinations(range(n), k)), dtype=np.intp).reshape(-1, k)


def _two_actions(mu: np.ndarray, q: np.ndarray, tol: float) -> np.ndarray:
    """The two-action case in scalar arithmetic (the hot path of fictitious play on 2x2 games)."""
    m0, m1 = float(mu[0]), float(mu[1])
    q00, q01, q11 = float(q[0, 0]), float(q[0, 1]), float(q[1, 1])
    if m0 - q00 >= m1 - q01 - tol:  # e_0 optimal: its gradient is largest at action 0
        return np.array([1.0, 0.0])
    if m1 - q11 >= m0 - q01 - tol:
        return np.array([0.0, 1.0])
    den = q00 - 2.0 * q01 + q11  # > 0 here: neither end point is optimal, so the edge is strictly concave
    s = min(1.0, max(0.0, (m0 - m1 - q01 + q11) / den))
    return np.array([s, 1.0 - s])


def _first_pair(mu: np.ndarray, q: np.ndarray, tol: float) -> np.ndarray | None:
    """Supports of size 2 in closed form (vectorised): x = s e_a + (1 - s) e_b with s from df/ds = 0.

    A pair whose objective is flat along the edge is skipped: its end points, checked before, would
    already be optimal.
    """
    sup = _supports(mu.shape[0], 2)
    a, b = sup[:, 0], sup[:, 1]
    den = q[a, a] - 2.0 * q[a, b] + q[b, b]
    num = mu[a] - mu[b] - q[a, b] + q[b, b]
    ok = den > tol
    s = np.where(ok, num / np.where(ok, den, 1.0), -1.0)
    ok &= (s >= -1e-12) & (s <= 1.0 + 1e-12)
    if not ok.any():
        return None
    s = np.clip(s, 0.0, 1.0)
    xs = np.zeros((sup.shape[0], mu.shape[0]))
    rows = np.arange(sup.shape[0])
    xs[rows, a] = s
    xs[rows, b] = 1.0 - s
    g = mu[None, :] - xs @ q.T
    lam = np.maximum(g[rows, a], g[rows, b])
    ok &= (g <= lam[:, None] + tol).all(axis=1)
    return xs[int(np.argmax(ok))] if ok.any() else None


def _first_kkt_support(mu: np.ndarray, q: np.ndarray, candidates: np.ndarray) -> np.ndarray | None:
    """Maximise ``mu.x - x'Qx/2`` over the simplex on ``candidates``: first valid support in (size, lex) order.

    Returns the full-length ``x`` (zero outside ``candidates``) or None if no support passed (numerically
    degenerate problems only).
    """
    n = mu.shape[0]
    m = candidates.shape[0]
    mu_c, q_c = mu[candidates], q[np.ix_(candidates, candidates)]
    scale = _scale(mu_c, q_c)
    tol = 1e-12 * scale
    # Supports of size 1, vectorised: x = e_a is optimal iff its gradient is largest at a.
    if m == 2:
        x = np.zeros(n)
        x[candidates] = _two_actions(mu_c, q_c, tol)
        return x
    grad = mu_c[:, None] - q_c  # column a: gradient at e_a
    ok = grad.max(axis=0) <= np.diagonal(grad) + tol
    if ok.any():
        x = np.zeros(n)
        x[candidates[int(np.argmax(ok))]] = 1.0
        return x
    x = _first_pair(mu_c, q_c, tol)
    if x is not None:
        full = np.zeros(n)
        full[candidates] = x
        return full
    for k in range(3, m + 1):
        sup = _supports(m, k)  # (P, k)
        p = sup.shape[0]
        a = np.zeros((p, k + 1, k + 1))
        a[:, :k, :k] = q_c[sup[:, :, None], sup[:, None, :]]
        a[:, :k, k] = 1.0
        a[:, k, :k] = 1.0
        b = np.concatenate([mu_c[sup], np.ones((p, 1))], axis=1)
        sol = np.einsum("pij,pj->pi", np.linalg.pinv(a), b)  # least squares, batched, singular-safe
        resid = np.abs(np.einsum("pij,pj->pi", a, sol) - b).max(axis=1)
        xs, lam = sol[:, :k], sol[:, k]
        valid = (resid <= 1e-9 * scale) & (xs.min(axis=1) >= -1e-12)
        if not valid.any():
            continue
        full = np.zeros((p, m))
        np.put_along_axis(full, sup, np.maximum(xs, 0.0), axis=1)
        full /= full.sum(axis=1, keepdims=True)
        g = mu_c[None, :] - full @ q_c.T
        valid &= (g <= lam[:, None] + tol).all(axis=1)
        if valid.any():
            x = np.zeros(n)
            x[candidates] = full[int(np.argmax(valid))]
            return x
    return None


def _unique_on_support(mu: np.ndarray, q: np.ndarray, candidates: np.ndarray, guess: np.ndarray) -> np.ndarray | None:
    """The maximiser on the support of ``guess`` if it is provably the *unique* maximiser, else None.

    Unique means: strictly positive on the support, strictly suboptimal gradient outside it and a
    negative-definite reduced Hessian on the support's face. Then it is also what the enumeration's
    tie-break would return, so fictitious play can skip the enumeration when the support does not change.
    """
    sup = candidates[guess[candidates] > 0]
    k = sup.shape[0]
    if k == 0:
        return None
    mu_c, q_c = mu[candidates], q[np.ix_(candidates, candidates)]
    scale = _scale(mu_c, q_c)
    q_s = q[np.ix_(sup, sup)]
    if k > 1:
        z = np.vstack([np.eye(k - 1), -np.ones((1, k - 1))])  # basis of {d : sum d = 0}
        if np.linalg.eigvalsh(z.T @ q_s @ z)[0] <= 1e-9 * scale:
            return None
        a = np.zeros((k + 1, k + 1))
        a[:k, :k] = q_s
        a[:k, k] = 1.0
        a[k, :k] = 1.0
        sol = np.linalg.solve(a, np.append(mu[sup], 1.0))
        xs, lam = sol[:k], sol[k]
        if xs.min() <= 1e-12:
            return None
    else:
        xs, lam = np.ones(1), float(mu[sup[0]] - q[sup[0], sup[0]])
    x = np.zeros(mu.shape[0])
    x[sup] = xs
    g = mu - q @ x
    outside = np.setdiff1d(candidates, sup, assume_unique=True)
    if outside.size and np.max(g[outside]) >= lam - 1e-9 * scale:
        return None
    return x


def _kkt_on(mu: np.ndarray, q, support: np.ndarray, tol: float, scale: float, block: np.ndarray | None = None
            ) -> tuple[np.ndarray | None, int, int]:
    """Solve the KKT system on ``support``; return (x, most negative index, most violating outside index).

    ``block`` is Q on the support, if already known. A least-squares point of an inconsistent system (Q
    singular on the face, mu not in its range) is not a maximiser and is never returned; an index to drop
    is proposed instead, or (None, -1, -1).
    """
    n, k = mu.shape[0], support.shape[0]
    a = np.empty((k + 1, k + 1))
    a[:k, :k] = _block(q, support) if block is None else block
    a[:k, k] = 1.0
    a[k, :k] = 1.0
    a[k, k] = 0.0
    b = np.empty(k + 1)
    b[:k] = mu[support]
    b[k] = 1.0
    try:
        sol = np.linalg.solve(a, b)
        ok = bool(np.all(np.isfinite(sol)))
    except np.linalg.LinAlgError:
        ok = False
    if not ok or np.abs(a @ sol - b).max() > 1e-9 * scale:
        sol = np.linalg.lstsq(a, b, rcond=None)[0]
    xs, lam = sol[:k], sol[k]
    if xs.min() < -1e-12:  # the support is too large (also the usual sign of a near-singular face)
        return None, int(support[np.argmin(xs)]), -1
    if np.abs(a @ sol - b).max() > 1e-9 * scale:
        # Inconsistent: Q is flat along some d (sum d = 0, Qd = 0) on which mu.d != 0, so U rises along d
        # without bound on this face and the maximiser lies on a smaller face; drop an index d leaves by.
        d = np.linalg.svd(a)[2][-1, :k]
        if mu[support] @ d < 0:
            d = -d
        if d.min() < 0:
            return None, int(support[np.argmin(d)]), -1
        return None, -1, -1
    x = np.zeros(n)
    x[support] = np.maximum(xs, 0.0)
    x /= x.sum()
    viol = mu - q @ x - lam
    viol[support] = -np.inf
    j = int(np.argmax(viol))
    if viol[j] > tol:
        return None, -1, j
    return x, -1, -1


def _active_set(mu: np.ndarray, q, support: np.ndarray, tol: float, max_changes: int,
                scale: float) -> np.ndarray | None:
    """Correct a guessed support one index at a time until the KKT conditions hold (None if they never do).

    Q's block on the support is updated by one row and column per change instead of being recomputed
    (O(kK) instead of O(k^2 K) for a :class:`FactorCovariance`); the support is kept in insertion order,
    which the KKT solution does not depend on.
    """
    sup = [int(i) for i in np.sort(support)]
    if not sup:
        return None
    block = _block(q, np.asarray(sup, dtype=np.intp))
    seen = set()
    for _ in range(max_changes):
        key = frozenset(sup)
        if key in seen or not sup:
            return None
        seen.add(key)
        idx = np.asarray(sup, dtype=np.intp)
        x, drop, add = _kkt_on(mu, q, idx, tol, scale, block)
        if x is not None:
            return x
        k = len(sup)
        if drop >= 0:  # swap the last index into the dropped one's place
            pos = sup.index(drop)
            sup[pos] = sup[-1]
            sup.pop()
            block[pos, :] = block[k - 1, :]
            block[:, pos] = block[:, k - 1]
            block = block[:k - 1, :k - 1].copy()
        elif add >= 0:
            grown = np.empty((k + 1, k + 1))
            grown[:k, :k] = block
            row = _cross(q, add, idx)
            grown[k, :k] = row
            grown[:k, k] = row
            grown[k, k] = _cross(q, add, np.array([add]))[0]
            block = grown
            sup.append(add)
        else:
            return None  # no move proposed: leave it to projected gradient
    return None


def _fista(mu: np.ndarray, q: np.ndarray, x0: np.ndarray, max_iter: int = 10_000, tol: float = 1e-10) -> np.ndarray:
    """Accelerated projected gradient ascent on mu.x - x'Qx/2 over the simplex."""
    dense = _dense(q)
    lmax = float(np.linalg.eigvalsh(dense)[-1]) if q.shape[0] <= 600 else float(np.abs(dense).sum(axis=1).max())
    step = 1.0 / max(lmax, 1e-12)

    def f(z):
        return float(mu @ z - 0.5 * z @ (q @ z))

    x = x0.copy()
    y, t, fx = x.copy(), 1.0, f(x)
    for _ in range(max_iter):
        x_new = project_simplex(y + step * (mu - q @ y))
        f_new = f(x_new)
        if f_new < fx:  # monotone restart: drop the momentum
            y, t = x.copy(), 1.0
            continue
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        y = x_new + ((t - 1.0) / t_new) * (x_new - x)
        pg = np.linalg.norm(x_new - x) / step
        x, fx, t = x_new, f_new, t_new
        if pg < tol:
            break
    return x


def _solve_quadratic(mu: np.ndarray, q, candidates: np.ndarray, warm_start: np.ndarray | None) -> np.ndarray:
    """Maximise mu.x - x'Qx/2 over the simplex restricted to ``candidates`` (exact for few candidates)."""
    n = mu.shape[0]
    m = candidates.shape[0]
    if m == 1:
        x = np.zeros(n)
        x[candidates[0]] = 1.0
        return x
    if isinstance(q, FactorCovariance) and (m < n or m <= EXACT_MAX_ACTIONS):
        # A face or a small game: form the (small) matrix and solve densely.
        x = np.zeros(n)
        x[candidates] = _solve_quadratic(mu[candidates], q.block(candidates), np.arange(m),
                                         None if warm_start is None else warm_start[candidates])
        return x
    if m <= EXACT_MAX_ACTIONS:
        if warm_start is not None:
            x = _unique_on_support(mu, q, candidates, warm_start)
            if x is not None:
                return x
        x = _first_kkt_support(mu, q, candidates)
        if x is not None:
            return x
        logger.debug("support enumeration found no KKT point; falling back to projected gradient")
    if m == n:  # the usual case: no copy of the n x n matrix
        mu_c, q_c, w = mu, q, warm_start
    else:
        mu_c, q_c = mu[candidates], q[np.ix_(candidates, candidates)]
        w = None if warm_start is None else warm_start[candidates]
    scale = _scale(mu_c, q_c)
    tol = 1e-12 * scale
    x_c = None
    if w is not None and w.sum() > 0:
        x_c = _active_set(mu_c, q_c, np.nonzero(w > 0)[0], tol, 2 * m + 2, scale)
    if x_c is None:  # cold start: grow the support from the best vertex (supports are usually small)
        diag = q_c.diagonal() if isinstance(q_c, FactorCovariance) else np.diagonal(q_c)
        x_c = _active_set(mu_c, q_c, np.array([int(np.argmax(mu_c - 0.5 * diag))]), tol, 2 * m + 2, scale)
    if x_c is None:
        start = w / w.sum() if w is not None and w.sum() > 0 else np.full(m, 1.0 / m)
        z = _fista(mu_c, q_c, start)
        x_c = _active_set(mu_c, q_c, np.nonzero(z > 1e-9)[0], tol, 2 * m + 2, scale)
        if x_c is None:
            logger.debug("KKT polish failed after projected gradient; returning the projected-gradient point")
            x_c = z
    if m == n:
        return x_c
    x = np.zeros(n)
    x[candidates] = x_c
    return x


def _entropy_newton(mu: np.ndarray, sigma: np.ndarray, gamma: float, tau: float) -> np.ndarray:
    """Unique interior maximiser of mu.x - gamma x'Sigma x + tau H(x) (tau > 0) by damped Newton."""
    n = mu.shape[0]
    z = mu / tau
    x = np.exp(z - z.max())
    x /= x.sum()
    if gamma == 0.0:
        return x
    q = 2.0 * gamma * sigma
    x = np.full(n, 1.0 / n)

    def u(v):
        return penalty_utility(v, mu, sigma, gamma, tau)

    ux = u(x)
    for _ in range(500):
        alive = x > 1e-250  # coordinates that underflow are fixed by the final softmax step
        xa = x[alive]
        g = (mu - q @ x)[alive] - tau * (np.log(xa) + 1.0)
        k = xa.shape[0]
        kkt = np.zeros((k + 1, k + 1))
        kkt[:k, :k] = -q[np.ix_(alive, alive)] - np.diag(tau / xa)
        kkt[:k, k] = 1.0
        kkt[k, :k] = 1.0
        d = np.linalg.lstsq(kkt, np.append(-g, 0.0), rcond=None)[0][:k]
        neg = d < 0
        step = min(1.0, 0.99 * float(np.min(-xa[neg] / d[neg]))) if neg.any() else 1.0
        improved = False
        while step > 1e-16:
            cand = x.copy()
            cand[alive] = xa + step * d
            cand = np.maximum(cand, 0.0)
            cand /= cand.sum()
            uc = u(cand)
            if uc >= ux - 1e-15 * (1.0 + abs(ux)):
                improved = True
                break
            step *= 0.5
        if not improved:
            break
        delta = float(np.abs(cand - x).sum())
        x, ux = cand, uc
        if delta < 1e-12:
            break
    # One fixed-point step restores coordinates that underflowed and equals x at the optimum.
    z = (mu - q @ x) / tau
    fp = np.exp(z - z.max())
    fp /= fp.sum()
    return fp if u(fp) >= ux else x


def penalty_best_response(mu: np.ndarray, sigma: np.ndarray, gamma: float, tau: float = 0.0,
                          warm_start: np.ndarray | None = None) -> np.ndarray:
    """argmax over the simplex of mu.x - gamma x'Sigma x + tau H(x), with the specification's tie-break.

    ``warm_start`` (a previous response) only speeds up games with more than 8 actions. ``sigma`` is an
    array or a :class:`FactorCovariance`.
    """
    n = mu.shape[0]
    if tau > 0:
        return _entropy_newton(mu, _dense(sigma), gamma, tau)
    if gamma == 0.0:
        top = float(mu.max())
        face = np.nonzero(mu >= top - 1e-12 * (1.0 + abs(top)))[0]
        # Minimum variance on the optimal face (maximise -x'Sigma x = 0.x - x'(2 Sigma)x/2).
        return _solve_quadratic(np.zeros(n), _times(sigma, 2.0), face, warm_start)
    return _solve_quadratic(mu, _times(sigma, 2.0 * gamma), np.arange(n), warm_start)


def _times(q, c: float):
    return q.scaled(c) if isinstance(q, FactorCovariance) else c * q


def total_variance_best_response(mu: np.ndarray, second: np.ndarray, gamma: float) -> np.ndarray:
    """Best response when the penalty is the *total* variance (own sampling included).

    U(x) = mu.x - gamma (s.x - (mu.x)^2) is convex in x, so a pure action maximises it: the one with the
    largest mu_a - gamma Var_a (ties: smaller variance, then lower index).
    """
    var = second - mu**2
    score = mu - gamma * var
    top = float(score.max())
    tied = np.nonzero(score >= top - 1e-12 * (1.0 + abs(top)))[0]
    a = int(tied[np.argmin(var[tied])])
    x = np.zeros(mu.shape[0])
    x[a] = 1.0
    return x


def _kkt_constrained(sigma: np.ndarray, mu: np.ndarray, level: float) -> np.ndarray | None:
    """min x'Sigma x s.t. mu.x >= level on the simplex: first KKT-valid support (size, lex), n <= 8."""
    n = mu.shape[0]
    scale = _scale(mu, sigma)
    tol = 1e-10 * scale
    for k in range(1, n + 1):
        for sup in _supports(n, k):
            ss = sigma[np.ix_(sup, sup)]
            # Case 1: the level constraint is inactive (nu = 0).  Case 2: active, mu.x = level.
            for active in (False, True):
                size = k + 1 + int(active)
                a = np.zeros((size, size))
                a[:k, :k] = 2.0 * ss
                a[:k, k] = -1.0
                a[k, :k] = 1.0
                b = np.zeros(size)
                b[k] = 1.0
                if active:
                    a[:k, k + 1] = -mu[sup]
                    a[k + 1, :k] = mu[sup]
                    b[k + 1] = level
                sol = np.linalg.lstsq(a, b, rcond=None)[0]
                if np.abs(a @ sol - b).max() > 1e-9 * scale or sol[:k].min() < -1e-12:
                    continue
                lam, nu = sol[k], (sol[k + 1] if active else 0.0)
                if nu < -tol:
                    continue
                x = np.zeros(n)
                x[sup] = np.maximum(sol[:k], 0.0)
                x /= x.sum()
                if mu @ x < level - tol:
                    continue
                # Stationarity outside the support: 2(Sigma x)_j - nu mu_j - lam >= 0.
                if np.all(2.0 * sigma @ x - nu * mu - lam >= -tol):
                    return x
    return None


def constrained_best_response(mu: np.ndarray, sigma: np.ndarray, eps: float) -> np.ndarray:
    """Minimum opponent-induced variance subject to mu.x >= max(mu) - eps (``mode="constrained"``)."""
    x = _kkt_constrained(sigma, mu, float(mu.max()) - eps)
    if x is None:  # only in numerically degenerate cases; the best pure action is always feasible
        x = np.zeros(mu.shape[0])
        x[int(np.argmax(mu))] = 1.0
    return x


def lexicographic_best_response(mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Minimum variance first, then maximum expected payoff among the minimisers (``mode="lexicographic"``).

    The minimisers of a PSD quadratic form share Sigma x, so stage two is the linear programme
    max mu.x s.t. Sigma x = Sigma x*, x in the simplex, solved exactly by vertex (support) enumeration.
    """
    n = mu.shape[0]
    x_star = _solve_quadratic(np.zeros(n), 2.0 * sigma, np.arange(n), None)
    target = sigma @ x_star
    scale = _scale(mu, sigma)
    best, best_val = x_star, float(mu @ x_star)
    for k in range(1, n + 1):
        for sup in _supports(n, k):
            a = np.vstack([sigma[:, sup], np.ones((1, k))])
            b = np.append(target, 1.0)
            xs = np.linalg.lstsq(a, b, rcond=None)[0]
            if np.abs(a @ xs - b).max() > 1e-9 * scale or xs.min() < -1e-12:
                continue
            x = np.zeros(n)
            x[sup] = np.maximum(xs, 0.0)
            x /= x.sum()
            val = float(mu @ x)
            if val > best_val + 1e-12 * scale:
                best, best_val = x, val
    return best
