"""Pictures of the Atari modes: a PNG grid of every mode of a game, and a short GIF/MP4 of an episode.

Both show what the agent gets (the observation at full resolution, i.e. ``render()``), not the true
screen. ``stori-envs gallery`` and ``stori-envs record`` call :func:`gallery` and :func:`record`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stori_envs.atari.game import Game, game_for, games
from stori_envs.atari.presets import E, P
from stori_envs.taxonomy.events import event_modes
from stori_envs.taxonomy.occlusion import CROP_DESCRIPTIONS

logger = logging.getLogger(__name__)

KINDS = ("2.1", "blackout", "crop", "ram")


@dataclass(frozen=True)
class Panel:
    """One picture of the grid: a title and the profile that produces it."""

    title: str
    profile: dict[str, Any]


def _game(name: str) -> Game:
    game = game_for(name)
    if game is None:
        raise ValueError(f"game: got {name!r}; allowed: " + ", ".join(g.name for g in games().values()))
    return game


def panels(game: Game, kinds: tuple[str, ...] = KINDS) -> list[Panel]:
    """Type 3.1 first, then every mode of each kind at probability 1 (mode 0, "none", left out)."""
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ValueError(f"kinds: got {bad!r}; allowed: " + ", ".join(KINDS))
    out = [Panel("3.1: the game as it is", {"stochasticity_type": "3.1"})]
    for kind in kinds:
        if kind == "2.1":
            modes = {m: s.description for m, s in event_modes(game.family).items() if s.family == game.family}
        elif kind == "blackout":
            modes = {m: s.description for m, s in game.blackout_modes.items()}
        elif kind == "crop":
            modes = dict(CROP_DESCRIPTIONS)
        else:
            modes = {m: s.description for m, s in game.ram_modes.items()}
        for mode, description in modes.items():
            if mode == "0":
                continue
            if kind == "2.1":
                prof = {"stochasticity_type": "2.1", E + "mode": mode, E + "random_stochasticity_prob": 1.0}
            else:
                prof = {"stochasticity_type": "3.2", P + "type": kind, P + "mode": mode, P + "prob": 1.0}
            out.append(Panel(f"{kind} {mode}: {description}", prof))
    return out


def _warm_policy(n_actions: int, seed: int):
    """Uniform random actions, with FIRE (action 1 in all four games) every 8th step to serve Breakout's ball."""
    rng = np.random.default_rng(seed)
    count = iter(range(1 << 62))
    return lambda: 1 if next(count) % 8 == 0 else int(rng.integers(n_actions))


def gallery(game_name: str, out: str | Path | None = None, *, steps: int = 80, seed: int = 0,
            kinds: tuple[str, ...] = KINDS, columns: int = 6) -> Path:
    """Write a PNG grid of the observation every mode of ``game_name`` gives after ``steps`` agent steps.

    Every panel runs the same seed and the same random actions, so the panels differ only by mode.
    Returns the path written (default ``docs/images/atari-<game>-modes.png``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from stori_envs.atari.registration import make_atari

    game = _game(game_name)
    out = Path(out) if out is not None else Path("docs/images") / f"atari-{game.family}-modes.png"
    grid = panels(game, kinds)
    rows = -(-len(grid) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.3 * columns, 3.5 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, panel in zip(axes.flat, grid):
        env = make_atari(game.name, panel.profile, render_mode="rgb_array")
        env.reset(seed=seed)
        policy = _warm_policy(env.action_space.n, seed)
        for _ in range(steps):
            *_, terminated, truncated, _ = env.step(policy())
            if terminated or truncated:
                break
        ax.imshow(env.render(), interpolation="nearest")
        ax.set_title(_wrap(panel.title, 30), fontsize=7)
        env.close()
    fig.suptitle(f"{game.name}: every STORI mode at p = 1 (the agent's observation after {steps} steps)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    logger.info("wrote %s (%d panels)", out, len(grid))
    return out


def _wrap(text: str, width: int) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "\n".join(lines[:3])


def record(env_id: str, out: str | Path, *, profile: str | None = None, steps: int = 300, seed: int = 0,
           fps: int = 15, **kwargs: Any) -> Path:
    """Write a GIF (or MP4, with imageio-ffmpeg) of up to ``steps`` agent steps with random actions.

    ``env_id`` is a Gymnasium id (``stori/Breakout-T3.2C-v0``) or a game name with ``profile`` (a
    preset name such as ``"3.2C"``). Frames are what the agent observed, at full resolution.
    """
    import imageio.v2 as imageio

    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps <= 1000:
        raise ValueError(f"fps: got {fps!r}; allowed: a number of frames per second in (0, 1000]")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps: got {steps!r}; allowed: an integer >= 0")
    out = Path(out)
    if out.suffix.lower() not in (".gif", ".mp4"):
        raise ValueError(f"out: got {str(out)!r}; allowed: a path ending in .gif or .mp4")
    env = _make_for_record(env_id, profile, **kwargs)
    env.reset(seed=seed)
    frames = [env.render()]
    policy = _warm_policy(env.action_space.n, seed)
    for _ in range(steps):
        *_, terminated, truncated, _ = env.step(policy())
        frames.append(env.render())
        if terminated or truncated:
            break
    env.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".gif":
        imageio.mimsave(out, frames, duration=1000 / fps, loop=0)
    else:
        try:
            imageio.mimsave(out, frames, fps=fps, macro_block_size=1)
        except (ImportError, ValueError, RuntimeError) as exc:
            raise ValueError(f"out: got {str(out)!r}, but MP4 needs imageio-ffmpeg ({exc}); "
                             "allowed: a .gif path, or pip install imageio-ffmpeg") from None
    logger.info("wrote %s (%d frames)", out, len(frames))
    return out


def _make_for_record(env_id: str, profile: str | None, **kwargs: Any):
    from stori_envs.atari.ids import resolve
    from stori_envs.atari.registration import make_atari

    if resolve(env_id) is None:
        raise ValueError(f"env: got {env_id!r}; allowed: an Atari id (stori/Breakout-T3.2C-v0, ALE/Boxing-v5, ...) "
                         "or a game name with --profile")
    return make_atari(env_id, profile, render_mode="rgb_array", **kwargs)


# The command-line side lives in stori_envs.atari.cli (a CLI module may print); re-exported for the main CLI.
from stori_envs.atari.cli import add_gallery_parser, add_record_parser  # noqa: E402

__all__ = ["Panel", "add_gallery_parser", "add_record_parser", "gallery", "panels", "record"]
