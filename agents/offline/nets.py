"""Network builders of the offline agents: MLPs, actors, twin critics, the conditional VAE, Polyak updates.

Every layer is created without PyTorch's default initialisation (which draws from the global RNG) and
then initialised by :func:`init_` from the agent's own ``init`` generator, with the same distribution as
``nn.Linear``'s default (uniform in +-1/sqrt(fan_in) for weights and biases). So building a network never
touches the global torch RNG, and the same seed gives the same weights bit for bit.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


class MLP(nn.Sequential):
    """``Linear -> act`` per hidden width, then a linear output layer (uninitialised until :func:`init_`).

    A ``Sequential`` (so the state-dict keys stay ``0.weight``, ``2.weight``, ...) whose forward runs the
    layers' functions directly: one module call per network instead of one per layer, and ReLU in place
    on the linear layer's fresh output (the linear backward does not need that output; ReLU's backward
    reads its own result). The arithmetic is the same as the module-by-module forward.
    """

    def __init__(self, in_dim: int, hidden: Sequence[int], out_dim: int, activation: str = "relu") -> None:
        layers: list[nn.Module] = []
        for width in hidden:
            layers += [nn.utils.skip_init(nn.Linear, in_dim, width), ACTIVATIONS[activation]()]
            in_dim = width
        layers.append(nn.utils.skip_init(nn.Linear, in_dim, out_dim))
        super().__init__(*layers)
        self._act = torch.relu_ if activation == "relu" else torch.tanh
        self._cache_linears()

    def _cache_linears(self) -> None:
        self._linears = [layer for layer in self if isinstance(layer, nn.Linear)]

    def __setitem__(self, idx, module: nn.Module) -> None:
        """Replacing a layer (``net[-1] = nn.Linear(...)``) refreshes the forward's cached layer list."""
        super().__setitem__(idx, module)
        self._cache_linears()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        *hidden, last = self._linears
        for layer in hidden:
            x = self._act(F.linear(x, layer.weight, layer.bias))
        return F.linear(x, last.weight, last.bias)


def mlp(in_dim: int, hidden: Sequence[int], out_dim: int, activation: str = "relu") -> MLP:
    """An :class:`MLP` (``Linear -> act`` per hidden width, then a linear output layer)."""
    return MLP(in_dim, hidden, out_dim, activation)


@torch.no_grad()
def init_(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Initialise every ``nn.Linear`` of ``module`` like PyTorch's default, drawing from ``generator``."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            bound = 1.0 / math.sqrt(layer.in_features)
            layer.weight.uniform_(-bound, bound, generator=generator)
            if layer.bias is not None:
                layer.bias.uniform_(-bound, bound, generator=generator)
    return module


class ActionScale(nn.Module):
    """Maps ``tanh`` outputs in [-1, 1] onto the action box ``[low, high]`` (buffers, saved with the net)."""

    def __init__(self, low: torch.Tensor, high: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("center", (high + low) / 2)
        self.register_buffer("half_range", (high - low) / 2)

    def forward(self, unit: torch.Tensor) -> torch.Tensor:
        return torch.addcmul(self.center, self.half_range, unit)


class DeterministicActor(nn.Module):
    """pi(s) = center + half * tanh(MLP(s)) (TD3, TD3+BC, BC, A2PR)."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: Sequence[int], scale: ActionScale) -> None:
        super().__init__()
        self.net = mlp(obs_dim, hidden, act_dim)
        self.scale = scale

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.scale(torch.tanh(self.net(obs)))


class GaussianActor(nn.Module):
    """N(center + half * tanh(MLP(s)), exp(log_std)) with a state-independent log-std (CORL IQL; OGSRL/PPO)."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: Sequence[int], scale: ActionScale,
                 log_std_init: float = 0.0, activation: str = "relu") -> None:
        super().__init__()
        self.net = mlp(obs_dim, hidden, act_dim, activation)
        self.scale = scale
        self.log_std = nn.Parameter(torch.full((act_dim,), float(log_std_init)))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """The mean action (the deterministic policy)."""
        return self.scale(torch.tanh(self.net(obs)))

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor, mean: torch.Tensor | None = None) -> torch.Tensor:
        mean = self(obs) if mean is None else mean
        log_std = self.log_std.clamp(-20.0, 2.0)
        z = (actions - mean) / log_std.exp()
        return (-0.5 * z.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)

    def entropy(self) -> torch.Tensor:
        return (self.log_std.clamp(-20.0, 2.0) + 0.5 * math.log(2 * math.pi * math.e)).sum()

    def sample(self, obs: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``(action, log_prob)`` of one draw (unclipped; the caller clips what it executes)."""
        mean = self(obs)
        noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
        action = mean + self.log_std.clamp(-20.0, 2.0).exp() * noise
        return action, self.log_prob(obs, action, mean)


class Critic(nn.Module):
    """Q(s, a): an MLP on the concatenation [s, a]."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: Sequence[int]) -> None:
        super().__init__()
        self.net = mlp(obs_dim + act_dim, hidden, 1)

    def forward(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([obs, act], -1)).squeeze(-1)


class TwinCritic(nn.Module):
    """Two independent Q networks (clipped double Q: TD3, TD3+BC, IQL, A2PR)."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: Sequence[int]) -> None:
        super().__init__()
        self.q1 = Critic(obs_dim, act_dim, hidden)
        self.q2 = Critic(obs_dim, act_dim, hidden)

    def forward(self, obs: torch.Tensor, act: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([obs, act], -1)  # once for both networks
        return self.q1.net(x).squeeze(-1), self.q2.net(x).squeeze(-1)

    def min(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        q1, q2 = self(obs, act)
        return torch.minimum(q1, q2)


class ValueNet(nn.Module):
    """V(s): an MLP with a scalar output."""

    def __init__(self, obs_dim: int, hidden: Sequence[int], activation: str = "relu") -> None:
        super().__init__()
        self.net = mlp(obs_dim, hidden, 1, activation)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs).squeeze(-1)


class ConditionalVAE(nn.Module):
    """BCQ-style conditional VAE of actions given states (A2PR's behaviour model, spec offline.md 2.1).

    Encoder ``[s, a] -> hidden -> (mean, log-std)`` with log-std clamped to [-4, 15]; decoder
    ``[s, z] -> hidden -> center + half * tanh``. The latent has ``latent_dim`` = 2 x action_dim by default.
    """

    def __init__(self, obs_dim: int, act_dim: int, hidden: Sequence[int], latent_dim: int, scale: ActionScale) -> None:
        super().__init__()
        self.encoder = mlp(obs_dim + act_dim, hidden[:-1], hidden[-1])
        self.mean = nn.utils.skip_init(nn.Linear, hidden[-1], latent_dim)
        self.log_std = nn.utils.skip_init(nn.Linear, hidden[-1], latent_dim)
        self.decoder = mlp(obs_dim + latent_dim, hidden, act_dim)
        self.scale = scale
        self.latent_dim = latent_dim

    def encode(self, obs: torch.Tensor, act: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.relu_(self.encoder(torch.cat([obs, act], -1)))
        return self.mean(h), self.log_std(h).clamp(-4.0, 15.0).exp()

    def decode(self, obs: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.scale(torch.tanh(self.decoder(torch.cat([obs, z], -1))))

    def forward(self, obs: torch.Tensor, act: torch.Tensor, generator: torch.Generator
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(reconstruction, mean, std)`` with a reparameterised posterior sample."""
        mean, std = self.encode(obs, act)
        noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
        return self.decode(obs, mean + std * noise), mean, std

    def sample_prior(self, obs: torch.Tensor, generator: torch.Generator, clip: float = 0.5) -> torch.Tensor:
        """Decode z ~ N(0, I) clipped to +-``clip`` (BCQ's prior path)."""
        z = torch.randn((len(obs), self.latent_dim), generator=generator, dtype=obs.dtype, device=obs.device)
        return self.decode(obs, z.clamp(-clip, clip))


@torch.no_grad()
def polyak_(target: nn.Module, source: nn.Module, tau: float) -> None:
    """target <- (1 - tau) target + tau source, for parameters, in one fused call.

    The two parameter lists are built once and kept on the target (building them walks the module tree,
    which costs as much as the update itself). Buffers are not touched: the suite's networks only hold
    constant buffers (the action box).
    """
    cache = target.__dict__.get("_polyak_lists")
    if cache is None or cache[0] is not source:
        cache = (source, list(target.parameters()), list(source.parameters()))
        target.__dict__["_polyak_lists"] = cache
    torch._foreach_lerp_(cache[1], cache[2], tau)


@contextlib.contextmanager
def no_param_grad(module: nn.Module) -> Iterator[None]:
    """Differentiate through ``module`` without computing its parameters' gradients (an actor's pass
    through the critic: those gradients would be discarded, and skipping them saves a third of the matmuls)."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def frozen_copy(module: nn.Module) -> nn.Module:
    """A target network: a deep copy with gradients off."""
    import copy

    target = copy.deepcopy(module)
    for p in target.parameters():
        p.requires_grad_(False)
    return target


class LeanAdam(torch.optim.Adam):
    """PyTorch's fused Adam with a lean step for the small networks of offline RL.

    ``torch.optim.Adam.step`` spends a few hundred microseconds per call in Python bookkeeping (the
    profiling/hook wrapper every ``Optimizer.step`` gets, grouping tensors by device), comparable to the
    matrix multiplies of a 256-wide MLP step. After the first step has created the state,
    :meth:`lean_step` calls the same kernel (``torch._fused_adam_``) on cached lists of parameters and
    state tensors, so the numbers are bit for bit those of ``Adam(fused=True)``; the state dict is the
    standard one. All parameters of the group share one step-counter tensor (their counters are equal by
    construction), so the counter update is one addition instead of one per parameter. Any unusual case
    (a closure, a missing gradient, several parameter groups) falls back to ``Adam.step`` on private
    counters.
    """

    def __init__(self, params: Iterable[nn.Parameter], lr: float) -> None:
        super().__init__(list(params), lr=lr, fused=True)
        self._lean: tuple | None = None

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        self._lean = None

    def _cache(self) -> None:
        self._lean = None
        if len(self.param_groups) != 1:
            return
        group = self.param_groups[0]
        params = group["params"]
        if group["amsgrad"] or group["maximize"] or group.get("decoupled_weight_decay") or \
                not all(self.state.get(p) for p in params):
            return
        states = [self.state[p] for p in params]
        step = states[0]["step"]
        if any(not torch.equal(s["step"], step) for s in states):
            return
        for s in states:  # one shared counter (see the class docstring)
            s["step"] = step
        self._lean = (params, [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states], step, group)

    def _unshare_steps(self) -> None:
        """Give every parameter its own counter again (``Adam.step`` increments each one)."""
        for state in self.state.values():
            if "step" in state:
                state["step"] = state["step"].clone()
        self._lean = None

    @torch.no_grad()
    def lean_step(self) -> None:
        """One Adam step on the current gradients (the fused kernel, without ``Optimizer.step``'s wrapper)."""
        lean = self._lean
        grads = None if lean is None else [p.grad for p in lean[0]]
        if grads is None or any(g is None for g in grads):
            self._unshare_steps()
            super().step()
            self._cache()
            return
        params, exp_avgs, exp_avg_sqs, step, group = lean
        step.add_(1)
        beta1, beta2 = group["betas"]
        torch._fused_adam_(params, grads, exp_avgs, exp_avg_sqs, [], [step] * len(params), amsgrad=False,
                           lr=group["lr"], beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"],
                           eps=group["eps"], maximize=False, grad_scale=None, found_inf=None)

    def step(self, closure=None):  # noqa: D102 - see the class docstring
        if closure is not None:
            self._unshare_steps()
            loss = super().step(closure)
            self._cache()
            return loss
        self.lean_step()
        return None

    def zero_grad(self, set_to_none: bool = True) -> None:
        if self._lean is None or not set_to_none:
            super().zero_grad(set_to_none)
            return
        for p in self._lean[0]:
            p.grad = None


def adam(params: Iterable[nn.Parameter], lr: float) -> LeanAdam:
    """Adam with the fused kernel and a lean step (:class:`LeanAdam`)."""
    return LeanAdam(params, lr)


def descend(optimizer: LeanAdam, loss: torch.Tensor) -> None:
    """One gradient step of ``optimizer`` on ``loss``: clear the gradients, backpropagate, update."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.lean_step()
