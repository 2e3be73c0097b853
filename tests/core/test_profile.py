"""Profiles: every accepted form, round trips, and the clear error for every kind of bad input."""

from __future__ import annotations

import json

import pytest

from stori_envs.taxonomy.profile import Profile, flatten

BREAKOUT_DRIFT = {
    "stochasticity_type": "2.2",
    "intrinsic_stochasticity": {
        "action_independent_concept_drift": {
            "temporal_mode": "sudden", "temporal_threshold": 300, "secondary_concept_type": "3.2"}},
    "partial_observation": {"type": "blackout", "mode": "10", "prob": 1.0},
}


def test_nested_and_flat_forms_agree():
    nested = Profile.parse(BREAKOUT_DRIFT)
    flat = Profile.parse(flatten(BREAKOUT_DRIFT))
    assert nested == flat
    assert nested.drift.temporal_threshold == 300
    assert nested.partial_observation.mode == "10"


def test_round_trips_dict_json_flat():
    profile = Profile.parse(BREAKOUT_DRIFT)
    assert Profile.parse(profile.to_dict()) == profile
    assert Profile.from_json(profile.to_json()) == profile
    assert Profile.parse(profile.to_flat()) == profile
    assert json.loads(profile.to_json())["partial_observation"]["mode"] == "10"


def test_files_json_and_toml(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps(BREAKOUT_DRIFT))
    (tmp_path / "p.toml").write_text(
        'stochasticity_type = "2.2"\n'
        "[intrinsic_stochasticity.action_independent_concept_drift]\n"
        'temporal_mode = "sudden"\ntemporal_threshold = 300\nsecondary_concept_type = "3.2"\n'
        '[partial_observation]\ntype = "blackout"\nmode = 10\nprob = 1.0\n'
    )
    expected = Profile.parse(BREAKOUT_DRIFT)
    assert Profile.parse(tmp_path / "p.json") == Profile.parse(str(tmp_path / "p.toml")) == expected


def test_keyword_overrides_do_not_mutate():
    base = Profile.parse(BREAKOUT_DRIFT)
    changed = base.replace(partial_observation__prob=0.5)
    assert changed.partial_observation.prob == 0.5
    assert base.partial_observation.prob == 1.0
    with pytest.raises(AttributeError):
        base.stochasticity_type = "1"  # frozen


@pytest.mark.parametrize(
    "value, canonical",
    [(2.1, "2.1"), ("2.1", "2.1"), (1, "1"), (1.0, "1"), (" 3.2 ", "3.2"), (0, "0")],
)
def test_type_ids_are_normalised(value, canonical):
    settings = {
        "1": {"intrinsic_stochasticity.action_dependent.stochastic_action_prob": 0.1},
        "2.1": {"intrinsic_stochasticity.action_independent_random.mode": 1,
                "intrinsic_stochasticity.action_independent_random.random_stochasticity_prob": 0.1},
        "3.2": {"partial_observation.type": "crop", "partial_observation.mode": 5, "partial_observation.prob": 1},
    }.get(canonical, {})
    profile = Profile.parse({"stochasticity_type": value, **settings})
    assert profile.stochasticity_type == canonical


def test_mode_ids_are_normalised():
    profile = Profile.parse({"stochasticity_type": "3.2", "partial_observation.type": "crop",
                             "partial_observation.mode": 5, "partial_observation.prob": 1})
    assert profile.partial_observation.mode == "5"
    assert Profile.parse(profile.to_dict(), partial_observation__mode="05").partial_observation.mode == "5"


@pytest.mark.parametrize(
    "data, field, allowed",
    [
        ({"stochasticity_type": 4}, "stochasticity_type", "stale numeric id"),
        ({"stochasticity_type": "7"}, "stochasticity_type", "'3.2'"),
        ({"stochasticity_type": True}, "stochasticity_type", "'2.1'"),
        ({"colour": 1}, "colour", "known keys"),
        ({"intrinsic_stochasticity.action_dependent.p": 0.2}, "intrinsic_stochasticity.action_dependent.p",
         "known keys"),
        ({"stochasticity_type": "1"}, "stochastic_action_prob", "required"),
        ({"stochasticity_type": "1", "intrinsic_stochasticity.action_dependent.stochastic_action_prob": 1.5},
         "stochastic_action_prob", "[0, 1]"),
        ({"stochasticity_type": "1", "intrinsic_stochasticity.action_dependent.stochastic_action_prob": "0.5"},
         "stochastic_action_prob", "[0, 1]"),
        ({"stochasticity_type": "1", "intrinsic_stochasticity.action_dependent.stochastic_action_prob": float("nan")},
         "stochastic_action_prob", "[0, 1]"),
        ({"stochasticity_type": "2.2",
          "intrinsic_stochasticity.action_independent_concept_drift.temporal_mode": "sudden",
          "intrinsic_stochasticity.action_independent_concept_drift.temporal_threshold": 10,
          "intrinsic_stochasticity.action_independent_concept_drift.secondary_concept_type": "2.2"},
         "secondary_concept_type", "'1', '2.1', '3.2'"),
        ({"intrinsic_stochasticity.action_independent_concept_drift.secondary_concept_type": 5},
         "secondary_concept_type", "stale"),
        ({"intrinsic_stochasticity.action_independent_concept_drift.secondary_concept_type": "3.1"},
         "secondary_concept_type", "'1', '2.1', '3.2'"),
        ({"intrinsic_stochasticity.action_independent_concept_drift.temporal_threshold": 0},
         "temporal_threshold", ">= 1"),
        ({"intrinsic_stochasticity.action_independent_concept_drift.temporal_mode": "gradual"},
         "temporal_mode", "'sudden', 'cyclic'"),
        ({"partial_observation.type": "fog"}, "partial_observation.type", "'crop'"),
        ({"partial_observation.type": "crop", "partial_observation.mode": 6}, "partial_observation.mode", "crop modes"),
        ({"partial_observation.mode": -1}, "partial_observation.mode", "non-negative"),
        ({"partial_observation.regions": [[5, 1, 0, 3]]}, "regions[0]", "x0 <= x1"),
        ({"partial_observation.regions": [[0, 1, 0, 3, [300, 0, 0]]]}, "regions[0].color", "[0, 255]"),
        ({"partial_observation.mode": "3", "partial_observation": {"mode": "4"}}, "partial_observation.mode",
         "given twice"),
        ({"semantics.profile": "faithful"}, "semantics.profile", "'clean', 'paper'"),
        ({"semantics.seed_policy": "never"}, "semantics.seed_policy", "'first_reset'"),
        ({"semantics": 3}, "semantics", "a mapping"),
    ],
)
def test_bad_input_names_field_value_and_allowed(data, field, allowed):
    with pytest.raises(ValueError) as err:
        Profile.parse(data)
    message = str(err.value)
    assert field in message and allowed in message and "got" in message


def test_same_key_nested_and_flat_with_same_value_is_fine():
    both = Profile.parse({"partial_observation.mode": 3, "partial_observation": {"mode": "3"}})
    assert both.partial_observation.mode == "3"


def test_paper_semantics_sets_every_row_and_rows_override():
    paper = Profile.parse({"semantics.profile": "paper"}).semantics
    rows = (paper.po_timing, paper.drift_switch, paper.reward, paper.game_fixes)
    assert rows == ("per_frame", "T-1", "original", False)
    mixed = Profile.parse({"semantics.profile": "paper", "semantics.drift_switch": "T"}).semantics
    assert mixed.drift_switch == "T" and mixed.po_timing == "per_frame"
    assert Profile.parse(None).semantics.drift_switch == "T"


def test_bad_files(tmp_path):
    with pytest.raises(ValueError, match="existing"):
        Profile.parse(tmp_path / "missing.json")
    (tmp_path / "p.yaml").write_text("stochasticity_type: 1")
    with pytest.raises(ValueError, match=r"\.json or \.toml"):
        Profile.parse(tmp_path / "p.yaml")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        Profile.parse(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="profile: got 3"):
        Profile.parse(3)


def test_changing_the_semantics_profile_moves_rows_not_set_on_their_own():
    clean = Profile.parse({"semantics.po_timing": "per_frame"})
    paper = clean.replace(semantics__profile="paper")
    assert paper.semantics.drift_switch == "T-1" and paper.semantics.reward == "original"
    assert paper.semantics.po_timing == "per_frame"
    back = paper.replace(semantics__profile="clean")
    assert back.semantics.drift_switch == "T" and back.semantics.reward == "ledger"
    assert Profile.parse(paper.to_dict()) == paper
