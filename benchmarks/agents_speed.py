"""Gradient steps per second of each offline agent against its own fp32 matrix-multiply ceiling.

For every agent (BC, TD3+BC, IQL, A2PR at the paper's widths, A2PR with a 256-wide VAE) on synthetic
Hopper-shaped data (11-D observations, 3-D actions, batch 256), at 1 and 2 torch threads:

* **steps/s**: ``agent.fit`` for ``--steps`` gradient steps after a warm-up (the real training loop:
  sampling, every forward/backward pass, optimiser steps, target updates, diagnostics; the dataset's
  tensors are built by the warm-up call and reused, as for any caller that trains in chunks);
* **ceiling**: the matrix multiplies of one training step alone. A ``TorchDispatchMode`` records every
  ``mm``/``addmm``/``bmm``/``baddbmm`` that one step dispatches (forward and backward, with their shapes and strides);
  the script replays exactly those calls on preallocated tensors and times them. ceiling steps/s =
  1 / (time of one step's matmuls); the target is steps/s >= 60 % of it.

Cases are timed round-robin (``benchmarks.common.time_interleaved``), best of ``--repeats``, so the
ratios are side by side on a shared machine; ``--clock cpu`` times CPU seconds of this process instead of
wall-clock seconds (steadier when other jobs hold the cores; at 2 threads it counts both threads).
OGSRL is not a gradient-step agent (one step is a PPO iteration with model rollouts) and is not measured here.

    python benchmarks/agents_speed.py --steps 200 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from agents.offline import A2PR, BC, IQL, TD3BC
from agents.offline.base import torch_threads
from benchmarks.common import Case, best, command_line, emit, machine_description, markdown_table, time_interleaved
from stori_envs.datasets.transitions import Transitions

MATMULS = {torch.ops.aten.mm.default, torch.ops.aten.addmm.default, torch.ops.aten.bmm.default,
           torch.ops.aten.baddbmm.default}
AGENTS = {
    "bc": (BC, {}),
    "td3bc": (TD3BC, {}),
    "iql": (IQL, {}),
    "a2pr (paper widths, VAE 750)": (A2PR, {}),
    "a2pr (VAE 256)": (A2PR, {"vae_hidden": 256}),
}


def hopper_like(n: int = 50_000, seed: int = 0) -> Transitions:
    """Synthetic Hopper-shaped transitions (speed only: the numbers carry no task)."""
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(n, 11)).astype(np.float32)
    return Transitions(observations=obs, actions=rng.uniform(-1, 1, (n, 3)).astype(np.float32),
                       rewards=rng.normal(size=n).astype(np.float32), next_observations=obs + 0.01,
                       terminals=rng.random(n) < 0.001, timeouts=np.zeros(n, bool),
                       episode_ids=np.arange(n) // 1000, timesteps=np.arange(n) % 1000,
                       metadata={"action_low": [-1.0] * 3, "action_high": [1.0] * 3, "dataset_id": "synthetic"})


def load_average() -> str:
    return "{:.1f} / {:.1f} / {:.1f}".format(*os.getloadavg())


class MatmulRecorder(TorchDispatchMode):
    """Records (op, [(shape, stride) or value per arg], kwargs) of every matmul dispatched."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in MATMULS:
            spec = [(tuple(a.shape), tuple(a.stride())) if isinstance(a, torch.Tensor) else a for a in args]
            self.calls.append((func, spec, dict(kwargs or {})))
        return func(*args, **(kwargs or {}))


def replay(calls: list[tuple]):
    """A function running exactly the recorded matmuls on preallocated random tensors."""
    gen = torch.Generator().manual_seed(0)
    prepared = []
    for func, spec, kwargs in calls:
        args = []
        for item in spec:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], tuple):
                shape, stride = item
                size = 1 + sum((s - 1) * st for s, st in zip(shape, stride, strict=True))
                base = torch.rand(max(size, 1), generator=gen)
                args.append(base.as_strided(shape, stride))
            else:
                args.append(item)
        prepared.append((func, args, kwargs))

    def run(n: int) -> None:
        for _ in range(n):
            for func, args, kwargs in prepared:
                func(*args, **kwargs)

    return run


def one_step_matmuls(agent, data) -> list[tuple]:
    """The matmuls of two consecutive training steps (actor updates happen every other step), halved later."""
    tensors = agent._make_data(agent.setup(data))
    recorder = MatmulRecorder()
    with recorder:
        agent._iteration(tensors)
        agent.total_steps += 1
        agent._iteration(tensors)
        agent.total_steps += 1
    return recorder.calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--agents", nargs="+", default=list(AGENTS))
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall: perf_counter; cpu: process_time (CPU seconds of this process, steadier on a "
                             "machine shared with other jobs)")
    args = parser.parse_args()
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    data = hopper_like()
    load_start = load_average()
    rows = []
    for threads in args.threads:
        cases = []
        for name in args.agents:
            cls, overrides = AGENTS[name]
            agent = cls(cls.config_class(threads=threads, log_every=10**9, **overrides))
            with torch_threads(threads):
                calls = one_step_matmuls(agent, data)
                agent.fit(data, agent.total_steps + 20, progress=False)  # warm-up
            mm = replay(calls)

            def train(n: int, agent=agent) -> None:
                agent.fit(data, agent.total_steps + n, progress=False)

            def ceiling(n: int, mm=mm, threads=threads) -> None:
                with torch_threads(threads):
                    mm(n)
            cases += [Case(name, train), Case(f"{name}/matmuls", ceiling)]
        times = time_interleaved(cases, args.steps, args.repeats, clock)
        for name in args.agents:
            step = best(times[name])
            ceil = best(times[f"{name}/matmuls"]) / 2  # two recorded steps per ceiling unit
            rows.append([name, threads, f"{1 / step:.0f}", f"{1 / ceil:.0f}", f"{100 * ceil / step:.0f} %"])
    emit(f"Machine: {machine_description()}, torch {torch.__version__}")
    emit(f"Command: `{command_line()}`")
    omp = os.environ.get("OMP_WAIT_POLICY", "(unset)")
    emit(f"Load average (1/5/15 min) at start {load_start}, at end {load_average()}; OMP_WAIT_POLICY={omp}; "
         f"clock {args.clock}")
    emit()
    emit(markdown_table(["agent", "threads", "steps/s", "matmul ceiling steps/s", "share of ceiling"], rows))


if __name__ == "__main__":
    main()
