"""STORI on Atari: Breakout, Boxing, Gopher and BankHeist with every mode, the paper's presets and type 0.

    >>> import gymnasium as gym, stori_envs
    >>> env = gym.make("stori/Breakout-T3.2A-v0")            # a preset of the paper
    >>> env = stori_envs.make("ALE/Boxing-v5", {"stochasticity_type": "1",
    ...     "intrinsic_stochasticity.action_dependent.stochastic_action_prob": 0.3})
    >>> env = stori_envs.atari.make_atari("Boxing", "3.2C", semantics="paper", frameskip=1)

See docs/atari.md. The engine is :class:`stori_envs.atari.env.AtariStoriEnv`.
"""

from stori_envs.atari.presets import PAPER_PRESETS, PRESETS
from stori_envs.atari.registration import make_atari, register

__all__ = ["PAPER_PRESETS", "PRESETS", "make_atari", "register"]
