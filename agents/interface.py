"""The one agent interface: what the evaluation loop, the command line and users know of every agent.

Every agent of the suite (the offline agents, wrapped Stable-Baselines3 policies, the RAE solvers'
policies, fixed reference policies, a user's own agent) is an :class:`Agent`:

* ``act(obs, deterministic=True)`` maps a **batch** of observations ``(B, *obs_shape)`` to a batch
  of actions ``(B, *action_shape)`` (a numpy array inside the action space). The evaluation loop
  steps vector environments and calls ``act`` once per vector step.
* ``seed(seed)`` re-seeds the agent's own random stream (used by ``deterministic=False``); agents
  never draw from the global ``np.random``/``random``/``torch`` generators.
* ``save(path)`` writes a directory: ``agent.json`` (the format version, the registered agent name,
  its config and metadata) plus tensor files (safetensors, or ``torch.save`` of plain tensors loaded
  back with ``weights_only=True``). :func:`load_agent` reads ``agent.json``, finds the class by its
  registered name and calls its ``load``. Nothing is ever unpickled.
* ``config`` is a frozen dataclass; ``config_dict()`` is its JSON-ready form, recorded with every
  result that the agent produces.

Learning agents add one of two training entry points: :class:`OfflineAgent` ``fit(data, ...)``
learns from a fixed dataset, :class:`OnlineAgent` ``learn(env_fn, total_steps, ...)`` from an
environment. Both are resumable from the agent's own checkpoints.

Example (a user's agent)::

    from agents.interface import Agent, register_agent

    @register_agent("always-left")
    class AlwaysLeft(Agent):
        def act(self, obs, deterministic=True):
            return np.zeros(len(obs), dtype=np.int64)
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

FORMAT_VERSION = 1
AGENT_FILE = "agent.json"

_REGISTRY: dict[str, type[Agent]] = {}
A = TypeVar("A", bound="type[Agent]")


@dataclasses.dataclass(frozen=True)
class AgentConfig:
    """Base of every agent's frozen config dataclass. ``seed`` seeds everything the agent draws."""

    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self), default=_jsonable))

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        """Build the config from a dict; unknown keys raise a ``ValueError`` naming them."""
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValueError(f"{cls.__name__}: got unknown fields {unknown}; allowed: {sorted(names)}")
        values = {}
        for key, value in data.items():
            default = names[key].default
            # JSON turns tuples into lists; give tuple-valued fields their tuples back.
            values[key] = tuple(value) if isinstance(default, tuple) and isinstance(value, list) else value
        return cls(**values)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serialisable: {value!r}")


class Agent(ABC):
    """An agent that acts on batches of observations; see the module docstring for the contract."""

    #: Registered name (set by :func:`register_agent`); written to ``agent.json``.
    name: ClassVar[str] = ""
    #: The agent's frozen config dataclass (``load`` rebuilds it from ``agent.json``).
    config_class: ClassVar[type[AgentConfig]] = AgentConfig
    config: AgentConfig

    @abstractmethod
    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        """Actions for a batch of observations ``(B, *obs_shape)``, as an array ``(B, *action_shape)``."""

    def seed(self, seed: int | None) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Re-seed the agent's own random stream (a no-op for deterministic agents)."""

    def bind(self, observation_space: Any, action_space: Any) -> None:  # noqa: B027 - optional hook
        """Called by the evaluation loop with the single environment's spaces before the first ``act``.

        Agents that need the spaces to act (a random policy samples the action space) keep them; the
        default ignores them.
        """

    def on_episode_start(self, rows: np.ndarray, seeds: np.ndarray) -> None:  # noqa: B027 - optional hook
        """Called by the evaluation loop when the episodes of batch ``rows`` begin, reset with ``seeds``.

        A batch row is one vector-environment slot for the whole evaluation, so agents with per-episode
        state (a clinician's memory, a recurrent state) reset that row here, and stochastic agents may
        seed a per-row stream from ``(their seed, episode seed)`` so that an episode's outcome does not
        depend on how episodes were batched. The default does nothing.
        """

    def config_dict(self) -> dict[str, Any]:
        config = getattr(self, "config", None)
        return config.to_dict() if isinstance(config, AgentConfig) else {}

    # -- persistence -------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the agent to directory ``path`` (created); returns it. Subclasses add their tensors."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path / AGENT_FILE, {"format_version": FORMAT_VERSION, "agent": self.name,
                                              "config": self.config_dict(), "metadata": self.metadata()})
        return path

    def metadata(self) -> dict[str, Any]:
        """Extra JSON-ready facts saved in ``agent.json`` (spaces, dataset fingerprint, steps trained)."""
        return {}

    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str | None = None) -> Agent:
        """Rebuild the agent saved at ``path`` (subclasses that hold weights override this)."""
        header = read_agent_header(path)
        return cls(cls.config_class.from_dict(header["config"]))  # type: ignore[call-arg]


class OfflineAgent(Agent):
    """An agent trained from a fixed dataset (see :mod:`stori_envs.datasets`)."""

    @abstractmethod
    def fit(self, data: Any, n_steps: int, **kwargs: Any) -> dict[str, Any]:
        """Train for ``n_steps`` gradient steps (resuming from ``total_steps``); returns the history."""


class OnlineAgent(Agent):
    """An agent trained by interacting with environments made by ``env_fn``."""

    @abstractmethod
    def learn(self, env_fn: Callable[[], Any], total_steps: int, **kwargs: Any) -> dict[str, Any]:
        """Train for ``total_steps`` environment steps; returns the history."""


def register_agent(name: str) -> Callable[[A], A]:
    """Class decorator: register an agent class under ``name`` (what ``agent.json`` and suites refer to)."""

    def decorate(cls: A) -> A:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"agent name: got {name!r}, already registered to {_REGISTRY[name].__qualname__}; "
                             "allowed: a new name")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def registered_agents() -> dict[str, type[Agent]]:
    """Every registered agent class by name, the suite's own included."""
    from agents import import_agents

    import_agents()
    return dict(_REGISTRY)


def agent_class(name: str) -> type[Agent]:
    """The agent class registered as ``name`` (the suite's agents are imported first)."""
    if name not in _REGISTRY:
        registered_agents()
    if name not in _REGISTRY:
        raise ValueError(f"agent: got {name!r}; allowed: {sorted(_REGISTRY)}")
    return _REGISTRY[name]


def read_agent_header(path: str | os.PathLike) -> dict[str, Any]:
    """The parsed ``agent.json`` of a saved agent, with a clear error for a missing or malformed file."""
    file = Path(path) / AGENT_FILE
    try:
        header = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{file}: no saved agent here (missing {AGENT_FILE})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{file}: not a readable agent file ({exc})") from None
    if not isinstance(header, dict) or not {"format_version", "agent", "config"} <= set(header):
        raise ValueError(f"{file}: got {type(header).__name__} without format_version/agent/config; "
                         "allowed: a file written by Agent.save")
    if header["format_version"] != FORMAT_VERSION:
        raise ValueError(f"{file}: format_version: got {header['format_version']!r}; allowed: {FORMAT_VERSION}")
    return header


def load_agent(path: str | os.PathLike, *, device: str | None = None) -> Agent:
    """Load any saved agent: ``agent.json`` names the registered class, whose ``load`` rebuilds it."""
    header = read_agent_header(path)
    return agent_class(header["agent"]).load(path, device=device)


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_name)`` on a temporary file beside ``path``, flush it to disk, then rename it to
    ``path``: a kill at any moment leaves either the old file or the whole new one, never half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` atomically (see :func:`atomic_write`)."""
    text = json.dumps(data, indent=2, sort_keys=True, default=_jsonable)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def as_batch(obs: Any, observation_shape: tuple[int, ...]) -> tuple[np.ndarray, bool]:
    """``(batch, was_single)``: a single observation of ``observation_shape`` becomes a batch of one."""
    arr = np.asarray(obs)
    if arr.shape == tuple(observation_shape):
        return arr[None], True
    if arr.ndim == len(observation_shape) + 1 and arr.shape[1:] == tuple(observation_shape):
        return arr, False
    raise ValueError(f"obs: got shape {arr.shape}; allowed: {tuple(observation_shape)} or (B, "
                     f"{', '.join(map(str, observation_shape))})")
