"""A small image environment for the generic image occlusions: a bright square wanders on a gray field."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class SquareImageEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, height: int = 210, width: int = 160, render_mode: str | None = "rgb_array") -> None:
        self.height, self.width = height, width
        self.observation_space = spaces.Box(0, 255, (height, width, 3), np.uint8)
        self.action_space = spaces.Discrete(5)
        self.render_mode = render_mode
        self._pos = np.zeros(2, dtype=np.int64)
        self._t = 0

    def _frame(self) -> np.ndarray:
        frame = np.full((self.height, self.width, 3), 120, dtype=np.uint8)
        y, x = self._pos
        frame[y:y + 10, x:x + 10] = (250, 200, 40)
        return frame

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._pos = self.np_random.integers([0, 0], [self.height - 10, self.width - 10])
        self._t = 0
        return self._frame(), {}

    def step(self, action):
        moves = np.array([[0, 0], [-3, 0], [3, 0], [0, -3], [0, 3]])
        self._pos = np.clip(self._pos + moves[int(action)], 0, [self.height - 10, self.width - 10])
        self._t += 1
        return self._frame(), float(self._pos[1] > self.width // 2), False, self._t >= 200, {}

    def render(self):
        return self._frame()
