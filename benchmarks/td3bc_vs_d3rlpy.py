"""Gradient steps per second of our TD3+BC against d3rlpy's TD3PlusBC, side by side in one run.

Both train on the same synthetic Hopper-shaped data (11-D observations, 3-D actions, ``--transitions``
rows from ``benchmarks.agents_speed.hopper_like(seed)``), with the same networks (actor and twin critics
2 x 256 ReLU), batch 256, Adam 3e-4, policy delay 2 and z-scored observations (d3rlpy:
``StandardObservationScaler``, as its TD3+BC reproduction script), at each of ``--threads`` torch
intra-op threads. d3rlpy 2.8.1 pins gymnasium 1.0.0, so it lives in its own virtual environment
(``--d3rlpy-python``; offline.md 1.9): one persistent worker process per thread count runs the inline
driver :data:`DRIVER` on the data passed as an ``.npz`` file, and performs ``n`` steps
(``sample_transition_batch`` + ``update``, the inner loop of its ``fit``) each time this script asks.

Cases run round-robin (ours, d3rlpy, matmul ceiling, for every thread count, ``--repeats`` rounds after
``--warmup`` steps each), so a drifting load hits all of them alike; the table gives medians over the
rounds and the median of the per-round ratios ours / d3rlpy. The **matmul ceiling** is the fp32 time of
the matrix multiplies of one of our training steps alone (recorded and replayed by
``benchmarks.agents_speed``); since our actor pass skips the critic's parameter gradients, d3rlpy's
step has more matmuls than this. Wall-clock steps/s is the figure; CPU seconds per step (``process_time``
of each process) are reported beside it to read a loaded machine. The targets come from issue 10:
ours at least 2x d3rlpy at 2 threads.

On a machine with more runnable threads than cores, OpenMP's default spin-waiting makes 2-thread runs of
*both* libraries collapse (threads spin while their partner is descheduled); ``OMP_WAIT_POLICY=PASSIVE``
(set in the environment, inherited by the d3rlpy workers) shows the 2-thread figures without that effect.

    python -m benchmarks.td3bc_vs_d3rlpy --steps 400 --repeats 5
    OMP_WAIT_POLICY=PASSIVE python -m benchmarks.td3bc_vs_d3rlpy --plot docs/images/td3bc_vs_d3rlpy.png
    python -m benchmarks.td3bc_vs_d3rlpy --steps 100 --repeats 3 --profile 200   # + torch.profiler table
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from agents.offline import TD3BC
from agents.offline.base import torch_threads
from benchmarks.agents_speed import hopper_like, load_average, one_step_matmuls, replay
from benchmarks.common import command_line, emit, machine_description, markdown_table
from stori_envs.datasets.transitions import Transitions

D3RLPY_PYTHON = "/work/d3rlpy-venv/bin/python"
TARGET_RATIO = 2.0  # issue 10: ours >= 2x d3rlpy at 2 threads

#: Runs in d3rlpy's virtual environment: argv = npz path, threads, seed, batch size. Reads a step count
#: per stdin line, answers one JSON line (wall, CPU and sampler seconds) on the original stdout; d3rlpy's
#: own output goes to stderr so it cannot corrupt the protocol.
DRIVER = r"""
import json, os, sys, time
proto = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
import numpy as np, torch, d3rlpy
from d3rlpy.algos.utility import build_scalers_with_transition_picker
path, threads, seed, batch_size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
d3rlpy.seed(seed)
z = np.load(path)
dataset = d3rlpy.dataset.MDPDataset(z["observations"], z["actions"], z["rewards"], z["terminals"], z["timeouts"])
algo = d3rlpy.algos.TD3PlusBCConfig(
    batch_size=batch_size, observation_scaler=d3rlpy.preprocessing.StandardObservationScaler()).create(device=False)
build_scalers_with_transition_picker(algo, dataset)
algo.build_with_dataset(dataset)
proto.write(json.dumps({"ready": True, "d3rlpy": d3rlpy.__version__, "torch": torch.__version__,
                        "threads": torch.get_num_threads(), "transitions": int(dataset.transition_count)}) + "\n")
for line in sys.stdin:
    n = int(line)
    sample = 0.0
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        t = time.perf_counter()
        batch = dataset.sample_transition_batch(batch_size)
        sample += time.perf_counter() - t
        algo.update(batch)
    proto.write(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                            "sample": sample}) + "\n")
"""


class D3rlpyWorker:
    """A d3rlpy TD3PlusBC in its own interpreter, stepped on request (one per thread count)."""

    def __init__(self, python: str, npz: Path, threads: int, seed: int, batch_size: int) -> None:
        self.proc = subprocess.Popen([python, "-c", DRIVER, str(npz), str(threads), str(seed), str(batch_size)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.info = self._answer()

    def _answer(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read()
            raise RuntimeError(f"d3rlpy worker exited ({self.proc.wait()}):\n{err[-3000:]}")
        return json.loads(line)

    def run(self, n: int) -> dict:
        self.proc.stdin.write(f"{n}\n")
        self.proc.stdin.flush()
        return self._answer()

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def d3rlpy_arrays(data: Transitions) -> dict[str, np.ndarray]:
    """The rows as d3rlpy's ``MDPDataset`` takes them: each 1000-step episode ends in a terminal or a timeout."""
    ends = np.append(data.episode_ids[1:] != data.episode_ids[:-1], True)
    terminals = data.terminals.astype(np.float32)
    timeouts = (ends & ~data.terminals).astype(np.float32)
    return {"observations": data.observations, "actions": data.actions, "rewards": data.rewards,
            "terminals": terminals, "timeouts": timeouts}


class Ours:
    """Our TD3+BC at one thread count, with its matmul ceiling (both timed by wall and CPU clock)."""

    def __init__(self, data: Transitions, threads: int, seed: int, batch_size: int) -> None:
        self.data, self.threads = data, threads
        self.agent = TD3BC(TD3BC.config_class(threads=threads, seed=seed, batch_size=batch_size, log_every=10**9))
        with torch_threads(threads):
            self.matmuls = replay(one_step_matmuls(self.agent, data))  # two consecutive steps (one actor update)

    def run(self, n: int) -> dict:
        wall, cpu = time.perf_counter(), time.process_time()
        self.agent.fit(self.data, self.agent.total_steps + n, progress=False)
        return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}

    def ceiling(self, n: int) -> dict:
        """Seconds of the matmuls of ``n`` steps (the recording holds two steps)."""
        with torch_threads(self.threads):
            wall, cpu = time.perf_counter(), time.process_time()
            self.matmuls(max(1, n // 2))
            return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}


def profile_ours(ours: Ours, n: int) -> str:
    """torch.profiler table (self CPU time) of ``n`` of our training steps."""
    from torch.profiler import ProfilerActivity, profile

    with torch_threads(ours.threads), profile(activities=[ProfilerActivity.CPU]) as prof:
        ours.run(n)
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    threads = [r["threads"] for r in rows]
    x = np.arange(len(threads))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for i, (key, label) in enumerate([("d3rlpy", "d3rlpy TD3PlusBC"), ("ours", "our TD3+BC"),
                                      ("ceiling", "fp32 matmul ceiling")]):
        ax.bar(x + (i - 1) * 0.27, [r[key] for r in rows], 0.27, label=label)
    ax.set_xticks(x, [f"{t} thread{'s' if t > 1 else ''}" for t in threads])
    ax.set_ylabel("gradient steps / s (median)")
    ax.set_title("TD3+BC, Hopper-shaped data, batch 256, 2x256 nets, CPU")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400, help="gradient steps per timed case and round")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds (median taken; >= 3)")
    parser.add_argument("--warmup", type=int, default=50, help="untimed steps of each case first")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--transitions", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--d3rlpy-python", default=D3RLPY_PYTHON)
    parser.add_argument("--profile", type=int, default=0, help="then profile this many of our steps (torch.profiler)")
    parser.add_argument("--plot", type=Path, default=None, help="write a bar chart (PNG) here")
    args = parser.parse_args()
    for name, least in (("steps", 1), ("repeats", 3), ("transitions", 1000), ("batch_size", 1), ("warmup", 0)):
        if getattr(args, name) < least:  # offline.md 4.3: the median of at least 3 runs
            parser.error(f"--{name.replace('_', '-')}: got {getattr(args, name)}; allowed: an integer >= {least}")
    if not Path(args.d3rlpy_python).exists():
        parser.error(f"--d3rlpy-python: got {args.d3rlpy_python}; allowed: the python of a virtual environment with "
                     "torch and d3rlpy==2.8.1 (python3 -m venv DIR && DIR/bin/pip install torch d3rlpy==2.8.1)")

    load_start = load_average()
    data = hopper_like(args.transitions, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "hopper_like.npz"
        np.savez(npz, **d3rlpy_arrays(data))
        workers = {t: D3rlpyWorker(args.d3rlpy_python, npz, t, args.seed, args.batch_size) for t in args.threads}
        try:
            ours = {t: Ours(data, t, args.seed, args.batch_size) for t in args.threads}
            for t in args.threads:  # warm-up: allocator, kernels, optimiser state, d3rlpy's caches
                ours[t].run(args.warmup)
                ours[t].ceiling(args.warmup)
                workers[t].run(args.warmup)
            times: dict[tuple[str, int], list[dict]] = {}
            for _ in range(args.repeats):
                for t in args.threads:
                    times.setdefault(("ours", t), []).append(ours[t].run(args.steps))
                    times.setdefault(("d3rlpy", t), []).append(workers[t].run(args.steps))
                    times.setdefault(("ceiling", t), []).append(ours[t].ceiling(args.steps))
            info = workers[args.threads[0]].info
        finally:
            for w in workers.values():
                w.close()
    load_end = load_average()

    def rate(key: str, t: int, clock: str = "wall") -> float:
        n = 2 * max(1, args.steps // 2) if key == "ceiling" else args.steps
        return statistics.median(n / r[clock] for r in times[(key, t)])

    rows, cpu_rows, plotted = [], [], []
    for t in args.threads:
        ratios = [args.steps / o["wall"] / (args.steps / d["wall"])
                  for o, d in zip(times[("ours", t)], times[("d3rlpy", t)], strict=True)]
        ratio = statistics.median(ratios)
        ours_r, d3_r, ceil_r = rate("ours", t), rate("d3rlpy", t), rate("ceiling", t)
        target = (f"{'met' if ratio >= TARGET_RATIO else 'missed'} ({TARGET_RATIO:.0f}x)"
                  if t == 2 else "-")
        rows.append([t, f"{d3_r:.0f}", f"{ours_r:.0f}", f"{ratio:.2f}x ({min(ratios):.2f}-{max(ratios):.2f})",
                     target, f"{ceil_r:.0f}", f"{100 * ours_r / ceil_r:.0f} %"])
        sample_share = statistics.median(d["sample"] / d["wall"] for d in times[("d3rlpy", t)])
        cpu_rows.append([t, f"{1e3 / rate('d3rlpy', t, 'cpu'):.2f}", f"{1e3 / rate('ours', t, 'cpu'):.2f}",
                         f"{1e3 / rate('ceiling', t, 'cpu'):.2f}", f"{100 * sample_share:.0f} %"])
        plotted.append({"threads": t, "ours": ours_r, "d3rlpy": d3_r, "ceiling": ceil_r})

    emit(f"Machine: {machine_description()}, torch {torch.__version__}; d3rlpy {info['d3rlpy']} "
         f"(torch {info['torch']}) in {args.d3rlpy_python}")
    emit(f"Command: `{command_line()}`")
    emit(f"Load average (1/5/15 min) at start {load_start}, at end {load_end}; {args.transitions} transitions "
         f"(d3rlpy keeps {info['transitions']}), batch {args.batch_size}, {args.steps} steps x {args.repeats} "
         f"interleaved rounds after {args.warmup} warm-up steps; OMP_WAIT_POLICY="
         f"{os.environ.get('OMP_WAIT_POLICY', '(unset: spin, then sleep)')} in both processes")
    emit()
    emit(markdown_table(["threads", "d3rlpy steps/s", "ours steps/s", "ours / d3rlpy (range)", "target",
                         "matmul ceiling steps/s", "ours / ceiling"], rows))
    emit()
    emit(markdown_table(["threads", "d3rlpy CPU ms/step", "ours CPU ms/step", "matmuls CPU ms/step",
                         "d3rlpy share in its sampler"], cpu_rows))
    if args.plot is not None:
        plot(plotted, args.plot)
        emit(f"\nPlot: {args.plot}")
    if args.profile:
        emit(f"\nProfile of {args.profile} of our steps at {args.threads[-1]} threads:\n")
        emit(profile_ours(ours[args.threads[-1]], args.profile))


if __name__ == "__main__":
    sys.exit(main())
