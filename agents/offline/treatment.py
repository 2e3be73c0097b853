"""Treatment metrics of the medical family (spec medical.md 4.4), callable by any evaluation loop.

* :func:`mcr` -- matching-clinician rate on logged steps: share with ||pi(s) - a_clin|| < eps (L2, in
  action units scaled so the box is [-1, 1]; eps 0.1, design).
* :func:`air` -- among logged steps with SpO2 < 92 % or urine < 0.5 mL/kg/h, the share where pi raises the
  fluid or the vasopressor above the previous logged dose (observation columns ``prev_fluid`` and
  ``prev_vasopressor`` hold the previous chosen action).
* :func:`acp` -- mean |a_t - a_{t-1}| per dimension in physical units (IFA mL per step, MVD ug/kg/min).
* :func:`ood_visit_rate` -- share of (s, a) visited in true-simulator rollouts that a guardian fitted on the
  training data flags.
* :func:`treatment_report` -- all of the above plus true-simulator return, cost, per-component cost rates
  and mortality, from ``MedSepsis`` rollouts.

Not implemented: the paper-style ME on a k-NN evaluation model (the true simulator's mortality is
reported instead; datasets do not record which terminal states are deaths).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from agents.interface import Agent
from agents.offline.evaluation import run_episodes, summarize
from agents.offline.guardian import SupportGuard
from stori_envs.datasets.transitions import Transitions


def _unit_scale(agent: Agent) -> np.ndarray:
    spec = getattr(agent, "spec", None)
    if spec is None:
        return np.ones(1)
    return (np.asarray(spec.act_high) - np.asarray(spec.act_low)) / 2


def mcr(agent: Agent, data: Transitions, eps: float = 0.1) -> float:
    """Share of logged steps where the agent's action is within ``eps`` (normalised L2) of the logged one."""
    actions = agent.act(data.observations, deterministic=True)
    dist = np.linalg.norm((actions - data.actions) / _unit_scale(agent), axis=-1)
    return float((dist < eps).mean())


def air(agent: Agent, data: Transitions) -> float | None:
    """Share of at-risk logged steps (SpO2 < 92 or urine < 0.5) where the agent raises a dose; None if none."""
    from stori_envs.medical.config import OBS

    obs = data.observations
    risk = (obs[:, OBS["spo2"]] < 92.0) | (obs[:, OBS["urine"]] < 0.5)
    if not risk.any():
        return None
    actions = agent.act(obs[risk], deterministic=True)
    previous = obs[risk][:, [OBS["prev_fluid"], OBS["prev_vasopressor"]]]
    return float((actions > previous).any(axis=1).mean())


def acp(actions_by_episode: Sequence[np.ndarray], dt_hours: float = 4.0) -> dict[str, float]:
    """Mean absolute change between consecutive actions, per dimension, in physical units."""
    from stori_envs.medical.config import FLUID_MAX_ML_PER_4H, VASO_MAX

    scale = np.array([FLUID_MAX_ML_PER_4H * dt_hours / 4.0, VASO_MAX]) / 2  # normalised [-1, 1] -> physical
    diffs = [np.abs(np.diff(a, axis=0)) * scale for a in actions_by_episode if len(a) > 1]
    if not diffs:
        return {"ifa_ml": 0.0, "mvd_ug_kg_min": 0.0}
    mean = np.concatenate(diffs).mean(0)
    return {"ifa_ml": float(mean[0]), "mvd_ug_kg_min": float(mean[1])}


def ood_visit_rate(guard: SupportGuard, episodes: Sequence[dict[str, Any]]) -> float:
    """Share of visited (s, a) pairs of recorded episodes that ``guard`` flags as outside the data support."""
    obs = np.concatenate([e["observations"][:-1] for e in episodes])
    act = np.concatenate([e["actions"] for e in episodes])
    return float(guard.flags(obs, act).float().mean())


def treatment_report(agent: Agent, env_id: str, seeds: Sequence[int], *, test_data: Transitions | None = None,
                     guard: SupportGuard | None = None, make_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """True-simulator return, cost, mortality, component rates, ACP, OOD-visit rate; MCR and AIR on ``test_data``."""
    from stori_envs.medical.config import COST_NAMES

    episodes = run_episodes(agent, env_id, seeds, record=True, make_kwargs=make_kwargs)
    spec = getattr(agent, "spec", None)
    report = summarize(episodes, ref_min=getattr(spec, "ref_min_score", None),
                       ref_max=getattr(spec, "ref_max_score", None), cost_limit=getattr(spec, "cost_limit", None))
    vectors = [e["cost_vectors"] for e in episodes if e["cost_vectors"] is not None and len(e["cost_vectors"])]
    if vectors:
        report["component_rates"] = dict(zip(COST_NAMES, np.concatenate(vectors).mean(0).tolist(), strict=True))
    report["acp"] = acp([e["actions"] for e in episodes])
    if guard is not None:
        report["ood_visit_rate"] = ood_visit_rate(guard, episodes)
    if test_data is not None:
        report["mcr"] = mcr(agent, test_data)
        report["air"] = air(agent, test_data)
    return report
