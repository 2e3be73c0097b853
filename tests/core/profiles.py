"""Profiles of every type for the generic environments used in the core tests."""

from __future__ import annotations

A = "intrinsic_stochasticity.action_dependent."
E = "intrinsic_stochasticity.action_independent_random."
D = "intrinsic_stochasticity.action_independent_concept_drift."
PO = "partial_observation."


def action(p: float, **extra) -> dict:
    return {"stochasticity_type": "1", A + "stochastic_action_prob": p, **extra}


def event(mode: str, p: float, **extra) -> dict:
    return {"stochasticity_type": "2.1", E + "mode": mode, E + "random_stochasticity_prob": p, **extra}


def drift(secondary: dict, temporal_mode: str = "sudden", threshold: int = 10, **extra) -> dict:
    body = {k: v for k, v in secondary.items() if k != "stochasticity_type"}
    return {"stochasticity_type": "2.2", D + "temporal_mode": temporal_mode, D + "temporal_threshold": threshold,
            D + "secondary_concept_type": secondary["stochasticity_type"], **body, **extra}


def observation(kind: str, p: float, mode: str | None = None, **extra) -> dict:
    out = {"stochasticity_type": "3.2", PO + "type": kind, PO + "prob": p, **{PO + k: v for k, v in extra.items()}}
    if mode is not None:
        out[PO + "mode"] = mode
    return out


def every_type(env_id: str) -> dict[str, dict | None]:
    """One profile per type that works on a generic vector environment."""
    perturb = "state_perturbation"
    return {
        "0": {"stochasticity_type": "0"},
        "1": action(0.3),
        "2.1-cancel": event("reward_cancel", 0.3),
        "2.1-perturb": event(perturb, 0.3),
        "2.2-1": drift(action(0.5), "cyclic", 7),
        "2.2-3.2": drift(observation("dropout", 0.3)),
        "3.1": None,
        "3.2-mask": observation("mask", 1.0, features=[0, 1], append_mask=True),
        "3.2-dropout": observation("dropout", 0.25),
        "3.2-noise": observation("noise", 0.5, noise_std=0.05),
    }
