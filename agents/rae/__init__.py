"""Risk-averse equilibrium: RAE (mean-variance formulation of ``stori_envs``), its baselines and PSRO-RAE.

* :mod:`agents.rae.normal_form`: risk-averse best response, RAE fictitious play, gaps, statistics.
* :mod:`agents.rae.baselines`: ``solve(payoffs, method)`` for Nash (nashpy), FP, uniform, PRD and RAE.
* :mod:`agents.rae.psro`: PSRO with an RAE (or Nash, uniform, ...) meta-solver and RL best-response oracles.
"""

from agents.rae.normal_form import (
    RAEResult,
    as_payoffs,
    harsanyi_selten_risk_dominant,
    mean_variance,
    payoff_moments,
    rae_fictitious_play,
    rae_gap,
    risk_averse_best_response,
)

__all__ = [
    "RAEResult",
    "as_payoffs",
    "harsanyi_selten_risk_dominant",
    "mean_variance",
    "payoff_moments",
    "rae_fictitious_play",
    "rae_gap",
    "risk_averse_best_response",
]
