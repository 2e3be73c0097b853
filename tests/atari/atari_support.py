"""Shared pieces of the Atari tests: building envs, lock-step runs, an independent peek, simple policies.

The expected values in the tests come from the spec (stori-taxonomy.md), typed here and in the test
modules, never from the implementation's own tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
from ale_py import Action, ALEInterface, roms

from stori_envs.atari import make_atari
from stori_envs.taxonomy.profile import Profile

A = "intrinsic_stochasticity.action_dependent."
E = "intrinsic_stochasticity.action_independent_random."
D = "intrinsic_stochasticity.action_independent_concept_drift."
P = "partial_observation."


def profile(kind: str, mode: str | None = None, p: float = 1.0, **semantics) -> Profile:
    """A profile of type ``kind`` ("1", "2.1", "blackout", "crop", "ram", "3.1", "0") with optional semantics rows."""
    if kind == "1":
        data = {"stochasticity_type": "1", A + "stochastic_action_prob": p}
    elif kind == "2.1":
        data = {"stochasticity_type": "2.1", E + "mode": mode, E + "random_stochasticity_prob": p}
    elif kind in ("blackout", "crop", "ram"):
        data = {"stochasticity_type": "3.2", P + "type": kind, P + "mode": mode, P + "prob": p}
    else:
        data = {"stochasticity_type": kind}
    data.update({f"semantics.{k}": v for k, v in semantics.items()})
    return Profile.parse(data)


def make(game: str, prof=None, **kwargs):
    return make_atari(game, prof, **kwargs)


def peek_image(ale, writes) -> np.ndarray:
    """The spec's look-ahead, restated: clone with RNG, write, one NOOP frame, screen, restore."""
    state = ale.cloneState(include_rng=True)
    for i, v in writes:
        ale.setRAM(i, v)
    ale.act(Action.NOOP)
    image = ale.getScreenRGB()
    ale.restoreState(state)
    return image


def random_policy(n_actions: int, seed: int = 0) -> Callable[[object], int]:
    rng = np.random.default_rng(seed)
    return lambda env: int(rng.integers(n_actions))


def breakout_tracker(seed: int = 0) -> Callable[[object], int]:
    """Follow the ball with the paddle (keeps the ball in play and hits many bricks)."""
    rng = np.random.default_rng(seed)

    def act(env) -> int:
        ram = env.unwrapped.ale.getRAM()
        ball, paddle = int(ram[99]), int(ram[72])
        if ball == 0 or rng.random() < 0.05:
            return 1  # FIRE
        if ball > paddle + 13:
            return 2  # RIGHT
        if ball < paddle + 5:
            return 3  # LEFT
        return 0

    return act


def state_where(rom: str, condition: Callable[[object], bool], seed: int = 0):
    """An emulator state reached by random play where ``condition(ale)`` holds (a rare object on screen)."""
    ale = ALEInterface()
    ale.setFloat("repeat_action_probability", 0.0)
    ale.loadROM(roms.get_rom_path(rom))
    ale.reset_game()
    actions = ale.getMinimalActionSet()
    rng = np.random.default_rng(seed)
    while not condition(ale):
        ale.act(actions[rng.integers(len(actions))])
        if ale.game_over():
            ale.reset_game()
    return ale.cloneState(include_rng=True)


def lockstep(envs: list, seed: int, steps: int, policy: Callable[[object], int], state=None
             ) -> Iterator[tuple[int, list]]:
    """Reset every env with ``seed`` and step them with the same actions (chosen on ``envs[0]``).

    ``state`` (from :func:`state_where`) is restored into every env's emulator after the reset.
    Yields ``(step, [(obs, reward, terminated, truncated, info), ...])``; step -1 is the reset
    (reward None). Stops at the end of the first episode.
    """
    results = [env.reset(seed=seed) for env in envs]
    if state is not None:
        for env in envs:
            env.unwrapped.ale.restoreState(state)
    yield -1, [(obs, None, False, False, info) for obs, info in results]
    for step in range(steps):
        action = policy(envs[0])
        results = [env.step(action) for env in envs]
        yield step, results
        if any(r[2] or r[3] for r in results):
            return


_TWINS: dict[tuple[str, int], object] = {}


def twin(game: str, frameskip: int = 4):
    """A cached type-3.1 env (the truth to compare against); callers reset it with their seed."""
    key = (game, frameskip)
    if key not in _TWINS:
        _TWINS[key] = make(game, None, frameskip=frameskip)
    return _TWINS[key]


def bcd(byte: int) -> int:
    return (int(byte) >> 4) * 10 + (int(byte) & 15)


def score(ram, indices) -> int:
    """A BCD number stored most significant byte first (the spec's score bytes)."""
    value = 0
    for i in indices:
        value = value * 100 + bcd(ram[i])
    return value
