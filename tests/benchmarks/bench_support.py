"""Tiny suites for the evaluation-loop tests (written to a temporary folder), and store readers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

ACTION = ('{ profile = { stochasticity_type = "1", '
          '"intrinsic_stochasticity.action_dependent.stochastic_action_prob" = 0.2 } }')


def tiny_suite(tmp: Path, name: str = "tiny", *, seeds: int = 2, episodes: int = 3, ppo_steps: int = 0,
               extra: str = "") -> Path:
    """CartPole (3.1 and type 1) with random and the PD controller, optionally a tiny PPO; returns the file."""
    text = f"""
name = "{name}"
description = "a tiny suite for tests"
seeds = {seeds}
eval_episodes = {episodes}
n_envs = 2
{extra}

[[envs]]
name = "cartpole"
id = "CartPole-v1"
score_range = [0, 500]
crash = "terminated"
[envs.variants]
"3.1" = {{}}
"1 p=0.2" = {ACTION}

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
config = {{ n_envs = 2, n_steps = 64, batch_size = 64, n_epochs = 2 }}
"""
    path = tmp / f"{name}.toml"
    path.write_text(text)
    return path


def episode_table(store_path: Path) -> list[tuple]:
    """Every stored episode as (cell, variant, idx, seed, return, length, cost, crash), sorted."""
    conn = sqlite3.connect(store_path)
    try:
        return sorted(conn.execute("SELECT cell, variant, idx, seed, ret, length, cost, crash FROM episodes"))
    finally:
        conn.close()


def cell_status(store_path: Path) -> dict[str, str]:
    conn = sqlite3.connect(store_path)
    try:
        return dict(conn.execute("SELECT key, status FROM cells"))
    finally:
        conn.close()
