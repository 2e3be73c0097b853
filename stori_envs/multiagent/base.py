"""Shared mechanics of the PettingZoo risk games: spaces, seeding, action checks, removal of finished agents.

Subclasses implement ``_reset_state()`` and ``_transition(actions)``; this class keeps the parallel API
contract that ``pettingzoo.test.parallel_api_test`` checks: spaces are the same object on every call,
``reset(seed=None, options=None)`` returns (obs, infos) for every agent, each step returns entries for the
agents that were live at its start, and agents that terminate or truncate leave ``self.agents``.
Every random draw comes from a named :class:`~stori_envs.taxonomy.seeding.SeededStream`, one per knob.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from stori_envs.taxonomy.seeding import SeededStream

RENDER_MODES = ("ansi",)


class RiskParallelEnv(ParallelEnv):
    """Base class of the risk games (``possible_agents = ["player_0", ...]``)."""

    metadata = {"name": "risk_game_v0", "render_modes": list(RENDER_MODES), "is_parallelizable": True}
    #: Names of the random streams of this game (one per stochastic knob).
    stream_names: tuple[str, ...] = ()

    def __init__(self, n_agents: int, observation_space: spaces.Space, action_spaces: list[spaces.Space],
                 render_mode: str | None = None) -> None:
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode: got {render_mode!r}; allowed: None, " + ", ".join(map(repr, RENDER_MODES)))
        self.render_mode = render_mode
        self.possible_agents = [f"player_{i}" for i in range(n_agents)]
        self.agents: list[str] = []
        # One space object per agent, built once: PettingZoo requires the same object on every call.
        self._observation_spaces = {a: observation_space if i == 0 else _copy_space(observation_space)
                                    for i, a in enumerate(self.possible_agents)}
        self._action_spaces = dict(zip(self.possible_agents, action_spaces))
        self._streams = {name: SeededStream(name) for name in self.stream_names}
        self.t = 0

    # ------------------------------------------------------------------------------------------------ API
    def observation_space(self, agent: str) -> spaces.Space:
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self._action_spaces[agent]

    def rng(self, name: str) -> np.random.Generator:
        """The generator of stream ``name`` (re-seeded by ``reset(seed=...)``)."""
        return self._streams[name].rng

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        for stream in self._streams.values():
            stream.reset(seed)
        self.agents = list(self.possible_agents)
        self.t = 0
        self._reset_state()
        return self._observations(), {a: self._info(a) for a in self.agents}

    def step(self, actions: dict[str, Any]):
        if not self.agents:
            raise ValueError("actions: got a step after the episode ended; allowed: call reset() first")
        checked = check_actions(self.agents, self._action_spaces.__getitem__, actions)
        self.t += 1
        live = list(self.agents)
        rewards, terminated, infos = self._transition(checked)
        truncated = {a: (not terminated[a]) and self.t >= self.horizon for a in live}
        obs = self._observations(live)
        infos = {a: {**self._info(a), **infos.get(a, {})} for a in live}
        self.agents = [a for a in live if not (terminated[a] or truncated[a])]
        return obs, {a: float(rewards[a]) for a in live}, terminated, truncated, infos

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return self._render_text()
        return None

    def close(self) -> None:
        pass

    # ------------------------------------------------------------------------------------- for subclasses
    horizon: int = 1

    def _reset_state(self) -> None:
        raise NotImplementedError

    def _transition(self, actions: dict[str, int]) -> tuple[dict[str, float], dict[str, bool], dict[str, dict]]:
        """Advance one step; return (rewards, terminated, extra infos) for the live agents."""
        raise NotImplementedError

    def _observe(self, agent: str) -> np.ndarray:
        raise NotImplementedError

    def _info(self, agent: str) -> dict[str, Any]:
        return {"catastrophe": False}

    def _render_text(self) -> str:
        return f"t={self.t} agents={self.agents}"

    def _observations(self, agents: list[str] | None = None) -> dict[str, np.ndarray]:
        return {a: self._observe(a) for a in (self.agents if agents is None else agents)}


def check_actions(live: list[str], action_space, actions: Any) -> dict[str, int]:
    """The actions of the live agents as ints, after checking each against ``action_space(agent)``.

    Raises ``ValueError`` naming the agent, the value and the space for anything else (a missing agent,
    an out-of-space or non-integer action), before anything draws or steps: the same check runs in the
    games and in the taxonomy wrappers, whatever replaces the action afterwards.
    """
    if not isinstance(actions, dict):
        raise ValueError(f"actions: got {type(actions).__name__}; allowed: a dict agent -> action")
    missing = [a for a in live if a not in actions]
    if missing:
        raise ValueError(f"actions: got no action for live agent {missing[0]!r}; allowed: a dict with one "
                         f"action for each of {live}")
    return {agent: check_action(agent, action_space(agent), actions[agent]) for agent in live}


def check_action(agent: str, space: spaces.Space, act: Any) -> Any:
    """``act`` if it lies in ``space`` (as an int for a ``Discrete`` space), else a ``ValueError``."""
    if isinstance(space, spaces.Discrete):
        # Fast path for the common case (a Python or numpy integer inside the space).
        if isinstance(act, (int, np.integer)) and not isinstance(act, bool) \
                and space.start <= act < space.start + space.n:
            return int(act)
        ok = False
        if not isinstance(act, (bool, np.bool_, str, bytes)):
            try:
                arr = np.asarray(act)
                ok = arr.shape == () and arr.dtype.kind in "iuf" and float(arr) == int(arr) \
                    and space.contains(np.int64(arr))
            except (TypeError, ValueError, OverflowError):
                ok = False
        if ok:
            return int(np.asarray(act))
    else:
        try:
            ok = space.contains(np.asarray(act, dtype=space.dtype) if space.dtype is not None else act)
        except (TypeError, ValueError, OverflowError):
            ok = False
        if ok:
            return act
    raise ValueError(f"actions[{agent!r}]: got {act!r}; allowed: an element of {space}")


def _copy_space(space: spaces.Space) -> spaces.Space:
    import copy

    return copy.deepcopy(space)
