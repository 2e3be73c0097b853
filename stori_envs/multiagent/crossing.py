"""``CrossingEnv``: two cars at an unsignalised intersection; entering the conflict zone together crashes.

Each car drives its own lane of cells 0..10 and both lanes cross in the conflict zone, cells {4, 5}.
Both cars start at position 0 with speed 1. Actions: 0 brake, 1 keep, 2 accelerate; the speed becomes
clip(v + a - 1, 0, 2), then the position advances by the speed (the zone is as wide as the top speed, so
no car can jump over it). Rewards: -0.1 per step per active car; if both active cars are inside the zone
after moving they crash: -20 each, both terminate, ``infos[agent]["catastrophe"] = True``. A car that
reaches position >= 10 exits with +2 and terminates (the crash check comes first). Cars still active at
step ``horizon`` (30) are truncated. It is the Markov version of the crash game: ``GoPolicy`` against
``YieldPolicy`` earns (1.5, 1.1), Go/Go crashes at step 2 (-20.2 each), Yield/Yield deadlocks (-3 each).

``rho`` adds unexpected behaviour: each car's action is independently replaced by "accelerate" with
probability ``rho`` (stream ``"rho"``; ``infos[agent]["replaced_action"]``).

Observation (Box(0, 1, (6,))): own position / 10 (clipped), own speed / 2, other position / 10, other
speed / 2, other-active flag, t / horizon.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from stori_envs.multiagent.base import RiskParallelEnv

LANE_END, ZONE, V_MAX = 10, (4, 5), 2
STEP_COST, CRASH_PENALTY, EXIT_REWARD = 0.1, 20.0, 2.0
BRAKE, KEEP, ACCELERATE = 0, 1, 2


class CrossingEnv(RiskParallelEnv):
    """Two-car unsignalised intersection (see the module docstring)."""

    metadata = {"name": "crossing_v0", "render_modes": ["ansi"], "is_parallelizable": True}
    stream_names = ("rho",)

    def __init__(self, rho: float = 0.0, horizon: int = 30, render_mode: str | None = None) -> None:
        if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not 0.0 <= rho <= 1.0:
            raise ValueError(f"rho: got {rho!r}; allowed: a number in [0, 1]")
        if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
            raise ValueError(f"horizon: got {horizon!r}; allowed: an integer >= 1")
        self.rho = float(rho)
        self.horizon = horizon
        obs = spaces.Box(0.0, 1.0, (6,), np.float32)
        super().__init__(2, obs, [spaces.Discrete(3), spaces.Discrete(3)], render_mode)

    def _reset_state(self) -> None:
        self.pos = np.zeros(2, dtype=np.int64)
        self.vel = np.ones(2, dtype=np.int64)

    def _observe(self, agent: str) -> np.ndarray:
        i = self.possible_agents.index(agent)
        j = 1 - i
        other_active = float(self.possible_agents[j] in self.agents)
        return np.array([min(self.pos[i], LANE_END) / LANE_END, self.vel[i] / V_MAX,
                         min(self.pos[j], LANE_END) / LANE_END, self.vel[j] / V_MAX, other_active,
                         self.t / self.horizon], dtype=np.float32)

    def _transition(self, actions):
        live = list(self.agents)
        infos = {a: {"replaced_action": False, "catastrophe": False} for a in live}
        for agent in live:
            i = self.possible_agents.index(agent)
            act = actions[agent]
            # One coin per live car and step, so the stream does not depend on the actions chosen.
            if self.rho > 0 and self.rng("rho").random() < self.rho:
                act = ACCELERATE
                infos[agent]["replaced_action"] = True
            self.vel[i] = min(max(int(self.vel[i]) + act - 1, 0), V_MAX)
            self.pos[i] += self.vel[i]
        rewards = {a: -STEP_COST for a in live}
        terminated = {a: False for a in live}
        in_zone = [a for a in live if ZONE[0] <= self.pos[self.possible_agents.index(a)] <= ZONE[1]]
        if len(live) == 2 and len(in_zone) == 2:
            for a in live:
                rewards[a] -= CRASH_PENALTY
                terminated[a] = True
                infos[a]["catastrophe"] = True
            return rewards, terminated, infos
        for a in live:
            if self.pos[self.possible_agents.index(a)] >= LANE_END:
                rewards[a] += EXIT_REWARD
                terminated[a] = True
        return rewards, terminated, infos

    def _render_text(self) -> str:
        lanes = []
        for i, agent in enumerate(self.possible_agents):
            cells = ["#" if ZONE[0] <= c <= ZONE[1] else "." for c in range(LANE_END + 1)]
            if agent in self.agents and self.pos[i] <= LANE_END:
                cells[self.pos[i]] = str(i)
            lanes.append("".join(cells) + f"  v={self.vel[i]}")
        return f"t={self.t}\n" + "\n".join(lanes)


class GoPolicy:
    """Scripted: always accelerate."""

    def reset(self, rng: np.random.Generator | None = None) -> None:
        pass

    def act(self, obs: np.ndarray) -> int:
        return ACCELERATE

    def action_probs(self, obs: np.ndarray) -> np.ndarray:
        return np.eye(3)[ACCELERATE]


class YieldPolicy:
    """Scripted: brake until the other car has exited or is past the zone (position > 5), then accelerate."""

    def reset(self, rng: np.random.Generator | None = None) -> None:
        pass

    def act(self, obs: np.ndarray) -> int:
        other_gone = obs[4] < 0.5 or round(float(obs[2]) * LANE_END) > ZONE[1]
        return ACCELERATE if other_gone else BRAKE

    def action_probs(self, obs: np.ndarray) -> np.ndarray:
        return np.eye(3)[self.act(obs)]
