"""Suite files: the shipped ones parse, cells expand as documented, bad files name the line and field."""

from __future__ import annotations

import pytest
from bench_support import tiny_suite

from benchmarks.evaluation.suites import MAX_EPISODES, load_suite, shipped_suites


def test_shipped_suites_parse():
    names = set(shipped_suites())
    assert {"quick", "atari", "medical", "control", "risk"} <= names
    quick = load_suite("quick")
    labels = {a.label for a in quick.agents}
    assert {"ppo", "dqn", "random", "pd-controller", "clinician", "expert"} <= labels
    cartpole = quick.envs[0]
    assert sorted({v.type for v in cartpole.variants}) == ["1", "2.1", "2.2", "3.1", "3.2"]
    for name in names:
        assert load_suite(name).cells(), name


def test_cells_seeds_and_protocols(tmp_path):
    suite = load_suite(tiny_suite(tmp_path, seeds=3, episodes=4))
    cells = suite.cells()
    assert len(cells) == 2 * 2 * 3  # agents x variants x seeds (protocol "same")
    assert len({c.key for c in cells}) == len(cells)
    train_seeds = {c.train_seed for c in cells}
    eval_seeds = {s for c in cells for s in c.eval_seeds}
    assert train_seeds == {0, 1, 2} and not train_seeds & eval_seeds
    # Every agent sees the same evaluation episodes for the same run index (paired comparisons).
    by_seed = {}
    for c in cells:
        by_seed.setdefault(c.seed, set()).add(c.eval_seeds)
    assert all(len(v) == 1 for v in by_seed.values())
    assert len(suite.cells(seeds=5)) == 2 * 2 * 5
    transfer = load_suite(tiny_suite(tmp_path, "tr", ppo_steps=100, extra='protocol = "transfer"\ntrain_on = "3.1"'))
    cells = transfer.cells()
    assert len(cells) == 3 * 2  # one cell per agent and seed, evaluated on both variants
    ppo = [c for c in cells if c.agent.label == "ppo"][0]
    assert ppo.train_variant.name == "3.1" and [v.name for v in ppo.eval_variants] == ["3.1", "1 p=0.2"]
    assert [c for c in cells if c.agent.label == "pd"][0].train_variant is None


@pytest.mark.parametrize("edit, message", [
    (("eval_episodes = 3", "eval_episodes = 0"), "line 5: eval_episodes: got 0; allowed: an integer in [1, 1000]"),
    (("n_envs = 2", "n_envs = 2\nbogus = 1"), "line 7: bogus: got 1; allowed: the fields"),
    (('label = "pd"', 'label = "pd"\ntrain_steps = -5'), "agents[1].train_steps: got -5"),
    (('crash = "terminated"', 'crash = "sometimes"'), "line 13: envs[0].crash: got 'sometimes'"),
    (("0.2 } }", "1.5 } }"), "envs[0].variants.1 p=0.2.profile: got"),
    (('agent = "random"', 'agent = 3'), "agents[0].agent: got 3"),
    (('score_range = [0, 500]', 'score_range = [500, 0]'), "envs[0].score_range: got [500, 0]"),
    (("seeds = 2", "seeds = 2\nprotocol = \"transfer\""), "train_on: got None; allowed: a variant of env"),
    (('name = "tiny"', 'name = "tiny"\neval_seed = 0'), "eval_seed: got 0; allowed: a range of evaluation seeds"),
    (("n_envs = 2", "n_envs = = 2"), "not valid TOML"),
])
def test_bad_suite_names_line_and_field(tmp_path, edit, message):
    path = tiny_suite(tmp_path)
    text = path.read_text()
    assert edit[0] in text
    path.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(ValueError) as info:
        load_suite(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_env_level_episode_count(tmp_path):
    path = tiny_suite(tmp_path, episodes=4)
    path.write_text(path.read_text().replace('crash = "terminated"', 'crash = "terminated"\neval_episodes = 7'))
    assert {len(c.eval_seeds) for c in load_suite(path).cells()} == {7}
    path.write_text(path.read_text().replace("eval_episodes = 7", "eval_episodes = 0"))
    with pytest.raises(ValueError, match="line 14: envs\\[0\\].eval_episodes: got 0"):
        load_suite(path)


def test_unknown_suite_lists_shipped():
    with pytest.raises(ValueError, match=r"suite: got 'nope'; allowed: a \.toml file or one of \[.*'quick'"):
        load_suite("nope")


def test_episode_limit_matches_seed_layout():
    assert MAX_EPISODES == 1000
