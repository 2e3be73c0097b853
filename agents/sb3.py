"""Stable-Baselines3 PPO, DQN and SAC as agents of the shared interface (online training, batched acting).

``learn(env_fn, total_steps)`` trains the SB3 algorithm on ``config.n_envs`` copies of the environment
(a ``DummyVecEnv``); ``act`` calls the trained policy on a whole batch. ``save`` writes the policy's
``state_dict`` as safetensors plus ``agent.json`` (config, spaces); ``load`` rebuilds the SB3 policy
class from that config and loads the tensors: SB3's own ``.zip`` format unpickles objects and is
never read.

Seeding: SB3 seeds Python's, NumPy's and torch's global generators from ``seed`` (its design, not
ours); the evaluation loop runs each training in its own worker process so those globals belong to
one cell. ``act(..., deterministic=False)`` samples from the policy's distribution with the agent's
own NumPy stream instead of torch's global generator.

Default hyper-parameters are those of rl-baselines3-zoo for CartPole-v1 (PPO, DQN; schedules held
constant) and SB3's defaults (SAC); a suite overrides any field.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from agents.interface import AgentConfig, OnlineAgent, read_agent_header, register_agent

WEIGHTS_FILE = "policy.safetensors"


@dataclasses.dataclass(frozen=True)
class PPOConfig(AgentConfig):
    """rl-baselines3-zoo ``hyperparams/ppo.yml`` CartPole-v1 (linear schedules held constant)."""

    n_envs: int = 8
    n_steps: int = 32
    batch_size: int = 256
    n_epochs: int = 20
    gamma: float = 0.98
    gae_lambda: float = 0.8
    learning_rate: float = 1e-3
    clip_range: float = 0.2
    ent_coef: float = 0.0
    net_arch: tuple[int, ...] = (64, 64)
    policy: str = "MlpPolicy"  # "CnnPolicy" for image observations (the atari suite)


@dataclasses.dataclass(frozen=True)
class DQNConfig(AgentConfig):
    """rl-baselines3-zoo ``hyperparams/dqn.yml`` CartPole-v1."""

    n_envs: int = 1
    learning_rate: float = 2.3e-3
    batch_size: int = 64
    buffer_size: int = 100_000
    learning_starts: int = 1000
    gamma: float = 0.99
    target_update_interval: int = 10
    train_freq: int = 256
    gradient_steps: int = 128
    exploration_fraction: float = 0.16
    exploration_final_eps: float = 0.04
    net_arch: tuple[int, ...] = (256, 256)
    policy: str = "MlpPolicy"


@dataclasses.dataclass(frozen=True)
class SACConfig(AgentConfig):
    """Stable-Baselines3 2.x SAC defaults."""

    n_envs: int = 1
    learning_rate: float = 3e-4
    buffer_size: int = 1_000_000
    learning_starts: int = 100
    batch_size: int = 256
    tau: float = 0.005
    gamma: float = 0.99
    net_arch: tuple[int, ...] = (256, 256)
    policy: str = "MlpPolicy"


def space_to_dict(space: gym.Space) -> dict[str, Any]:
    """A JSON form of a ``Box`` or ``Discrete`` space (what ``load`` needs to rebuild the policy)."""
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, gym.spaces.Box):
        return {"type": "Box", "low": space.low.tolist(), "high": space.high.tolist(), "shape": list(space.shape),
                "dtype": str(space.dtype)}
    raise ValueError(f"space: got {type(space).__name__}; allowed: Box or Discrete")


def space_from_dict(data: dict[str, Any]) -> gym.Space:
    if data.get("type") == "Discrete":
        return gym.spaces.Discrete(data["n"], start=data.get("start", 0))
    if data.get("type") == "Box":
        dtype = np.dtype(data["dtype"])
        return gym.spaces.Box(np.asarray(data["low"], dtype=dtype), np.asarray(data["high"], dtype=dtype),
                              shape=tuple(data["shape"]), dtype=dtype)
    raise ValueError(f"space type: got {data.get('type')!r}; allowed: Box or Discrete")


class SB3Agent(OnlineAgent):
    """Shared body of the SB3 agents; subclasses name the algorithm and its policy class."""

    algorithm: ClassVar[str] = ""

    def __init__(self, config: AgentConfig | None = None) -> None:
        self.config = config or self.config_class()
        self.policy: Any = None
        self.observation_space: gym.Space | None = None
        self.action_space: gym.Space | None = None
        self.steps_trained = 0
        self.rng = np.random.default_rng(self.config.seed)

    # -- SB3 plumbing ---------------------------------------------------------------------------
    def _algorithm_class(self):
        import stable_baselines3 as sb3

        return getattr(sb3, self.algorithm)

    def _algorithm_kwargs(self) -> dict[str, Any]:
        fields = self.config.to_dict()
        for name in ("seed", "n_envs", "net_arch", "policy"):
            fields.pop(name)
        return fields

    def _policy_kwargs(self) -> dict[str, Any]:
        return {"net_arch": list(self.config.net_arch)}

    def _build_policy(self, observation_space: gym.Space, action_space: gym.Space):
        """The SB3 policy object of this algorithm for these spaces (untrained)."""
        aliases = self._algorithm_class().policy_aliases
        if self.config.policy not in aliases:
            raise ValueError(f"policy: got {self.config.policy!r}; allowed: {sorted(aliases)}")
        policy_class = aliases[self.config.policy]
        return policy_class(observation_space, action_space, lambda _: 0.0, **self._policy_kwargs())

    # -- the interface ----------------------------------------------------------------------------
    def learn(self, env_fn: Callable[[], gym.Env], total_steps: int, **kwargs: Any) -> dict[str, Any]:
        """Train for ``total_steps`` environment steps on ``config.n_envs`` environments seeded from ``config.seed``."""
        from stable_baselines3.common.vec_env import DummyVecEnv

        if not isinstance(total_steps, int) or total_steps < 1:
            raise ValueError(f"total_steps: got {total_steps!r}; allowed: an integer >= 1")
        venv = DummyVecEnv([env_fn] * self.config.n_envs)
        try:
            model = self._algorithm_class()(self.config.policy, venv, seed=self.config.seed, device="cpu", verbose=0,
                                            policy_kwargs=self._policy_kwargs(), **self._algorithm_kwargs())
            model.learn(total_timesteps=total_steps, progress_bar=False)
        finally:
            venv.close()
        self.policy = model.policy
        self.policy.set_training_mode(False)
        self.observation_space, self.action_space = model.observation_space, model.action_space
        self.steps_trained += int(model.num_timesteps)
        return {"steps": int(model.num_timesteps)}

    def seed(self, seed: int | None) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        if self.policy is None:
            raise ValueError(f"{self.name}: got act() before learn() or load(); allowed: a trained agent")
        if deterministic:
            actions, _ = self.policy.predict(np.asarray(obs), deterministic=True)
            return np.asarray(actions)
        return self._sample(np.asarray(obs))

    def _sample(self, obs: np.ndarray) -> np.ndarray:
        """Draw from the policy's distribution with the agent's own stream (no torch global RNG)."""
        obs_t, _ = self.policy.obs_to_tensor(obs)
        with torch.no_grad():
            dist = self.policy.get_distribution(obs_t).distribution
        if isinstance(dist, torch.distributions.Categorical):
            probs = dist.probs.cpu().numpy().astype(np.float64)
            u = self.rng.random((len(probs), 1))
            return np.minimum((np.cumsum(probs, axis=1) < u).sum(axis=1), probs.shape[1] - 1).astype(np.int64)
        mean, std = dist.mean.cpu().numpy(), dist.stddev.cpu().numpy()
        action = mean + std * self.rng.standard_normal(mean.shape)
        return np.clip(action, self.action_space.low, self.action_space.high).astype(self.action_space.dtype)

    # -- persistence ------------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        if self.policy is None:
            return {"steps_trained": 0}
        return {"steps_trained": self.steps_trained, "observation_space": space_to_dict(self.observation_space),
                "action_space": space_to_dict(self.action_space)}

    def save(self, path: str | os.PathLike) -> Path:
        from safetensors.torch import save_file

        if self.policy is None:
            raise ValueError(f"{self.name}: got save() before learn(); allowed: a trained agent")
        path = super().save(path)
        state = {k: v.detach().cpu().contiguous() for k, v in self.policy.state_dict().items()}
        save_file(state, str(path / WEIGHTS_FILE))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str | None = None) -> SB3Agent:
        from safetensors.torch import load_file

        header = read_agent_header(path)
        agent = cls(cls.config_class.from_dict(header["config"]))
        meta = header.get("metadata", {})
        if "observation_space" not in meta:
            raise ValueError(f"{path}: metadata: got no spaces; allowed: an agent saved after learn()")
        agent.observation_space = space_from_dict(meta["observation_space"])
        agent.action_space = space_from_dict(meta["action_space"])
        agent.steps_trained = int(meta.get("steps_trained", 0))
        agent.policy = agent._build_policy(agent.observation_space, agent.action_space)
        agent.policy.load_state_dict(load_file(str(Path(path) / WEIGHTS_FILE), device=device or "cpu"))
        agent.policy.set_training_mode(False)
        return agent


@register_agent("sb3-ppo")
class SB3PPO(SB3Agent):
    """Stable-Baselines3 PPO, trained online; samples its Gaussian/categorical policy when not deterministic."""

    algorithm = "PPO"
    config_class = PPOConfig


@register_agent("sb3-dqn")
class SB3DQN(SB3Agent):
    """Stable-Baselines3 DQN, trained online; greedy in evaluation.

    ``deterministic=False`` acts greedily too: DQN's policy has no distribution to sample.
    """

    algorithm = "DQN"
    config_class = DQNConfig

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        return super().act(obs, True)


@register_agent("sb3-sac")
class SB3SAC(SB3Agent):
    """Stable-Baselines3 SAC, trained online (continuous actions); the mean action when deterministic."""

    algorithm = "SAC"
    config_class = SACConfig

    def _sample(self, obs: np.ndarray) -> np.ndarray:
        """Squashed Gaussian: tanh of a draw from the actor's Gaussian, rescaled to the action bounds."""
        obs_t, _ = self.policy.obs_to_tensor(obs)
        with torch.no_grad():
            mean, log_std, _ = self.policy.actor.get_action_dist_params(obs_t)
        mean, std = mean.cpu().numpy(), np.exp(log_std.cpu().numpy())
        squashed = np.tanh(mean + std * self.rng.standard_normal(mean.shape))
        low, high = self.action_space.low, self.action_space.high
        return (low + 0.5 * (squashed + 1.0) * (high - low)).astype(self.action_space.dtype)

