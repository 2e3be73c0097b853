"""What the engine needs to know about one Atari game: its RAM map, its modes, its decoded state.

A :class:`Game` is pure data (plus small read functions): the blackout modes (rectangles and fill
colours), the RAM-peek modes (which bytes to write to hide something), the named state fields of
type 0 and the type-1 action sets. Its random events (2.1) are registered with
:func:`stori_envs.taxonomy.events.register_event` under ``family=game.family``. The engine in
:mod:`stori_envs.atari.env` turns a profile into the components that use these tables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from stori_envs.taxonomy.profile import Region

#: A RAM write: (byte index 0-127, value 0-255).
Write = tuple[int, int]


def bcd(byte: int) -> int:
    """Decode one binary-coded-decimal byte (0x42 -> 42)."""
    return (byte >> 4) * 10 + (byte & 0x0F)


def bcd_number(ram: np.ndarray, indices: tuple[int, ...]) -> int:
    """Decode a BCD number stored most significant byte first at ``indices``."""
    value = 0
    for i in indices:
        value = value * 100 + bcd(int(ram[i]))
    return value


def to_bcd(value: int, n_bytes: int) -> list[int]:
    """Encode a non-negative number as ``n_bytes`` BCD bytes, most significant first."""
    out = []
    for _ in range(n_bytes):
        value, two = divmod(value, 100)
        out.append(((two // 10) << 4) | (two % 10))
    return out[::-1]


@dataclass(frozen=True)
class BlackoutMode:
    """Rectangles (inclusive, with fill colours) hidden together by one blackout mode."""

    regions: tuple[Region, ...]
    description: str


@dataclass(frozen=True)
class RamPeekMode:
    """A RAM-peek mode: bytes written in a look-ahead copy of the emulator to hide something.

    ``writes`` are constant writes; ``dynamic(ram)`` computes them from the current RAM and returns
    an empty tuple when there is nothing to hide (the peek is then skipped). ``in_frame`` marks the
    modes whose opt-in in-frame fast path is proven equivalent by a determinism test;
    ``always_effective`` those whose writes provably always show (see below).
    """

    description: str
    writes: tuple[Write, ...] = ()
    dynamic: Callable[[np.ndarray], tuple[Write, ...]] | None = None
    in_frame: bool = False
    #: Writing a byte always changes the image (measured by a test over random play): the peek's
    #: ``observation_altered`` is then true whenever a byte changed. Otherwise every peek is compared
    #: with the same look-ahead without the writes (one more emulated frame per look-ahead frame),
    #: because a game may redraw the object from other bytes, or rewrite the bytes before drawing.
    always_effective: bool = False

    def __post_init__(self) -> None:
        if self.in_frame and not self.always_effective:
            raise ValueError(f"RamPeekMode {self.description!r}: in_frame needs always_effective (an in-frame "
                             "write leaves no unwritten frame to compare with)")


@dataclass(frozen=True)
class StateField:
    """One decoded variable of type 0: its name, bounds and how to read it from (RAM, ALE)."""

    name: str
    low: int
    high: int
    read: Callable[[np.ndarray, object], int]
    description: str


@dataclass(frozen=True)
class Game:
    """Everything game-specific the engine uses. Mode ids are canonical strings; "0" means none."""

    name: str
    family: str
    rom: str
    ram_map: Mapping[str, str]
    blackout_modes: Mapping[str, BlackoutMode]
    ram_modes: Mapping[str, RamPeekMode]
    state_fields: tuple[StateField, ...]
    #: Named type-1 action sets (indices into the minimal action set); None = every action.
    action_sets: Mapping[str, tuple[int, ...] | None] = field(default_factory=dict)
    default_action_set: str | None = None
    #: ``(ram, lives) -> bool``: whether the next agent step may end the episode (a RAM peek then keeps a
    #: snapshot to draw the final frame, see ``timing.final_peek``). Default: on the last life.
    ending_soon: Callable[[np.ndarray, int], bool] = field(default=lambda ram, lives: lives <= 1)

    def blackout(self, mode: str) -> BlackoutMode:
        if mode not in self.blackout_modes:
            raise ValueError(f"partial_observation.mode: got {mode!r}; allowed blackout modes of {self.name}: "
                             + ", ".join(self.blackout_modes))
        return self.blackout_modes[mode]

    def ram_mode(self, mode: str) -> RamPeekMode:
        if mode not in self.ram_modes:
            raise ValueError(f"partial_observation.mode: got {mode!r}; allowed ram modes of {self.name}: "
                             + ", ".join(self.ram_modes))
        return self.ram_modes[mode]

    def action_set(self, name: str | None) -> tuple[int, ...] | None:
        """The indices type 1 draws from (None: the whole action space)."""
        if name is None:
            name = self.default_action_set
        if name is None:
            return None
        if name not in self.action_sets:
            raise ValueError(f"intrinsic_stochasticity.action_dependent.random_action_set: got {name!r}; allowed for "
                             f"{self.name}: " + (", ".join(self.action_sets) or "none (leave it unset)"))
        return self.action_sets[name]


def regions(*rects: tuple[int, int, int, int], color: tuple[int, int, int] = (0, 0, 0)) -> tuple[Region, ...]:
    """Rectangles ``(x0, x1, y0, y1)`` (inclusive) with one fill colour."""
    return tuple(Region(x0, x1, y0, y1, tuple(color)) for x0, x1, y0, y1 in rects)


def union(*modes: BlackoutMode | tuple[Region, ...]) -> tuple[Region, ...]:
    """The regions of several modes (or region tuples), in order."""
    out: list[Region] = []
    for m in modes:
        out.extend(m.regions if isinstance(m, BlackoutMode) else m)
    return tuple(out)


NONE_BLACKOUT = BlackoutMode((), "none")
NONE_RAM = RamPeekMode("none")

_GAMES: dict[str, Game] = {}


def register_game(game: Game) -> Game:
    _GAMES[game.family] = game
    return game


def games() -> dict[str, Game]:
    """The supported games, keyed by family name ("breakout", "boxing", "gopher", "bankheist")."""
    from stori_envs.atari import bankheist, boxing, breakout, gopher  # noqa: F401  (each registers itself)

    return dict(_GAMES)


def game_for(env_id: str) -> Game | None:
    """The game an id names: ``"Breakout"``, ``"breakout"``, ``"ALE/Breakout-v5"`` (None if not one of ours)."""
    name = env_id.strip()
    if name.startswith("ALE/") and name.endswith("-v5"):
        name = name[4:-3]
    return games().get(name.lower().replace("_", ""))
