"""Scripted Atari behaviour read from the emulator's RAM (addresses from the taxonomy spec), mixed with
random actions: ``eps`` is the per-step probability of a uniform action (the tiers differ only in it).

The policies read the true RAM (``info["ram"]``, added by :class:`RamInfo` inside each worker); they are
privileged scripts, not agents, so a type 3.2 profile hides things from the stored observations, not
from them.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from stori_envs.datasets.behaviour.base import Behaviour, random_action

# Breakout (stori-taxonomy.md §3.1): 99 ball x, 101 ball y, 72 paddle x; minimal actions NOOP, FIRE, RIGHT, LEFT.
BREAKOUT_BALL_X, BREAKOUT_BALL_Y, BREAKOUT_PADDLE_X = 99, 101, 72
BREAKOUT_PADDLE_OFFSET = 8  # paddle x is its left edge; aim its centre (measured against the screen)
# Boxing (§3.2): 32/34 player x/y, 33/35 enemy x/y. Minimal action set order of ALE (18 actions).
BOXING_PLAYER_X, BOXING_PLAYER_Y, BOXING_ENEMY_X, BOXING_ENEMY_Y = 32, 34, 33, 35
_BOXING_FIRE = {(0, 0): 1, (0, -1): 10, (1, 0): 11, (-1, 0): 12, (0, 1): 13,
                (1, -1): 14, (-1, -1): 15, (1, 1): 16, (-1, 1): 17}  # (dx, dy) -> FIRE variants
_BOXING_MOVE = {(0, 0): 0, (0, -1): 2, (1, 0): 3, (-1, 0): 4, (0, 1): 5,
                (1, -1): 6, (-1, -1): 7, (1, 1): 8, (-1, 1): 9}
# Tuned on two episodes (docs/datasets.md): keep 20 px horizontally from the enemy, align within 10 px
# vertically, and press FIRE every other step (holding it throws one punch only).
BOXING_DISTANCE, BOXING_ALIGN = 20, 10


class RamInfo(gym.Wrapper):
    """Puts the emulator's RAM in ``info["ram"]`` (for scripted behaviour; the collector drops it)."""

    def _ram(self, info: dict) -> dict:
        info = dict(info)
        info["ram"] = self.env.unwrapped.ale.getRAM().copy()
        return info

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return obs, self._ram(info)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, self._ram(info)


def breakout_action(ram: np.ndarray, t: int = 0) -> int:
    """FIRE when no ball is in play, else move the paddle's centre towards the ball's x."""
    ball_x, ball_y = int(ram[BREAKOUT_BALL_X]), int(ram[BREAKOUT_BALL_Y])
    if ball_y == 0:
        return 1
    centre = int(ram[BREAKOUT_PADDLE_X]) + BREAKOUT_PADDLE_OFFSET
    if ball_x > centre + 2:
        return 2
    if ball_x < centre - 2:
        return 3
    return 0


def boxing_action(ram: np.ndarray, t: int = 0) -> int:
    """Hold punching distance from the enemy, line up vertically, and punch on every other step ``t``."""
    dx = int(ram[BOXING_ENEMY_X]) - int(ram[BOXING_PLAYER_X])
    dy = int(ram[BOXING_ENEMY_Y]) - int(ram[BOXING_PLAYER_Y])
    side = 1 if dx >= 0 else -1
    err = abs(dx) - BOXING_DISTANCE
    mx = 0 if abs(err) <= 3 else (side if err > 0 else -side)
    my = 0 if abs(dy) <= BOXING_ALIGN else int(np.sign(dy))
    return (_BOXING_FIRE if t % 2 == 0 else _BOXING_MOVE)[(mx, my)]


SCRIPTS = {"Breakout": breakout_action, "Boxing": boxing_action}


class ScriptedAtari(Behaviour):
    """The game's RAM script with probability ``1 - eps``, a uniform action otherwise (per step)."""

    def __init__(self, action_space: gym.Space, game: str, eps: float) -> None:
        if game not in SCRIPTS:
            raise ValueError(f"game: got {game!r}; allowed: " + ", ".join(SCRIPTS))
        super().__init__(action_space, {"game": game, "eps": eps, "rule": f"{game.lower()}-ram-v1"})
        self.name = f"scripted-{game.lower()}"
        self.script, self.eps = SCRIPTS[game], float(eps)
        self._t: dict[int, int] = {}

    def start(self, slot: int, seed: int) -> None:
        super().start(slot, seed)
        self._t[slot] = 0

    def act_slot(self, slot: int, obs: np.ndarray, info: dict[str, Any]) -> tuple[Any, float]:
        rng = self.rng(slot)
        n = self.action_space.n
        scripted = self.script(info["ram"], self._t[slot])
        self._t[slot] += 1
        explore = rng.random() < self.eps
        action = int(rng.integers(n)) if explore else scripted
        # probability of the action under the eps-mixture (known exactly)
        p = self.eps / n + (1 - self.eps) * (action == scripted)
        return action, float(np.log(p))


__all__ = ["RamInfo", "ScriptedAtari", "breakout_action", "boxing_action", "random_action"]
