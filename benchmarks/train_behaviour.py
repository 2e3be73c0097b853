"""Train the SAC behaviour policies of the continuous-control dataset tiers, once.

Exports the actor every ``--every`` steps to safetensors, evaluates it (the rebuilt numpy actor,
stochastic with seeded noise: exactly how the dataset tiers act), and at the end copies the
checkpoints the tiers need into ``stori_envs/datasets/behaviour/checkpoints/<env>/``:

* ``expert``: of the ``--confirm-top`` checkpoints with the best evaluated returns, the one with the best
  return over ``--confirm-episodes`` fresh episodes (a second look: the first is 5 noisy episodes);
* ``medium``: the one closest to ``random + (expert - random) / 3`` (D4RL's "about 1/3");
* ``replay-*``: up to three checkpoints before ``medium`` (the ``medium-replay`` tier rolls them out),

with ``manifest.json`` recording the command, the budget, every evaluation and the choices.
``--select-only`` makes the choice from the log of a run that was stopped early (the budget then
records the plan and ``steps_done`` what was trained).
SB3 seeds its own (global) generators here; that is training, run once, never in a dataset build.

    nice -n 10 python benchmarks/train_behaviour.py --env Pendulum-v1 --steps 15000 --every 1000
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

from benchmarks.common import emit
from stori_envs.datasets.behaviour.actor import SquashedGaussianActor, export_sb3_actor

CONFIRM_SEED = 20_000  # the expert's second evaluation: episodes disjoint from the first (10_000..) and the data's
CHECKPOINTS = Path(__file__).resolve().parents[1] / "stori_envs" / "datasets" / "behaviour" / "checkpoints"

#: Per-environment SAC settings; defaults follow rl-baselines3-zoo's hyperparams/sac.yml where it has them.
SETTINGS = {
    "Pendulum-v1": {"learning_rate": 1e-3, "learning_starts": 200, "net_arch": [64, 64]},
    "InvertedDoublePendulum-v5": {"learning_rate": 1e-3, "learning_starts": 1000, "net_arch": [64, 64]},
    "Hopper-v5": {"learning_rate": 3e-4, "learning_starts": 5000, "net_arch": [256, 256]},
}


def evaluate(actor: SquashedGaussianActor, env_id: str, episodes: int, seed: int) -> float:
    """Mean return of ``actor`` (stochastic, seeded per episode) over ``episodes`` episodes."""
    env = gym.make(env_id)
    returns = []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        rng = np.random.default_rng([seed, i])
        total, done = 0.0, False
        while not done:
            action, _ = actor.act(obs[None], rng)
            obs, reward, term, trunc, _ = env.step(action[0])
            total += float(reward)
            done = term or trunc
        returns.append(total)
    env.close()
    return float(np.mean(returns))


def random_return(env_id: str, episodes: int, seed: int) -> float:
    env = gym.make(env_id)
    env.action_space.seed(seed)
    returns = []
    for i in range(episodes):
        env.reset(seed=seed + i)
        total, done = 0.0, False
        while not done:
            _, reward, term, trunc, _ = env.step(env.action_space.sample())
            total += float(reward)
            done = term or trunc
        returns.append(total)
    return float(np.mean(returns))


def select(args: argparse.Namespace, work: Path, log: list[dict], seconds: float) -> None:
    """Choose expert, medium and replay checkpoints from the evaluation ``log`` and copy them into the package."""
    trained = [e for e in log if e["file"]]
    r_random = log[0]["return"]
    # A maximum over noisy 5-episode evaluations favours a lucky checkpoint: the best few are evaluated
    # again on more, fresh episodes and the expert is the best of that second look.
    top = sorted(trained, key=lambda e: e["return"], reverse=True)[:args.confirm_top]
    for e in top:
        if e.get("confirm_return") is None:
            e["confirm_return"] = evaluate(SquashedGaussianActor.load(work / e["file"]), args.env,
                                           args.confirm_episodes, CONFIRM_SEED)
            emit(f"confirm step {e['step']}: {e['return']:.1f} -> {e['confirm_return']:.1f}")
    expert = max(top, key=lambda e: e["confirm_return"])
    target = r_random + (expert["confirm_return"] - r_random) / 3
    before = [e for e in trained if e["step"] < expert["step"]] or trained
    medium = min(before, key=lambda e: abs(e["return"] - target))
    earlier = [e for e in trained if e["step"] < medium["step"]]
    replay = [earlier[int(i)] for i in np.unique(np.linspace(0, len(earlier) - 1, 3).round())] if earlier else []
    out = CHECKPOINTS / args.env
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    chosen = {"expert": expert, "medium": medium, **{f"replay-{i}": e for i, e in enumerate(replay)}}
    for name, e in chosen.items():
        shutil.copy(work / e["file"], out / f"{name}.safetensors")
    manifest = {"env_id": args.env, "algorithm": "SAC (stable-baselines3)", "settings": SETTINGS[args.env],
                "budget": args.steps, "steps_done": trained[-1]["step"], "seed": args.seed,
                "command": f"nice -n 10 python benchmarks/train_behaviour.py --env {args.env} --steps {args.steps} "
                           f"--every {args.every}",
                "stopped_early": trained[-1]["step"] < (args.steps or 0),
                "eval": {"episodes": args.eval_episodes, "seed": 10_000, "policy": "stochastic, seeded"},
                "confirm": {"top": args.confirm_top, "episodes": args.confirm_episodes, "seed": CONFIRM_SEED,
                            "expert_return": expert["confirm_return"]},
                "random_return": r_random, "medium_target": target, "train_seconds": round(seconds),
                "chosen": {k: {"step": e["step"], "return": e["return"],
                               **({"confirm_return": e["confirm_return"]} if "confirm_return" in e else {})}
                           for k, e in chosen.items()},
                "log": log}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    emit(json.dumps(manifest["chosen"], indent=1))


def table() -> str:
    """The Markdown table of docs/datasets.md from the committed manifests (the expert's confirmed return)."""
    rows = ["| env | SAC settings | budget (steps trained) | train time | random | medium (step) | expert (step) |",
            "|---|---|---|---|---|---|---|"]
    for path in sorted(CHECKPOINTS.glob("*/manifest.json")):
        m = json.loads(path.read_text())
        c = m["chosen"]
        done = m.get("steps_done", m["budget"])
        rows.append(f"| {m['env_id']} | lr {m['settings']['learning_rate']}, net {m['settings']['net_arch']}, "
                    f"learning_starts {m['settings']['learning_starts']} | {m['budget']:,} ({done:,}) | "
                    f"{m['train_seconds'] / 60:.0f} min | {m['random_return']:.1f} | "
                    f"{c['medium']['return']:.1f} ({c['medium']['step']:,}) | "
                    f"{c['expert'].get('confirm_return', c['expert']['return']):.1f} ({c['expert']['step']:,}) |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", choices=sorted(SETTINGS))
    p.add_argument("--steps", type=int)
    p.add_argument("--every", type=int)
    p.add_argument("--table", action="store_true", help="print the checkpoints' table (docs/datasets.md) and exit")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-episodes", type=int, default=5)
    p.add_argument("--confirm-top", type=int, default=5, help="checkpoints re-evaluated to choose the expert")
    p.add_argument("--confirm-episodes", type=int, default=20, help="episodes of that second evaluation")
    p.add_argument("--workdir", default="results/behaviour")
    p.add_argument("--select-only", action="store_true",
                   help="no training: choose the checkpoints from an interrupted run's log in --workdir")
    args = p.parse_args(argv)
    if args.table:
        emit(table())
        return 0
    if args.env is None or (not args.select_only and (args.steps is None or args.every is None)):
        p.error("--env, --steps and --every are required (or --table / --select-only)")
    if args.select_only:
        work = Path(args.workdir) / args.env
        log = json.loads((work / "log.json").read_text())
        select(args, work, log, log[-1].get("seconds", 0))
        return 0

    import torch
    from stable_baselines3 import SAC
    from stable_baselines3.common.callbacks import BaseCallback

    torch.set_num_threads(1)
    cfg = SETTINGS[args.env]
    work = Path(args.workdir) / args.env
    work.mkdir(parents=True, exist_ok=True)
    log: list[dict] = []
    eval_seed = 10_000  # evaluation episodes are disjoint from the dataset seeds (0..)
    r_random = random_return(args.env, 20, eval_seed)
    log.append({"step": 0, "return": r_random, "file": None})
    emit(f"random: {r_random:.1f}")
    start = time.time()

    class Export(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps % args.every == 0:
                path = export_sb3_actor(self.model, work / f"step{self.num_timesteps:07d}.safetensors",
                                        env_id=args.env, step=self.num_timesteps, seed=args.seed)
                ret = evaluate(SquashedGaussianActor.load(path), args.env, args.eval_episodes, eval_seed)
                log.append({"step": self.num_timesteps, "return": ret, "file": path.name,
                            "seconds": round(time.time() - start, 1)})
                (work / "log.json").write_text(json.dumps(log, indent=1))
                emit(f"{args.env} step {self.num_timesteps}: return {ret:.1f} ({time.time() - start:.0f}s)")
            return True

    model = SAC("MlpPolicy", gym.make(args.env), learning_rate=cfg["learning_rate"],
                learning_starts=cfg["learning_starts"], policy_kwargs={"net_arch": cfg["net_arch"]},
                seed=args.seed, device="cpu", verbose=0)
    model.learn(args.steps, callback=Export())

    select(args, work, log, time.time() - start)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
