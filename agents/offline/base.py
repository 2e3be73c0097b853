"""The shared training machinery of the offline agents: config base, seeding, fit loop, checkpoints.

An algorithm module subclasses :class:`OfflineBase` and writes, top to bottom, only what is its own:
``_build`` (networks and optimisers), ``train_step`` (one gradient iteration) and ``_policy``
(actions from normalised observations). This module owns the rest:

* **Seeding.** ``config.seed`` feeds ``numpy.random.SeedSequence``; its children seed one
  ``torch.Generator`` per stream (``init``, ``sample``, ``noise``, ``act``). Nothing touches a global RNG.
* **fit.** ``fit(data, n_steps)`` trains until ``total_steps == n_steps`` with a progress bar, logging
  averaged diagnostics every ``log_every`` steps, calling an optional evaluator every ``eval_every``
  steps and checkpointing to ``out`` every ``checkpoint_every`` steps. Diagnostics stay tensors between
  logs (no per-step host sync).
* **Checkpoints.** ``save(dir)`` writes ``weights-<step>.safetensors`` (every network, target network and
  the observation normaliser), ``train-<step>.pt`` (optimiser states and generator states, plain tensors
  and numbers, read back with ``torch.load(weights_only=True)``), then ``agent.json`` atomically: the JSON
  names the two files, so it is the commit point and a kill at any moment leaves the previous checkpoint
  whole. :meth:`OfflineBase.load` restores everything, so a resumed run ends with the same weights as an
  uninterrupted one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from agents.interface import AgentConfig, OfflineAgent, as_batch, atomic_write, read_agent_header
from agents.offline.data import NORMALIZERS, Batch, DataSpec, Normalizer, TensorData, check_transitions
from stori_envs.datasets.transitions import Transitions
from stori_envs.taxonomy.validation import check_choice, check_int_tuple, check_number, field_error

logger = logging.getLogger(__name__)

STREAMS = ("init", "sample", "noise", "act")


# -- configs ----------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class OfflineConfig(AgentConfig):
    """Fields shared by every offline agent (spec offline.md 5.2; defaults from CORL unless noted)."""

    batch_size: int = 256  # CORL / paper codes
    gamma: float = 0.99  # CORL
    normalize_obs: str = "zscore"  # CORL, A2PR code: z-score with dataset mean/std + eps; "minmax" or "none"
    obs_norm_eps: float = 1e-3  # CORL, A2PR code
    reward_scale: float = 1.0  # CORL TD3+BC: rewards unchanged
    reward_shift: float = 0.0  # CORL TD3+BC
    threads: int = 1  # torch intra-op threads while training/acting (design: results must not depend on the caller)
    log_every: int = 1000  # design
    checkpoint_every: int = 5000  # design (CORL evaluates every 5k steps)
    eval_every: int = 5000  # A2PR code, CORL
    device: str = "cpu"

    #: ``field -> rule``; rules: ("int", min), ("num", lo, hi[, lo_open]), ("choice", options), ("widths",).
    RULES: ClassVar[dict[str, tuple]] = {
        "seed": ("int", 0), "batch_size": ("int", 1), "gamma": ("num", 0.0, 1.0),
        "normalize_obs": ("choice", NORMALIZERS), "obs_norm_eps": ("num", 0.0, math.inf, True),
        "reward_scale": ("num",), "reward_shift": ("num",), "threads": ("int", 1), "log_every": ("int", 1),
        "checkpoint_every": ("int", 1), "eval_every": ("int", 1), "device": ("choice", ("cpu", "cuda", "mps")),
    }

    def __post_init__(self) -> None:
        rules: dict[str, tuple] = {}
        for klass in reversed(type(self).__mro__):
            rules.update(vars(klass).get("RULES", {}))
        for name, rule in rules.items():
            check_field(f"{type(self).__name__}.{name}", getattr(self, name), rule)

    def replace(self, **changes: Any):
        """A copy with ``changes`` (validated)."""
        return dataclasses.replace(self, **changes)


def check_field(path: str, value: Any, rule: tuple) -> None:
    """Validate one config field against a rule of :attr:`OfflineConfig.RULES` (a ``ValueError`` names it)."""
    kind = rule[0]
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < rule[1]:
            raise field_error(path, value, f"an integer >= {rule[1]}")
    elif kind == "num":
        lo, hi = (rule[1], rule[2]) if len(rule) > 2 else (-math.inf, math.inf)
        check_number(path, value, lo, hi, lo_open=len(rule) > 3 and rule[3])
    elif kind == "choice":
        check_choice(path, value, tuple(rule[1]))
    elif kind == "widths":
        check_int_tuple(path, value, 1)
    elif kind == "bool":
        if not isinstance(value, bool):
            raise field_error(path, value, "true or false")
    elif kind == "opt_int":
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise field_error(path, value, "null or an integer >= 1")
    elif kind == "opt_num":
        if value is not None:
            check_number(path, value, rule[1], rule[2])
    else:  # pragma: no cover - a programming error in a RULES table
        raise AssertionError(f"unknown rule {rule!r} for {path}")


# -- helpers ----------------------------------------------------------------------------------------
def make_generators(seed: int, device: str = "cpu") -> dict[str, torch.Generator]:
    """One independent ``torch.Generator`` per stream, seeded from ``SeedSequence(seed)`` children."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    gens = {}
    for name, child in zip(STREAMS, children, strict=True):
        gen = torch.Generator(device=device)
        gen.manual_seed(int(child.generate_state(1, np.uint64)[0] >> np.uint64(1)))
        gens[name] = gen
    return gens


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run a block with ``n`` torch intra-op threads, restoring the caller's setting afterwards."""
    old = torch.get_num_threads()
    if old != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if old != n:
            torch.set_num_threads(old)


def _load_safetensors(file: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(file)
    except (SafetensorError, OSError, ValueError) as exc:
        raise ValueError(f"{file}: not a readable safetensors file ({exc}); "
                         "allowed: a file written by save()") from None


def _load_tensors(file: Path) -> Any:
    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "refuse this file"
        raise ValueError(f"{file}: refused ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); allowed: "
                         "plain tensors and containers loadable with torch.load(weights_only=True)") from None


# -- the base agent ---------------------------------------------------------------------------------
class OfflineBase(OfflineAgent):
    """Shared state and loop of the offline agents (see the module docstring)."""

    config_class: ClassVar[type[OfflineConfig]] = OfflineConfig
    config: OfflineConfig

    def __init__(self, config: OfflineConfig | None = None, **overrides: Any) -> None:
        config = config if config is not None else self.config_class()
        if not isinstance(config, self.config_class):
            raise ValueError(f"config: got {type(config).__name__}; allowed: {self.config_class.__name__}")
        self.config = config.replace(**overrides) if overrides else config
        self.total_steps = 0
        self.history: dict[str, list] = {"train": [], "eval": []}
        self.spec: DataSpec | None = None
        self.obs_norm: Normalizer | None = None
        self.modules: dict[str, torch.nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.generators = make_generators(self.config.seed, self.config.device)
        self.extra_state: dict[str, torch.Tensor] = {}  # algorithm tensors that are not modules (e.g. multipliers)

    # -- what an algorithm provides ----------------------------------------------------------------
    def _build(self) -> None:
        """Create ``self.modules`` and ``self.optimizers`` (``self.spec`` is set; draw from ``init``)."""
        raise NotImplementedError

    def prepare_data(self, data: Transitions) -> Transitions:
        """The rows this agent trains on (default: all; BC-x% and BC-Safe select episodes)."""
        return data

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """One gradient iteration on ``batch``; returns detached diagnostics (tensors)."""
        raise NotImplementedError

    def _policy(self, obs: torch.Tensor, deterministic: bool) -> torch.Tensor:
        """Actions for normalised observations (unclipped)."""
        raise NotImplementedError

    def _iteration(self, data: TensorData) -> dict[str, torch.Tensor]:
        """One training step: by default a uniform batch and :meth:`train_step` (OGSRL overrides it)."""
        return self.train_step(data.sample(self.config.batch_size, self.generators["sample"]))

    def _make_data(self, data: Transitions) -> TensorData:
        c = self.config
        return TensorData(data, self.obs_norm, reward_scale=c.reward_scale, reward_shift=c.reward_shift,
                          device=c.device)

    # -- setup -------------------------------------------------------------------------------------
    def setup(self, data: Transitions) -> Transitions:
        """Fit the spec and normaliser on ``data`` and build the networks (once); returns the training rows."""
        data = check_transitions(data)
        spec = DataSpec.of(data)
        if self.spec is not None:
            if spec.fingerprint != self.spec.fingerprint:
                raise ValueError(f"data: got dataset fingerprint {spec.fingerprint}; allowed: {self.spec.fingerprint}"
                                 " (the dataset this agent was trained on; resume needs the same data)")
            return self.prepare_data(data)
        train = self.prepare_data(data)
        self.spec = spec
        self.obs_norm = self._fit_normalizer(train)
        with torch_threads(self.config.threads):
            self._build()
        return train

    def _training_tensors(self, data: Transitions) -> TensorData:
        """:meth:`setup` then :meth:`_make_data`, reusing the previous call's tensors for the same ``data`` object.

        Building the table (normalising and concatenating every row, fingerprinting the dataset) costs tens
        of milliseconds on a Hopper-sized dataset, as much as a hundred gradient steps of BC; a caller that
        trains in chunks (``fit`` to 5k steps, evaluate, ``fit`` to 10k) pays it once. The cache is held
        only while ``data`` is alive, treats a :class:`Transitions` as immutable (as its frozen dataclass
        says), and only serves agents that use the standard :class:`TensorData` (an override of
        ``_make_data`` may build something stateful).
        """
        cached = self.__dict__.get("_tensor_cache")
        if cached is not None and cached[0]() is data:
            return cached[1]
        tensors = self._make_data(self.setup(data))
        if type(self)._make_data is OfflineBase._make_data:
            state = self.__dict__

            def forget(ref: weakref.ref) -> None:  # data collected: drop its tensors too
                if state.get("_tensor_cache", (None,))[0] is ref:
                    del state["_tensor_cache"]

            self._tensor_cache = (weakref.ref(data, forget), tensors)
        return tensors

    def _fit_normalizer(self, train: Transitions) -> Normalizer:
        return Normalizer.fit(train.observations, self.config.normalize_obs, self.config.obs_norm_eps)

    @property
    def act_low(self) -> torch.Tensor:
        return torch.tensor(self.spec.act_low, dtype=torch.float32)

    @property
    def act_high(self) -> torch.Tensor:
        return torch.tensor(self.spec.act_high, dtype=torch.float32)

    # -- acting ------------------------------------------------------------------------------------
    def seed(self, seed: int | None) -> None:
        """Re-seed the ``act`` stream (used by ``act(..., deterministic=False)``)."""
        if seed is not None:
            self.generators["act"].manual_seed(int(seed))

    @torch.no_grad()
    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        """Actions for a batch of raw observations ``(B, obs_dim)`` (or one), clipped to the action box."""
        if self.spec is None:
            raise ValueError(f"{type(self).__name__}: not trained; call fit(data, n_steps) or load(path) first")
        batch, single = as_batch(np.asarray(obs, dtype=np.float32), (self.spec.obs_dim,))
        with torch_threads(self.config.threads):
            x = self.obs_norm(torch.as_tensor(batch, device=self.config.device))
            action = self._policy(x, deterministic)
            low, high = self.act_low.to(action.device), self.act_high.to(action.device)
            action = torch.maximum(torch.minimum(action, high), low).cpu().numpy().astype(np.float32)
        return action[0] if single else action

    # -- training ----------------------------------------------------------------------------------
    def fit(self, data: Transitions, n_steps: int, *, out: str | os.PathLike | None = None,
            evaluator: Callable[[OfflineBase], dict[str, Any]] | None = None, progress: bool = True,
            stop_at: int | None = None) -> dict[str, list]:
        """Train until ``total_steps == n_steps`` (resuming from ``total_steps``); returns the history.

        ``out``: directory to checkpoint into every ``checkpoint_every`` steps and at the end.
        ``evaluator(agent) -> dict`` runs every ``eval_every`` steps and at the end; its results go into
        ``history["eval"]``. ``stop_at`` ends the call early at that step (tests simulate a kill with it).
        """
        if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 0:
            raise field_error("n_steps", n_steps, "an integer >= 0 (the total number of training steps)")
        c = self.config
        tensors = self._training_tensors(data)
        end = n_steps if stop_at is None else min(n_steps, stop_at)
        logs: dict[str, list[torch.Tensor]] = {}  # diagnostics since the last log, kept as tensors (no host sync)
        bar = _progress(progress, self.total_steps, n_steps, type(self).__name__)
        try:
            with torch_threads(c.threads):
                while self.total_steps < end:
                    diag = self._iteration(tensors)
                    self.total_steps += 1
                    for key, value in diag.items():
                        logs.setdefault(key, []).append(value)
                    step = self.total_steps
                    if step % c.log_every == 0 or step == n_steps:
                        means = {k: float(torch.stack(v).double().mean()) for k, v in logs.items()}
                        self.history["train"].append({"step": step, **means})
                        logs = {}
                    if evaluator is not None and (step % c.eval_every == 0 or step == n_steps):
                        self.history["eval"].append({"step": step, **evaluator(self)})
                    if out is not None and (step % c.checkpoint_every == 0 or step == end):
                        self.save(out)
                    if bar is not None:
                        bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        if out is not None and self.total_steps == end and not (Path(out) / "agent.json").exists():
            self.save(out)  # n_steps already reached on entry: still leave a loadable agent behind
        return self.history

    # -- persistence -------------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        return {"total_steps": self.total_steps, "spec": None if self.spec is None else self.spec.to_dict(),
                "files": getattr(self, "_files", {}), "history": self.history}

    def save(self, path: str | os.PathLike) -> Path:
        """Write the agent (weights, optimiser and RNG states) to directory ``path``; atomic per checkpoint."""
        if self.spec is None:
            raise ValueError(f"{type(self).__name__}: nothing to save before fit(data, ...) set the agent up")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        tag = f"{self.total_steps:010d}"
        weights = {f"{name}.{k}": v.detach().contiguous().cpu() for name, module in self.modules.items()
                   for k, v in module.state_dict().items()}
        weights.update(self.obs_norm.state("obs_norm"))
        weights.update({f"extra.{k}": v.detach().cpu().contiguous() for k, v in self.extra_state.items()})
        files = {"weights": f"weights-{tag}.safetensors", "train": f"train-{tag}.pt"}
        atomic_write(path / files["weights"], lambda f: save_file(weights, f))
        train_state = {"optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                       "generators": {k: g.get_state() for k, g in self.generators.items()}}
        atomic_write(path / files["train"], lambda f: torch.save(train_state, f))
        self._files = files
        super().save(path)  # agent.json, the commit point
        for stale in list(path.glob("weights-*.safetensors")) + list(path.glob("train-*.pt")):
            if stale.name not in files.values():
                stale.unlink(missing_ok=True)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str | None = None) -> OfflineBase:
        """Rebuild a saved agent with its weights, optimiser states, generator states and history."""
        path = Path(path)
        header = read_agent_header(path)
        if header["agent"] != cls.name:
            raise ValueError(f"{path}: agent: got {header['agent']!r}; allowed: {cls.name!r} (use load_agent)")
        config = cls.config_class.from_dict(header["config"])
        if device is not None:
            config = config.replace(device=device)
        agent = cls(config)
        meta = header.get("metadata", {})
        if meta.get("spec") is None:
            raise ValueError(f"{path}: saved before training (no data spec); allowed: an agent saved after fit")
        agent.spec = DataSpec.from_dict(meta["spec"])
        weights = _load_safetensors(path / meta["files"]["weights"])
        agent.obs_norm = Normalizer.from_state(weights, "obs_norm")
        agent.restore_extra({k[len("extra."):]: v for k, v in weights.items() if k.startswith("extra.")})
        with torch_threads(config.threads):
            agent._build()
        for name, module in agent.modules.items():
            prefix = f"{name}."
            module.load_state_dict({k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)})
            module.to(config.device)
        train_file = path / meta["files"]["train"]
        if train_file.exists():
            state = _load_tensors(train_file)
            for name, opt in agent.optimizers.items():
                opt.load_state_dict(state["optimizers"][name])
            for name, gen in agent.generators.items():
                gen.set_state(state["generators"][name])
        agent.total_steps = int(meta["total_steps"])
        agent.history = meta.get("history", {"train": [], "eval": []})
        return agent

    def restore_extra(self, extra: dict[str, torch.Tensor]) -> None:
        """Tensors saved under ``extra.``, restored before ``_build`` (which must keep them: use ``setdefault``)."""
        self.extra_state.update({k: v.to(self.config.device) for k, v in extra.items()})

    def parameters_snapshot(self) -> dict[str, torch.Tensor]:
        """Every network's tensors by name (copies): what "identical weights" compares."""
        return {f"{n}.{k}": v.detach().clone() for n, m in self.modules.items() for k, v in m.state_dict().items()}


def _progress(enabled: bool, start: int, total: int, name: str):
    if not enabled or start >= total:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=start, desc=name, unit="step", leave=False, disable=None)
