"""Suites as TOML files: environments x stochasticity variants x agents x seeds, budgets and the protocol.

A suite file (``benchmarks/suites/<name>.toml``) is data; :func:`load_suite` validates it into frozen
dataclasses and :meth:`Suite.cells` expands it into the independent units of work (cells) that the
runner computes and the store keeps. A cell is one agent, trained once on one environment variant
with one seed, then evaluated on one variant (protocol ``same``, the STORI paper's) or on every
variant of the environment (protocol ``transfer``: train on ``train_on``, evaluate everywhere).

Seeds: run ``k`` trains with seed ``train_seed + k`` and evaluates on episodes seeded
``eval_seed + 1000 k + i``; the two ranges never meet, and every agent sees the same evaluation
episodes for the same ``k`` (paired comparisons).

A bad file raises ``ValueError`` naming the file, the line where it can be found, the field, the value
and what is allowed. Format (see ``docs/leaderboard.md`` for every field)::

    name = "tiny"
    seeds = 2
    eval_episodes = 10

    [[envs]]
    name = "cartpole"
    id = "CartPole-v1"
    score_range = [0, 500]
    crash = "terminated"
    [envs.variants]
    "3.1" = {}
    [envs.variants."1 p=0.2".profile]
    stochasticity_type = "1"
    "intrinsic_stochasticity.action_dependent.stochastic_action_prob" = 0.2

    [[agents]]
    label = "ppo"
    agent = "sb3-ppo"
    train_steps = 20000
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUITES_DIR = Path(__file__).resolve().parents[1] / "suites"
PROTOCOLS = ("same", "transfer")
MAX_EPISODES = 1000  # evaluation seeds of run k are eval_seed + 1000 k + i, i < 1000
_SUITE_KEYS = {"name", "description", "protocol", "train_on", "seeds", "train_seed", "eval_seed", "eval_episodes",
               "n_envs", "budget_note", "envs", "agents"}
_ENV_KEYS = {"name", "id", "kind", "kwargs", "score_range", "crash", "eval_episodes", "variants"}
KINDS = ("gym", "game")
_VARIANT_KEYS = {"id", "profile", "kwargs", "type", "slug"}
_AGENT_KEYS = {"label", "agent", "config", "train_steps", "dataset", "envs", "deterministic"}


@dataclass(frozen=True)
class Variant:
    """One stochasticity variant of an environment: ``stori_envs.make(id, profile, **kwargs)``."""

    name: str
    type: str
    env_id: str
    profile: dict[str, Any] | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    slug: str = ""  # fills ``{slug}`` in an agent's dataset name (e.g. "t1/" for MedSepsis-T1)
    kind: str = "gym"  # "game": a multi-agent risk game seen as one env (benchmarks.evaluation.games)

    def make(self):
        from benchmarks.evaluation.runner import make_env

        return make_env(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        data = {"name": self.name, "type": self.type, "env_id": self.env_id, "profile": self.profile,
                "kwargs": self.kwargs}
        # Optional fields only when set: the cell's fingerprint of older stores stays the same.
        if self.slug:
            data["slug"] = self.slug
        if self.kind != "gym":
            data["kind"] = self.kind
        return data


@dataclass(frozen=True)
class EnvSpec:
    """An environment and its variants; ``score_range`` normalises scores, ``crash`` says what a crash is."""

    name: str
    variants: tuple[Variant, ...]
    score_range: tuple[float, float] | None = None
    crash: str = "none"
    eval_episodes: int | None = None  # overrides the suite's (cheap episodes: more of them)

    def variant(self, name: str) -> Variant:
        return next(v for v in self.variants if v.name == name)


@dataclass(frozen=True)
class AgentSpec:
    """A registered agent under a leaderboard ``label`` with its config overrides and training budget."""

    label: str
    agent: str
    config: dict[str, Any] = field(default_factory=dict)
    train_steps: int = 0
    dataset: str | None = None
    envs: tuple[str, ...] | None = None
    deterministic: bool = True

    @property
    def trains(self) -> bool:
        return self.train_steps > 0


@dataclass(frozen=True)
class Cell:
    """One unit of work: train ``agent`` on ``train_variant`` with run index ``seed``; evaluate on ``eval_variants``."""

    suite: str
    agent: AgentSpec
    env: EnvSpec
    train_variant: Variant | None
    eval_variants: tuple[Variant, ...]
    seed: int
    train_seed: int
    eval_seeds: tuple[int, ...]
    n_envs: int

    @property
    def key(self) -> str:
        train = self.train_variant.name if self.train_variant else "-"
        evals = self.eval_variants[0].name if len(self.eval_variants) == 1 else "*"
        return f"{self.agent.label}|{self.env.name}|{train}|{evals}|{self.seed}"

    def to_dict(self) -> dict[str, Any]:
        """The full JSON config of the cell: what a worker needs and what the store records."""
        a = self.agent
        return {
            "suite": self.suite, "key": self.key, "seed": self.seed, "train_seed": self.train_seed,
            "eval_seeds": list(self.eval_seeds), "n_envs": self.n_envs,
            "agent": {"label": a.label, "agent": a.agent, "config": a.config, "train_steps": a.train_steps,
                      "dataset": a.dataset, "deterministic": a.deterministic},
            "env": {"name": self.env.name, "crash": self.env.crash},
            "train_variant": self.train_variant.to_dict() if self.train_variant else None,
            "eval_variants": [v.to_dict() for v in self.eval_variants],
        }

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Suite:
    name: str
    envs: tuple[EnvSpec, ...]
    agents: tuple[AgentSpec, ...]
    description: str = ""
    protocol: str = "same"
    train_on: str | None = None
    seeds: int = 3
    train_seed: int = 0
    eval_seed: int = 1_000_000
    eval_episodes: int = 10
    n_envs: int = 8
    budget_note: str = ""
    path: str = ""

    def agents_for(self, env: EnvSpec) -> list[AgentSpec]:
        return [a for a in self.agents if a.envs is None or env.name in a.envs]

    def cells(self, seeds: int | None = None) -> list[Cell]:
        """Every cell of the suite with ``seeds`` runs (default: the suite's), in a stable order."""
        n_seeds = self.seeds if seeds is None else _check_int("seeds", seeds, 1, 10_000)
        cells = []
        for env in self.envs:
            for agent in self.agents_for(env):
                episodes = env.eval_episodes or self.eval_episodes
                for k in range(n_seeds):
                    eval_seeds = tuple(self.eval_seed + MAX_EPISODES * k + i for i in range(episodes))
                    common = {"suite": self.name, "agent": agent, "env": env, "seed": k,
                              "train_seed": self.train_seed + k, "eval_seeds": eval_seeds, "n_envs": self.n_envs}
                    if self.protocol == "transfer":
                        train = env.variant(self.train_on) if agent.trains or agent.dataset else None
                        cells.append(Cell(train_variant=train, eval_variants=env.variants, **common))
                    else:
                        for variant in env.variants:
                            train = variant if agent.trains or agent.dataset else None
                            cells.append(Cell(train_variant=train, eval_variants=(variant,), **common))
        return cells

    def cell_count(self, seeds: int | None = None) -> int:
        return len(self.cells(seeds))


# -- loading and validation ------------------------------------------------------------------------
class _Where:
    """Finds the line of a field in the suite's text, for error messages (tomllib gives no positions)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.lines = path, text.splitlines()

    def line(self, field_path: str) -> int | None:
        parts = [p for p in re.split(r"[.\[\]]", field_path) if p]
        start, table = 0, None
        if parts and parts[0] in ("envs", "agents") and len(parts) > 1 and parts[1].isdigit():
            table, index = parts[0], int(parts[1])
            headers = [i for i, ln in enumerate(self.lines) if ln.strip() == f"[[{table}]]"]
            if index < len(headers):
                start = headers[index]
            parts = parts[2:]
        key = parts[-1] if parts else None
        if key is None:
            return start + 1 if table else None
        pattern = re.compile(rf'(^|[{{,\s])"?{re.escape(key)}"?\s*=')
        for i in range(start, len(self.lines)):
            if i > start and table and self.lines[i].strip().startswith("[[") and i != start:
                break
            if pattern.search(self.lines[i]):
                return i + 1
        return start + 1 if table else None

    def error(self, field_path: str, value: Any, allowed: str) -> ValueError:
        line = self.line(field_path)
        where = f"{self.path}" + (f", line {line}" if line else "")
        return ValueError(f"{where}: {field_path}: got {value!r}; allowed: {allowed}")


def _check_int(name: str, value: Any, lo: int, hi: int, where: _Where | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        allowed = f"an integer in [{lo}, {hi}]"
        raise where.error(name, value, allowed) if where else ValueError(f"{name}: got {value!r}; allowed: {allowed}")
    return value


def shipped_suites() -> dict[str, Path]:
    """Name -> file of every suite shipped in ``benchmarks/suites``."""
    return {p.stem: p for p in sorted(SUITES_DIR.glob("*.toml"))}


def load_suite(source: str | Path) -> Suite:
    """A shipped suite by name, or a suite file by path; a clear ``ValueError`` for anything wrong."""
    path = Path(source)
    if not path.is_file():
        shipped = shipped_suites()
        if str(source) not in shipped:
            raise ValueError(f"suite: got {str(source)!r}; allowed: a .toml file or one of {sorted(shipped)}")
        path = shipped[str(source)]
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    return parse_suite(data, _Where(path, text))


def parse_suite(data: dict[str, Any], where: _Where | None = None) -> Suite:
    """Validate a parsed suite (a dict as ``tomllib`` returns it) into a :class:`Suite`."""
    where = where or _Where(Path("<suite>"), "")
    _unknown("", data, _SUITE_KEYS, where)
    name = data.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise where.error("name", name, "a name of letters, digits, '_', '.', '-'")
    protocol = data.get("protocol", "same")
    if protocol not in PROTOCOLS:
        raise where.error("protocol", protocol, " or ".join(PROTOCOLS))
    seeds = _check_int("seeds", data.get("seeds", 3), 1, 10_000, where)
    episodes = _check_int("eval_episodes", data.get("eval_episodes", 10), 1, MAX_EPISODES, where)
    n_envs = _check_int("n_envs", data.get("n_envs", 8), 1, 1024, where)
    train_seed = _check_int("train_seed", data.get("train_seed", 0), 0, 2**31 - 1, where)
    eval_seed = _check_int("eval_seed", data.get("eval_seed", 1_000_000), 0, 2**31 - 1, where)
    if train_seed <= eval_seed + MAX_EPISODES * seeds and eval_seed <= train_seed + seeds:
        raise where.error("eval_seed", eval_seed, f"a range of evaluation seeds apart from the training seeds "
                          f"[{train_seed}, {train_seed + seeds})")
    envs_raw = data.get("envs")
    if not isinstance(envs_raw, list) or not envs_raw:
        raise where.error("envs", envs_raw, "a non-empty array of [[envs]] tables")
    envs = tuple(_parse_env(i, e, where) for i, e in enumerate(envs_raw))
    names = [e.name for e in envs]
    if len(set(names)) != len(names):
        raise where.error("envs", names, "unique env names")
    train_on = data.get("train_on")
    if protocol == "transfer":
        for i, env in enumerate(envs):
            if train_on not in [v.name for v in env.variants]:
                raise where.error("train_on", train_on, f"a variant of env {env.name!r}: "
                                  f"{[v.name for v in env.variants]} (envs[{i}])")
    elif train_on is not None:
        raise where.error("train_on", train_on, "only with protocol = 'transfer'")
    agents_raw = data.get("agents")
    if not isinstance(agents_raw, list) or not agents_raw:
        raise where.error("agents", agents_raw, "a non-empty array of [[agents]] tables")
    agents = tuple(_parse_agent(i, a, names, where) for i, a in enumerate(agents_raw))
    labels = [a.label for a in agents]
    if len(set(labels)) != len(labels):
        raise where.error("agents", labels, "unique agent labels")
    for key in ("description", "budget_note"):
        if not isinstance(data.get(key, ""), str):
            raise where.error(key, data[key], "a string")
    return Suite(name=name, envs=envs, agents=agents, description=data.get("description", ""), protocol=protocol,
                 train_on=train_on, seeds=seeds, train_seed=train_seed, eval_seed=eval_seed, eval_episodes=episodes,
                 n_envs=n_envs, budget_note=data.get("budget_note", ""), path=str(where.path))


def _unknown(prefix: str, table: Any, allowed: set[str], where: _Where) -> None:
    if not isinstance(table, dict):
        raise where.error(prefix.rstrip(".") or "suite", table, "a table")
    for key in table:
        if key not in allowed:
            raise where.error(f"{prefix}{key}", table[key], f"the fields {sorted(allowed)} (unknown field {key!r})")


def _parse_env(i: int, raw: Any, where: _Where) -> EnvSpec:
    p = f"envs[{i}]."
    _unknown(p, raw, _ENV_KEYS, where)
    name = raw.get("name")
    if not isinstance(name, str) or not name or "|" in name:
        raise where.error(p + "name", name, "a non-empty string without '|'")
    env_id = raw.get("id")
    kwargs = raw.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise where.error(p + "kwargs", kwargs, "a table of keyword arguments")
    score_range = raw.get("score_range")
    if score_range is not None:
        if (not isinstance(score_range, list) or len(score_range) != 2
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in score_range)
                or not score_range[0] < score_range[1]):
            raise where.error(p + "score_range", score_range, "[low, high] numbers with low < high")
        score_range = (float(score_range[0]), float(score_range[1]))
    crash = raw.get("crash", "none")
    if not isinstance(crash, str) or not (crash in ("none", "terminated") or re.fullmatch(r"info:\w+(=\w+)?", crash)):
        raise where.error(p + "crash", crash, "'none', 'terminated', 'info:KEY' or 'info:KEY=VALUE'")
    variants_raw = raw.get("variants")
    if not isinstance(variants_raw, dict) or not variants_raw:
        raise where.error(p + "variants", variants_raw, "a non-empty table: variant name -> {id, profile, kwargs}")
    kind = raw.get("kind", "gym")
    if kind not in KINDS:
        raise where.error(p + "kind", kind, "'gym' (a Gymnasium id) or 'game' (a multi-agent risk game)")
    variants = tuple(dataclasses.replace(_parse_variant(f"{p}variants.{vname}", vname, v, env_id, kwargs, where,
                                                        kind), kind=kind)
                     for vname, v in variants_raw.items())
    episodes = raw.get("eval_episodes")
    if episodes is not None:
        _check_int(p + "eval_episodes", episodes, 1, MAX_EPISODES, where)
    return EnvSpec(name=name, variants=variants, score_range=score_range, crash=crash, eval_episodes=episodes)


def _parse_variant(p: str, name: str, raw: Any, env_id: Any, env_kwargs: dict, where: _Where,
                   kind: str = "gym") -> Variant:
    from stori_envs.registration import registered_envs
    from stori_envs.taxonomy.profile import Profile

    _unknown(p + ".", raw, _VARIANT_KEYS, where)
    if "|" in name:
        raise where.error(p, name, "a variant name without '|'")
    vid = raw.get("id", env_id)
    if not isinstance(vid, str) or not vid:
        raise where.error(p + ".id", vid, "an environment id (here or in the env's `id`)")
    profile = raw.get("profile")
    vtype = raw.get("type")
    if profile is not None:
        try:
            parsed = Profile.parse(profile)
        except (ValueError, TypeError) as exc:
            raise where.error(p + ".profile", profile, f"a valid STORI profile ({exc})") from None
        vtype = vtype or parsed.stochasticity_type  # the file's own dict is kept: it is what the user wrote
    if vtype is None and kind == "game":
        vtype = "3.1"
    if vtype is None:  # a preset id: its type is the registry's; a bare id is the default (3.1)
        known = {e.env_id: e for e in registered_envs()}
        preset = known.get(vid)
        vtype = Profile.parse(preset.profile).stochasticity_type if preset and preset.profile else None
        vtype = vtype or _type_from_id(vid) or "3.1"
    kwargs = {**env_kwargs, **raw.get("kwargs", {})}
    slug = raw.get("slug", "")
    if not isinstance(slug, str):
        raise where.error(p + ".slug", slug, "a string (the dataset-name part of this variant)")
    return Variant(name=name, type=str(vtype), env_id=vid, profile=profile, kwargs=kwargs, slug=slug)


def _type_from_id(env_id: str) -> str | None:
    match = re.search(r"-T(0|1|2\.1|2\.2|3\.1|3\.2)[A-Za-z-]*-v\d+$", env_id)
    return match.group(1) if match else None


def _parse_agent(i: int, raw: Any, env_names: list[str], where: _Where) -> AgentSpec:
    p = f"agents[{i}]."
    _unknown(p, raw, _AGENT_KEYS, where)
    agent = raw.get("agent")
    if not isinstance(agent, str) or not agent:
        raise where.error(p + "agent", agent, "a registered agent name (`stori-envs bench list --agents`)")
    label = raw.get("label", agent)
    if not isinstance(label, str) or not label or "|" in label:
        raise where.error(p + "label", label, "a non-empty string without '|'")
    config = raw.get("config", {})
    if not isinstance(config, dict):
        raise where.error(p + "config", config, "a table of the agent's config fields")
    steps = _check_int(p + "train_steps", raw.get("train_steps", 0), 0, 10**10, where)
    dataset = raw.get("dataset")
    if dataset is not None and (not isinstance(dataset, str) or not dataset):
        raise where.error(p + "dataset", dataset, "a dataset name, {slug}/{type}/{variant} filled per variant "
                          "(`stori-envs datasets list`)")
    envs = raw.get("envs")
    if envs is not None:
        if not isinstance(envs, list) or not all(e in env_names for e in envs):
            raise where.error(p + "envs", envs, f"a list of env names from {env_names}")
        envs = tuple(envs)
    deterministic = raw.get("deterministic", True)
    if not isinstance(deterministic, bool):
        raise where.error(p + "deterministic", deterministic, "true or false")
    return AgentSpec(label=label, agent=agent, config=config, train_steps=steps, dataset=dataset, envs=envs,
                     deterministic=deterministic)
