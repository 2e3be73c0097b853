"""docs/leaderboard.md: its Python examples run and every shipped suite it lists exists."""

from __future__ import annotations

import re
from pathlib import Path

from benchmarks.evaluation.suites import shipped_suites

DOC = Path(__file__).resolve().parents[2] / "docs" / "leaderboard.md"


def test_python_examples_run():
    snippets = re.findall(r"```python\n(.+?)\n```", DOC.read_text(), flags=re.S)
    assert snippets
    for code in snippets:
        exec(compile(code, str(DOC), "exec"), {})


def test_every_shipped_suite_is_documented():
    table = DOC.read_text().split("## Shipped suites", 1)[1].split("##", 1)[0]
    assert {m for m in re.findall(r"^\| `(\w+)` \|", table, flags=re.M)} == set(shipped_suites())
