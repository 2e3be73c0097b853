"""The Python examples of docs/agents.md run."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).parents[2] / "docs" / "agents.md"


def test_docs_examples_run(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block.replace("/tmp/td3bc-doc", str(tmp_path / "td3bc")), str(DOC), "exec"), {})
