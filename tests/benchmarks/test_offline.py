"""Offline agents enter the loop through the interface: trained on a real (tiny) dataset, missing ones fail clearly."""

from __future__ import annotations

import sqlite3

import pytest

from benchmarks.evaluation.backends import run_suite
from benchmarks.evaluation.suites import load_suite

pytest.importorskip("minari")

SUITE = """
name = "offline"
seeds = 1
eval_episodes = 3
n_envs = 3

[[envs]]
name = "MedSepsis"
id = "stori/MedSepsis-v0"
crash = "info:outcome=death"
[envs.variants]
"3.1" = {}
"1 dosing errors" = { id = "stori/MedSepsis-T1-v0", type = "1", slug = "t1/" }

[[agents]]
label = "bc"
agent = "bc"
dataset = "stori/medsepsis/{slug}clinician-v0"
train_steps = 50
config = { batch_size = 32 }
"""


def test_bc_on_a_built_dataset_and_a_clear_error_for_a_missing_one(tmp_path, monkeypatch):
    from stori_envs.datasets import build

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "datasets"))  # the workers inherit it
    build("stori/medsepsis/clinician-v0", episodes=20)  # only the 3.1 dataset exists
    path = tmp_path / "offline.toml"
    path.write_text(SUITE)
    summary = run_suite(load_suite(path), tmp_path / "out", workers=1, progress=False)
    assert (summary.done, summary.failed) == (1, 1)
    conn = sqlite3.connect(tmp_path / "out" / "results.sqlite")
    rows = dict(conn.execute("SELECT key, COALESCE(error, status) FROM cells").fetchall())
    episodes = conn.execute("SELECT COUNT(*) FROM episodes").fetchone()[0]
    conn.close()
    assert rows["bc|MedSepsis|3.1|3.1|0"] == "done" and episodes == 3
    error = rows["bc|MedSepsis|1 dosing errors|1 dosing errors|0"]
    assert "dataset: got 'stori/medsepsis/t1/clinician-v0'; allowed: a built dataset" in error
    assert "stori-envs datasets build stori/medsepsis/t1/clinician-v0" in error


def test_offline_plot_adds_a_cost_panel_for_datasets_with_costs(tmp_path):
    from benchmarks.offline import plot

    rows = [("Hopper", "bc", 30.0, 2.0, None, None), ("MedSepsis", "bc", 50.0, float("nan"), 2.2, 0.5),
            ("MedSepsis", "ogsrl", 110.0, 10.0, 7.0, 1.0)]
    panels = plot(rows, str(tmp_path / "scores.png"))
    assert (tmp_path / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert panels == [("Hopper", "normalised score (mean, 95 % CI)"), ("MedSepsis", "normalised score (mean, 95 % CI)"),
                      ("MedSepsis", "true episode cost (mean, 95 % CI)")]
