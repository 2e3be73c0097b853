"""The command line, the README quick start and the demo, run for real."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from stori_envs import cli

ROOT = Path(__file__).resolve().parents[2]


def test_list_shows_every_registered_id(capsys):
    assert cli.main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    ids = {r["id"] for r in rows}
    assert "stori/Stochastic-v0" in ids
    assert all(r["description"] for r in rows)


def test_describe_profile_and_error(capsys, tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"stochasticity_type": "1",
                                "intrinsic_stochasticity.action_dependent.stochastic_action_prob": 0.3}))
    assert cli.main(["describe", str(path)]) == 0
    out = capsys.readouterr().out
    assert "stochastic_action_prob" in out and "0.3" in out and "replaced" in out
    assert cli.main(["describe", '{"stochasticity_type": "9"}']) == 2
    assert "stochasticity_type: got '9'" in capsys.readouterr().err


def test_readme_commands_and_ci_agree():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"<!-- (\w+)-command -->\s*```bash\n(.+?)\n```", readme)
    commands = dict(blocks)
    assert set(commands) == {"demo", "test"}
    assert "pytest" in commands["test"]
    assert "benchmarks.demo" in commands["demo"] or "stori-envs bench" in commands["demo"]
    assert "test-command" in (ROOT / ".ci" / "run").read_text()


def test_readme_python_examples_run():
    readme = (ROOT / "README.md").read_text()
    snippets = re.findall(r"```python\n(.+?)\n```", readme, flags=re.S)
    assert snippets
    namespace: dict = {}  # a reader runs the snippets in order, in one session
    for code in snippets:
        exec(compile(code, "README.md", "exec"), namespace)


@pytest.mark.parametrize("doc", ["taxonomy.md"])
def test_doc_python_examples_run(doc, tmp_path, monkeypatch):
    text = (ROOT / "docs" / doc).read_text()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_profile.toml").write_text('stochasticity_type = "3.1"\n')
    for code in re.findall(r"```python\n(.+?)\n```", text, flags=re.S):
        exec(compile(code, doc, "exec"), {})
