"""The examples of docs/medical.md run as written; its figures exist."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "medical.md"
SNIPPETS = re.findall(r"```python\n(.+?)\n```", DOC.read_text(), flags=re.S)


@pytest.mark.parametrize("code", SNIPPETS, ids=[f"snippet{i}" for i in range(len(SNIPPETS))])
def test_doc_examples_run(code):
    if "ICUSepsisCost" in code and importlib.util.find_spec("icu_sepsis") is None:
        pytest.skip("optional extra 'icu' (icu-sepsis) not installed")
    exec(compile(code, str(DOC), "exec"), {})


def test_doc_figures_exist():
    for name in re.findall(r"\]\((images/[^)]+)\)", DOC.read_text()):
        assert (DOC.parent / name).stat().st_size > 10_000, name
