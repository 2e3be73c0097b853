"""Validation of payoff tables: the one check shared by the risk games and the RAE solvers.

It lives with the games (the environments must not import the solvers); :mod:`agents.rae.normal_form`
imports it from here.
"""

from __future__ import annotations

import numpy as np

#: Largest payoff magnitude accepted: the covariance sums squares over up to ~1e6 opponent profiles, so
#: 1e100 keeps every moment far from float overflow. RAE is invariant to rescaling a player's payoffs by
#: c > 0 together with gamma -> gamma / c, so larger games can always be rescaled.
MAX_ABS_PAYOFF = 1e100


def as_payoffs(payoffs) -> list[np.ndarray]:
    """Validate a game and return its payoff tensors as float arrays.

    Accepts a list/tuple of N arrays of identical shape with N axes, or one array of shape (N, n_0, ...).
    """
    allowed = "a list of N >= 2 finite payoff tensors, each of shape (n_0, ..., n_{N-1}) with every n_i >= 1"
    if isinstance(payoffs, np.ndarray) and payoffs.dtype != object:
        if payoffs.ndim < 3 or payoffs.shape[0] != payoffs.ndim - 1:
            raise ValueError(f"payoffs: got an array of shape {payoffs.shape}; allowed: {allowed}")
        items = list(payoffs)
    elif isinstance(payoffs, (list, tuple)):
        items = list(payoffs)
    else:
        raise ValueError(f"payoffs: got {type(payoffs).__name__}; allowed: {allowed}")
    if len(items) < 2:
        raise ValueError(f"payoffs: got {len(items)} payoff tensor(s); allowed: {allowed}")
    out = []
    for i, item in enumerate(items):
        try:
            arr = np.asarray(item, dtype=float)
        except (ValueError, TypeError):
            raise ValueError(f"payoffs[{i}]: got a ragged or non-numeric table; allowed: {allowed}") from None
        out.append(arr)
    n = len(out)
    shape = out[0].shape
    for i, arr in enumerate(out):
        if arr.ndim != n:
            raise ValueError(f"payoffs[{i}]: got shape {arr.shape} for a {n}-player game; allowed: {n} axes, one "
                             "per player (wrong number of players?)")
        if arr.shape != shape:
            raise ValueError(f"payoffs[{i}]: got shape {arr.shape}; allowed: the shape of payoffs[0], {shape}")
        check_payoff_values(f"payoffs[{i}]", arr)
    if min(shape) < 1:
        raise ValueError(f"payoffs: got shape {shape}; allowed: {allowed}")
    return out


def check_payoff_values(name: str, arr: np.ndarray) -> float:
    """max |entry| of a payoff table, after refusing NaN, inf and magnitudes that would overflow the moments."""
    if arr.size == 0:
        return 0.0
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)].ravel()[0]
        raise ValueError(f"{name}: got a non-finite entry ({bad}); allowed: finite numbers")
    top = float(np.max(np.abs(arr)))
    if top > MAX_ABS_PAYOFF:
        raise ValueError(f"{name}: got entries up to {top:.3g} in magnitude; allowed: |payoff| <= "
                         f"{MAX_ABS_PAYOFF:g} (rescale the payoffs by c and gamma by 1/c: the RAE is unchanged)")
    return top
