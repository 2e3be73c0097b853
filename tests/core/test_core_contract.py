"""Regression tests of the core-contract issue (#8) in the generic family: one per defect."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from helpers import fingerprint, rollout
from profiles import action, drift, event, every_type, observation

import stori_envs
import stori_envs.families
from stori_envs import cli
from stori_envs.taxonomy.profile import Profile
from stori_envs.taxonomy.seeding import make_stream

ROOT = Path(__file__).resolve().parents[2]
BAD_ACTIONS = [99, -1, 2, "a", None, 1.5, np.array([0, 1]), [0]]


@pytest.fixture(autouse=True)
def _quiet(recwarn):
    yield


# -- type 1 validates the agent's action every time ------------------------------------------------------

@pytest.mark.parametrize("profile", [action(1.0), action(0.0), drift(action(1.0), "sudden", 1000)],
                         ids=["p=1", "p=0", "drift-concept-1"])
@pytest.mark.parametrize("bad", BAD_ACTIONS, ids=repr)
def test_type1_refuses_out_of_space_actions_every_time(profile, bad):
    env = stori_envs.make("CartPole-v1", profile)
    env.reset(seed=0)
    for _ in range(20):  # 1 in 1/p would have passed before: now every call is refused
        with pytest.raises(ValueError, match=r"action: got .*allowed: an element of the action space Discrete\(2\)"):
            env.step(bad)
    assert env.step(1)[4]["stori"]["action"] == 1  # the environment is still usable


@pytest.mark.parametrize("good", [0, 1, np.int64(1), np.int32(0), np.array(1)], ids=repr)
def test_type1_accepts_what_gymnasium_accepts(good):
    env = stori_envs.make("CartPole-v1", action(0.5))
    env.reset(seed=0)
    env.step(good)


def test_type1_box_refuses_out_of_bounds():
    env = stori_envs.make("Pendulum-v1", action(0.0))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action: got"):
        env.step(np.array([5.0], dtype=np.float32))


@pytest.mark.parametrize("space", [gym.spaces.Discrete(4), gym.spaces.Discrete(5, start=-2),
                                   gym.spaces.Discrete(3, start=7, dtype=np.int32)], ids=repr)
def test_type1_discrete_draws_are_start_plus_integers_n(space):
    """The random stream of type 1 on Discrete spaces is pinned: each replacement is ``start +
    rng.integers(n)`` in the space's dtype, draw for draw (the int64 path calls ``integers(start, start +
    n)``, the same bounded draw, to save a conversion)."""
    from stori_envs.taxonomy.components import action_sampler

    sample = action_sampler(space)
    ours, ref = np.random.default_rng(11), np.random.default_rng(11)
    for _ in range(300):
        got = sample(ours)
        want = space.dtype.type(int(space.start) + ref.integers(int(space.n)))
        assert got == want and type(got) is type(want) and space.contains(got)
        assert ours.random() == ref.random()  # interleaved with the coins, the streams stay together


# -- 3.2 block draws survive unseeded resets --------------------------------------------------------------

def test_noise_block_is_kept_across_unseeded_resets():
    """The noise added to observation k (reset observations included) is row k of one block drawn right
    after the seeded reset: an unseeded reset does not throw the block away."""
    std, seed = 0.01, 4
    env = stori_envs.make("CartPole-v1", observation("noise", 1.0, noise_std=std))
    bare = gym.make("CartPole-v1")
    rng = make_stream(seed, "observation")
    rng.random(512)  # the coins (p = 1: all heads)
    noise = rng.standard_normal((512, 4)) * std
    got, ref = [env.reset(seed=seed)[0]], [bare.reset(seed=seed)[0]]
    for _episode in range(3):
        for _ in range(4):
            got.append(env.step(0)[0])
            ref.append(bare.step(0)[0])
        got.append(env.reset()[0])
        ref.append(bare.reset()[0])
    for k, (g, r) in enumerate(zip(got, ref)):
        np.testing.assert_allclose(g, r + noise[k].astype(np.float32), rtol=0, atol=1e-6)


def test_dropout_block_is_redrawn_on_seeded_reset():
    env = stori_envs.make("CartPole-v1", observation("dropout", 0.5))
    first = [env.reset(seed=1)[0]] + [env.step(0)[0] for _ in range(3)]
    second = [env.reset(seed=1)[0]] + [env.step(0)[0] for _ in range(3)]
    assert fingerprint(first) == fingerprint(second)


# -- semantics rows ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("row, value", [("drift_unit", "frame"), ("ram_peek", "in_frame"), ("reward", "original"),
                                        ("granularity", "frame"), ("po_timing", "per_frame"), ("game_fixes", False)])
def test_generic_family_refuses_rows_it_ignores(row, value):
    profile = drift(action(0.5), "sudden", 5, **{f"semantics__{row}": value})
    with pytest.raises(ValueError, match=f"semantics.{row}: got {value!r}"):
        stori_envs.make("CartPole-v1", profile)
    with pytest.raises(ValueError, match=f"semantics.{row}"):
        gym.make("stori/Stochastic-v0", env_id="CartPole-v1", profile=profile.to_dict())


def test_generic_family_honours_its_rows():
    for sem in ({"drift_switch": "T-1"}, {"seed_policy": "first_reset"}, {"profile": "paper"},
                {"drift_unit": "agent_step"}):
        profile = drift(action(0.5), "sudden", 5).replace(**{f"semantics__{k}": v for k, v in sem.items()})
        stori_envs.make("CartPole-v1", profile).reset(seed=0)


def test_semantics_to_dict_keeps_a_row_set_explicitly():
    p = Profile.parse({"semantics": {"drift_switch": "T"}})
    assert p.semantics.to_dict() == {"profile": "clean", "drift_switch": "T"}
    paper = p.replace(semantics__profile="paper")
    assert paper.semantics.drift_switch == "T"  # before: the row was dropped and moved to paper's "T-1"
    assert Profile.parse(json.loads(p.to_json())).semantics.to_dict() == p.semantics.to_dict()


# -- env.spec rebuilds and serialises every stack ----------------------------------------------------------

CASES = [(env_id, name, profile) for env_id in ("CartPole-v1", "InvertedPendulum-v5")
         for name, profile in every_type().items()]


@pytest.mark.parametrize("env_id, name, profile", CASES, ids=[f"{e}-{n}" for e, n, _ in CASES])
def test_spec_rebuilds_and_serialises(env_id, name, profile):
    env = stori_envs.make(env_id, profile)
    spec = env.spec
    text = spec.to_json()
    rebuilt = gym.make(gym.envs.registration.EnvSpec.from_json(text))
    assert fingerprint(rollout(rebuilt, 3, 40)) == fingerprint(rollout(stori_envs.make(env_id, profile), 3, 40))


def _count_time_limits(env) -> int:
    n = 0
    while isinstance(env, gym.Wrapper):
        n += isinstance(env, gym.wrappers.TimeLimit)
        env = env.env
    return n


@pytest.mark.parametrize("name", ["1", "2.1-cancel", "0"])
def test_stochastic_id_spec_does_not_nest_a_second_time_limit(name):
    profile = every_type()[name]
    env = gym.make("stori/Stochastic-v0", env_id="CartPole-v1", profile=profile.to_dict())
    rebuilt = gym.make(gym.envs.registration.EnvSpec.from_json(env.spec.to_json()))
    assert _count_time_limits(env) == _count_time_limits(rebuilt) == 1
    steps = 0
    rebuilt.reset(seed=0)
    while True:  # alternate actions: CartPole survives to the 500-step limit, truncated once
        steps += 1
        *_, terminated, truncated, _ = rebuilt.step(steps % 2)
        if terminated or truncated:
            break
    assert steps <= 500


# -- profile sources --------------------------------------------------------------------------------------

def _sources(tmp_path: Path) -> dict[str, object]:
    (tmp_path / "dir.json").mkdir()
    (tmp_path / "binary.json").write_bytes(bytes(range(256)))
    (tmp_path / "utf16.json").write_text('{"stochasticity_type": "1"}', encoding="utf-16")
    (tmp_path / "list.json").write_text("[1, 2, 3]")
    (tmp_path / "list.toml").write_text("x = [1]\n[[y]]\nz = 1\n")
    (tmp_path / "huge.json").write_text('{"stochasticity_type": "1", "intrinsic_stochasticity.action_dependent.'
                                        'stochastic_action_prob": 1' + "0" * 400 + "}")
    return {
        "directory": str(tmp_path / "dir.json"),
        "binary": str(tmp_path / "binary.json"),
        "utf16": str(tmp_path / "utf16.json"),
        "list": str(tmp_path / "list.json"),
        "json-list-text": "[1, 2]",
        "long-json-text": '{"stochasticity_type": "1",' + " " * 5000 + '"x": 1}',
        "long-name": "p" * 5000 + ".json",
        "huge-number-file": str(tmp_path / "huge.json"),
        "huge-int": {"stochasticity_type": "3.2", "partial_observation": {"type": "noise", "prob": 10**400}},
        "huge-threshold": drift(action(0.1), "sudden", 5).to_dict()
        | {"intrinsic_stochasticity.action_independent_concept_drift.temporal_threshold": 10**400},
        "huge-radius": {"partial_observation.torch_radius": 10**400},
        "huge-fill": {"partial_observation.fill": 10**400},
        "huge-feature": {"partial_observation.features": [10**400]},
    }


def test_every_malformed_profile_source_raises_the_field_naming_value_error(tmp_path):
    for name, source in _sources(tmp_path).items():
        with pytest.raises(ValueError, match=r"^[\w.\[\]]+( \(.*\))?: ") as caught:
            Profile.parse(source)
        message = str(caught.value)
        assert "allowed" in message or "not valid" in message, (name, message)
        assert len(message) < 600, (name, len(message))  # 10**400 is shortened, not printed whole


def test_json_text_is_a_profile_source():
    text = '{"stochasticity_type": "1", "intrinsic_stochasticity.action_dependent.stochastic_action_prob": 0.5}'
    assert Profile.parse(text) == action(0.5)


# -- the CLI ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["directory", "list", "json-list-text", "binary", "utf16"])
def test_cli_describe_bad_sources_exit_2_with_a_clear_error(name, tmp_path, capsys):
    source = _sources(tmp_path)[name]
    assert cli.main(["describe", source]) == 2
    err = capsys.readouterr().err
    assert err.startswith("stori-envs: error: profile") and "Traceback" not in err


def test_cli_list_refuses_an_unknown_family(capsys):
    assert cli.main(["list", "--family", "bogus"]) == 2
    err = capsys.readouterr().err
    assert "--family: got 'bogus'; allowed:" in err and "generic" in err and "atari" in err
    assert cli.main(["list", "--family", "generic"]) == 0


# -- hygiene ----------------------------------------------------------------------------------------------

def test_core_tests_and_package_do_not_import_torch():
    """Importing the package, its CLI and every tests/core module leaves torch unimported."""
    code = (
        "import importlib.util, sys, pathlib\n"
        f"sys.path[:0] = [{str(ROOT / 'tests')!r}, {str(ROOT / 'tests' / 'core')!r}, {str(ROOT)!r}]\n"
        "import stori_envs, stori_envs.cli\n"
        f"for path in sorted(pathlib.Path({str(ROOT / 'tests' / 'core')!r}).glob('*.py')):\n"
        "    spec = importlib.util.spec_from_file_location(path.stem, path)\n"
        "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_package_is_typed_and_mujoco_log_is_ignored():
    assert (ROOT / "stori_envs" / "py.typed").is_file()
    assert "MUJOCO_LOG.TXT" in (ROOT / ".gitignore").read_text().split()


# -- the event component acts on the unwrapped env of its host ---------------------------------------------

def test_event_component_is_reset_with_the_target():
    env = stori_envs.make("CartPole-v1", event("state_perturbation", 1.0))
    env.reset(seed=0)
    (component,) = env.components
    assert component.target is env.unwrapped


def test_taxonomy_doc_shows_the_family_table():
    """docs/taxonomy.md shows what each registered family honours (regenerate: `stori-envs families`)."""
    from stori_envs.families import families_table

    doc = (ROOT / "docs" / "taxonomy.md").read_text()
    generated = families_table().splitlines()
    generic_row = next(r for r in generated if r.startswith("| generic |"))
    assert generic_row in doc.splitlines()
    for family in stori_envs.families.families():
        assert any(line.startswith(f"| {family.name} |") for line in doc.splitlines()), family.name


# -- the family registry: one path for every route ----------------------------------------------------------

@pytest.fixture
def toy_family():
    """A family over CartPole with a preset name, registered for one test and removed after it."""
    from stori_envs import families as registry

    seen: list = []

    def parse(env_id, profile, kwargs):
        seen.append(profile)  # exactly what the caller gave
        if profile == "wobbly":
            return action(0.5)
        return Profile.parse(profile)

    def build(env_id, profile, /, **kwargs):
        return stori_envs.apply_profile(gym.make("CartPole-v1"), profile)

    family = stori_envs.Family(
        "toy", build=build, parse=parse, presets=("wobbly",),
        routes={"Toy": stori_envs.Route("stori/Toy-v0"), "stori/Toy-v0": stori_envs.Route("stori/Toy-v0")},
        accepts=stori_envs.Accepts(types=("1", "3.1"), semantics={"seed_policy": ("gymnasium",)}))
    stori_envs.register_family(family)
    gym.register("stori/Toy-v0", registry.ROUTE_ENTRY_POINT, kwargs={"route": "stori/Toy-v0"})
    yield family, seen
    registry._FAMILIES.pop("toy")
    del gym.registry["stori/Toy-v0"]


def test_every_route_reaches_the_family_with_the_raw_profile(toy_family):
    family, seen = toy_family
    runs = [rollout(stori_envs.make("Toy", "wobbly"), 1, 30),
            rollout(stori_envs.make("stori/Toy-v0", "wobbly"), 1, 30),
            rollout(gym.make("stori/Toy-v0", profile="wobbly"), 1, 30)]
    assert seen == ["wobbly"] * 3  # the preset name reached the family's parser unparsed, on every route
    assert len({fingerprint(r) for r in runs}) == 1
    assert stori_envs.family_for("Toy") is family
    vec = gym.make_vec("stori/Toy-v0", num_envs=2, vectorization_mode="sync", profile="wobbly")
    assert vec.reset(seed=0)[1]["stori"]["type"].tolist() == ["1", "1"]


def test_a_family_refuses_what_it_does_not_honour(toy_family):
    with pytest.raises(ValueError, match=r"stochasticity_type: got '3.2' for the 'toy' family; allowed: 1, 3.1"):
        stori_envs.make("Toy", observation("noise", 0.5))
    with pytest.raises(ValueError, match=r"semantics.seed_policy: got 'first_reset' for the 'toy' family"):
        stori_envs.make("Toy", action(0.5, semantics__seed_policy="first_reset"))
    with pytest.raises(ValueError, match=r"semantics.drift_switch: got 'T'; allowed: not set"):
        gym.make("stori/Toy-v0", profile=action(0.5, semantics__drift_switch="T").to_dict())


def test_register_family_validates():
    with pytest.raises(ValueError, match="Family.build"):
        stori_envs.Family("broken")
    with pytest.raises(ValueError, match="family: got"):
        stori_envs.register_family("not a family")


# -- the drift component ------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode, switch", [("sudden", "T"), ("sudden", "T-1"), ("cyclic", "T")])
def test_drift_clock_matches_the_definition_over_resets(mode, switch):
    """The concept at each step equals concept_two_active(n) with n counted per episode (clock="episode")
    or across unseeded resets (clock="lifetime"; a seeded reset restarts it)."""
    from stori_envs.taxonomy.components import ActionReplacement, ComponentHost, Drift, concept_two_active

    for clock in ("episode", "lifetime"):
        base = gym.make("CartPole-v1")
        knob = ActionReplacement(base.action_space, 0.0, enabled=False)
        drift_ = Drift([knob], 4, mode, switch=switch, clock=clock)
        env = ComponentHost(base, [drift_], stori_type="2.2")
        n = 0
        for episode, seed in enumerate([3, None, None, 3]):
            _, info = env.reset(seed=seed)
            if clock == "episode" or seed is not None:
                n = 0
            assert info["stori"]["concept"] == (2 if clock == "lifetime" and n and
                                                concept_two_active(n, 4, mode, switch) else 1)
            for _ in range(5 + episode):
                info = env.step(0)[4]
                assert info["stori"]["concept"] == (2 if concept_two_active(n, 4, mode, switch) else 1), (clock, n)
                assert knob.enabled == (info["stori"]["concept"] == 2)
                n += 1
