"""The paper's profiles (STORI, arXiv 2509.01793, experiment config of the original release) as presets.

Every preset is a flat profile dict. The paper's p are per emulator frame and its thresholds T count
agent steps of 4 frames, which is exactly how the engine applies them by default (``frameskip=4``,
``granularity="frame"``, drift counted in agent steps). Type 0 (ours) is added for every game.
"""

from __future__ import annotations

from typing import Any

A = "intrinsic_stochasticity.action_dependent."
E = "intrinsic_stochasticity.action_independent_random."
D = "intrinsic_stochasticity.action_independent_concept_drift."
P = "partial_observation."


def _type1(action_set: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"stochasticity_type": "1", A + "stochastic_action_prob": 0.3}
    if action_set:
        out[A + "random_action_set"] = action_set
    return out


def _event(mode: str, p: float) -> dict[str, Any]:
    return {"stochasticity_type": "2.1", E + "mode": mode, E + "random_stochasticity_prob": p}


def _po(kind: str, mode: str, p: float) -> dict[str, Any]:
    return {"stochasticity_type": "3.2", P + "type": kind, P + "mode": mode, P + "prob": p}


def _drift(temporal_mode: str, threshold: int, kind: str, mode: str, p: float) -> dict[str, Any]:
    return {"stochasticity_type": "2.2", D + "temporal_mode": temporal_mode, D + "temporal_threshold": threshold,
            D + "secondary_concept_type": "3.2", P + "type": kind, P + "mode": mode, P + "prob": p}


STATE = {"stochasticity_type": "0"}
DEFAULT = {"stochasticity_type": "3.1"}

#: game -> preset name -> (flat profile, one-line description).
PRESETS: dict[str, dict[str, tuple[dict[str, Any], str]]] = {
    "Breakout": {
        "0": (STATE, "type 0: RAM plus decoded ball, paddle, lives and score"),
        "1": (_type1(), "type 1: random action with p=0.3 per frame"),
        "2.1": (_event("2", 0.25), "type 2.1: a brick hit is undone and pays nothing with p=0.25"),
        "2.2": (_drift("sudden", 300, "blackout", "10", 1.0),
                "type 2.2: from step 300 the ball shows only in the middle band (blackout 10)"),
        "3.1": (DEFAULT, "type 3.1: the game as it is"),
        "3.2A": (_po("blackout", "10", 1.0), "type 3.2: top and bottom ball bands blacked out (blackout 10)"),
        "3.2B": (_po("crop", "1", 0.75), "type 3.2: left half hidden with p=0.75 (crop 1)"),
        "3.2C": (_po("crop", "5", 1.0), "type 3.2: torch, only a disc of radius 75 visible (crop 5)"),
    },
    "Boxing": {
        "0": (STATE, "type 0: RAM plus decoded positions, scores and clock"),
        "1": (_type1(), "type 1: random action with p=0.3 per frame"),
        "2.1": (_event("1", 0.001), "type 2.1: the boxers' colours swap with p=0.001 per frame"),
        "2.2": (_drift("sudden", 300, "ram", "2", 0.7), "type 2.2: from step 300 the enemy is hidden with p=0.7"),
        "3.1": (DEFAULT, "type 3.1: the game as it is"),
        "3.2A": (_po("blackout", "9", 1.0), "type 3.2: scores and clock hidden (blackout 9)"),
        "3.2B": (_po("crop", "2", 0.75), "type 3.2: right half hidden with p=0.75 (crop 2)"),
        "3.2C": (_po("ram", "2", 0.7), "type 3.2: enemy hidden by a RAM peek with p=0.7 (ram 2)"),
    },
    "Gopher": {
        "0": (STATE, "type 0: RAM plus decoded farmer, carrots, seed and score"),
        "1": (_type1(), "type 1: random action with p=0.3 per frame"),
        "2.1": (_event("2", 0.3), "type 2.1: a filled hole reopens and pays nothing with p=0.3"),
        "2.2": (_drift("cyclic", 600, "blackout", "6", 1.0),
                "type 2.2: every other 600 steps the underground is hidden (blackout 6)"),
        "3.1": (DEFAULT, "type 3.1: the game as it is"),
        "3.2": (_po("blackout", "6", 1.0), "type 3.2: underground hidden below the hole openings (blackout 6)"),
    },
    "BankHeist": {
        "0": (STATE, "type 0: RAM plus decoded car, maze, fuel, banks and score"),
        "1": (_type1("paper"), "type 1: random action (0-9, as in the paper) with p=0.3 per frame"),
        "2.1": (_event("3", 0.001), "type 2.1: the car is moved to another maze with p=0.001 per frame"),
        "2.2": (_drift("cyclic", 600, "ram", "3", 0.75),
                "type 2.2: every other 600 steps the city blocks are hidden with p=0.75"),
        "3.1": (DEFAULT, "type 3.1: the game as it is"),
        "3.2": (_po("ram", "3", 0.75), "type 3.2: city blocks hidden by a RAM peek with p=0.75 (ram 3)"),
    },
}

#: The paper's presets (type 0 is ours).
PAPER_PRESETS = {game: [name for name in presets if name != "0"] for game, presets in PRESETS.items()}


def preset_id(game: str, name: str) -> str:
    return f"stori/{game}-T{name}-v0"


def preset_profile(game: str, name: str) -> dict[str, Any]:
    """The flat profile of preset ``name`` ("3.2A" or "T3.2A") of ``game``."""
    presets = PRESETS[game]
    key = name[1:] if name[:1] in ("T", "t") and name[1:] in presets else name
    if key not in presets:
        raise ValueError(f"profile: got preset {name!r} for {game}; allowed: " + ", ".join(presets))
    return dict(presets[key][0])
