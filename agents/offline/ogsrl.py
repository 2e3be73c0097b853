"""OGSRL-style offline guarded safe RL (Yan et al., NeurIPS 2025; spec medical.md 4.2-4.3).

From a dataset that carries costs, in order:

1. **Split** episodes into a training split and a held-out split (``holdout_fraction``); everything below
   is fitted on the training split only (normalisers, guardian, model, limits).
2. **Normalise** s and a per column onto [-1, 1] (min/max of the training split), saved with the agent.
3. **Guardian**: a KDE (or k-NN) density on normalised (s, a) with a leave-one-out ``alpha``-quantile
   threshold (:mod:`agents.offline.guardian`).
4. **Guarded model**: the 1-NN lookup of logged transitions (action columns weighted by
   ``model_action_weight`` in its distance; ``model="1nn"``, OGSRL's), or the spec's optional learned ensemble
   (``model="ensemble"``: :mod:`agents.offline.dynamics`, E Gaussian MLPs for the state change with reward, cost
   and termination heads, trained once on the training split and saved with the agent). A query (s, a)
   flagged by the guardian -- or, for the 1-NN model, whose nearest logged row is itself flagged -- is OOD:
   OOD cost 1, reward r_min - kappa (r_max - r_min), the physiological cost of the steps the exit cuts off
   (``ood_phys_cost`` x the data's mean per-step cost each, so leaving the support saves no cost), and
   termination (``ood_mode="terminate"``) or a frozen, penalised state (``"freeze"``). Otherwise the model's
   (s', r, cost, terminal): the logged ones of the match, or the ensemble's draw. Rollouts start from logged
   step-0 states.
5. **PPO-Lagrangian** with two constraints: physiological cost J_phys <= c_phys (the training split's mean
   discounted episode cost, x ``phys_limit_scale``) and OOD cost J_ood <= c_ood (``ood_limit``: the data's
   own discounted exit rate, default, or the spec's beta gamma^(H-1)). One multiplier
   per constraint, projected gradient on the raw estimates (J_c - c); the policy advantage is
   (A_r - sum lambda_j A_cj) / (1 + sum lambda_j).

One ``fit`` step is one PPO iteration (``rollouts_per_iter`` model rollouts, then the update).
Ablations: ``guardian="none"`` (unguarded MB-PPO-Lag), ``ood_constraint=False`` (guardian as a reward
penalty and termination only).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from agents.interface import register_agent
from agents.offline.base import OfflineBase, OfflineConfig, torch_threads
from agents.offline.data import Normalizer, episode_sums
from agents.offline.dynamics import EnsembleModel
from agents.offline.guardian import KINDS, DensityGuardian, SupportGuard
from agents.offline.nets import ActionScale, GaussianActor, ValueNet, adam, init_, mlp
from stori_envs.datasets.transitions import Transitions

SIGNALS = ("reward", "cost_phys", "cost_ood")


@dataclasses.dataclass(frozen=True)
class OGSRLConfig(OfflineConfig):
    normalize_obs: str = "minmax"  # spec medical.md 4.2: per-column min/max onto [-1, 1]
    obs_norm_eps: float = 1e-6  # design (min/max ranges, not standard deviations)
    holdout_fraction: float = 0.2  # OGSRL splits 60/20/20 by patient; we keep train vs held-out
    guardian: str = "kde"  # spec 4.2: "kde", "knn" or "none" (unguarded ablation)
    bandwidth: float = 0.5  # spec 4.2 (OGSRL's released config: 0.535)
    guardian_alpha: float = 0.05  # spec 4.2 / OGSRL
    knn_k: int = 10  # spec 4.2
    max_reference: int = 20_000  # spec 4.2
    ood_mode: str = "terminate"  # spec 4.2 ("freeze" replicates OGSRL's rollouts)
    ood_kappa: float = 1.0  # spec 4.2: OOD reward r_min - kappa (r_max - r_min)
    # Physiological cost charged for each step an OOD exit cuts off (terminate: their discounted sum at the exit;
    # freeze: per frozen step), as a multiple of the training split's mean per-step cost. Design: without it an
    # exit truncates the episode's cost sum, so leaving the support *saves* physiological cost and the cost
    # constraint stops binding (measured on MedSepsis: the clinician policy run through the guarded model scores
    # J_phys 4.0 against its own 6.5). 1 = cost-neutral (the steps cut off cost what the data's steps cost on
    # average); the data's largest per-step cost / its mean is the pessimistic bound of Theorem 3; 0 = no charge.
    ood_phys_cost: float = 1.0
    # Weight of the action columns in the 1-NN model's distance (state columns weigh 1). OGSRL: 1 (plain 1-NN on
    # the normalised (s, a)); with 13 state columns against 2 action ones the match then hardly depends on the
    # action, so > 1 makes the model's outcome follow the action more closely (design knob, not in the paper).
    model_action_weight: float = 1.0
    model: str = "1nn"  # spec 4.2: "1nn" (model (a), OGSRL's) or "ensemble" (the spec's optional model (b))
    ensemble_size: int = 5  # spec 4.2 (b): E = 5
    ensemble_hidden: tuple[int, ...] = (200, 200)  # design (MBPO/MOPO: 4 x 200; 2 x 200 for a 13-D state)
    ensemble_steps: int = 3000  # design: about 37 epochs of the 20,910-row MedSepsis clinician data at batch 256
    ensemble_lr: float = 1e-3  # MBPO
    ood_constraint: bool = True  # spec 4.3: the OOD cost is its own constraint (False = reward-penalty ablation)
    ood_beta: float = 0.05  # spec 4.2: c_ood = beta gamma^(H-1) (ood_limit="beta")
    # "data": c_ood = the training split's own discounted OOD-exit rate (each logged episode scores gamma^t at its
    # first step the guardian flags, leave-one-out), i.e. "leave the support no more often than the data's own
    # episodes", as c_phys is "no more cost than the data". Design: the spec's beta gamma^(H-1) assumes
    # Pr(leave) <= beta is reachable, but a per-step flag rate alpha makes the data's own ~10-step episodes leave
    # with probability ~1 - (1 - alpha)^10 (MedSepsis clinician: J_ood 0.36 against beta gamma^(H-1) = 0.042),
    # so that limit is infeasible for the behaviour policy and its multiplier grows without bound.
    ood_limit: str = "data"
    phys_limit_scale: float = 1.0  # spec 4.2: c_phys = scale x clinician mean discounted cost (<1 tightens)
    phys_cost_limit: float | None = None  # absolute c_phys (overrides the scale)
    horizon: int | None = None  # None: the longest episode of the data (MedSepsis: 18)
    policy_hidden: tuple[int, ...] = (128, 128)  # OGSRL: Gaussian MLP 2 x 128 tanh
    value_hidden: tuple[int, ...] = (128, 128)  # design, as the policy
    log_std_init: float = -0.5  # OGSRL
    policy_lr: float = 3e-4  # design (common PPO default)
    value_lr: float = 1e-3  # design (common PPO default)
    gae_lambda: float = 0.95  # OGSRL
    rollouts_per_iter: int = 32  # OGSRL: 32 rollouts from logged initial states per iteration
    ppo_epochs: int = 10  # design (common PPO default)
    minibatches: int = 4  # design
    clip_ratio: float = 0.2  # design (PPO paper)
    target_kl: float = 0.01  # OGSRL max KL 0.01 (early stop at 1.5 x target)
    lagrange_lr: float = 0.05  # design
    log_every: int = 10  # design: iterations, not gradient steps
    checkpoint_every: int = 50  # design
    eval_every: int = 50  # design

    RULES = {"holdout_fraction": ("num", 0.0, 0.9), "guardian": ("choice", (*KINDS, "none")),
             "bandwidth": ("num", 0.0, 1e3, True), "guardian_alpha": ("num", 0.0, 0.5, True), "knn_k": ("int", 1),
             "max_reference": ("int", 2), "ood_mode": ("choice", ("terminate", "freeze")),
             "ood_kappa": ("num", 0.0, 1e3), "ood_phys_cost": ("num", 0.0, 1e3),
             "model_action_weight": ("num", 0.0, 1e3, True), "model": ("choice", ("1nn", "ensemble")),
             "ensemble_size": ("int", 1), "ensemble_hidden": ("widths",), "ensemble_steps": ("int", 1),
             "ensemble_lr": ("num", 0.0, 1.0, True), "ood_constraint": ("bool",), "ood_beta": ("num", 0.0, 1.0),
             "ood_limit": ("choice", ("data", "beta")),
             "phys_limit_scale": ("num", 0.0, 1e3), "phys_cost_limit": ("opt_num", 0.0, float("inf")),
             "horizon": ("opt_int",), "policy_hidden": ("widths",), "value_hidden": ("widths",),
             "log_std_init": ("num", -10.0, 2.0), "policy_lr": ("num", 0.0, 1.0, True),
             "value_lr": ("num", 0.0, 1.0, True), "gae_lambda": ("num", 0.0, 1.0), "rollouts_per_iter": ("int", 1),
             "ppo_epochs": ("int", 1), "minibatches": ("int", 1), "clip_ratio": ("num", 0.0, 1.0, True),
             "target_kl": ("num", 0.0, 10.0, True), "lagrange_lr": ("num", 0.0, 1e3)}


def data_exit_rate(data: Transitions, flagged: np.ndarray, gamma: float) -> float:
    """Mean over the logged episodes of gamma^t at the first flagged step (0 for an episode never flagged)."""
    episodes, inverse = np.unique(data.episode_ids, return_inverse=True)
    first = np.zeros(len(episodes))
    np.maximum.at(first, inverse[flagged], gamma ** data.timesteps[flagged].astype(np.float64))
    return float(first.mean())


class GuardedModel:
    """The guarded model on the training split, vectorised over a batch of rollouts (torch): the 1-NN lookup of
    logged transitions, or the learned ensemble (``config.model``), behind the same guardian."""

    def __init__(self, agent: OGSRL, data: Transitions) -> None:
        c, dev = agent.config, agent.config.device
        f32 = dict(dtype=torch.float32, device=dev)
        obs = torch.as_tensor(data.observations.reshape(len(data), -1), **f32)
        self.keys = torch.cat([agent.obs_norm(obs), agent.act_norm(torch.as_tensor(data.actions, **f32))], 1)
        # The lookup's own metric: action columns scaled by model_action_weight (the guardian keeps its own).
        self.weights = torch.ones(self.keys.shape[1], **f32)
        self.weights[obs.shape[1]:] = c.model_action_weight
        self.lookup = self.keys * self.weights
        self.next_obs = torch.as_tensor(data.next_observations.reshape(len(data), -1), **f32)
        self.rew = torch.as_tensor(data.rewards, **f32)
        self.cost = torch.as_tensor(data.costs, **f32)
        self.terminal = torch.as_tensor(data.terminals, dtype=torch.bool, device=dev)
        self.starts = obs[torch.as_tensor(data.timesteps == 0, device=dev)]
        if len(self.starts) == 0:
            raise ValueError("data.timesteps: got no step-0 rows in the training split; allowed: episodes that start"
                             " at timestep 0 (rollouts start from logged initial states)")
        span = float(data.rewards.max() - data.rewards.min())
        self.ood_reward = float(data.rewards.min()) - c.ood_kappa * span
        self.ood_step_cost = c.ood_phys_cost * float(data.costs.mean())  # charged per step an OOD exit cuts off
        self.guardian = agent.guardian
        # A logged row that the guardian itself flags (leave-one-out) makes its matches OOD too.
        if self.guardian is None:
            self.row_flag = torch.zeros(len(data), dtype=torch.bool, device=dev)
        else:
            self.row_flag = self.guardian.flags(self.keys, self._self_index())
        self.learned = agent.learned_model(self.keys, data) if c.model == "ensemble" else None

    def _self_index(self) -> torch.Tensor:
        """Each key's index in the guardian reference (-1 if not a reference point), for leave-one-out."""
        # Exact row identity (bytes), not a distance of 0: cdist's matmul form is not exact.
        where = {row.tobytes(): i for i, row in enumerate(self.guardian.reference.cpu().numpy())}
        found = [where.get(row.tobytes(), -1) for row in self.keys.cpu().numpy()]
        return torch.tensor(found, dtype=torch.long, device=self.keys.device)

    def step(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
        """``(next_obs, reward, phys_cost, terminal, ood)`` for normalised queries ``x`` = (s, a); the learned
        model draws its member, state noise and termination from ``generator``."""
        if self.learned is None:
            match = torch.cdist(x * self.weights, self.lookup).argmin(1)
            ood = self.row_flag[match]
            out = self.next_obs[match], self.rew[match], self.cost[match], self.terminal[match]
        else:
            if generator is None:
                raise ValueError("generator: got None; allowed: a torch.Generator (the learned model samples)")
            out = self.learned.step(x, generator)
            ood = torch.zeros(len(x), dtype=torch.bool, device=x.device)
        if self.guardian is not None:
            ood = ood | self.guardian.flags(x)
        return (*out, ood)


@register_agent("ogsrl")
class OGSRL(OfflineBase):
    """OGSRL-style agent: density guardian + guarded 1-NN model + two-constraint PPO-Lagrangian."""

    config_class = OGSRLConfig
    config: OGSRLConfig

    def __init__(self, config: OGSRLConfig | None = None, **overrides) -> None:
        super().__init__(config, **overrides)
        self.guardian: DensityGuardian | None = None
        self.act_norm: Normalizer | None = None

    # -- data --------------------------------------------------------------------------------------
    def split(self, data: Transitions) -> np.ndarray:
        """Boolean mask of the held-out rows: whole episodes, a seeded ``holdout_fraction`` of them."""
        episodes = np.unique(data.episode_ids)
        rng = np.random.default_rng(np.random.SeedSequence([self.config.seed, 0x0651]))
        n_out = int(round(self.config.holdout_fraction * len(episodes)))
        held = rng.permutation(episodes)[:n_out]
        return np.isin(data.episode_ids, held)

    def prepare_data(self, data: Transitions) -> Transitions:
        if data.costs is None:
            raise ValueError("data.costs: got None; allowed: a dataset that records info['cost'] (OGSRL)")
        return data.select(~self.split(data))

    def _fit_normalizer(self, train: Transitions) -> Normalizer:
        self.act_norm = Normalizer.fit(train.actions, "minmax", self.config.obs_norm_eps)
        self.extra_state.update(self.act_norm.state("act_norm"))
        return super()._fit_normalizer(train)

    def restore_extra(self, extra: dict[str, torch.Tensor]) -> None:
        super().restore_extra(extra)
        self.act_norm = Normalizer.from_state(extra, "act_norm")
        if "guardian.reference" in extra:
            self.guardian = DensityGuardian.from_state(extra)

    def learned_model(self, keys: torch.Tensor, train: Transitions) -> EnsembleModel:
        """The learned ensemble on the training split: restored from the agent's saved state, else trained once
        (from the ``init`` and ``sample`` streams) and kept in it, so a loaded or resumed agent rolls out the
        same model."""
        c = self.config
        loc, scale = self.obs_norm.loc.to(c.device), self.obs_norm.scale.to(c.device)
        shape = dict(hidden=c.ensemble_hidden, members=c.ensemble_size)
        if any(k.startswith("model.") for k in self.extra_state):
            return EnsembleModel.from_state(self.extra_state, keys.shape[1], loc, scale, **shape)
        f32 = dict(dtype=torch.float32, device=c.device)
        next_norm = self.obs_norm(torch.as_tensor(train.next_observations.reshape(len(train), -1), **f32))
        with torch.enable_grad(), torch_threads(c.threads):  # (before fit's own thread bound: bound it here too)
            model, losses = EnsembleModel.fit(
                keys, next_norm, torch.as_tensor(train.rewards, **f32), torch.as_tensor(train.costs, **f32),
                torch.as_tensor(train.terminals, device=c.device), loc, scale, steps=c.ensemble_steps,
                lr=c.ensemble_lr, batch_size=c.batch_size, init=self.generators["init"],
                sample=self.generators["sample"], **shape)
        # The model's training curve, saved with the agent's history: mean loss per tenth of its training.
        self.history["model"] = [{"fraction": (i + 1) / len(losses), "loss": loss} for i, loss in enumerate(losses)]
        self.extra_state.update(model.state())
        return model

    def _horizon(self, train: Transitions) -> int:
        return self.config.horizon or int(train.timesteps.max()) + 1

    def _make_data(self, train: Transitions) -> GuardedModel:
        c, g = self.config, self.generators["init"]
        if c.guardian != "none" and self.guardian is None:
            keys = torch.cat([self.obs_norm(torch.as_tensor(train.observations.reshape(len(train), -1))),
                              self.act_norm(torch.as_tensor(train.actions))], 1).to(c.device)
            self.guardian = DensityGuardian.fit(keys, c.guardian, alpha=c.guardian_alpha, bandwidth=c.bandwidth,
                                                k=c.knn_k, max_reference=c.max_reference, generator=g)
            self.extra_state.update(self.guardian.state())
        model = GuardedModel(self, train)
        if "limits" not in self.extra_state:
            horizon = self._horizon(train)
            discounted = episode_sums(train, c.gamma ** train.timesteps * train.costs)
            _, first = np.unique(train.episode_ids, return_index=True)
            phys = c.phys_cost_limit if c.phys_cost_limit is not None else c.phys_limit_scale * discounted[first].mean()
            if c.ood_limit == "beta":
                ood = c.ood_beta * c.gamma ** (horizon - 1)
            else:
                ood = data_exit_rate(train, model.row_flag.cpu().numpy(), c.gamma)
            self.extra_state["limits"] = torch.tensor([phys, ood], dtype=torch.float64)
            self.extra_state["horizon"] = torch.tensor(horizon)
        return model

    # -- networks ----------------------------------------------------------------------------------
    def _build(self) -> None:
        s, c, g = self.spec, self.config, self.generators["init"]
        actor = GaussianActor(s.obs_dim, s.act_dim, c.policy_hidden, ActionScale(self.act_low, self.act_high),
                              c.log_std_init, activation="tanh")
        critic = ValueNet(s.obs_dim, c.value_hidden, activation="tanh")
        critic.net = mlp(s.obs_dim, c.value_hidden, len(SIGNALS), activation="tanh")  # one head per signal
        self.modules = {"actor": init_(actor, g).to(c.device), "critic": init_(critic, g).to(c.device)}
        self.optimizers = {"actor": adam(actor.parameters(), c.policy_lr),
                           "critic": adam(critic.parameters(), c.value_lr)}
        self.extra_state.setdefault("lagrange", torch.zeros(2, dtype=torch.float64, device=c.device))

    def _policy(self, obs: torch.Tensor, deterministic: bool) -> torch.Tensor:
        actor = self.modules["actor"]
        return actor(obs) if deterministic else actor.sample(obs, self.generators["act"])[0]

    # -- one PPO-Lagrangian iteration ----------------------------------------------------------------
    @torch.no_grad()
    def _rollouts(self, model: GuardedModel) -> dict[str, torch.Tensor]:
        c, actor = self.config, self.modules["actor"]
        horizon, n = int(self.extra_state["horizon"]), c.rollouts_per_iter
        low, high = self.act_low.to(c.device), self.act_high.to(c.device)
        pick = torch.randint(len(model.starts), (n,), generator=self.generators["sample"], device=c.device)
        raw = model.starts[pick]
        alive = torch.ones(n, dtype=torch.bool, device=c.device)
        frozen = torch.zeros(n, dtype=torch.bool, device=c.device)
        steps: dict[str, list[torch.Tensor]] = {k: [] for k in ("obs", "act", "logp", "alive", *SIGNALS)}
        # The cost an OOD step carries: per frozen step, or at a terminating exit the discounted sum over the
        # steps it cuts off (itself included), so that leaving the support never saves physiological cost.
        left = torch.arange(horizon, 0, -1, dtype=torch.float32, device=c.device)
        exit_cost = model.ood_step_cost * (left if c.gamma == 1 else (1 - c.gamma ** left) / (1 - c.gamma))
        if c.ood_mode == "freeze":
            exit_cost = torch.full_like(exit_cost, model.ood_step_cost)
        for t in range(horizon):
            obs = self.obs_norm(raw)
            action, logp = actor.sample(obs, self.generators["noise"])
            executed = torch.maximum(torch.minimum(action, high), low)
            nxt, rew, cost, terminal, ood = model.step(torch.cat([obs, self.act_norm(executed)], 1),
                                                       self.generators["noise"])
            ood = ood | frozen
            rew = torch.where(ood, torch.full_like(rew, model.ood_reward), rew)
            cost = torch.where(ood, exit_cost[t].expand_as(cost), cost)
            for key, value in zip(steps, (obs, action, logp, alive.clone(), rew, cost, ood.float()), strict=True):
                steps[key].append(value)
            if c.ood_mode == "freeze":
                frozen = frozen | ood
                raw = torch.where(frozen[:, None], raw, nxt)
                alive = alive & ~terminal
            else:
                raw = nxt
                alive = alive & ~terminal & ~ood
            if not alive.any():
                break
        return {k: torch.stack(v) for k, v in steps.items()}

    def _gae(self, rewards: torch.Tensor, values: torch.Tensor, alive: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """GAE over (T, B) with no bootstrap past the horizon or a termination (finite-horizon problem)."""
        c = self.config
        mask = alive.float()
        next_alive = torch.cat([mask[1:], torch.zeros_like(mask[:1])])
        next_values = torch.cat([values[1:], torch.zeros_like(values[:1])]) * next_alive
        deltas = (rewards + c.gamma * next_values - values) * mask
        adv = torch.zeros_like(rewards)
        running = torch.zeros_like(rewards[0])
        for t in range(len(rewards) - 1, -1, -1):
            running = deltas[t] + c.gamma * c.gae_lambda * next_alive[t] * running
            adv[t] = running
        return adv, adv + values

    def _iteration(self, model: GuardedModel) -> dict[str, torch.Tensor]:
        c, actor, critic = self.config, self.modules["actor"], self.modules["critic"]
        roll = self._rollouts(model)
        mask = roll["alive"]
        with torch.no_grad():
            values = critic.net(roll["obs"])  # (T, B, 3)
            signals = torch.stack([roll[k] for k in SIGNALS], -1) * mask[..., None]
            discount = c.gamma ** torch.arange(len(mask), device=mask.device, dtype=signals.dtype)
            returns_disc = (signals * discount[:, None, None]).sum(0).mean(0)  # J_r, J_phys, J_ood (raw)
            advs, targets = zip(*(self._gae(signals[..., i], values[..., i], mask) for i in range(len(SIGNALS))),
                                strict=True)
            # Multipliers: projected gradient ascent on the raw constraint violations.
            limits = self.extra_state["limits"]
            lagrange = self.extra_state["lagrange"]
            violation = returns_disc[1:].double() - limits
            lagrange = (lagrange + c.lagrange_lr * violation).clamp(min=0.0)
            if not c.ood_constraint or self.guardian is None:
                lagrange[1] = 0.0
            self.extra_state["lagrange"] = lagrange
            lam = lagrange.float()
            adv = (advs[0] - lam[0] * advs[1] - lam[1] * advs[2]) / (1 + lam.sum())
        flat = mask.reshape(-1)
        obs = roll["obs"].reshape(-1, roll["obs"].shape[-1])[flat]
        act = roll["act"].reshape(-1, roll["act"].shape[-1])[flat]
        old_logp, adv = roll["logp"].reshape(-1)[flat], adv.reshape(-1)[flat]
        targets = torch.stack(targets, -1).reshape(-1, len(SIGNALS))[flat]
        adv = (adv - adv.mean()) / (adv.std() + 1e-8) if len(adv) > 1 else adv  # scale only; limits use raw costs
        n, size = len(obs), max(1, len(obs) // c.minibatches)
        kl = torch.zeros(())
        policy_loss = value_loss = torch.zeros(())
        for _ in range(c.ppo_epochs):
            order = torch.randperm(n, generator=self.generators["sample"], device=obs.device)
            for start in range(0, n, size):
                idx = order[start:start + size]
                logp = actor.log_prob(obs[idx], act[idx])
                ratio = (logp - old_logp[idx]).exp()
                policy_loss = -torch.minimum(ratio * adv[idx],
                                             ratio.clamp(1 - c.clip_ratio, 1 + c.clip_ratio) * adv[idx]).mean()
                self.optimizers["actor"].zero_grad(set_to_none=True)
                policy_loss.backward()
                self.optimizers["actor"].step()
                value_loss = (critic.net(obs[idx]) - targets[idx]).pow(2).mean()
                self.optimizers["critic"].zero_grad(set_to_none=True)
                value_loss.backward()
                self.optimizers["critic"].step()
            with torch.no_grad():
                kl = (old_logp - actor.log_prob(obs, act)).mean()
            if kl > 1.5 * c.target_kl:
                break
        return {"return": returns_disc[0], "cost_phys": returns_disc[1], "cost_ood": returns_disc[2],
                "lambda_phys": lagrange[0].float(), "lambda_ood": lagrange[1].float(),
                "policy_loss": policy_loss.detach(),
                "value_loss": value_loss.detach(), "kl": kl, "ood_rate": (roll["cost_ood"] * mask).sum() / mask.sum()}

    def support_guard(self) -> SupportGuard | None:
        """The agent's guardian with its normalisers, for OOD-visit rates on raw (s, a) (None if unguarded)."""
        if self.guardian is None:
            return None
        return SupportGuard(self.guardian, self.obs_norm.loc, self.obs_norm.scale, self.act_norm.loc,
                            self.act_norm.scale)

    def metadata(self):
        meta = super().metadata()
        if "limits" in self.extra_state:
            meta["limits"] = {"phys": float(self.extra_state["limits"][0]), "ood": float(self.extra_state["limits"][1])}
        return meta
