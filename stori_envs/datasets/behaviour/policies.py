"""The tiers' behaviour policies for each dataset environment kind (SAC checkpoints, MedSepsis, Atari)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from stori_envs.datasets.behaviour.actor import SquashedGaussianActor
from stori_envs.datasets.behaviour.atari import ScriptedAtari
from stori_envs.datasets.behaviour.base import Behaviour, RandomBehaviour, random_action

CHECKPOINTS = Path(__file__).resolve().parent / "checkpoints"
#: Atari tiers: probability of a random action around the RAM script (medium: about a third of the way from
#: random to expert; Boxing's script loses more to random actions, so it takes fewer).
ATARI_EPS = {"Breakout": {"random": 1.0, "medium": 0.5, "expert": 0.05},
             "Boxing": {"random": 1.0, "medium": 0.3, "expert": 0.05}}


@lru_cache(maxsize=32)
def load_actor(env_id: str, name: str) -> SquashedGaussianActor:
    path = CHECKPOINTS / env_id / f"{name}.safetensors"
    if not path.is_file():
        raise ValueError(f"checkpoint: got {str(path)!r} (missing); allowed: run benchmarks/train_behaviour.py "
                         f"--env {env_id} first (see docs/datasets.md)")
    return SquashedGaussianActor.load(path)


def manifest(env_id: str) -> dict[str, Any]:
    path = CHECKPOINTS / env_id / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else {}


class SACBehaviour(Behaviour):
    """A trained SAC actor, stochastic with seeded noise; ``medium-replay`` draws one training stage
    (random, the replay checkpoints, medium) per episode, an approximation of the agent's replay buffer."""

    def __init__(self, action_space: gym.Space, env_id: str, tier: str) -> None:
        stages = {"expert": ["expert"], "medium": ["medium"]}.get(tier)
        if stages is None:  # medium-replay
            found = sorted(p.stem for p in (CHECKPOINTS / env_id).glob("replay-*.safetensors"))
            stages = ["random", *found, "medium"]
        self.actors = {s: (None if s == "random" else load_actor(env_id, s)) for s in stages}
        stage_info = {s: (None if a is None else {"sha256": a.sha256, "step": a.metadata.get("step")})
                      for s, a in self.actors.items()}
        super().__init__(action_space, {"algorithm": "SAC (stable-baselines3), actor rebuilt in numpy",
                                        "stochastic": True, "stages": stage_info})
        self.name = f"sac-{tier}"
        self._stage: dict[int, str] = {}

    def start(self, slot: int, seed: int) -> None:
        super().start(slot, seed)
        stages = list(self.actors)
        self._stage[slot] = stages[int(self.rng(slot).integers(len(stages)))] if len(stages) > 1 else stages[0]

    def act_slot(self, slot: int, obs: np.ndarray, info: dict[str, Any]) -> tuple[Any, float]:
        actor = self.actors[self._stage[slot]]
        if actor is None:
            return random_action(self.action_space, self.rng(slot))
        action, logp = actor.act(np.asarray(obs)[None], self.rng(slot))
        return action[0], float(logp[0])

    def stage(self, slot: int) -> str:
        return self._stage[slot]


class MedSepsisBehaviour(Behaviour):
    """One of :mod:`stori_envs.medical.policies`' tier policies per slot, re-seeded at each admission."""

    def __init__(self, action_space: gym.Space, tier: str, dt_hours: int = 4) -> None:
        from stori_envs.medical.policies import TIER_CONFIGS, make_policy

        self._make = lambda: make_policy(tier, seed=0, dt_hours=dt_hours)
        cfg = TIER_CONFIGS.get(tier)
        params = {"tier": tier, "config": None if cfg is None else
                  (cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg) if isinstance(cfg, dict) else repr(cfg))}
        if tier == "mixed":
            from stori_envs.medical.policies import MIXED_WEIGHTS

            params["weights"] = dict(MIXED_WEIGHTS)
        super().__init__(action_space, params)
        self.name = f"medsepsis-{tier}"
        self._policies: dict[int, Any] = {}

    def start(self, slot: int, seed: int) -> None:
        super().start(slot, seed)
        if slot not in self._policies:
            self._policies[slot] = self._make()
        self._policies[slot].reset(int(seed))

    def act_slot(self, slot: int, obs: np.ndarray, info: dict[str, Any]) -> tuple[Any, float]:
        action, logp = self._policies[slot].act(np.asarray(obs))
        return np.asarray(action, np.float32), float(logp)

    def source(self, slot: int) -> str | None:
        return getattr(self._policies[slot], "source", None)


def make_behaviour(kind: str, tier: str, action_space: gym.Space, **context: Any) -> Behaviour:
    """The behaviour policy of ``tier`` for an environment ``kind`` (``sac``, ``medsepsis``, ``atari``).

    ``context`` holds ``env_id`` (SAC checkpoints) or ``game`` (Atari).
    """
    if tier == "random" and kind != "medsepsis":
        return RandomBehaviour(action_space)
    if kind == "sac":
        return SACBehaviour(action_space, context["env_id"], tier)
    if kind == "medsepsis":
        return MedSepsisBehaviour(action_space, tier, context.get("dt_hours", 4))
    if kind == "atari":
        return ScriptedAtari(action_space, context["game"], ATARI_EPS[context["game"]][tier])
    raise ValueError(f"kind: got {kind!r}; allowed: sac, medsepsis, atari")
