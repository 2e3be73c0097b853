"""Leaderboards: terminal, Markdown and an HTML page that a real headless Chromium renders with its plots."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from bench_support import tiny_suite

from benchmarks.evaluation.backends import run_suite
from benchmarks.evaluation.report import build_boards, ranking, write_report
from benchmarks.evaluation.store import Store
from benchmarks.evaluation.suites import load_suite
from stori_envs import cli

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    run_suite(load_suite(tiny_suite(tmp, seeds=3, episodes=3)), tmp / "out", workers=1, progress=False)
    return tmp / "out"


def test_boards_rank_and_measure(results):
    store = Store(results)
    boards = build_boards(store, seed=0, reps=500)
    again = build_boards(store, seed=0, reps=500)
    store.close()
    assert len(boards) == 1
    board = boards[0]
    assert ranking(board) == ["pd", "random"]  # the controller above random play
    pd = board.rows[0]
    assert pd.improvement[0] == 1.0  # every pd run beats every random run on both variants
    assert pd.aggregates["iqm"][0] > 0.8 and board.rows[1].aggregates["iqm"][0] < 0.15
    assert pd.gaps[0] == (0.0, 0.0, 0.0)  # the gap of 3.1 to itself
    risk = board.risk[("random", "3.1")]
    assert risk.crash_rate == 1.0 and risk.cvar5 <= risk.cvar10 <= risk.mean
    assert [(r.agent, r.aggregates) for r in boards[0].rows] == [(r.agent, r.aggregates) for r in again[0].rows]


def _browser():
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium here (apt-get install chromium); the HTML page is checked where a browser exists")


def test_html_page_renders_in_headless_chromium(results, tmp_path):
    write_report(results, html_page_too=True, reps=500)
    page = results / "index.html"
    for name in ("scores.png", "robustness.png", "profiles.png", "return_cost.png"):
        assert (results / name).stat().st_size > 5000
    browser = _browser()
    url = page.resolve().as_uri()
    shot = tmp_path / "page.png"
    common = [browser, *CHROME_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,2200"]
    subprocess.run([*common, f"--screenshot={shot}", url], check=True, capture_output=True, timeout=120)
    dom = subprocess.run([*common, "--virtual-time-budget=5000", "--dump-dom", url], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    assert shot.stat().st_size > 20_000
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[0] >= 2000 and pixels.std() > 0.05  # a real page, not a blank canvas
    assert '<table class="leaderboard">' in dom and "<td>pd</td>" in dom
    plots = re.search(r'data-plots="(\d+)"', dom)
    assert plots and int(plots.group(1)) == 4  # every plot decoded in the browser


def test_markdown_and_cli_report(results, capsys):
    assert cli.main(["bench", "report", str(results)]) == 0
    out = capsys.readouterr().out
    assert "tiny / cartpole" in out and "pd" in out
    text = (results / "report.md").read_text()
    assert text.startswith("### tiny / cartpole") and "| rank | agent | IQM |" in text and "CVaR 5%" in text


def test_cli_list_and_errors(tmp_path, capsys):
    assert cli.main(["bench", "list"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^quick\s+\d+ cells", out, flags=re.M)
    assert cli.main(["bench", "list", "--agents"]) == 0
    assert "sb3-ppo" in capsys.readouterr().out
    assert cli.main(["bench", "run", "nope", "--out", str(tmp_path)]) == 2
    assert "suite: got 'nope'" in capsys.readouterr().err
    assert cli.main(["bench", "report", str(tmp_path / "empty")]) == 2
    assert "allowed: a results folder written by" in capsys.readouterr().err
