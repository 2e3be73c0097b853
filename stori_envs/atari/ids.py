"""Every spelling of an Atari id, resolved to one game, an optional preset and the spelling's own defaults.

One entry point (:func:`stori_envs.atari.make_atari`) serves every spelling; a spelling only changes
the defaults of the engine's keyword arguments, so the same settings give the same trajectory whatever
the spelling:

* ``"Breakout"``, ``"breakout"``, ``"stori/Breakout-v0"``: the package's pipeline (skip 4, max of the
  last two frames, no sticky actions, minimal action set, 108,000 frames).
* ``"stori/Breakout-T3.2A-v0"``: the same under a preset of the paper.
* every ale-py id of the game (``"ALE/Breakout-v5"``, ``"BreakoutNoFrameskip-v4"``, ``"Breakout-v0"``...):
  that id's Gymnasium settings, read from its registration (v5: skip 4, sticky actions 0.25), and no
  max-pool (ale-py returns the step's last frame). Under the default profile the engine then gives the
  frames and rewards of ``gym.make(id)`` for the same seed (tested).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from stori_envs.atari.game import Game, game_for, games

#: ale-py keyword arguments the engine honours (and their names there and here are the same).
ALE_KWARGS = ("frameskip", "repeat_action_probability", "full_action_space", "max_num_frames_per_episode",
              "obs_type", "mode", "difficulty")
_STORI_ID = re.compile(r"^stori/(?P<game>[A-Za-z]+?)(?:-T(?P<preset>[0-9A-Za-z.]+))?-v0$")


@dataclass(frozen=True)
class AtariSpelling:
    """What an id says: the game, a preset (or None) and the engine defaults the spelling implies."""

    game: Game
    preset: str | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    max_episode_steps: int | None = None


def _ale_spec(env_id: str) -> gym.envs.registration.EnvSpec | None:
    if env_id not in gym.registry:
        import ale_py

        gym.register_envs(ale_py)  # ale-py registers its ids on import in some versions only
    spec = gym.registry.get(env_id)
    if spec is None or not str(spec.entry_point).startswith("ale_py"):
        return None
    return spec


def resolve(env_id: str) -> AtariSpelling | None:
    """The spelling ``env_id`` names, or None when it is not one of the four games."""
    if not isinstance(env_id, str):
        return None
    name = env_id.strip()
    match = _STORI_ID.match(name)
    if match:
        game = game_for(match["game"])
        return None if game is None else AtariSpelling(game, match["preset"])
    if "/" not in name and "-" not in name:
        game = game_for(name)
        return None if game is None else AtariSpelling(game)
    if not any(g.name.lower() in name.lower() for g in games().values()):
        return None  # not ours: do not import ale-py for CartPole
    spec = _ale_spec(name)
    if spec is None:
        return None
    rom = spec.kwargs.get("game")
    game = next((g for g in games().values() if g.rom == rom), None)
    if game is None:
        return None
    defaults = {k: spec.kwargs[k] for k in ALE_KWARGS if k in spec.kwargs}
    defaults["pool"] = False
    return AtariSpelling(game, None, defaults, spec.max_episode_steps)
