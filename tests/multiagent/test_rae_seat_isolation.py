"""Regressions: PSRO members are never shared between batch rows or seats; non-symmetric RL PSRO runs.

1. A ``PopulationAgent`` row's actions depend only on (agent seed, episode seed) and its observations,
   not on which other episodes share the batch (members used to be one object for all rows).
2. Symmetric PSRO gives each seat its own member objects (they used to be the same objects), so
   acting for one seat never moves the other seat's random draws.
3. Non-symmetric PSRO with the tabular RL oracle on the crossing game used to fail with
   ``a and p must have same size``: seat 1's oracle saw seat 0's population already grown by this
   iteration's best response, next to the previous (shorter) meta-strategy.
"""

from __future__ import annotations

import numpy as np
import pytest

from agents.rae.checkpoint import policy_to_dict
from agents.rae.oracles import ExactMatrixOracle, Opponents, TabularMCOracle, TabularPolicy
from agents.rae.policy import PopulationAgent, PopulationConfig
from agents.rae.psro import PSRO, PSROConfig
from stori_envs.multiagent import CrossingEnv, GoPolicy, MatrixGameEnv, UniformRandomPolicy, YieldPolicy


def lockstep(agents: dict[str, PopulationAgent], seeds: list[int], deterministic: bool = False) -> list[list]:
    """Play one crossing episode per seed side by side, each seat agent acting on the whole batch.

    Returns, per row, the list of joint actions of its episode. Finished rows stay in the batch (with
    their last observation) like slots of a vector env; their actions are ignored.
    """
    envs = [CrossingEnv(rho=0.0) for _ in seeds]
    obs = [env.reset(seed=s)[0] for env, s in zip(envs, seeds)]
    for agent in agents.values():
        agent.on_episode_start(np.arange(len(seeds)), np.asarray(seeds))
    traces: list[list] = [[] for _ in seeds]
    while any(env.agents for env in envs):
        acts = {seat: agent.act(np.stack([o[seat] for o in obs]), deterministic) for seat, agent in agents.items()}
        for row, env in enumerate(envs):
            if env.agents:
                joint = {seat: int(acts[seat][row]) for seat in env.agents}
                traces[row].append(joint)
                nxt, *_ = env.step(joint)
                obs[row] = {**obs[row], **nxt}
    return traces


def seat_agents(seed: int) -> dict[str, PopulationAgent]:
    # Mostly the stochastic member, so several rows play the same (random) member object.
    return {"player_0": PopulationAgent(PopulationConfig(seed=seed, sigma=(0.8, 0.2)),
                                        [UniformRandomPolicy(3), YieldPolicy()]),
            "player_1": PopulationAgent(PopulationConfig(seed=seed + 1, sigma=(0.7, 0.3)),
                                        [UniformRandomPolicy(3), GoPolicy()])}


@pytest.mark.parametrize("deterministic", [False, True])
def test_population_agent_rows_do_not_depend_on_the_batch(deterministic):
    alone = lockstep(seat_agents(7), [11], deterministic)[0]
    batched = lockstep(seat_agents(7), [3, 11, 5, 8, 13, 21], deterministic)
    assert batched[1] == alone
    assert lockstep(seat_agents(7), [21, 8, 11], deterministic)[2] == alone  # another row, other neighbours
    assert len(alone) > 2 and any(a["player_0"] != 0 for a in alone)  # a real, varied episode
    # The agent's own member objects are never acted on (they are the saved policies).
    agents = seat_agents(7)
    lockstep(agents, [1, 2], deterministic)
    assert all(m.rng is None for a in agents.values() for m in a.members if isinstance(m, UniformRandomPolicy))


def test_symmetric_psro_gives_each_seat_its_own_members():
    cfg = PSROConfig(symmetric=True, max_iters=2, episodes_per_cell=6, meta_iters=100, seed=4)
    initial = UniformRandomPolicy(3)
    psro = PSRO(CrossingEnv, [initial], TabularMCOracle(60, features=(0, 1, 2, 3, 4)), cfg)
    psro._evaluate_cells()
    # Cell (0, 0): the two seats draw from their own streams, exactly as two distinct uniform policies do.
    apart = PSRO(CrossingEnv, [UniformRandomPolicy(3), UniformRandomPolicy(3)], ExactMatrixOracle(),
                 PSROConfig(episodes_per_cell=6, seed=4))
    apart._evaluate_cells()
    np.testing.assert_array_equal(psro.cells[(0, 0)].returns, apart.cells[(0, 0)].returns)
    res = psro.run()
    a, b = res.populations
    assert len(a) == len(b) == 3 and a == b and isinstance(a[1], TabularPolicy)
    assert all(x is not y for x in a for y in b) and all(x is not initial for x in a + b)
    # Agents of the two seats built from the result: acting for seat 0 never moves seat 1's draws.
    sigma = (1.0, 0.0, 0.0)  # play the stochastic member

    def agents():
        return [PopulationAgent(PopulationConfig(seed=s, sigma=sigma), res.populations[s]) for s in (0, 1)]

    reference = agents()[1]
    reference.on_episode_start(np.array([0]), np.array([9]))
    want = [int(reference.act(np.zeros((1, 6)), False)[0]) for _ in range(40)]
    seat0, seat1 = agents()
    seat0.on_episode_start(np.array([0]), np.array([9]))
    seat1.on_episode_start(np.array([0]), np.array([9]))
    got = []
    for _ in range(40):
        seat0.act(np.zeros((1, 6)), False)
        got.append(int(seat1.act(np.zeros((1, 6)), False)[0]))
    assert got == want


def test_symmetric_psro_resume_keeps_seats_apart(tmp_path):
    cfg = PSROConfig(symmetric=True, max_iters=1, episodes_per_cell=2, meta_iters=50)
    PSRO(CrossingEnv, [UniformRandomPolicy(3)], TabularMCOracle(30), cfg, checkpoint=tmp_path / "r.npz").run()
    resumed = PSRO.resume(tmp_path / "r.npz", CrossingEnv, TabularMCOracle(30))
    a, b = resumed.populations
    assert a == b and a is not b and all(x is not y for x in a for y in b)


class SpyOracle(TabularMCOracle):
    """Records, per call, the seat and the size of the opponents' population it was given."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, int]] = []

    def best_response(self, env_fn, seat, opponents, seed):
        self.calls.append((seat, *(len(m) for m, _ in opponents.seats.values())))
        return super().best_response(env_fn, seat, opponents, seed)


def test_non_symmetric_rl_psro_on_the_crossing_game():
    def run():
        oracle = SpyOracle(80, features=(0, 1, 2, 3, 4))
        cfg = PSROConfig(gamma=1.0, max_iters=2, episodes_per_cell=3, meta_iters=100, seed=2)
        return PSRO(CrossingEnv, [UniformRandomPolicy(3), YieldPolicy()], oracle, cfg).run(), oracle

    res, oracle = run()
    # Both seats respond, within an iteration, to the same (previous) populations and meta-strategies.
    assert oracle.calls == [("player_0", 1), ("player_1", 1), ("player_0", 2), ("player_1", 2)]
    assert res.stop_reason == "max_iters" and [len(p) for p in res.populations] == [3, 3]
    assert [len(s) for s in res.sigma] == [3, 3] and all(s.sum() == pytest.approx(1.0) for s in res.sigma)
    assert all(isinstance(m, TabularPolicy) and m.n == 3 for p in res.populations for m in p[1:])
    assert res.tables[0].shape == res.tables[1].shape == (3, 3)
    assert set(res.history[0].oracle_curves) == {"player_0", "player_1"}
    again, _ = run()
    stored = [[policy_to_dict(m) for m in p] for p in res.populations]  # scripted policies compare by identity
    assert [[policy_to_dict(m) for m in p] for p in again.populations] == stored
    assert all(np.array_equal(s, t) for s, t in zip(again.sigma, res.sigma))


def test_opponents_refuse_a_meta_strategy_of_the_wrong_length():
    members = [UniformRandomPolicy(2), UniformRandomPolicy(2)]
    with pytest.raises(ValueError, match=r"opponents\['player_1'\]: got 2 members for a meta-strategy of length 1"):
        Opponents({"player_1": (members, np.array([1.0]))})
    # The opponents are a snapshot: growing the caller's list later does not change them.
    opp = Opponents({"player_1": (members, np.array([0.5, 0.5]))})
    members.append(UniformRandomPolicy(2))
    assert len(opp.seats["player_1"][0]) == 2
    assert opp.sample(np.random.default_rng(0))["player_1"] in members[:2]
    env = MatrixGameEnv("crash")
    assert ExactMatrixOracle().best_response(lambda: env, "player_0", opp, np.random.SeedSequence(0)).policy.n == 2
