"""The Python examples of docs/atari.md run, in order, as a reader would run them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "atari.md"


def test_atari_doc_examples_run():
    pytest.importorskip("cv2")  # the examples resize frames and use SB3's Atari wrapper
    snippets = re.findall(r"```python\n(.+?)\n```", DOC.read_text(), flags=re.S)
    assert len(snippets) >= 3
    namespace: dict = {}
    for code in snippets:
        exec(compile(code, str(DOC), "exec"), namespace)


def test_atari_doc_shows_the_gallery_images():
    text = DOC.read_text()
    for game in ("breakout", "boxing", "gopher", "bankheist"):
        assert f"images/atari-{game}-modes.png" in text
        assert (DOC.parent / "images" / f"atari-{game}-modes.png").stat().st_size > 10_000
