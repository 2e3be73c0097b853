"""Type 0: the RAM after each step's last frame, plus decoded fields that agree with the game."""

from __future__ import annotations

import numpy as np
import pytest
from atari_support import bcd, breakout_tracker, make, random_policy, score

# field -> how the spec reads it from RAM (and ALE), typed independently of the implementation.
SPEC_FIELDS = {
    "Breakout": {"ball_x": lambda r, a: r[99], "ball_y": lambda r, a: r[101], "paddle_x": lambda r, a: r[72],
                 "lives": lambda r, a: a.lives(), "score": lambda r, a: score(r, (76, 77))},
    "Boxing": {"player_x": lambda r, a: r[32], "player_y": lambda r, a: r[34], "enemy_x": lambda r, a: r[33],
               "enemy_y": lambda r, a: r[35], "player_score": lambda r, a: bcd(r[18]),
               "enemy_score": lambda r, a: bcd(r[19]), "clock": lambda r, a: 60 * (r[16] >> 4) + bcd(r[17])},
    "Gopher": {"farmer_x": lambda r, a: r[31], "carrots": lambda r, a: bin(r[52] & 7).count("1"),
               "score": lambda r, a: score(r, (48, 49, 50)), "seed_x": lambda r, a: r[95],
               "seed_y": lambda r, a: r[92], "duck": lambda r, a: r[94], "lives": lambda r, a: a.lives(),
               "tunnels_dug": lambda r, a: int(np.unpackbits(r[:24]).sum())},
    "BankHeist": {"car_x": lambda r, a: r[28], "car_y": lambda r, a: r[8], "maze": lambda r, a: r[0] % 4,
                  "city": lambda r, a: r[0], "fuel": lambda r, a: r[86], "bomb": lambda r, a: r[12],
                  "banks": lambda r, a: sum(r[s] == 253 for s in (24, 25, 26)),
                  "police": lambda r, a: sum(r[s] == 254 for s in (24, 25, 26)), "lives": lambda r, a: a.lives(),
                  "score": lambda r, a: score(r, (88, 89, 90))},
}
N_ACTIONS = {"Breakout": 4, "Boxing": 18, "Gopher": 8, "BankHeist": 18}


@pytest.mark.parametrize("game", list(SPEC_FIELDS))
def test_state_observation_decodes_the_ram(game):
    env = make(game, "T0")
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs) and set(obs) == {"ram", *SPEC_FIELDS[game]}
    policy = breakout_tracker(0) if game == "Breakout" else random_policy(N_ACTIONS[game])
    total = 0.0
    for _ in range(600):
        obs, reward, term, trunc, info = env.step(policy(env))
        total += reward
        ale = env.unwrapped.ale
        ram = ale.getRAM()
        assert env.observation_space.contains(obs) and np.array_equal(obs["ram"], ram)
        for name, read in SPEC_FIELDS[game].items():
            assert obs[name][0] == int(read(ram, ale)), name
        net = obs["player_score"][0] - obs["enemy_score"][0] if game == "Boxing" else obs["score"][0]
        assert net == total
        if term or trunc:
            break
    assert total != 0


def test_ram_observation_is_the_ram_after_the_last_frame_and_costs_no_screen():
    env = make("Breakout", "T0", obs_type="ram")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (128,) and obs.dtype == np.uint8
    for _ in range(20):
        obs, *_ = env.step(1)
        assert np.array_equal(obs, env.unwrapped.ale.getRAM())
    env = make("Boxing", None, obs_type="ram")  # any type can observe the RAM (except 3.2)
    assert env.reset(seed=0)[0].shape == (128,)


def test_state_labels_describe_every_field():
    env = make("BankHeist", "T0")
    labels = env.unwrapped.state_labels()
    assert set(labels) == set(SPEC_FIELDS["BankHeist"]) and all(labels.values())
