"""``stori-envs gallery`` and ``stori-envs record``: the pictures show what the agent observes."""

from __future__ import annotations

import subprocess
import sys

import imageio.v2 as imageio
import numpy as np
import pytest

from stori_envs.atari.game import game_for
from stori_envs.atari.media import gallery, panels, record


def test_panels_cover_every_mode_of_a_game():
    game = game_for("Gopher")
    titles = [p.title for p in panels(game)]
    n_21 = 3  # Gopher's 2.1 modes 1-3
    assert len(titles) == 1 + n_21 + 18 + 5 + 5  # 3.1, 2.1, blackout 1-18, crop 1-5, ram 1-5
    assert titles[0].startswith("3.1") and any(t.startswith("blackout 18:") for t in titles)
    with pytest.raises(ValueError, match="kinds: got"):
        panels(game, ("smell",))


def test_gallery_writes_a_png_grid(tmp_path):
    out = gallery("Boxing", tmp_path / "boxing.png", steps=5, kinds=("ram",), columns=2)
    image = imageio.imread(out)
    assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 200


def test_record_writes_the_observed_frames(tmp_path):
    out = record("stori/Breakout-T3.2A-v0", tmp_path / "episode.gif", steps=12, seed=0)
    frames = imageio.mimread(out)  # the GIF writer merges identical consecutive frames
    assert 2 <= len(frames) <= 13 and frames[0].shape[:2] == (210, 160)
    assert all(np.all(np.asarray(f)[105:131, 8:152, :3] == 0) for f in frames)  # blackout 10 is visible


def test_record_rejects_bad_paths_and_mixed_arguments(tmp_path):
    with pytest.raises(ValueError, match="out: got"):
        record("stori/Breakout-T3.2A-v0", tmp_path / "episode.avi")
    with pytest.raises(ValueError, match="profile: got '3.2C'"):
        record("stori/Breakout-T3.2A-v0", tmp_path / "x.gif", profile="3.2C")


def test_cli_subcommands(tmp_path):
    out = tmp_path / "r.gif"
    result = subprocess.run([sys.executable, "-m", "stori_envs.cli", "record", "Boxing", "--profile", "3.2C",
                             "--out", str(out), "--steps", "5"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert out.exists() and "wrote" in result.stdout
    result = subprocess.run([sys.executable, "-m", "stori_envs.cli", "gallery", "--help"], capture_output=True,
                            text=True)
    assert result.returncode == 0 and "usage: stori-envs gallery" in result.stdout


@pytest.mark.parametrize("fps", [0, -5, float("nan")])
def test_record_refuses_a_non_positive_frame_rate(tmp_path, fps, capsys):
    from stori_envs.cli import main

    with pytest.raises(ValueError, match="fps: got"):
        record("stori/Breakout-T3.1-v0", tmp_path / "x.gif", steps=2, fps=fps)
    assert main(["record", "stori/Breakout-T3.1-v0", "--out", str(tmp_path / "y.gif"), "--fps", str(fps)]) == 2
    assert "fps: got" in capsys.readouterr().err and not (tmp_path / "y.gif").exists()
