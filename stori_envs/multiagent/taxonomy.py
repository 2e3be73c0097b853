"""The taxonomy on PettingZoo parallel environments: type 1 (random action replacement) per agent.

:class:`ParallelRandomActionReplacement` is the multi-agent counterpart of
:class:`stori_envs.taxonomy.action.RandomActionReplacement`: with probability ``p`` an agent's action is
replaced by a uniform random one (drawn by the same :func:`~stori_envs.taxonomy.action.action_sampler`).
Each agent has its own named stream ``"action/<agent>"`` (a
:class:`~stori_envs.taxonomy.seeding.SeededStream` following ``reset(seed=...)``), so perturbing one
agent never shifts another's draws. Every agent's info gets the ``info["stori"]`` record of
:mod:`stori_envs.taxonomy.record`.

Example:
    >>> from stori_envs.multiagent import CrossingEnv, apply_profile_parallel
    >>> env = apply_profile_parallel(CrossingEnv(), {"stochasticity_type": "1",
    ...     "intrinsic_stochasticity.action_dependent.stochastic_action_prob": 0.1}, agents=["player_1"])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pettingzoo.utils.wrappers import BaseParallelWrapper

from stori_envs.multiagent.base import check_action
from stori_envs.taxonomy.action import action_sampler
from stori_envs.taxonomy.profile import as_profile
from stori_envs.taxonomy.record import stori_record
from stori_envs.taxonomy.seeding import SeededStream


class ParallelRandomActionReplacement(BaseParallelWrapper):
    """With probability ``p`` replace the actions of ``agents`` (default: all) by uniform random actions.

    What changes: the executed actions (``info["stori"]["executed_action"]``, ``action_replaced``).
    Why: STORI type 1 on one agent's actuators, e.g. a car whose controls sometimes slip. With
    ``enabled=False`` (or ``p = 0``) it only writes the record and makes no draws.
    """

    def __init__(self, env, p: float, agents: Sequence[str] | None = None,
                 allowed_actions: Sequence[int] | None = None, *, stori_type: str = "1",
                 seed_policy: str = "gymnasium", enabled: bool = True) -> None:
        super().__init__(env)
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"intrinsic_stochasticity.action_dependent.stochastic_action_prob: got {p!r}; "
                             "allowed: a number in [0, 1]")
        possible = list(env.possible_agents)
        targets = possible if agents is None else list(agents)
        unknown = [a for a in targets if a not in possible]
        if unknown or not targets:
            raise ValueError(f"agents: got {agents!r}; allowed: a non-empty subset of {possible}")
        self.p = float(p)
        self.stori_type = stori_type
        self.enabled = enabled
        self.targets = tuple(targets)
        self._samplers = {a: action_sampler(env.action_space(a), allowed_actions) for a in self.targets}
        self._streams = {a: SeededStream(f"action/{a}", seed_policy) for a in self.targets}

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        for stream in self._streams.values():
            stream.reset(seed)
        obs, infos = self.env.reset(seed=seed, options=options)
        for info in infos.values():
            stori_record(info, self.stori_type)
        return obs, infos

    def step(self, actions: dict):
        # Every action is checked before any replacement, so an invalid one fails on every step, not only
        # on the steps where it would have been executed.
        if not isinstance(actions, dict):
            raise ValueError(f"actions: got {type(actions).__name__}; allowed: a dict agent -> action")
        for agent in self.env.agents:
            if agent in actions:
                check_action(agent, self.env.action_space(agent), actions[agent])
        executed, replaced = dict(actions), {}
        for agent in self.targets:
            if agent in actions and self.enabled:
                rng = self._streams[agent].rng
                if rng.random() < self.p:
                    executed[agent] = self._samplers[agent](rng)
                    replaced[agent] = True
        obs, rewards, terminated, truncated, infos = self.env.step(executed)
        for agent, info in infos.items():
            rec = stori_record(info, self.stori_type, actions.get(agent))
            rec["action"] = actions.get(agent)
            rec["executed_action"] = executed.get(agent)
            rec["action_replaced"] = replaced.get(agent, False)
        return obs, rewards, terminated, truncated, infos


def apply_profile_parallel(env, profile=None, *, agents: Sequence[str] | None = None):
    """Put a taxonomy profile on a parallel risk game: type ``"1"`` (on ``agents``) or ``"3.1"`` (record only)."""
    profile = as_profile(profile)
    t = profile.stochasticity_type
    seed_policy = profile.semantics.seed_policy
    if t == "1":
        a = profile.action
        if a.random_action_set is not None:
            raise ValueError(f"intrinsic_stochasticity.action_dependent.random_action_set: got "
                             f"{a.random_action_set!r}; allowed: None on a multi-agent game (use allowed_actions)")
        return ParallelRandomActionReplacement(env, a.stochastic_action_prob, agents, a.allowed_actions,
                                               seed_policy=seed_policy)
    if t == "3.1":
        return ParallelRandomActionReplacement(env, 0.0, agents, stori_type="3.1", seed_policy=seed_policy,
                                               enabled=False)
    raise ValueError(f"stochasticity_type: got {t!r}; allowed on a multi-agent game: '1', '3.1'")
