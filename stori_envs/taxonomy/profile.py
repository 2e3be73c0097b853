"""Stochasticity profiles: the typed, validated configuration of one environment's stochasticity.

A :class:`Profile` mirrors the nested configuration of the original STORI release::

    {"stochasticity_type": "2.2",
     "intrinsic_stochasticity": {"action_independent_concept_drift": {
         "temporal_mode": "sudden", "temporal_threshold": 300, "secondary_concept_type": "3.2"}},
     "partial_observation": {"type": "blackout", "mode": "10", "prob": 1.0}}

and accepts the dotted flat form of its experiment file (``"partial_observation.mode": "10"``),
a JSON or TOML file, and keyword overrides (``partial_observation__prob=0.5``). Every field is
checked at construction; a bad value raises :class:`ValueError` naming the field, the value given
and what is allowed. Profiles are frozen: wrappers read them and never write to them.

Game-specific choices (which 2.1, blackout and RAM modes exist) are validated by the environment
family that uses the profile, with the same error format.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from stori_envs.taxonomy.seeding import SEED_POLICIES
from stori_envs.taxonomy.validation import (
    ConfigSection,
    check_choice,
    check_int_tuple,
    check_non_negative,
    check_positive_int,
    check_probability,
    check_type_id,
    field_error,
    is_finite_number,
    mode_id,
)

#: Stochasticity type ids, in the taxonomy's order.
TYPES = ("0", "1", "2.1", "2.2", "3.1", "3.2")
TYPE_NAMES = {
    "0": "state observation",
    "1": "action-dependent (random action replacement)",
    "2.1": "action-independent random events",
    "2.2": "action-independent concept drift",
    "3.1": "default partial observability (the environment as it is)",
    "3.2": "induced partial observation",
}
SECONDARY_TYPES = ("1", "2.1", "3.2")
TEMPORAL_MODES = ("sudden", "cyclic")
IMAGE_OBSERVATION_TYPES = ("crop", "blackout", "ram")
VECTOR_OBSERVATION_TYPES = ("mask", "dropout", "noise")
OBSERVATION_TYPES = IMAGE_OBSERVATION_TYPES + VECTOR_OBSERVATION_TYPES
CROP_MODES = ("0", "1", "2", "3", "4", "5")


@dataclass(frozen=True)
class Region:
    """An inclusive pixel rectangle ``x0..x1``, ``y0..y1`` and the RGB (or gray) colour that fills it."""

    x0: int
    x1: int
    y0: int
    y1: int
    color: tuple[int, ...] = (0, 0, 0)

    @classmethod
    def parse(cls, path: str, value: Any) -> Region:
        if isinstance(value, Region):
            return value
        if isinstance(value, Mapping):
            value = [value.get(k) for k in ("x0", "x1", "y0", "y1")] + [value.get("color", (0, 0, 0))]
        allowed = "[x0, x1, y0, y1] or [x0, x1, y0, y1, color] with 0 <= x0 <= x1, 0 <= y0 <= y1"
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise field_error(path, value, allowed)
        items = list(value)
        if len(items) not in (4, 5):
            raise field_error(path, value, allowed)
        bounds = items[:4]
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in bounds):
            raise field_error(path, value, allowed)
        x0, x1, y0, y1 = bounds
        if x1 < x0 or y1 < y0:
            raise field_error(path, value, allowed)
        color = items[4] if len(items) == 5 else (0, 0, 0)
        if isinstance(color, int) and not isinstance(color, bool):
            color = (color,)
        color = tuple(color) if hasattr(color, "__iter__") and not isinstance(color, str) else None
        if not color or any(isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= 255 for c in color):
            raise field_error(path + ".color", items[4], "1 or 3 integers in [0, 255]")
        return cls(x0, x1, y0, y1, color)

    def to_list(self) -> list:
        return [self.x0, self.x1, self.y0, self.y1, list(self.color)]


@dataclass(frozen=True)
class ActionDependent(ConfigSection):
    """Type 1: with probability ``stochastic_action_prob`` the executed action is a uniform random one.

    ``allowed_actions`` restricts the random draw to a subset of a Discrete space's actions;
    ``random_action_set`` names a family-defined subset (BankHeist: ``"paper"``, ``"no_fire"``, ``"all"``).
    """

    stochastic_action_prob: float | None = None
    allowed_actions: tuple[int, ...] | None = None
    random_action_set: str | None = None
    _path = "intrinsic_stochasticity.action_dependent"

    def __post_init__(self) -> None:
        p = self._path
        if self.stochastic_action_prob is not None:
            self._set("stochastic_action_prob",
                      check_probability(f"{p}.stochastic_action_prob", self.stochastic_action_prob))
        if self.allowed_actions is not None:
            self._set("allowed_actions", check_int_tuple(f"{p}.allowed_actions", self.allowed_actions))
        if self.random_action_set is not None and not isinstance(self.random_action_set, str):
            raise field_error(f"{p}.random_action_set", self.random_action_set,
                              "a set name such as 'paper', 'no_fire', 'all'")


@dataclass(frozen=True)
class ActionIndependentRandom(ConfigSection):
    """Type 2.1: a family's random event ``mode`` fires with ``random_stochasticity_prob``.

    ``perturbation_scale`` is the standard deviation of the generic ``state_perturbation`` event.
    """

    mode: str | None = None
    random_stochasticity_prob: float | None = None
    perturbation_scale: float = 0.05
    _path = "intrinsic_stochasticity.action_independent_random"

    def __post_init__(self) -> None:
        p = self._path
        if self.mode is not None:
            self._set("mode", mode_id(f"{p}.mode", self.mode))
        if self.random_stochasticity_prob is not None:
            self._set("random_stochasticity_prob",
                      check_probability(f"{p}.random_stochasticity_prob", self.random_stochasticity_prob))
        self._set("perturbation_scale", check_non_negative(f"{p}.perturbation_scale", self.perturbation_scale))


@dataclass(frozen=True)
class ConceptDrift(ConfigSection):
    """Type 2.2: concept 2 (``secondary_concept_type``) is active from step T (sudden) or in odd periods of T (cyclic).

    ``skip`` is the original release's undocumented frames-per-step key; it is accepted and ignored,
    since thresholds always count agent steps here (see ``semantics.drift_unit``).
    """

    temporal_mode: str | None = None
    temporal_threshold: int | None = None
    secondary_concept_type: str | None = None
    skip: int | None = None
    _path = "intrinsic_stochasticity.action_independent_concept_drift"

    def __post_init__(self) -> None:
        p = self._path
        if self.temporal_mode is not None:
            self._set("temporal_mode", check_choice(f"{p}.temporal_mode", self.temporal_mode, TEMPORAL_MODES))
        if self.temporal_threshold is not None:
            self._set("temporal_threshold", check_positive_int(f"{p}.temporal_threshold", self.temporal_threshold))
        if self.secondary_concept_type is not None:
            self._set(
                "secondary_concept_type",
                check_type_id(f"{p}.secondary_concept_type", self.secondary_concept_type, SECONDARY_TYPES),
            )
        if self.skip is not None:
            self._set("skip", check_positive_int(f"{p}.skip", self.skip))


@dataclass(frozen=True)
class IntrinsicStochasticity(ConfigSection):
    """The intrinsic (action-dependent and action-independent) part of a profile."""

    action_dependent: ActionDependent = field(default_factory=ActionDependent)
    action_independent_random: ActionIndependentRandom = field(default_factory=ActionIndependentRandom)
    action_independent_concept_drift: ConceptDrift = field(default_factory=ConceptDrift)
    _path = "intrinsic_stochasticity"

    def __post_init__(self) -> None:
        for f in fields(self):
            sub = getattr(self, f.name)
            section = f.default_factory  # the section class
            self._set(f.name, section.from_dict(sub, f"{self._path}.{f.name}"))


@dataclass(frozen=True)
class PartialObservation(ConfigSection):
    """Type 3.2: with probability ``prob`` part of the observation is hidden.

    Image observations: ``crop`` (modes 0-5, 5 = the random "torch" disc of ``torch_radius`` px),
    ``blackout`` (family modes, or the rectangles in ``regions`` on any image env) and ``ram``
    (RAM-peek modes of an Atari game). Vector observations: ``mask`` hides ``features`` (all if
    unset), ``dropout`` hides each feature independently with ``prob``, ``noise`` adds Gaussian noise
    of ``noise_std``; hidden features read ``fill`` (clipped into the space) and ``append_mask`` adds
    a 0/1 "observed" flag per feature.
    """

    type: str | None = None
    mode: str | None = None
    prob: float | None = None
    torch_radius: int = 75
    regions: tuple[Region, ...] | None = None
    features: tuple[int, ...] | None = None
    noise_std: float = 0.1
    fill: float = 0.0
    append_mask: bool = False
    _path = "partial_observation"

    def __post_init__(self) -> None:
        p = self._path
        if self.type is not None:
            self._set("type", check_choice(f"{p}.type", self.type, OBSERVATION_TYPES))
        if self.mode is not None:
            self._set("mode", mode_id(f"{p}.mode", self.mode))
        if self.type == "crop" and self.mode is not None and self.mode not in CROP_MODES:
            raise field_error(f"{p}.mode", self.mode, "crop modes " + ", ".join(CROP_MODES))
        if self.prob is not None:
            self._set("prob", check_probability(f"{p}.prob", self.prob))
        self._set("torch_radius", check_positive_int(f"{p}.torch_radius", self.torch_radius))
        if self.regions is not None:
            if isinstance(self.regions, (str, bytes)) or not hasattr(self.regions, "__iter__"):
                raise field_error(f"{p}.regions", self.regions, "a list of [x0, x1, y0, y1(, color)] rectangles")
            self._set("regions", tuple(Region.parse(f"{p}.regions[{i}]", r) for i, r in enumerate(self.regions)))
        if self.features is not None:
            self._set("features", check_int_tuple(f"{p}.features", self.features))
        self._set("noise_std", check_non_negative(f"{p}.noise_std", self.noise_std))
        if not is_finite_number(self.fill):
            raise field_error(f"{p}.fill", self.fill, "a finite number")
        self._set("fill", float(self.fill))
        if not isinstance(self.append_mask, bool):
            raise field_error(f"{p}.append_mask", self.append_mask, "true or false")


#: Semantics rows (docs/taxonomy.md, "Semantics"): name -> (allowed values, clean default, paper value).
SEMANTICS_ROWS: dict[str, tuple[tuple, Any, Any]] = {
    "granularity": (("frame", "agent_step"), "frame", "frame"),
    "po_timing": (("per_observation", "per_frame"), "per_observation", "per_frame"),
    "drift_switch": (("T", "T-1"), "T", "T-1"),
    "drift_unit": (("agent_step", "frame"), "agent_step", "agent_step"),
    "ram_peek": (("lookahead", "in_frame"), "lookahead", "lookahead"),
    "seed_policy": (SEED_POLICIES, "gymnasium", "gymnasium"),
    "reward": (("ledger", "original"), "ledger", "original"),
    "game_fixes": ((True, False), True, False),
}
SEMANTICS_PROFILES = ("clean", "paper")


@dataclass(frozen=True)
class Semantics(ConfigSection):
    """How the taxonomy is applied. ``profile`` sets every row; any row can be overridden on its own.

    ``clean`` (default) is the package's corrected semantics; ``paper`` reproduces the original
    release's choices (its random streams cannot be reproduced: it used global RNGs).
    """

    profile: str = "clean"
    granularity: str | None = None
    po_timing: str | None = None
    drift_switch: str | None = None
    drift_unit: str | None = None
    ram_peek: str | None = None
    seed_policy: str | None = None
    reward: str | None = None
    game_fixes: bool | None = None
    #: The rows given explicitly (kept by ``to_dict`` even when equal to the base profile's value).
    explicit: frozenset = field(default=frozenset(), init=False, repr=False, compare=False)
    _path = "semantics"

    def __post_init__(self) -> None:
        base = check_choice(f"{self._path}.profile", self.profile, SEMANTICS_PROFILES)
        self._set("explicit", frozenset(name for name in SEMANTICS_ROWS if getattr(self, name) is not None))
        for name, (allowed, clean, paper) in SEMANTICS_ROWS.items():
            value = getattr(self, name)
            if value is None:
                value = clean if base == "clean" else paper
            elif name == "game_fixes":
                if not isinstance(value, bool):
                    raise field_error(f"{self._path}.{name}", value, "true or false")
            else:
                value = check_choice(f"{self._path}.{name}", value, allowed)
            self._set(name, value)

    def to_dict(self) -> dict[str, Any]:
        """The base profile and the rows set on their own (even when equal to the base's value), so
        that changing ``profile`` later (``replace(semantics__profile="paper")``) moves every other row
        and keeps those."""
        paper = self.profile == "paper"
        out: dict[str, Any] = {"profile": self.profile}
        for name, (_, clean, paper_value) in SEMANTICS_ROWS.items():
            value = getattr(self, name)
            if name in self.explicit or value != (paper_value if paper else clean):
                out[name] = value
        return out


@dataclass(frozen=True)
class Profile(ConfigSection):
    """One environment's stochasticity: its type and the settings that type (and a drift's secondary) uses.

    Build it from any accepted form with :meth:`Profile.parse`. Settings of types the profile does not
    use may be present (the original's experiment file carries them all); they are validated too.

    Example:
        >>> Profile.parse({"stochasticity_type": "1",
        ...                "intrinsic_stochasticity.action_dependent.stochastic_action_prob": 0.25})
        ... # doctest: +ELLIPSIS
        Profile(stochasticity_type='1', ...)
    """

    stochasticity_type: str = "3.1"
    intrinsic_stochasticity: IntrinsicStochasticity = field(default_factory=IntrinsicStochasticity)
    partial_observation: PartialObservation = field(default_factory=PartialObservation)
    semantics: Semantics = field(default_factory=Semantics)

    def __post_init__(self) -> None:
        self._set("stochasticity_type", check_type_id("stochasticity_type", self.stochasticity_type, TYPES))
        for name, section in (
            ("intrinsic_stochasticity", IntrinsicStochasticity),
            ("partial_observation", PartialObservation),
            ("semantics", Semantics),
        ):
            self._set(name, section.from_dict(getattr(self, name), name))
        self._require(self.stochasticity_type)
        if self.stochasticity_type == "2.2":
            self._require(self.drift.secondary_concept_type)

    # -- convenient views -------------------------------------------------------------------------
    @property
    def action(self) -> ActionDependent:
        return self.intrinsic_stochasticity.action_dependent

    @property
    def events(self) -> ActionIndependentRandom:
        return self.intrinsic_stochasticity.action_independent_random

    @property
    def drift(self) -> ConceptDrift:
        return self.intrinsic_stochasticity.action_independent_concept_drift

    @property
    def observation(self) -> PartialObservation:
        return self.partial_observation

    def _require(self, type_id: str) -> None:
        """Fields the given type reads must be set: no silent defaults for what defines the profile."""
        required: list[tuple[str, Any, str]] = []
        if type_id == "1":
            required.append((f"{ActionDependent._path}.stochastic_action_prob", self.action.stochastic_action_prob,
                             "a number in [0, 1]"))
        elif type_id == "2.1":
            required += [
                (f"{ActionIndependentRandom._path}.mode", self.events.mode, "a mode id of the environment family"),
                (f"{ActionIndependentRandom._path}.random_stochasticity_prob", self.events.random_stochasticity_prob,
                 "a number in [0, 1]"),
            ]
        elif type_id == "2.2":
            required += [
                (f"{ConceptDrift._path}.temporal_mode", self.drift.temporal_mode, ", ".join(TEMPORAL_MODES)),
                (f"{ConceptDrift._path}.temporal_threshold", self.drift.temporal_threshold, "an integer >= 1"),
                (f"{ConceptDrift._path}.secondary_concept_type", self.drift.secondary_concept_type,
                 ", ".join(SECONDARY_TYPES)),
            ]
        elif type_id == "3.2":
            po = self.partial_observation
            required += [
                ("partial_observation.type", po.type, ", ".join(OBSERVATION_TYPES)),
                ("partial_observation.prob", po.prob, "a number in [0, 1]"),
            ]
            if po.type in ("crop", "blackout", "ram") and po.regions is None:
                required.append(("partial_observation.mode", po.mode, "a mode id of the environment family"))
        for path, value, allowed in required:
            if value is None:
                raise ValueError(f"{path}: got None (missing); required for stochasticity_type "
                                 f"{self.stochasticity_type!r}; allowed: {allowed}")

    # -- construction from every accepted form ------------------------------------------------------
    @classmethod
    def parse(cls, source: Any = None, /, **overrides: Any) -> Profile:
        """Build a profile from a Profile, a nested or dotted-flat dict, or a ``.json``/``.toml`` file.

        Keyword overrides use ``__`` for the dots: ``partial_observation__prob=0.5``. A key given both
        nested and flat with different values is an error.
        """
        if isinstance(source, Profile) and not overrides:
            return source
        if source is None:
            data: dict[str, Any] = {}
        elif isinstance(source, Profile):
            data = source.to_dict()
        elif isinstance(source, str) and source.lstrip().startswith(("{", "[")):
            data = _loads_json(source, "profile")
        elif isinstance(source, (str, Path)):
            data = _load_file(Path(source))
        elif isinstance(source, Mapping):
            data = dict(source)
        else:
            raise field_error("profile", source, "a Profile, a dict, or a path to a .json or .toml file")
        nested = unflatten(data)
        if overrides:
            nested = _merge(nested, unflatten({k.replace("__", "."): v for k, v in overrides.items()}), override=True)
        return cls.from_dict(nested)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, path: str = "") -> Profile:
        if isinstance(data, Mapping) and any("." in str(k) for k in data):
            data = unflatten(data)
        return super().from_dict(data, path)

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str) -> Profile:
        if not isinstance(text, str):
            raise field_error("profile", text, "JSON text of an object")
        return cls.parse(_loads_json(text, "profile"))

    def to_flat(self) -> dict[str, Any]:
        """The dotted flat form of the original release's experiment file."""
        return flatten(self.to_dict())

    def replace(self, **overrides: Any) -> Profile:
        """A new profile with overrides applied (``__`` for dots); this one is left unchanged."""
        return Profile.parse(self, **overrides)

    def describe(self) -> list[tuple[str, Any, str]]:
        """(flat key, value, what it does) for every setting the profile's type reads."""
        from stori_envs.taxonomy.describe import describe_profile

        return describe_profile(self)


_FILE_ALLOWED = "an existing .json or .toml file (UTF-8 text), a JSON object, a dict or a Profile"


def _object(data: Any, where: str) -> dict[str, Any]:
    """``data`` if it is a JSON/TOML object (a dict), else the ValueError naming ``where``."""
    if not isinstance(data, dict):
        shown = data if len(repr(data)) <= 80 else f"{type(data).__name__} {repr(data)[:60]}..."
        raise ValueError(f"{where}: got {shown!r} (a {type(data).__name__} at the top level); allowed: an object "
                         "such as {\"stochasticity_type\": \"1\", ...}")
    return data


def _loads_json(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not valid JSON ({exc}); allowed: a JSON object") from None
    except RecursionError:
        raise ValueError(f"{where}: JSON nested too deeply; allowed: a JSON object") from None
    return _object(data, where)


def _load_file(path: Path) -> dict[str, Any]:
    shown = str(path) if len(str(path)) <= 200 else str(path)[:200] + "..."
    try:
        is_file = path.is_file()
    except (OSError, ValueError):  # a name too long for the file system, or with a NUL byte
        is_file = False
    if not is_file:
        what = "a directory" if _is_dir(path) else "not an existing file"
        raise ValueError(f"profile: got {shown!r} ({what}); allowed: {_FILE_ALLOWED}")
    if path.suffix not in (".json", ".toml"):
        raise field_error("profile", shown, "a file ending in .json or .toml")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"profile: got {shown!r}, which is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                         f"allowed: {_FILE_ALLOWED}") from None
    except OSError as exc:
        raise ValueError(f"profile: got {shown!r}, which cannot be read ({exc.strerror}); "
                         f"allowed: {_FILE_ALLOWED}") from None
    if "\x00" in text:
        raise ValueError(f"profile: got {shown!r}, which contains NUL bytes (binary or UTF-16?); "
                         f"allowed: {_FILE_ALLOWED}")
    if path.suffix == ".json":
        return _loads_json(text, f"profile ({shown})")
    try:
        return _object(tomllib.loads(text), f"profile ({shown})")
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"profile: {shown} is not valid TOML ({exc})") from None


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dict -> dotted flat dict (leaves are anything that is not a mapping)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, path + "."))
        else:
            out[path] = value
    return out


def unflatten(data: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted (or mixed) dict -> nested dict; a key given nested and flat with different values fails."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise field_error(repr(key), value, "string keys")
        parts = key.split(".")
        if any(not p for p in parts):
            raise field_error(key, value, "dotted keys without empty parts")
        tree: dict[str, Any] = {}
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        leaf = unflatten(value) if isinstance(value, Mapping) else value
        node[parts[-1]] = leaf
        out = _merge(out, tree, override=False)
    return out


def _merge(base: dict[str, Any], extra: Mapping[str, Any], *, override: bool, path: str = "") -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        where = f"{path}{key}"
        if key in merged and isinstance(merged[key], Mapping) and isinstance(value, Mapping):
            merged[key] = _merge(dict(merged[key]), value, override=override, path=where + ".")
        elif key in merged and not override and str(merged[key]) != str(value):
            raise ValueError(f"{where}: got {merged[key]!r} and {value!r} (given twice, nested and dotted); "
                             "allowed: one value, or the same value in both forms")
        else:
            merged[key] = value
    return merged


def as_profile(profile: Any = None, **overrides: Any) -> Profile:
    """Accept any profile form (or None for type 3.1) and return a validated :class:`Profile`."""
    return Profile.parse(profile, **overrides)


__all__ = [
    "ActionDependent",
    "ActionIndependentRandom",
    "ConceptDrift",
    "IntrinsicStochasticity",
    "PartialObservation",
    "Profile",
    "Region",
    "Semantics",
    "as_profile",
    "flatten",
    "unflatten",
]
