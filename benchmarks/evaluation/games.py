"""The risk games in the evaluation loop: a PettingZoo game as one Gymnasium env, equilibrium solvers as agents.

The evaluation loop knows Gymnasium environments and agents. A multi-agent risk game enters it as
:class:`JointGameEnv`: the joint action of every seat in (``MultiDiscrete``), the joint observation out
(the seats' observations flattened and concatenated), the **welfare** (sum of the seats' rewards) as
reward, and ``info["cost"]`` = the number of seats in a catastrophe on that step (a crash),
``info["catastrophe"]`` whether one happened, ``info["stori"]`` the first seat's taxonomy record.

The solvers of :mod:`agents.rae` enter as agents (``game-*``): ``learn(env_fn, steps)`` solves the game
(``rae``, ``nash``, ``fp``, ``uniform``, ``prd`` via :func:`agents.rae.baselines.solve` on a matrix
game's payoffs; ``psro-rae`` and ``psro-nash`` via :class:`agents.rae.psro.PSRO`: exact best
responses on matrix games, tabular Monte-Carlo RL ones on multi-step games) and ``act`` plays the
solution through the seat agents of
:mod:`agents.rae.policy` (``rae-mixed``, ``psro-population``), one per seat, each on its own part of
the joint observation. Mixed strategies are sampled only with ``deterministic=False`` (the risk
suite's setting); ``True`` plays each seat's most likely action or member.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from agents.interface import AgentConfig, OnlineAgent, read_agent_header, register_agent

GAMES_PREFIX = "matrix:"
METHODS = ("rae", "nash", "fp", "uniform", "prd", "psro-rae", "psro-nash")


def make_parallel(game: str, profile: Any = None, **kwargs: Any):
    """The PettingZoo risk game ``game`` (``matrix:<name>``, ``crossing`` or ``trust_grid``) under ``profile``."""
    from stori_envs.multiagent import CrossingEnv, MatrixGameEnv, TrustDilemmaGrid, apply_profile_parallel

    if game.startswith(GAMES_PREFIX):
        env = MatrixGameEnv(game[len(GAMES_PREFIX):], **kwargs)
    elif game == "crossing":
        env = CrossingEnv(**kwargs)
    elif game == "trust_grid":
        env = TrustDilemmaGrid(**kwargs)
    else:
        raise ValueError(f"game: got {game!r}; allowed: 'matrix:<name>', 'crossing', 'trust_grid'")
    return apply_profile_parallel(env, profile) if profile is not None else env


class JointGameEnv(gym.Env):
    """A parallel risk game as one Gymnasium env (see the module docstring)."""

    metadata = {"render_modes": []}

    def __init__(self, game: str, profile: Any = None, **kwargs: Any) -> None:
        self.factory: Callable[[], Any] = lambda: make_parallel(game, profile, **kwargs)
        self.parallel = self.factory()
        self.seats = list(self.parallel.possible_agents)
        spaces = [self.parallel.observation_space(a) for a in self.seats]
        self.obs_shapes = [s.shape for s in spaces]
        self.obs_sizes = [int(np.prod(s.shape)) for s in spaces]
        low = np.concatenate([np.broadcast_to(s.low, s.shape).ravel() for s in spaces]).astype(np.float32)
        high = np.concatenate([np.broadcast_to(s.high, s.shape).ravel() for s in spaces]).astype(np.float32)
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.action_space = gym.spaces.MultiDiscrete([self.parallel.action_space(a).n for a in self.seats])
        self.payoffs = getattr(self.parallel.unwrapped if hasattr(self.parallel, "unwrapped") else self.parallel,
                               "payoffs", None)
        self._obs: dict[str, np.ndarray] = {}

    def _joint(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        self._obs.update(obs)
        return np.concatenate([np.asarray(self._obs[a], dtype=np.float32).ravel() for a in self.seats])

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        obs, infos = self.parallel.reset(seed=seed, options=options)
        return self._joint(obs), {}

    def step(self, action):
        actions = {a: int(action[i]) for i, a in enumerate(self.seats) if a in self.parallel.agents}
        obs, rewards, terminations, truncations, infos = self.parallel.step(actions)
        crashes = sum(bool(infos.get(a, {}).get("catastrophe", False)) for a in actions)
        info: dict[str, Any] = {"cost": float(crashes), "catastrophe": crashes > 0,
                                "returns": {a: float(r) for a, r in rewards.items()}}
        first = infos.get(self.seats[0], {})
        if isinstance(first.get("stori"), dict):
            info["stori"] = first["stori"]
        done = not self.parallel.agents
        truncated = done and any(truncations.values()) and not any(terminations.values())
        return self._joint(obs), float(sum(rewards.values())), done and not truncated, truncated, info


def make_joint_env(env_id: str, profile: Any = None, **kwargs: Any) -> JointGameEnv:
    return JointGameEnv(env_id, profile, **kwargs)


# -- solvers as agents -----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class GameSolverConfig(AgentConfig):
    """Risk weights of RAE (``gamma``: variance, ``tau``: opponents' variance), Nash selection, PSRO budget."""

    gamma: float = 0.1
    tau: float = 0.0
    select: str = "max_welfare"
    psro_iters: int = 10
    episodes_per_cell: int = 20
    oracle_episodes: int = 3000  # RL best response (multi-step games): TabularMCOracle's default
    symmetric: bool = False  # PSRO with one population for both seats (symmetric two-player games)


class GameSolver(OnlineAgent):
    """Solve the game in ``learn``; play it with one seat agent of :mod:`agents.rae.policy` per seat.

    The seat agents are ``rae-mixed`` (a normal-form solution's mixed strategy) or ``psro-population``
    (a PSRO meta-strategy over its population); each gets its own seed (from ``config.seed`` and the
    seat), so the seats' draws are independent, and each batch row draws from a stream keyed by that
    seed and the episode's seed. ``save`` writes this agent's ``agent.json`` and one sub-directory per
    seat agent.
    """

    method = ""
    config_class = GameSolverConfig

    def __init__(self, config: GameSolverConfig | None = None) -> None:
        self.config = config or GameSolverConfig()
        self.seats: list[Any] = []
        self.sizes: list[int] = []
        self.shapes: list[tuple[int, ...]] = []

    def _seat_seed(self, seat: int) -> int:
        return int(np.random.SeedSequence([self.config.seed, seat]).generate_state(1)[0])

    def learn(self, env_fn: Callable[[], Any], total_steps: int, **kwargs: Any) -> dict[str, Any]:
        """Solve the game; ``total_steps`` is unused by the exact solvers (PSRO uses ``psro_iters``)."""
        from agents.rae.policy import MixedStrategyAgent, PopulationAgent
        from stori_envs.multiagent import UniformRandomPolicy

        env = env_fn()
        self.sizes, self.shapes = env.obs_sizes, env.obs_shapes
        c = self.config
        if self.method.startswith("psro-"):
            from agents.rae.oracles import ExactMatrixOracle, TabularMCOracle
            from agents.rae.psro import PSRO, PSROConfig

            meta = "rae" if self.method == "psro-rae" else "nash"
            initial = [UniformRandomPolicy(int(n)) for n in env.action_space.nvec][:1 if c.symmetric else None]
            # Exact best responses on a matrix game; tabular Monte-Carlo RL on multi-step games.
            oracle = ExactMatrixOracle() if env.payoffs is not None else TabularMCOracle(c.oracle_episodes)
            result = PSRO(env.factory, initial, oracle,
                          PSROConfig(meta_solver=meta, gamma=c.gamma, tau=c.tau, seed=c.seed,
                                     max_iters=c.psro_iters, episodes_per_cell=c.episodes_per_cell,
                                     nash_select=c.select, symmetric=c.symmetric)).run()
            # PopulationAgent plays per-row copies of the members, so seats and rows never share state.
            self.seats = [PopulationAgent.from_psro(result, i, self._seat_seed(i)) for i in range(len(result.sigma))]
            return {"iterations": len(result.history), "rae_conv": float(result.rae_conv),
                    "nash_conv": float(result.nash_conv)}
        if env.payoffs is None:
            raise ValueError(f"{self.name}: got a game without payoff tables; allowed: a matrix game "
                             "(use game-psro-rae or game-psro-nash on multi-step games)")
        from agents.rae.baselines import solve

        options: dict[str, Any] = {"gamma": c.gamma, "tau": c.tau}
        if self.method == "nash":
            options["select"] = c.select
        result = solve(list(env.payoffs), self.method, **options)
        self.seats = [MixedStrategyAgent.from_solution(result, i, self._seat_seed(i)) for i in range(len(self.sizes))]
        return {"solved": self.method}

    def seed(self, seed: int | None) -> None:
        for i, agent in enumerate(self.seats):
            agent.seed(None if seed is None else int(np.random.SeedSequence([seed, i]).generate_state(1)[0]))

    def on_episode_start(self, rows: np.ndarray, seeds: np.ndarray) -> None:
        for agent in self.seats:
            agent.on_episode_start(rows, seeds)

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        """Each seat's agent acts on its own part of the joint observations: columns of the joint action."""
        if not self.seats:
            raise ValueError(f"{self.name}: got act() before learn() or load(); allowed: a solved game")
        obs = np.asarray(obs)
        bounds = np.cumsum([0, *self.sizes])
        parts = [obs[:, bounds[i]:bounds[i + 1]].reshape(len(obs), *self.shapes[i]) for i in range(len(self.seats))]
        return np.stack([agent.act(part, deterministic) for agent, part in zip(self.seats, parts)], axis=1)

    def metadata(self) -> dict[str, Any]:
        return {"seats": len(self.seats), "sizes": self.sizes, "shapes": [list(s) for s in self.shapes]}

    def save(self, path: str | os.PathLike) -> Path:
        if not self.seats:
            raise ValueError(f"{self.name}: got save() before learn(); allowed: a solved game")
        path = super().save(path)
        for i, agent in enumerate(self.seats):
            agent.save(path / f"seat_{i}")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str | None = None) -> GameSolver:
        from agents.interface import load_agent

        header = read_agent_header(path)
        agent = cls(cls.config_class.from_dict(header["config"]))
        meta = header.get("metadata", {})
        agent.sizes, agent.shapes = list(meta.get("sizes", [])), [tuple(s) for s in meta.get("shapes", [])]
        agent.seats = [load_agent(Path(path) / f"seat_{i}") for i in range(int(meta.get("seats", 0)))]
        return agent


for _method in METHODS:
    register_agent(f"game-{_method}")(type(f"Game{_method.title().replace('-', '')}", (GameSolver,), {
        "method": _method, "__doc__": f"The {_method!r} solution of a risk game, played by every seat."}))
