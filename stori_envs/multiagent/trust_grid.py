"""``TrustDilemmaGrid``: a Markov stag hunt on a 5x5 grid (the trust dilemma).

Agent 0 starts at (0, 0), agent 1 at (4, 4); the stag stands at (2, 2), hares at (0, 2) and (4, 2).
Actions: 0 stay, 1 up (row - 1), 2 down, 3 left (col - 1), 4 right; walls clip; agents may share cells
and walk over the stag's cell. Each step all active agents move; if both are active and both are at
Manhattan distance exactly 1 from the stag, each gets +4 and both terminate (the stag needs two hunters).
Otherwise an active agent on a live hare's cell takes it (+3, the hare is removed, the agent terminates;
two agents on one hare in the same step split it, 1.5 each). Agents still active at step ``horizon``
(20) are truncated with 0. Hunting the stag pays more but is worthless if the partner goes for a hare:
with the scripted :class:`StagPolicy` and :class:`HarePolicy` the meta-game is exactly the stag hunt
(4,0;3,3), where Hare is risk-dominant.

Observation (Box(0, 1, (14,))): own (r, c), partner (r, c), partner-active flag, stag (r, c), each hare
(r, c, alive), t / horizon; coordinates divided by 4. Options: ``random_layout`` (seeded positions, all
distinct, stream ``"layout"``), ``stag_move_prob`` (after each step the stag moves to a uniformly chosen
neighbouring cell with this probability, stream ``"stag"``: environment noise), ``step_cost``.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from stori_envs.multiagent.base import RiskParallelEnv
from stori_envs.taxonomy.validation import check_number

SIZE = 5
MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]])  # stay, up, down, left, right
STAG_REWARD, HARE_REWARD = 4.0, 3.0
DEFAULT_LAYOUT = {"agents": ((0, 0), (4, 4)), "stag": (2, 2), "hares": ((0, 2), (4, 2))}


class TrustDilemmaGrid(RiskParallelEnv):
    """Two-agent Markov stag hunt (see the module docstring)."""

    metadata = {"name": "trust_dilemma_grid_v0", "render_modes": ["ansi"], "is_parallelizable": True}
    stream_names = ("layout", "stag")

    def __init__(self, horizon: int = 20, random_layout: bool = False, stag_move_prob: float = 0.0,
                 step_cost: float = 0.0, render_mode: str | None = None) -> None:
        if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
            raise ValueError(f"horizon: got {horizon!r}; allowed: an integer >= 1")
        if not isinstance(random_layout, bool):
            raise ValueError(f"random_layout: got {random_layout!r}; allowed: True or False")
        self.horizon = horizon
        self.random_layout = random_layout
        self.stag_move_prob = check_number("stag_move_prob", stag_move_prob, 0.0, 1.0)
        self.step_cost = check_number("step_cost", step_cost, 0.0)
        obs = spaces.Box(0.0, 1.0, (14,), np.float32)
        super().__init__(2, obs, [spaces.Discrete(5), spaces.Discrete(5)], render_mode)

    def _reset_state(self) -> None:
        if self.random_layout:
            cells = self.rng("layout").choice(SIZE * SIZE, size=5, replace=False)
            pos = np.stack([cells // SIZE, cells % SIZE], axis=1)
            self.pos, self.stag, self.hares = pos[:2].copy(), pos[2].copy(), pos[3:].copy()
        else:
            self.pos = np.array(DEFAULT_LAYOUT["agents"])
            self.stag = np.array(DEFAULT_LAYOUT["stag"])
            self.hares = np.array(DEFAULT_LAYOUT["hares"])
        self.hare_alive = np.ones(2, dtype=bool)

    def _index(self, agent: str) -> int:
        return self.possible_agents.index(agent)

    def _observe(self, agent: str) -> np.ndarray:
        i = self._index(agent)
        j = 1 - i
        partner_active = float(self.possible_agents[j] in self.agents)
        hares = np.concatenate([np.append(self.hares[h] / 4.0, float(self.hare_alive[h])) for h in range(2)])
        return np.concatenate([self.pos[i] / 4.0, self.pos[j] / 4.0, [partner_active], self.stag / 4.0, hares,
                               [self.t / self.horizon]]).astype(np.float32)

    def _transition(self, actions):
        live = list(self.agents)
        for agent in live:
            i = self._index(agent)
            self.pos[i] = np.clip(self.pos[i] + MOVES[actions[agent]], 0, SIZE - 1)
        rewards = {a: -self.step_cost for a in live}
        terminated = {a: False for a in live}
        near = [int(np.abs(self.pos[self._index(a)] - self.stag).sum()) == 1 for a in live]
        if len(live) == 2 and all(near):
            for a in live:
                rewards[a] += STAG_REWARD
                terminated[a] = True
        else:
            for h in range(2):
                if not self.hare_alive[h]:
                    continue
                takers = [a for a in live if np.array_equal(self.pos[self._index(a)], self.hares[h])]
                if takers:
                    self.hare_alive[h] = False
                    for a in takers:
                        rewards[a] += HARE_REWARD / len(takers)
                        terminated[a] = True
        if self.stag_move_prob > 0:
            rng = self.rng("stag")
            if rng.random() < self.stag_move_prob:
                self.stag = np.clip(self.stag + MOVES[1 + rng.integers(4)], 0, SIZE - 1)
        return rewards, terminated, {}

    def _render_text(self) -> str:
        grid = [["." for _ in range(SIZE)] for _ in range(SIZE)]
        grid[self.stag[0]][self.stag[1]] = "S"
        for h in range(2):
            if self.hare_alive[h]:
                grid[self.hares[h][0]][self.hares[h][1]] = "h"
        for i, agent in enumerate(self.possible_agents):
            if agent in self.agents:
                grid[self.pos[i][0]][self.pos[i][1]] = str(i)
        return f"t={self.t}\n" + "\n".join("".join(row) for row in grid)


def _decode(obs: np.ndarray) -> dict:
    o = np.rint(np.asarray(obs, dtype=float) * 4.0).astype(int)
    return {"own": o[0:2], "stag": o[5:7], "hares": [o[7:9], o[10:12]], "alive": [obs[9] > 0.5, obs[12] > 0.5]}


def _step_towards(own: np.ndarray, target: np.ndarray, blocked: list[np.ndarray]) -> int:
    """First move (vertical before horizontal) that gets closer to ``target`` without entering ``blocked``."""
    options = []
    if target[0] != own[0]:
        options.append(2 if target[0] > own[0] else 1)
    if target[1] != own[1]:
        options.append(4 if target[1] > own[1] else 3)
    for move in options:
        nxt = own + MOVES[move]
        if not any(np.array_equal(nxt, b) for b in blocked):
            return move
    return 0


class StagPolicy:
    """Scripted stag hunter: walk to the nearest stag-adjacent cell (ties N, S, W, E), never onto a live hare, wait."""

    def reset(self, rng: np.random.Generator | None = None) -> None:
        pass

    def act(self, obs: np.ndarray) -> int:
        s = _decode(obs)
        own, stag = s["own"], s["stag"]
        targets = [stag + d for d in ([-1, 0], [1, 0], [0, -1], [0, 1])]
        targets = [c for c in targets if (0 <= c).all() and (c < SIZE).all()]
        target = min(targets, key=lambda c: int(np.abs(c - own).sum()))  # min keeps the first of ties
        live_hares = [h for h, alive in zip(s["hares"], s["alive"]) if alive]
        return _step_towards(own, target, live_hares)

    def action_probs(self, obs: np.ndarray) -> np.ndarray:
        return np.eye(5)[self.act(obs)]


class HarePolicy:
    """Scripted hare hunter: shortest path (vertical first) to the nearest live hare (ties: lower index)."""

    def reset(self, rng: np.random.Generator | None = None) -> None:
        pass

    def act(self, obs: np.ndarray) -> int:
        s = _decode(obs)
        own = s["own"]
        live = [h for h, alive in zip(s["hares"], s["alive"]) if alive]
        if not live:
            return 0
        target = min(live, key=lambda c: int(np.abs(c - own).sum()))
        return _step_towards(own, target, [])

    def action_probs(self, obs: np.ndarray) -> np.ndarray:
        return np.eye(5)[self.act(obs)]
