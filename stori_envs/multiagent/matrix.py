"""One-step matrix games with high-risk outcomes, as PettingZoo ``ParallelEnv``s, and their named library.

``MatrixGameEnv("crash")`` plays the crash game (Go, Yield); ``MatrixGameEnv(payoffs, action_names)``
plays any N-player normal-form game given as N payoff tensors. Each agent observes a constant 0, acts
once, and every agent terminates; rewards are the payoff entries (plus seeded Gaussian noise with
``reward_noise_std > 0``, drawn from the ``"reward_noise"`` stream), ``infos[agent]["joint_action"]`` is the
joint action and ``infos[agent]["catastrophe"]`` says whether it is a catastrophe cell. These games let a
PSRO pipeline be checked exactly against the normal-form solver (``agents.rae``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from gymnasium import spaces

from stori_envs.multiagent.base import RiskParallelEnv
from stori_envs.multiagent.payoffs import as_payoffs  # the one validator of payoff tables


@dataclass(frozen=True)
class MatrixGame:
    """A named normal-form game: payoff tensors (one per player), action names, catastrophe cells."""

    name: str
    payoffs: tuple[np.ndarray, ...]
    action_names: tuple[tuple[str, ...], ...]
    catastrophe_cells: tuple[tuple[int, ...], ...] = ()
    description: str = ""


def _symmetric(name: str, a: list[list[float]], actions: tuple[str, ...], description: str,
               catastrophe=()) -> MatrixGame:
    a = np.asarray(a, dtype=float)
    return MatrixGame(name, (a, a.T.copy()), (actions, actions), tuple(catastrophe), description)


def _three_player_stag_hunt() -> MatrixGame:
    t = np.zeros((2, 2, 2))
    t[0, 0, 0] = 6.0  # stag pays only if all three hunt it
    t[1] = 2.0  # hare always pays 2
    payoffs = (t, np.moveaxis(t, 0, 1).copy(), np.moveaxis(t, 0, 2).copy())
    return MatrixGame("stag_hunt_3p", payoffs, (("Stag", "Hare"),) * 3, (),
                      "3-player stag hunt: Stag pays 6 only if all three hunt stag, Hare pays 2")


def _shapley() -> MatrixGame:
    a = np.eye(3)
    b = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    names = ("0", "1", "2")
    return MatrixGame("shapley", (a, b), (names, names), (), "Shapley's game: fictitious play cycles")


#: The library of named games (rows and columns ordered as the action names).
GAMES: dict[str, MatrixGame] = {g.name: g for g in (
    _symmetric("stag_hunt", [[4, 0], [3, 3]], ("Stag", "Hare"),
               "stag hunt (4,0;3,3): (S,S) payoff-dominant, (H,H) risk-dominant"),
    _symmetric("risky_stag_hunt", [[10, -2], [3, 3]], ("Stag", "Hare"),
               "risky stag hunt (10,-2;3,3): RAE-FP leaves (S,S) for (H,H) when gamma > 1/36"),
    _symmetric("stag_hunt_openspiel", [[2, 0], [1, 1]], ("Stag", "Hare"),
               "OpenSpiel matrix_sh (2,0;1,1): the two NE tie on risk dominance"),
    _symmetric("crash", [[-20, 2], [1, 0.5]], ("Go", "Yield"),
               "crash game (chicken): (Go, Go) crashes for -20 each", catastrophe=((0, 0),)),
    _symmetric("chicken", [[0, -1], [1, -10]], ("Swerve", "Straight"),
               "classic chicken: (Straight, Straight) is the catastrophe", catastrophe=((1, 1),)),
    MatrixGame("matching_pennies", (np.array([[1.0, -1.0], [-1.0, 1.0]]), np.array([[-1.0, 1.0], [1.0, -1.0]])),
               (("Heads", "Tails"),) * 2, (), "matching pennies (zero-sum)"),
    MatrixGame("rps", (np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]]),
                       -np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])),
               (("Rock", "Paper", "Scissors"),) * 2, (), "rock-paper-scissors (zero-sum)"),
    _shapley(),
    _three_player_stag_hunt(),
)}


def matrix_game(name: str) -> MatrixGame:
    """The named game of :data:`GAMES` (ValueError listing the names otherwise)."""
    if name not in GAMES:
        raise ValueError(f"game: got {name!r}; allowed: " + ", ".join(sorted(GAMES)))
    return GAMES[name]


class MatrixGameEnv(RiskParallelEnv):
    """A one-step N-player matrix game.

    Args:
        payoffs: a name from :data:`GAMES`, or N payoff tensors of shape (n_0, ..., n_{N-1}).
        action_names: per player, the names of its actions (default: the game's or "0", "1", ...).
        catastrophe_cells: joint actions that count as catastrophes (default: the named game's).
        reward_noise_std: standard deviation of the Gaussian noise added to every reward.
    """

    stream_names = ("reward_noise",)
    horizon = 1

    def __init__(self, payoffs: str | Sequence[np.ndarray] = "crash", action_names=None, catastrophe_cells=None,
                 reward_noise_std: float = 0.0, render_mode: str | None = None) -> None:
        if isinstance(payoffs, str):
            game = matrix_game(payoffs)
            tables, self.name = game.payoffs, game.name
            action_names = game.action_names if action_names is None else action_names
            catastrophe_cells = game.catastrophe_cells if catastrophe_cells is None else catastrophe_cells
        else:

            tables, self.name = tuple(as_payoffs(list(payoffs))), "custom"
        self.payoffs = tuple(np.asarray(t, dtype=float) for t in tables)
        shape = self.payoffs[0].shape
        n = len(self.payoffs)
        if action_names is None:
            action_names = tuple(tuple(str(a) for a in range(k)) for k in shape)
        if len(action_names) != n or any(len(names) != k for names, k in zip(action_names, shape)):
            raise ValueError(f"action_names: got {action_names!r}; allowed: {n} lists with "
                             f"{list(shape)} names")
        self.action_names = tuple(tuple(names) for names in action_names)
        cells = tuple(tuple(int(a) for a in c) for c in (catastrophe_cells or ()))
        for c in cells:
            if len(c) != n or any(not 0 <= a < k for a, k in zip(c, shape)):
                raise ValueError(f"catastrophe_cells: got {c!r}; allowed: joint actions with {n} entries "
                                 f"inside {shape}")
        self.catastrophe_cells = frozenset(cells)
        if isinstance(reward_noise_std, bool) or not isinstance(reward_noise_std, (int, float)) \
                or not math.isfinite(reward_noise_std) or reward_noise_std < 0:
            raise ValueError(f"reward_noise_std: got {reward_noise_std!r}; allowed: a finite number >= 0")
        self.reward_noise_std = float(reward_noise_std)
        obs_space = spaces.Box(0.0, 1.0, (1,), np.float32)
        super().__init__(n, obs_space, [spaces.Discrete(k) for k in shape], render_mode)
        self.metadata = {**self.metadata, "name": f"matrix_{self.name}_v0"}
        self._last: tuple[int, ...] | None = None

    def _reset_state(self) -> None:
        self._last = None

    def _observe(self, agent: str) -> np.ndarray:
        return np.zeros(1, dtype=np.float32)

    def _transition(self, actions):
        joint = tuple(actions[a] for a in self.possible_agents)
        self._last = joint
        crash = joint in self.catastrophe_cells
        rewards = {}
        for i, agent in enumerate(self.possible_agents):
            r = float(self.payoffs[i][joint])
            if self.reward_noise_std > 0:
                r += self.reward_noise_std * float(self.rng("reward_noise").standard_normal())
            rewards[agent] = r
        infos = {a: {"joint_action": joint, "catastrophe": crash} for a in self.agents}
        return rewards, {a: True for a in self.agents}, infos

    def _render_text(self) -> str:
        if self._last is None:
            return f"{self.name}: waiting for actions"
        names = [self.action_names[i][a] for i, a in enumerate(self._last)]
        return f"{self.name}: " + ", ".join(names)
