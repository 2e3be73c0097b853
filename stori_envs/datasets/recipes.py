"""What can be built: the dataset environments, their tiers, profiles and default sizes, and the id grammar.

Ids: ``stori/<env>/<tier>-v0`` for the default profile, ``stori/<env>/<profile-slug>/<tier>-v0`` otherwise.
Minari allows only letters, digits, ``_`` and ``-`` in ids (no ``.``), so a profile's slug drops the dot
of its type: ``T3.2`` -> ``t32``, ``T2.2-NightShift`` -> ``t22-nightshift``; a profile given as JSON gets
``t<type>-<first 8 hex of the SHA-256 of its canonical JSON>``. The metadata, not the slug, is authoritative.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NAMESPACE = "stori"
VERSION = 0
SAC_TIERS = ("random", "medium", "medium-replay", "expert", "medium-expert")
MIXTURE = re.compile(r"^random-(medium|expert)-(1|5|10|25|50)pct$")
ATARI_TIERS = ("random", "medium", "expert", "medium-expert")
MEDSEPSIS_TIERS = ("expert", "clinician", "random", "mixed", "unsafe")
_ID = re.compile(r"^(?:stori/)?(?P<env>[a-z0-9]+)/(?:(?P<slug>[a-z0-9_-]+)/)?(?P<tier>[a-z0-9-]+?)(?:-v(?P<v>\d+))?$")


@dataclass(frozen=True)
class EnvRecipe:
    """A dataset environment: ``kind`` picks the behaviour family; ``kwargs`` fix the observation format."""

    key: str
    env_id: str
    kind: str  # sac | medsepsis | atari
    tiers: tuple[str, ...]
    episodes: int  # default size of a build
    ref_episodes: int  # episodes of the random/expert policies behind ref_min_score/ref_max_score
    kwargs: dict[str, Any] = field(default_factory=dict)
    game: str | None = None  # Atari: which RAM script drives the behaviour
    notes: str = ""

    @property
    def presets(self) -> dict[str, str]:
        """Profile slug -> registered preset id: ``stori/<Name>-T<preset>-v0`` of this environment's
        ``stori/<Name>-v0`` (``T3.2`` -> ``t32``); type 0 (a state observation) and 3.1 (the default) excluded."""
        import gymnasium as gym

        m = re.match(r"^stori/(?P<name>[A-Za-z]+)-v0$", self.env_id)
        if m is None:
            return {}
        pattern = re.compile(rf"^stori/{m['name']}-T(?P<p>[0-9][0-9A-Za-z.-]*)-v0$")
        found = {}
        for env_id in gym.registry:
            hit = pattern.match(env_id)
            if hit and hit["p"] not in ("0", "3.1"):
                found["t" + hit["p"].lower().replace(".", "")] = env_id
        return dict(sorted(found.items()))

    def allows(self, tier: str) -> bool:
        mix = MIXTURE.match(tier)
        return tier in self.tiers or (mix is not None and mix[1] in self.tiers)


_ATARI_KW = {"frameskip": 4, "grayscale": True, "screen_size": 84, "max_num_frames_per_episode": 10_000}
RECIPES: dict[str, EnvRecipe] = {r.key: r for r in (
    EnvRecipe("pendulum", "Pendulum-v1", "sac", SAC_TIERS, 1000, 20),
    EnvRecipe("inverteddoublependulum", "InvertedDoublePendulum-v5", "sac", SAC_TIERS, 1000, 20),
    EnvRecipe("hopper", "Hopper-v5", "sac", SAC_TIERS, 1000, 20),
    EnvRecipe("medsepsis", "stori/MedSepsis-v0", "medsepsis", MEDSEPSIS_TIERS, 5000, 200),
    EnvRecipe("breakout", "stori/Breakout-v0", "atari", ATARI_TIERS, 20, 3, dict(_ATARI_KW), "Breakout",
              notes="84x84 grayscale uint8, frameskip 4, max-pool, stored raw (lossless)"),
    EnvRecipe("boxing", "stori/Boxing-v0", "atari", ATARI_TIERS, 20, 3, dict(_ATARI_KW), "Boxing",
              notes="84x84 grayscale uint8, frameskip 4, max-pool, stored raw (lossless)"),
)}


@dataclass(frozen=True)
class DatasetName:
    env: str
    tier: str
    slug: str | None = None
    version: int = VERSION

    @property
    def dataset_id(self) -> str:
        middle = f"{self.slug}/" if self.slug else ""
        return f"{NAMESPACE}/{self.env}/{middle}{self.tier}-v{self.version}"

    @property
    def recipe(self) -> EnvRecipe:
        return RECIPES[self.env]


def parse_name(name: str) -> DatasetName:
    """``stori/medsepsis/t32/clinician-v0`` (or without ``stori/`` and ``-v0``) -> its parts, validated."""
    m = _ID.match(name.strip().lower()) if isinstance(name, str) else None
    if m is None:
        raise ValueError(f"name: got {name!r}; allowed: stori/<env>/[<profile-slug>/]<tier>-v<N>, e.g. "
                         "stori/medsepsis/clinician-v0 or stori/pendulum/t1-3f2a9c10/expert-v0")
    env, tier, slug = m["env"], m["tier"], m["slug"]
    if env not in RECIPES:
        raise ValueError(f"name: got env {env!r}; allowed: " + ", ".join(RECIPES))
    recipe = RECIPES[env]
    if not recipe.allows(tier):
        sources = "|".join(t for t in ("medium", "expert") if t in recipe.tiers)
        extra = f", random-<{sources}>-<1|5|10|25|50>pct"
        raise ValueError(f"name: got tier {tier!r} for {env}; allowed: " + ", ".join(recipe.tiers) + extra)
    return DatasetName(env, tier, slug, int(m["v"]) if m["v"] is not None else VERSION)


def profile_slug(profile: Any) -> str:
    """A valid id segment for a profile given as a dict (a STORI profile or a family's config blocks)."""
    text = json.dumps(profile, sort_keys=True, separators=(",", ":"), default=str)
    t = str(profile.get("stochasticity_type", "x")).replace(".", "") if isinstance(profile, dict) else "x"
    return f"t{t}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def resolve_profile(recipe: EnvRecipe, profile: str | dict | None) -> tuple[str | None, str, dict[str, Any], Any]:
    """(slug, registered id, env kwargs, profile record) for ``profile`` on ``recipe``'s environment.

    ``profile`` is None/``"default"``, a preset of the environment (MedSepsis ``T1``, ``T3.2``, ...; Atari
    ``3.2A``, ...), a JSON object (string or dict) or a ``.json``/``.toml`` file of a STORI profile.
    """
    import stori_envs  # noqa: F401  (registers the presets)
    from stori_envs.taxonomy.profile import Profile

    base_kwargs = {k: v for k, v in recipe.kwargs.items()}
    if profile is None or profile == "default":
        return None, recipe.env_id, base_kwargs, None
    if isinstance(profile, str):
        key = profile.strip().lower().replace(".", "")
        key = key if key.startswith("t") else f"t{key}"
        presets = recipe.presets
        if key in presets:
            preset = presets[key]
            import gymnasium as gym

            return key, preset, base_kwargs, {"preset": preset, "kwargs": dict(gym.spec(preset).kwargs)}
        text = profile.strip()
        if text.startswith("{"):
            profile = json.loads(text)
        elif Path(text).suffix in (".json", ".toml") and Path(text).is_file():
            profile = Profile.parse(text).to_dict()
        else:
            allowed = ", ".join(["default", *presets])
            raise ValueError(f"profile: got {profile!r}; allowed: {allowed}, a JSON profile object or a "
                             ".json/.toml profile file")
    data = Profile.parse(profile).to_dict() if not isinstance(profile, Profile) else profile.to_dict()
    slug = profile_slug(data)
    if recipe.kind == "sac":
        return slug, f"{NAMESPACE}/Stochastic-v0", {"env_id": recipe.env_id, "profile": data}, data
    if recipe.kind == "medsepsis":  # the family maps the profile onto config blocks: keep those kwargs
        import stori_envs

        env = stori_envs.make(recipe.env_id.split("/")[-1], data)
        kwargs = dict(env.spec.kwargs)
        env.close()
        return slug, env.spec.id, kwargs, data
    return slug, recipe.env_id, {**base_kwargs, "profile": data}, data
