"""``stori-envs agents train|evaluate``: train, resume, evaluate, errors."""

from __future__ import annotations

import json

import pytest

from stori_envs.cli import main

DATASET = "rollouts:stori/MedSepsis-v0:clinician:30"
TINY = ["--set", "actor_hidden=[16,16]", "--set", "critic_hidden=[16,16]", "--set", "batch_size=32",
        "--set", "checkpoint_every=20", "--no-progress"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_train_resume_evaluate(tmp_path, capsys):
    out = str(tmp_path / "run")
    code, text, _ = run(capsys, "agents", "train", "td3bc", "--dataset", DATASET, "--steps", "40", "--seed", "2",
                        "--out", out, *TINY)
    assert code == 0 and json.loads(text)["total_steps"] == 40
    code, text, err = run(capsys, "agents", "train", "td3bc", "--dataset", DATASET, "--steps", "60", "--seed", "2",
                          "--out", out, *TINY)
    assert code == 0 and "resuming td3bc from step 40" in err and json.loads(text)["total_steps"] == 60
    code, text, _ = run(capsys, "agents", "evaluate", out, "--env", "stori/MedSepsis-v0", "--episodes", "3",
                        "--seed", "11")
    summary = json.loads(text)
    assert code == 0 and summary["episodes"] == 3 and summary["agent"] == "td3bc"
    assert {"return_mean", "cost_mean", "normalized_score", "mortality"} <= set(summary)


def test_resume_with_another_config_is_refused(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert run(capsys, "agents", "train", "bc", "--dataset", DATASET, "--steps", "5", "--out", out,
               "--set", "actor_hidden=[8]", "--no-progress")[0] == 0
    code, _, err = run(capsys, "agents", "train", "bc", "--dataset", DATASET, "--steps", "10", "--seed", "1",
                       "--out", out, "--set", "actor_hidden=[8]", "--no-progress")
    assert code == 2 and "--out: got" in err


@pytest.mark.parametrize("argv,match", [
    (["agents", "train", "nope", "--dataset", DATASET, "--steps", "1", "--out", "x"], "agent: got 'nope'"),
    (["agents", "train", "bc", "--dataset", "rollouts:bad", "--steps", "1", "--out", "x"], "--dataset: got"),
    (["agents", "train", "bc", "--dataset", DATASET, "--steps", "1", "--out", "x", "--set", "alpha"], "--set: got"),
    (["agents", "train", "bc", "--dataset", DATASET, "--steps", "1", "--out", "x", "--set", "alpha=1"],
     "unknown fields"),
    (["agents", "evaluate", "missing-dir", "--env", "Pendulum-v1"], "no saved agent here"),
])
def test_errors_are_clear(argv, match, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *argv)
    assert code == 2 and match in err
