"""The RAE, Nash and PSRO solutions as agents of the shared interface (:mod:`agents.interface`).

A solution of a risk game is one strategy per player. Each player is played by its own
:class:`~agents.interface.Agent`, which sees only its own observations: for a PettingZoo
``ParallelEnv`` the evaluation loop gives seat ``"player_i"`` the batch of that seat's observations
(one row per vector slot) and asks ``agents[seat].act(batch)``. :func:`joint_actions` does exactly
that for one environment step (``{seat: obs}`` -> ``{seat: action}``).

* ``rae-mixed`` (:class:`MixedStrategyAgent`): a mixed strategy over the player's actions (a normal-form
  solution: ``rae_fictitious_play``, ``solve(..., "nash")``). It ignores the observation; each batch row
  samples from its own stream keyed by (agent seed, episode seed), so an episode's actions do not depend
  on how episodes were batched. ``deterministic=True`` plays the most likely action.
* ``psro-population`` (:class:`PopulationAgent`): a PSRO meta-strategy over a population of policies.
  At each episode start every row draws one member from its stream and plays it for the episode
  (the meta-strategy is a distribution over *policies*, not over per-step actions); ``deterministic``
  plays the member of largest weight. Members are stored through :mod:`agents.rae.checkpoint` (JSON).
  A member may keep state (a random policy keeps the generator given to ``reset``), so every row plays
  its own copy, reset with the row's stream: the members passed in are never acted on, and no row (nor
  another agent built from the same members) can move a row's draws.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.interface import Agent, AgentConfig, read_agent_header, register_agent
from agents.rae.checkpoint import policy_from_dict, policy_to_dict
from agents.rae.normal_form import as_strategy


def _row_stream(agent_seed: int, episode_seed: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(agent_seed), int(episode_seed)]))


class _RowSeeded(Agent):
    """Per-row streams keyed by (agent seed, episode seed); rows used outside the loop are seeded by index."""

    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self._seed = config.seed
        self._streams: list[np.random.Generator] = []

    def seed(self, seed: int | None) -> None:
        self._seed = 0 if seed is None else int(seed)
        self._streams = []

    def on_episode_start(self, rows: np.ndarray, seeds: np.ndarray) -> None:
        rows, seeds = np.asarray(rows).tolist(), np.asarray(seeds).tolist()
        self._grow(max(rows, default=-1) + 1)
        for row, seed in zip(rows, seeds, strict=True):
            self._streams[row] = _row_stream(self._seed, seed)
            self._start_row(row)

    def _grow(self, needed: int) -> None:
        while len(self._streams) < needed:
            row = len(self._streams)
            self._streams.append(_row_stream(self._seed, row))
            self._start_row(row)

    def _start_row(self, row: int) -> None:
        """Called when a row starts an episode (after its stream was set)."""


@dataclass(frozen=True)
class MixedStrategyConfig(AgentConfig):
    """One player's mixed strategy over its ``len(probabilities)`` actions."""

    probabilities: tuple[float, ...] = (1.0,)


@register_agent("rae-mixed")
class MixedStrategyAgent(_RowSeeded):
    """Play a mixed strategy of a normal-form solution (see the module docstring)."""

    config_class = MixedStrategyConfig

    def __init__(self, config: MixedStrategyConfig | None = None) -> None:
        config = config or MixedStrategyConfig()
        p = as_strategy("probabilities", list(config.probabilities), len(config.probabilities))
        super().__init__(config)
        self._cdf = np.cumsum(p)
        self._cdf[-1] = 1.0
        self._mode = int(np.argmax(p))

    @classmethod
    def from_solution(cls, profile: Sequence[np.ndarray] | Any, player: int, seed: int = 0) -> MixedStrategyAgent:
        """The agent of ``player`` in a solver's profile (an ``RAEResult`` or a list of strategies)."""
        strategies = getattr(profile, "profile", profile)
        if not 0 <= player < len(strategies):
            raise ValueError(f"player: got {player!r}; allowed: 0..{len(strategies) - 1}")
        return cls(MixedStrategyConfig(seed=seed, probabilities=tuple(float(v) for v in strategies[player])))

    def bind(self, observation_space: Any, action_space: Any) -> None:
        """Refuse a seat whose action space is not ``Discrete(len(probabilities))``."""
        n = len(self._cdf)
        if getattr(action_space, "n", None) != n or getattr(action_space, "start", 0) != 0:
            raise ValueError(f"action_space: got {action_space!r}; allowed: Discrete({n}) (one action per "
                             "probability of the strategy)")

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        batch = len(obs)
        if deterministic:
            return np.full(batch, self._mode, dtype=np.int64)
        self._grow(batch)
        u = np.asarray([self._streams[i].random() for i in range(batch)])
        return np.searchsorted(self._cdf, u, side="right").astype(np.int64)


@dataclass(frozen=True)
class PopulationConfig(AgentConfig):
    """A meta-strategy ``sigma`` over population members (the members are saved in ``agent.json``)."""

    sigma: tuple[float, ...] = (1.0,)


@register_agent("psro-population")
class PopulationAgent(_RowSeeded):
    """Play a PSRO meta-strategy: one member per episode and row, drawn from the row's stream."""

    config_class = PopulationConfig

    def __init__(self, config: PopulationConfig | None = None, members: Sequence[Any] = ()) -> None:
        config = config or PopulationConfig()
        if len(members) != len(config.sigma) or not members:
            raise ValueError(f"members: got {len(members)} policies for sigma of length {len(config.sigma)}; "
                             "allowed: one member per weight (at least one)")
        p = as_strategy("sigma", list(config.sigma), len(config.sigma))
        self.members = list(members)
        self._cdf = np.cumsum(p)
        self._cdf[-1] = 1.0
        self._mode = int(np.argmax(p))
        self._playing: list[int] = []
        self._copies: list[dict[int, Any]] = []  # per row: member index -> that row's own copy
        super().__init__(config)

    @classmethod
    def from_psro(cls, result: Any, seat: int = 0, seed: int = 0) -> PopulationAgent:
        """The agent of ``seat`` in a :class:`~agents.rae.psro.PSROResult`."""
        return cls(PopulationConfig(seed=seed, sigma=tuple(float(v) for v in result.sigma[seat])),
                   result.populations[seat])

    def _start_row(self, row: int) -> None:
        while len(self._playing) <= row:
            self._playing.append(self._mode)
            self._copies.append({})
        stream = self._streams[row]
        self._playing[row] = int(np.searchsorted(self._cdf, stream.random(), side="right"))
        # Reset the row's copies of the drawn member and of the mode (played when deterministic); a row
        # plays one of them per act() call, so both may share the row's stream.
        for m in dict.fromkeys((self._playing[row], self._mode)):
            self._row_member(row, m).reset(stream)

    def _row_member(self, row: int, m: int) -> Any:
        """Row ``row``'s own copy of member ``m`` (made once, then reset at each of the row's episodes)."""
        if m not in self._copies[row]:
            self._copies[row][m] = copy.deepcopy(self.members[m])
        return self._copies[row][m]

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        batch = len(obs)
        self._grow(batch)
        picks = [self._mode] * batch if deterministic else self._playing[:batch]
        return np.asarray([self._row_member(i, m).act(obs[i]) for i, m in enumerate(picks)], dtype=np.int64)

    def metadata(self) -> dict[str, Any]:
        return {"members": [policy_to_dict(m) for m in self.members]}

    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str | None = None) -> PopulationAgent:
        header = read_agent_header(path)
        members = [policy_from_dict(m) for m in header.get("metadata", {}).get("members", [])]
        return cls(PopulationConfig.from_dict(header["config"]), members)


def joint_actions(agents: Mapping[str, Agent], obs: Mapping[str, np.ndarray], deterministic: bool = False
                  ) -> dict[str, int]:
    """One ParallelEnv step: each live seat's agent acts on a batch of one (its own observation)."""
    missing = [seat for seat in obs if seat not in agents]
    if missing:
        raise ValueError(f"agents: got no agent for seat {missing[0]!r}; allowed: one agent per seat of {list(obs)}")
    return {seat: int(agents[seat].act(np.asarray(o)[None], deterministic)[0]) for seat, o in obs.items()}


__all__ = ["MixedStrategyAgent", "MixedStrategyConfig", "PopulationAgent", "PopulationConfig", "joint_actions"]
