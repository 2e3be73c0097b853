"""``info["stori"]``: the facts of each step, written by the wrappers that know them.

Keys present on every ``step`` of a stori environment (``reset`` records leave out the two action
keys, so that vector environments can batch the record: Gymnasium's info batching cannot mix
``None`` with the integer actions of the other sub-environments):

=====================  ==============================================================
``type``               the profile's stochasticity type id (``"2.2"`` for a drift stack)
``concept``            1 (default environment) or 2 (the drift's secondary concept)
``action``             the action the agent chose
``executed_action``    the action the environment executed (differs under type 1)
``action_replaced``    whether type 1 replaced the action this step
``event``              whether a type 2.1 event fired this step
``observation_altered`` whether type 3.2 hid or changed part of this observation
=====================  ==============================================================

Families add their own keys (e.g. ``events``, ``reward_correction`` for Atari games).
"""

from __future__ import annotations

from typing import Any


def stori_record(info: dict[str, Any], stori_type: str, action: Any = None) -> dict[str, Any]:
    """Return ``info["stori"]``, creating it with every key at its neutral value if absent."""
    rec = info.get("stori")
    if rec is None:
        rec = info["stori"] = {"type": stori_type, "concept": 1, "action_replaced": False, "event": False,
                               "observation_altered": False}
        if action is not None:
            rec["action"] = rec["executed_action"] = action
    return rec
