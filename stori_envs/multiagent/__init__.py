"""Multi-agent risk games as PettingZoo ``ParallelEnv``s (optional extra ``[multiagent]``).

* :class:`MatrixGameEnv` and the library :data:`GAMES` (stag hunt, risky stag hunt, crash/chicken, ...).
* :class:`TrustDilemmaGrid`: a Markov stag hunt (trust dilemma) with scripted ``StagPolicy``/``HarePolicy``.
* :class:`CrossingEnv`: a two-car intersection where simultaneous entry crashes (``GoPolicy``/``YieldPolicy``).
* :func:`apply_profile_parallel`: the taxonomy's type 1 on an agent's actions.

Every step's ``infos[agent]["catastrophe"]`` says whether a catastrophe (crash) happened.
"""

from stori_envs.multiagent.crossing import CrossingEnv, GoPolicy, YieldPolicy
from stori_envs.multiagent.matrix import GAMES, MatrixGame, MatrixGameEnv, matrix_game
from stori_envs.multiagent.policies import (
    Episode,
    FixedActionPolicy,
    Policy,
    UniformRandomPolicy,
    run_episode,
)
from stori_envs.multiagent.taxonomy import ParallelRandomActionReplacement, apply_profile_parallel
from stori_envs.multiagent.trust_grid import HarePolicy, StagPolicy, TrustDilemmaGrid

__all__ = [
    "GAMES",
    "CrossingEnv",
    "Episode",
    "FixedActionPolicy",
    "GoPolicy",
    "HarePolicy",
    "MatrixGame",
    "MatrixGameEnv",
    "ParallelRandomActionReplacement",
    "Policy",
    "StagPolicy",
    "TrustDilemmaGrid",
    "UniformRandomPolicy",
    "YieldPolicy",
    "apply_profile_parallel",
    "matrix_game",
    "run_episode",
]
