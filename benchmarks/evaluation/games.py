"""The risk games in the evaluation loop: a PettingZoo game as one Gymnasium env, equilibrium solvers as agents.

The evaluation loop knows Gymnasium environments and agents. A multi-agent risk game enters it as
:class:`JointGameEnv`: the joint action of every seat in (``MultiDiscrete``), the joint observation out
(the seats' observations flattened and concatenated), the **welfare** (sum of the seats' rewards) as
reward, and ``info["cost"]`` = the number of seats in a catastrophe on that step (a crash),
``info["catastrophe"]`` whether one happened, ``info["stori"]`` the first seat's taxonomy record.

The solvers of :mod:`agents.rae` enter as agents (``game-*``): ``learn(env_fn, steps)`` solves the game
(``rae``, ``nash``, ``fp``, ``uniform``, ``prd`` via :func:`agents.rae.baselines.solve` on a matrix
game's payoffs; ``psro-rae`` and ``psro-nash`` via :class:`agents.rae.psro.PSRO` with the exact
best-response oracle, on any risk game) and ``act`` plays the solution: at the start of each episode
every seat draws a population member from its meta-strategy with the row's own stream (seeded by the
agent's and the episode's seeds), then that member acts. The names carry a ``game-`` prefix so that
the RAE policies of ``agents/rae/policy.py`` can register their own names beside them.
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


class GameSolver(OnlineAgent):
    """Solve the game in ``learn``, play the solution in ``act`` (see the module docstring)."""

    method = ""
    config_class = GameSolverConfig

    def __init__(self, config: GameSolverConfig | None = None) -> None:
        self.config = config or GameSolverConfig()
        self.populations: list[list[Any]] | None = None  # per seat: policies with reset(rng) and act(obs)
        self.sigma: list[np.ndarray] = []
        self.sizes: list[int] = []
        self.shapes: list[tuple[int, ...]] = []
        self._rows: list[list[Any]] = []
        self._streams: list[np.random.Generator] = []

    def learn(self, env_fn: Callable[[], Any], total_steps: int, **kwargs: Any) -> dict[str, Any]:
        """Solve the game; ``total_steps`` is unused by the exact solvers (PSRO uses ``psro_iters``)."""
        from stori_envs.multiagent import FixedActionPolicy, UniformRandomPolicy

        env = env_fn()
        self.sizes, self.shapes = env.obs_sizes, env.obs_shapes
        n_actions = [int(n) for n in env.action_space.nvec]
        c = self.config
        if self.method.startswith("psro-"):
            from agents.rae.oracles import ExactMatrixOracle
            from agents.rae.psro import PSRO, PSROConfig

            meta = "rae" if self.method == "psro-rae" else "nash"
            result = PSRO(env.factory, [UniformRandomPolicy(n) for n in n_actions], ExactMatrixOracle(),
                          PSROConfig(meta_solver=meta, gamma=c.gamma, tau=c.tau, seed=c.seed,
                                     max_iters=c.psro_iters, episodes_per_cell=c.episodes_per_cell,
                                     nash_select=c.select)).run()
            self.populations = [list(p) for p in result.populations]
            self.sigma = [np.asarray(s, dtype=np.float64) for s in result.sigma]
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
        self.populations = [[FixedActionPolicy(a, n) for a in range(n)] for n in n_actions]
        self.sigma = [np.asarray(p, dtype=np.float64) for p in result.profile]
        return {"solved": self.method}

    def on_episode_start(self, rows: np.ndarray, seeds: np.ndarray) -> None:
        for row, seed in zip(np.asarray(rows).tolist(), np.asarray(seeds).tolist()):
            while len(self._rows) <= row:
                self._rows.append([])
                self._streams.append(np.random.default_rng())
            rng = np.random.default_rng(np.random.SeedSequence([self.config.seed, int(seed)]))
            members = []
            for population, sigma in zip(self.populations, self.sigma):
                p = np.clip(sigma, 0.0, None)
                member = population[int(rng.choice(len(population), p=p / p.sum()))]
                members.append(member)
            for member in members:
                member.reset(rng)
            self._rows[row], self._streams[row] = members, rng

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        if self.populations is None:
            raise ValueError(f"{self.name}: got act() before learn() or load(); allowed: a solved game")
        if len(self._rows) < len(obs):
            self.on_episode_start(np.arange(len(self._rows), len(obs)), np.arange(len(self._rows), len(obs)))
        bounds = np.cumsum([0, *self.sizes])
        out = np.zeros((len(obs), len(self.sizes)), dtype=np.int64)
        for i, row in enumerate(obs):
            for seat, member in enumerate(self._rows[i]):
                part = np.asarray(row[bounds[seat]:bounds[seat + 1]]).reshape(self.shapes[seat])
                out[i, seat] = int(member.act(part))
        return out

    def metadata(self) -> dict[str, Any]:
        if self.populations is None:
            return {}
        from stori_envs.multiagent import FixedActionPolicy

        fixed = all(isinstance(m, FixedActionPolicy) for p in self.populations for m in p)
        if not fixed:
            return {"strategies": None}
        # A population of fixed actions is a mixed strategy: the probability of each action.
        strategies = []
        for population, sigma in zip(self.populations, self.sigma):
            probs = np.zeros(len(population))
            for member, weight in zip(population, sigma):
                probs[int(member.act(np.zeros(1)))] += weight
            strategies.append(probs.tolist())
        return {"strategies": strategies, "sizes": self.sizes, "shapes": [list(s) for s in self.shapes]}

    def save(self, path: str | os.PathLike) -> Path:
        if self.populations is None or self.metadata().get("strategies") is None:
            raise ValueError(f"{self.name}: save: got an unsolved game or PSRO policies that are not fixed actions;"
                             " allowed: a solved matrix game")
        return super().save(path)

    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str | None = None) -> GameSolver:
        from stori_envs.multiagent import FixedActionPolicy

        header = read_agent_header(path)
        agent = cls(cls.config_class.from_dict(header["config"]))
        meta = header.get("metadata", {})
        if not meta.get("strategies"):
            raise ValueError(f"{path}: metadata.strategies: got none; allowed: a saved solved game")
        agent.sizes, agent.shapes = meta["sizes"], [tuple(s) for s in meta["shapes"]]
        agent.populations = [[FixedActionPolicy(a, len(p)) for a in range(len(p))] for p in meta["strategies"]]
        agent.sigma = [np.asarray(p, dtype=np.float64) for p in meta["strategies"]]
        return agent


for _method in METHODS:
    register_agent(f"game-{_method}")(type(f"Game{_method.title().replace('-', '')}", (GameSolver,), {
        "method": _method, "__doc__": f"The {_method!r} solution of a risk game, played by every seat."}))
