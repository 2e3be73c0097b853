"""The taxonomy on PettingZoo parallel environments: type 1 (random action replacement) per agent.

:class:`ParallelRandomActionReplacement` is the multi-agent counterpart of
:class:`stori_envs.taxonomy.action.RandomActionReplacement`: the same type 1 component
(:class:`~stori_envs.taxonomy.components.ActionReplacement`), one per target agent, hosted per agent.
Each agent has its own named stream ``"action/<agent>"`` (the one seeding scheme, following
``reset(seed=...)``), so perturbing one agent never shifts another's draws. Every agent's info gets the
``info["stori"]`` record written by :func:`~stori_envs.taxonomy.components.write_info`.

Example:
    >>> from stori_envs.multiagent import CrossingEnv, apply_profile_parallel
    >>> env = apply_profile_parallel(CrossingEnv(), {"stochasticity_type": "1",
    ...     "intrinsic_stochasticity.action_dependent.stochastic_action_prob": 0.1}, agents=["player_1"])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pettingzoo.utils.wrappers import BaseParallelWrapper

from stori_envs.taxonomy.components import ActionReplacement, action_check, write_info
from stori_envs.taxonomy.profile import as_profile


class ParallelRandomActionReplacement(BaseParallelWrapper):
    """With probability ``p`` replace the actions of ``agents`` (default: all) by uniform random actions.

    What changes: the executed actions (``info["stori"]["executed_action"]``, ``action_replaced``).
    Why: STORI type 1 on one agent's actuators, e.g. a car whose controls sometimes slip.

    Each target agent's knob is the shared :class:`~stori_envs.taxonomy.components.ActionReplacement`
    (stream ``"action/<agent>"``); every live agent's action is checked against its space before any
    replacement, at every step (a ``ValueError`` every time, not only on the steps it would run). With
    ``enabled=False`` (or ``p = 0``) nothing is replaced and nothing is drawn; the record is written.
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
        self.targets = tuple(targets)
        self.knobs = {a: ActionReplacement(env.action_space(a), self.p, allowed_actions, name=f"action/{a}",
                                           enabled=enabled, seed_policy=seed_policy) for a in self.targets}
        self._checks = {a: action_check(env.action_space(a), field=f"actions[{a!r}]") for a in possible}
        for a, knob in self.knobs.items():
            knob.check = self._checks[a]  # the knob's begin_step validates with the agent's field name

    @property
    def enabled(self) -> bool:
        return all(k.enabled for k in self.knobs.values())

    @enabled.setter
    def enabled(self, value: bool) -> None:
        for knob in self.knobs.values():
            knob.enabled = bool(value)

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        for knob in self.knobs.values():
            knob.reseed(seed)
        obs, infos = self.env.reset(seed=seed, options=options)
        for agent, info in infos.items():
            knob = self.knobs.get(agent)
            if knob is not None:
                knob.on_reset(self.env)
            write_info(info, self.stori_type, None, (knob,) if knob is not None else ())
        return obs, infos

    def step(self, actions: dict):
        if not isinstance(actions, dict):
            raise ValueError(f"actions: got {type(actions).__name__}; allowed: a dict agent -> action")
        for agent in self.env.agents:  # every action checked before any replacement
            if agent in actions and agent not in self.knobs:
                self._checks[agent](actions[agent])
        executed = dict(actions)
        for agent, knob in self.knobs.items():
            if agent in actions and agent in self.env.agents:
                knob.begin_step(actions[agent])
                executed[agent] = knob.before_action(actions[agent])
        obs, rewards, terminated, truncated, infos = self.env.step(executed)
        for agent, info in infos.items():
            knob = self.knobs.get(agent)
            write_info(info, self.stori_type, actions.get(agent), (knob,) if knob is not None else (),
                       executed_action=executed.get(agent),
                       action_replaced=bool(knob is not None and knob.replaced))
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
