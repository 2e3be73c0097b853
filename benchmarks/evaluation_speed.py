"""Speed of the evaluation floor: batched evaluation, sweep scaling with workers, Ray's overhead per cell.

Three measurements, each a ratio of cases run side by side in one process on the same work:

1. **Evaluation episodes per second** on CartPole-v1: the evaluation loop (a vector environment of
   ``--slots`` slots, the agent called once per vector step on the whole batch) against a one-episode-
   at-a-time loop (one env, the agent called on a batch of one), on the same seeded episodes (checked
   equal), for a trained SB3 PPO policy and the PD controller. CPU time of this process, interleaved.
2. **Sweep cells per minute** with 1 and 2 local workers: the same small suite (tiny PPO trainings and
   reference policies) into fresh stores; wall time, with the load average recorded (the machine is
   shared).
3. **Ray's overhead per cell**: the same suite of cheap cells on the local backend and on a local Ray
   cluster with the same number of workers; (Ray wall - local wall) / cells, plus Ray's start-up.

    python -m benchmarks.evaluation_speed            # about 3 minutes on 2 idle cores
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import Case, best, command_line, emit, machine_description, markdown_table, time_interleaved


def one_at_a_time(agent, make_env, seeds):
    """The baseline: one episode after another in one env, the agent called on a batch of one."""
    records = []
    env = make_env()
    agent.bind(env.observation_space, env.action_space)
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        agent.on_episode_start(np.zeros(1, dtype=np.int64), np.asarray([seed]))
        total, length, done = 0.0, 0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(agent.act(obs[None])[0])
            total += float(reward)
            length += 1
            done = terminated or truncated
        records.append((seed, total, length))
    env.close()
    return records


def measure_evaluation(episodes: int, slots: int, repeats: int) -> list[list[object]]:
    import stori_envs
    from agents.reference import CartPolePD
    from agents.sb3 import SB3PPO, PPOConfig
    from benchmarks.evaluation.runner import _pin_threads, evaluate

    _pin_threads()
    make_env = lambda: stori_envs.make("CartPole-v1", None)  # noqa: E731
    ppo = SB3PPO(PPOConfig(seed=0))
    ppo.learn(make_env, 10_000)
    seeds = list(range(10_000, 10_000 + episodes))
    rows = []
    for name, agent in (("SB3 PPO (trained 10k steps)", ppo), ("PD controller", CartPolePD())):
        batched = [(r.seed, r.ret, r.length) for r in evaluate(agent, make_env, seeds, slots)]
        assert batched == one_at_a_time(agent, make_env, seeds), "the two loops must play the same episodes"
        steps = sum(r[2] for r in batched)
        cases = [Case("batched", lambda n, a=agent: evaluate(a, make_env, seeds, slots)),
                 Case("one at a time", lambda n, a=agent: one_at_a_time(a, make_env, seeds))]
        times = time_interleaved(cases, 1, repeats, clock=time.process_time)
        fast, slow = best(times["batched"]), best(times["one at a time"])
        rows.append([name, episodes, steps, f"{episodes / slow:.1f}", f"{episodes / fast:.1f}",
                     f"{slow / fast:.2f}x"])
    return rows


def sweep_suite(tmp: Path, name: str, ppo_steps: int, seeds: int) -> Path:
    text = f"""
name = "{name}"
seeds = {seeds}
eval_episodes = 5
n_envs = 5
[[envs]]
name = "cartpole"
id = "CartPole-v1"
score_range = [0, 500]
[envs.variants]
"3.1" = {{}}
[envs.variants."1 p=0.2".profile]
stochasticity_type = "1"
"intrinsic_stochasticity.action_dependent.stochastic_action_prob" = 0.2
[[agents]]
agent = "random"
[[agents]]
label = "pd"
agent = "cartpole-pd"
"""
    if ppo_steps:
        text += f"""
[[agents]]
label = "ppo"
agent = "sb3-ppo"
train_steps = {ppo_steps}
"""
    path = tmp / f"{name}.toml"
    path.write_text(text)
    return path


def measure_sweeps(tmp: Path, ppo_steps: int, seeds: int) -> list[list[object]]:
    from benchmarks.evaluation.backends import run_suite
    from benchmarks.evaluation.suites import load_suite

    suite = load_suite(sweep_suite(tmp, "scaling", ppo_steps, seeds))
    rows = []
    for workers in (1, 2, 1, 2):  # interleaved: both see the same drifting load
        load = os.getloadavg()[0]
        summary = run_suite(suite, tmp / f"w{workers}-{time.monotonic_ns()}", workers=workers, progress=False)
        rows.append([workers, summary.cells, f"{summary.seconds:.1f}", f"{summary.cells / summary.seconds * 60:.1f}",
                     f"{load:.1f}"])
    return rows


def measure_ray(tmp: Path, seeds: int) -> list[list[object]]:
    import ray

    from benchmarks.evaluation.backends import run_suite
    from benchmarks.evaluation.suites import load_suite

    suite = load_suite(sweep_suite(tmp, "overhead", 0, seeds))
    local = run_suite(suite, tmp / "local", workers=2, progress=False)
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    started = time.perf_counter() - start
    try:
        remote = run_suite(suite, tmp / "ray", backend="ray", workers=2, progress=False)
    finally:
        ray.shutdown()
    per_cell = (remote.seconds - local.seconds) / remote.cells
    return [[remote.cells, f"{local.seconds:.1f}", f"{remote.seconds:.1f}", f"{per_cell * 1000:.0f} ms",
             f"{started:.1f}", f"{os.getloadavg()[0]:.1f}"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=32)
    parser.add_argument("--slots", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ppo-steps", type=int, default=3000, help="training budget of the sweep's PPO cells")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--skip", nargs="*", default=[], choices=("evaluation", "sweep", "ray"))
    args = parser.parse_args(argv)
    emit(f"Machine: {machine_description()}; load average at start {os.getloadavg()[0]:.1f}")
    emit(f"Command: `{command_line()}`")
    emit()
    if "evaluation" not in args.skip:
        emit(markdown_table(["policy", "episodes", "steps", "one at a time (ep/s)", f"batched, {args.slots} slots "
                             "(ep/s)", "speed-up"], measure_evaluation(args.episodes, args.slots, args.repeats)))
        emit()
    with tempfile.TemporaryDirectory() as tmp:
        if "sweep" not in args.skip:
            emit(markdown_table(["workers", "cells", "wall s", "cells/min", "load avg at start"],
                                measure_sweeps(Path(tmp), args.ppo_steps, args.seeds)))
            emit()
        if "ray" not in args.skip:
            emit(markdown_table(["cells", "local wall s (2 workers)", "Ray wall s (2 CPUs)", "Ray overhead per cell",
                                 "ray.init s", "load avg"], measure_ray(Path(tmp), args.seeds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
