"""Newton polish of a two-player RAE candidate on a guessed pair of supports (RAE, mean-variance formulation
of ``stori_envs``).

An RAE (x, y) of a two-player game whose best responses are unique satisfies, for supports S1 of x and
S2 of y, the KKT conditions of both players' risk-averse best responses:

    2 gamma_1 Sigma_1(y)[S1, S1] x_S1 + lambda_1 1 = mu_1(y)[S1],   1'x_S1 = 1,
    2 gamma_2 Sigma_2(x)[S2, S2] y_S2 + lambda_2 1 = mu_2(x)[S2],   1'y_S2 = 1,

with mu_1(y) = A y, Sigma_1(y) = A diag(y) A' - mu mu' (A = player 1's payoffs on S1 x S2; the same for
player 2). These are 2k + 2 polynomial equations in 2k + 2 unknowns (k = |S1| = |S2|: a unique best
response needs Sigma_i PD on its support's face, and Sigma_1(y) has rank |S2| - 1, so generic RAE have
supports of equal size, as Nash equilibria do). Newton's method solves them in a few steps when the
supports are right; positivity and the conditions off the supports are *not* assumed: the caller measures
the gap of the result (:func:`agents.rae.normal_form.rae_gap`) and keeps it only if it is small.

Fictitious-play iterates supply the supports: the supports of the current best responses, and the actions
that carry weight in the beliefs. Dynamics that circle an unstable RAE (common in general-sum games) pass
through its supports without converging to it; the polish finds it from there.
"""

from __future__ import annotations

import numpy as np

#: Newton steps per attempt; an attempt is abandoned when its residual stops shrinking fast (see below).
MAX_STEPS = 12


def _player_system(p: np.ndarray, own: np.ndarray, opp: np.ndarray, gamma: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Residual mu - 2 gamma Sigma own (without lambda) and its derivatives in ``own`` and ``opp``.

    ``p`` is the player's payoff block (own support x opponent support). With v = p' own (the payoff of
    ``own`` against each opponent action) and e = mu.own: Sigma own = p (opp * v) - mu e, and
    d(Sigma own)/d opp = p diag(v) - e p - mu v'.
    """
    mu = p @ opp
    v = p.T @ own
    e = float(mu @ own)
    sigma = (p * opp) @ p.T - np.outer(mu, mu)
    resid = 2.0 * gamma * (p @ (opp * v) - mu * e) - mu
    d_own = 2.0 * gamma * sigma
    d_opp = 2.0 * gamma * (p * v - e * p - np.outer(mu, v)) - p
    return resid, d_own, d_opp


def polish_two_player(a: np.ndarray, b: np.ndarray, gamma: tuple[float, float], x0: np.ndarray, y0: np.ndarray,
                      s1: np.ndarray, s2: np.ndarray) -> list[np.ndarray] | None:
    """Solve both players' KKT systems on supports (s1, s2) by Newton from (x0, y0); None if it fails.

    ``a`` and ``b`` are the two players' payoff matrices (rows: player 1's actions). Returns a profile
    supported on (s1, s2) whose entries are non-negative, or None when Newton does not converge, the
    Jacobian is singular or the solution leaves the simplex. The result is a candidate only: its gap
    must be measured.
    """
    k1, k2 = s1.shape[0], s2.shape[0]
    if k1 == 0 or k1 != k2:
        return None
    pa = a[np.ix_(s1, s2)]
    pb = b[np.ix_(s1, s2)].T
    scale = 1.0 + float(np.abs(pa).max()) + float(np.abs(pb).max())
    x, y = x0[s1].astype(float), y0[s2].astype(float)
    x = x / x.sum() if x.sum() > 0 else np.full(k1, 1.0 / k1)
    y = y / y.sum() if y.sum() > 0 else np.full(k2, 1.0 / k2)
    lam1 = -float(_player_system(pa, x, y, gamma[0])[0] @ x)
    lam2 = -float(_player_system(pb, y, x, gamma[1])[0] @ y)
    size, r = k1 + k2 + 2, k1 + 1
    jac = np.zeros((size, size))
    jac[:k1, k1] = 1.0
    jac[k1, :k1] = 1.0
    jac[r:r + k2, size - 1] = 1.0
    jac[size - 1, r:r + k2] = 1.0
    prev = np.inf
    for step in range(MAX_STEPS):
        f1, d11, d12 = _player_system(pa, x, y, gamma[0])
        f2, d22, d21 = _player_system(pb, y, x, gamma[1])
        resid = np.concatenate([f1 + lam1, [x.sum() - 1.0], f2 + lam2, [y.sum() - 1.0]])
        err = float(np.abs(resid).max())
        if not np.isfinite(err) or err > 1e6 * scale:
            return None
        if err <= 1e-13 * scale:
            break
        # Newton contracts fast once it is in its basin (measured: every successful polish on random games
        # shrank the residual by 5x or more per step from the third step on); stop wasting steps otherwise.
        if (step >= 3 and err > 0.5 * prev) or (step >= 8 and err > 1e-6 * scale):
            return None
        prev = err
        jac[:k1, :k1] = d11
        jac[:k1, r:r + k2] = d12
        jac[r:r + k2, r:r + k2] = d22
        jac[r:r + k2, :k1] = d21
        try:
            delta = np.linalg.solve(jac, -resid)
        except np.linalg.LinAlgError:
            return None
        x, lam1 = x + delta[:k1], lam1 + delta[k1]
        y, lam2 = y + delta[r:r + k2], lam2 + delta[size - 1]
    else:
        return None
    if x.min() < -1e-12 or y.min() < -1e-12:
        return None
    full_x, full_y = np.zeros(a.shape[0]), np.zeros(a.shape[1])
    full_x[s1], full_y[s2] = np.maximum(x, 0.0), np.maximum(y, 0.0)
    return [full_x / full_x.sum(), full_y / full_y.sum()]
