"""``stori-envs agents train|evaluate``: train an offline agent on a dataset, evaluate a saved agent.

    stori-envs agents train td3bc --dataset stori/medsepsis/clinician-v0 --steps 100000 --seed 0 --out runs/td3bc
    stori-envs agents evaluate runs/td3bc --env stori/MedSepsis-v0 --episodes 50 --seed 1000

``train`` resumes when ``--out`` already holds a checkpoint of the same agent (same config), ending with
the same weights as an uninterrupted run. ``--set key=value`` overrides config fields (JSON values).
``--dataset rollouts:ENV_ID:TIER:EPISODES`` builds a small dataset from rollouts instead of loading one
(``TIER``: a MedSepsis policy tier such as ``clinician``, or ``random`` for any environment).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from stori_envs.taxonomy.validation import field_error


def add_parser(subparsers: Any) -> None:
    """Add the ``agents`` command group to the ``stori-envs`` parser."""
    group = subparsers.add_parser("agents", help="train and evaluate offline agents")
    sub = group.add_subparsers(dest="agents_command", required=True)
    p = sub.add_parser("train", help="train an offline agent (resumes from --out)")
    p.add_argument("agent", help="registered agent name (bc, bc-safe, td3bc, iql, a2pr, ogsrl, ...)")
    p.add_argument("--dataset", required=True, help="dataset name (stori_envs.datasets) or rollouts:ENV:TIER:EPISODES")
    p.add_argument("--steps", type=int, required=True, help="total training steps (gradient steps; OGSRL iterations)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="directory for checkpoints and the final agent")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override (JSON value)")
    p.add_argument("--eval-env", help="environment id for periodic evaluation (every eval_every steps)")
    p.add_argument("--eval-episodes", type=int, default=10)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_train)
    p = sub.add_parser("evaluate", help="evaluate a saved agent; prints a JSON summary")
    p.add_argument("path", help="directory of a saved agent")
    p.add_argument("--env", required=True, help="environment id")
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--seed", type=int, default=0, help="episode i is reset with seed + i")
    p.set_defaults(func=_evaluate)


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["alpha=2.5", "actor_hidden=[64,64]"]`` -> ``{"alpha": 2.5, "actor_hidden": [64, 64]}``."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise field_error("--set", item, "KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value  # a bare string such as tie_rule=code
    return out


def load_dataset(name: str):
    """A dataset by name, or ``rollouts:ENV_ID:TIER:EPISODES`` built from policy rollouts."""
    if name.startswith("rollouts:"):
        parts = name.split(":")
        if len(parts) != 4 or not parts[3].isdigit():
            raise field_error("--dataset", name, "rollouts:ENV_ID:TIER:EPISODES (e.g. rollouts:stori/MedSepsis-v0:"
                              "clinician:200)")
        return rollout_dataset(parts[1], parts[2], int(parts[3]))
    from stori_envs import datasets

    loader = getattr(datasets, "load_transitions", None)
    if loader is None:
        raise ValueError(f"--dataset: got {name!r}; allowed: rollouts:ENV:TIER:EPISODES (this installation has no "
                         "stori_envs.datasets.load_transitions)")
    return loader(name)


def rollout_dataset(env_id: str, tier: str, episodes: int, seed: int = 10_000):
    """``episodes`` episodes of a MedSepsis policy tier (or uniform random actions) from seeds ``seed + i``."""
    import gymnasium as gym
    import numpy as np

    from agents.offline.data import rollout_transitions

    if tier == "random":
        env = gym.make(env_id)
        space = env.action_space
        env.close()
        rng = np.random.default_rng(seed)
        policy = lambda obs: rng.uniform(space.low, space.high).astype(np.float32)  # noqa: E731
    else:
        from stori_envs.medical.policies import make_policy

        policy = make_policy(tier, seed=seed)
    return rollout_transitions(env_id, policy, range(seed, seed + episodes), dataset_id=f"rollouts:{env_id}:{tier}")


def _train(args: argparse.Namespace) -> int:
    from agents.interface import agent_class, load_agent
    from agents.offline.evaluation import evaluate_agent

    cls = agent_class(args.agent)
    overrides = parse_overrides(args.set)
    config = cls.config_class.from_dict({**overrides, "seed": args.seed})
    out = Path(args.out)
    if (out / "agent.json").exists():
        agent = load_agent(out)
        if agent.name != cls.name or agent.config != config:
            raise ValueError(f"--out: got {out}, which holds a {agent.name!r} agent with config "
                             f"{agent.config_dict()}; allowed: the same agent and config (to resume) or a new "
                             "directory")
        print(f"resuming {cls.name} from step {agent.total_steps}", file=sys.stderr)
    else:
        agent = cls(config)
    data = load_dataset(args.dataset)
    evaluator = None
    if args.eval_env:
        evaluator = lambda a: evaluate_agent(a, args.eval_env, args.eval_episodes, seed=10**6)  # noqa: E731
    history = agent.fit(data, args.steps, out=out, evaluator=evaluator, progress=not args.no_progress)
    last = history["train"][-1] if history["train"] else {}
    print(json.dumps({"agent": cls.name, "out": str(out), "total_steps": agent.total_steps, "last_log": last,
                      "last_eval": history["eval"][-1] if history["eval"] else None}, indent=2))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from agents.interface import load_agent
    from agents.offline.evaluation import evaluate_agent

    if args.episodes < 1:
        raise field_error("--episodes", args.episodes, "an integer >= 1")
    agent = load_agent(args.path)
    summary = evaluate_agent(agent, args.env, args.episodes, seed=args.seed)
    print(json.dumps({"agent": agent.name, "path": args.path, **summary}, indent=2))
    return 0
