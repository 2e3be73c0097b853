"""The reward ledger: keeps rewards consistent with the score when an event cancels points (D9).

ALE pays the change of the score it reads from RAM against a score it remembers. An event that
writes an old score back into RAM after a frame is therefore paid minus the cancelled points on the
*next* frame. The ledger removes exactly the cancelled points from the frame that paid them and
adds the same amount to the next emulated frame, across agent-step boundaries, so the net reward of
a cancelled event is exactly 0 and the screen score, RAM score and summed reward agree. A RAM peek
restores ALE's remembered score together with the state, so peeks never touch the ledger.

``mode="original"`` reproduces the original release instead: the cancelling frame pays 0 and
nothing is carried over (the next frame then pays the negated points where the score was restored).
"""

from __future__ import annotations

LEDGER_MODES = ("ledger", "original")


class RewardLedger:
    """Per-episode reward corrections. ``correction`` sums what was changed during the current agent step."""

    __slots__ = ("mode", "pending", "correction")

    def __init__(self, mode: str = "ledger") -> None:
        if mode not in LEDGER_MODES:
            raise ValueError(f"semantics.reward: got {mode!r}; allowed: {', '.join(LEDGER_MODES)}")
        self.mode = mode
        self.pending = 0.0
        self.correction = 0.0

    def clear(self) -> None:
        """Forget everything (on reset: ALE's remembered score restarts with the episode)."""
        self.pending = 0.0
        self.correction = 0.0

    def cancel(self, reward: float, points: float, score_restored: bool) -> float:
        """The frame's reward once an event worth ``points`` (as ALE paid them) is cancelled.

        ``score_restored`` says whether the score bytes were written back, in which case ALE pays
        ``-points`` on the next frame and the ledger carries ``+points`` over to meet it.
        """
        if self.mode == "original":
            new = 0.0
        else:
            new = reward - points
            if score_restored:
                self.pending += points
        self.correction += new - reward
        return new

    def settle(self, reward: float) -> float:
        """Add the carried-over correction to the reward of the frame just emulated."""
        pending = self.pending
        self.pending = 0.0
        self.correction += pending
        return reward + pending
