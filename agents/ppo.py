"""PPO for the dispatcher (``train.py ppo``), from scratch or fine-tuning a trained checkpoint.

The policy acts in a :class:`jssp.env.JobShopEnv` over uniform random instances (sb3-contrib
MaskablePPO, masks from ``action_masks()``). With ``--init CHECKPOINT`` the network starts from
that checkpoint's weights and acts in the scheme it was trained in. A policy trained by imitation
has an untrained value head, and PPO's first updates with a random critic push the policy away
from what it knew; so for ``--value-warmup`` steps only the critic learns (the encoder and actor
are frozen), and ``--kl-coef`` adds ``KL(pi || pi_init)`` to the loss to keep the policy near
where it started.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar

import torch
import tyro
from sb3_contrib import MaskablePPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv
from torch import Tensor

from agents.checkpoints import architecture_of, checkpoint_identity, load_policy, read_metadata
from agents.harness import Monitor, RunContext, RunSettings, SB3Monitor, Validation, start_run
from agents.policy import JobShopPolicy
from agents.training import ValidationSet, make_env_factory


@dataclass(frozen=True)
class PPOHyperparameters:
    """MaskablePPO settings (stable-baselines3 names)."""

    n_envs: int = 8
    """Parallel environments (DummyVecEnv)."""
    n_steps: int = 128
    """Rollout length per environment between updates."""
    batch_size: int = 256
    """Minibatch size."""
    n_epochs: int = 4
    """Epochs per update."""
    learning_rate: float = 3e-4
    """Initial learning rate, decayed linearly to zero."""
    gamma: float = 1.0
    """Discount (the dispatcher's return telescopes to -(makespan - LB_0)/LB_0 with 1.0)."""
    gae_lambda: float = 0.95
    """GAE lambda."""
    clip_range: float = 0.2
    """Clip range."""
    ent_coef: float = 0.01
    """Entropy bonus."""
    vf_coef: float = 0.5
    """Value loss weight."""

    def check(self) -> None:
        """Raise ValueError naming the first setting out of range, before a run starts."""
        ranges = {
            "n_envs": (1, math.inf), "n_steps": (1, math.inf), "batch_size": (1, math.inf), "n_epochs": (1, math.inf),
            "gamma": (0, 1), "gae_lambda": (0, 1), "ent_coef": (0, math.inf), "vf_coef": (0, math.inf),
        }  # fmt: skip
        for name, (low, high) in ranges.items():
            value = getattr(self, name)
            if not low <= value <= high:  # NaN fails too
                bounds = f"at least {low:g}" if high == math.inf else f"between {low:g} and {high:g}"
                raise ValueError(f"--{name.replace('_', '-')} must be {bounds}, got {value:g}")
        for name in ("learning_rate", "clip_range"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"--{name.replace('_', '-')} must be a finite number above 0, got {value:g}")


@dataclass(frozen=True)
class PPOConfig:
    """Train the GNN dispatcher with MaskablePPO, from scratch or from a checkpoint (--init)."""

    EXTENDABLE: ClassVar[tuple[str, ...]] = ("total_timesteps",)
    """Fields a resumed run may raise (to train longer)."""

    run: Annotated[RunSettings, tyro.conf.OmitArgPrefixes] = RunSettings(run_dir=Path("runs/ppo"))
    ppo: Annotated[PPOHyperparameters, tyro.conf.OmitArgPrefixes] = field(default_factory=PPOHyperparameters)
    total_timesteps: int = 1_000_000
    """Environment steps (one dispatched operation each), counted from the start of the run."""
    init: str = ""
    """Fine-tune this checkpoint (shipped name or folder); its architecture and scheme are kept."""
    scheme: str = "non-delay"
    """Scheme of a fresh policy (see jssp.dispatch); a fine-tuned one keeps its checkpoint's."""
    width: int = 32
    """Embedding width of a fresh network."""
    num_layers: int = 2
    """Message-passing rounds of a fresh network."""
    value_warmup: int = 0
    """Fine-tuning: environment steps during which only the critic learns (encoder and actor frozen)."""
    kl_coef: float = 0.0
    """Fine-tuning: weight of KL(pi || pi_init) in the loss (0: off; needs ent_coef > 0, see AnchoredPolicy)."""
    validation_cpsat_seconds: float = 1.0
    """CP-SAT limit of the validation reference (0 to skip)."""


class AnchoredPolicy(JobShopPolicy):
    """A dispatcher whose PPO loss also holds it near a frozen copy of its initial weights.

    sb3-contrib's loss is ``policy_loss + ent_coef * (-entropy) + vf_coef * value_loss`` with no
    place for another term; the entropy is the one per-sample quantity that enters it linearly,
    so :meth:`evaluate_actions` returns ``entropy - kl_coef / ent_coef * KL(pi || pi_anchor)``,
    which adds exactly ``kl_coef * KL`` to the loss. The KL of the last minibatch is kept in
    ``last_kl`` for the logs.
    """

    anchor: JobShopPolicy | None = None
    kl_coef: float = 0.0
    ent_coef: float = 0.0
    last_kl: float = 0.0

    def set_anchor(self, anchor: JobShopPolicy, kl_coef: float, ent_coef: float) -> None:
        """Hold the policy near ``anchor`` (frozen here) with weight ``kl_coef``."""
        if kl_coef > 0 and ent_coef <= 0:
            raise ValueError("--kl-coef needs --ent-coef > 0 (the KL term rides on the entropy term)")
        anchor.eval()
        for parameter in anchor.parameters():
            parameter.requires_grad_(False)
        # Stored outside the module tree so that state_dict() and the optimizer never see it.
        object.__setattr__(self, "anchor", anchor)
        self.kl_coef, self.ent_coef = kl_coef, ent_coef

    def evaluate_actions(
        self, obs: Any, actions: Tensor, action_masks: Any = None
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        values, log_prob, entropy = super().evaluate_actions(obs, actions, action_masks)
        if self.anchor is None or self.kl_coef <= 0 or entropy is None:
            return values, log_prob, entropy
        log_p = torch.log_softmax(self.job_logits(obs), dim=-1)
        with torch.no_grad():
            log_q = torch.log_softmax(self.anchor.job_logits(obs), dim=-1)
        legal = torch.isfinite(log_p)
        # Masked entries are zeroed before the product so that no inf or nan reaches the gradient.
        log_ratio = log_p.masked_fill(~legal, 0.0) - log_q.masked_fill(~legal, 0.0)
        kl = (log_p.exp() * log_ratio).sum(dim=-1)
        self.last_kl = float(kl.mean().detach())
        return values, log_prob, entropy - self.kl_coef / self.ent_coef * kl


class ValueWarmup(BaseCallback):
    """Freezes everything but the critic until ``steps`` environment steps, then unfreezes it.

    Also logs ``train/kl_to_init`` of an :class:`AnchoredPolicy`.
    """

    def __init__(self, steps: int) -> None:
        super().__init__()
        self.steps = steps

    def _frozen(self, frozen: bool) -> None:
        policy = self.model.policy
        for name, parameter in policy.named_parameters():
            if not (name.startswith("mlp_extractor.critic") or name.startswith("value_net")):
                parameter.requires_grad_(not frozen)

    def _on_rollout_end(self) -> None:
        # The update that follows this rollout trains the critic alone while within the warm-up.
        self._frozen(self.num_timesteps <= self.steps)
        policy = self.model.policy
        if isinstance(policy, AnchoredPolicy) and policy.anchor is not None:
            self.logger.record("train/kl_to_init", policy.last_kl)

    def _on_step(self) -> bool:
        return True


def run_ppo(
    run: RunContext,
    model: MaskablePPO,
    validation: Validation,
    total_timesteps: int,
    architecture: dict[str, Any],
    inference: dict[str, Any],
    parent: dict[str, Any] | None = None,
    extra_callbacks: tuple[BaseCallback, ...] = (),
) -> MaskablePPO:
    """Train ``model`` to ``total_timesteps`` under a :class:`Monitor` (shared by ``ppo`` and ``improvement``)."""
    model.set_logger(SB3Monitor.logger_for(run.settings.run_dir))
    policy = model.policy
    assert isinstance(policy, JobShopPolicy)
    monitor = Monitor(
        run,
        policy,
        validation,
        "timesteps",
        total_timesteps,
        architecture,
        inference,
        parent,
        logs=(SB3Monitor.PROGRESS_LOG,),
    )
    adapter = SB3Monitor(monitor)
    if run.state is None:
        adapter.init_callback(model)
        adapter.validate()  # the curve starts at the initial policy
    remaining = total_timesteps - model.num_timesteps
    if remaining > 0:
        model.learn(remaining, callback=[adapter, *extra_callbacks], reset_num_timesteps=False)
    monitor.finish()
    return model


def build_model(
    run: RunContext, policy_class: type[JobShopPolicy], vec_env: VecEnv, hyper: PPOHyperparameters, **policy_kwargs: Any
) -> MaskablePPO:
    """A new MaskablePPO, or the one saved in ``last/`` when resuming."""
    if run.state is not None:
        return MaskablePPO.load(run.last / "model.zip", env=vec_env, device=run.device)
    learning_rate = hyper.learning_rate
    return MaskablePPO(
        policy_class,
        vec_env,
        learning_rate=lambda progress_remaining: learning_rate * progress_remaining,
        n_steps=hyper.n_steps,
        batch_size=hyper.batch_size,
        n_epochs=hyper.n_epochs,
        gamma=hyper.gamma,
        gae_lambda=hyper.gae_lambda,
        clip_range=hyper.clip_range,
        ent_coef=hyper.ent_coef,
        vf_coef=hyper.vf_coef,
        policy_kwargs=policy_kwargs,
        seed=run.settings.seed,
        device=run.device,
    )


def main(cfg: PPOConfig) -> RunContext:
    # ------------------------------------------------------------------ preamble and starting point
    run = start_run(cfg, "ppo")
    if cfg.total_timesteps <= 0:
        raise ValueError("--total-timesteps must be positive")
    parent = checkpoint_identity(cfg.init) if cfg.init else None
    if parent is not None:
        base = read_metadata(cfg.init)
        scheme = base["inference"]["scheme"]
        width, num_layers = base["architecture"]["width"], base["architecture"]["num_layers"]
    else:
        scheme, width, num_layers = cfg.scheme, cfg.width, cfg.num_layers

    # ------------------------------------------------------------------ environments and validation set
    vec_env = DummyVecEnv([make_env_factory(run.sampler(), scheme)] * cfg.ppo.n_envs)
    vec_env.seed(run.settings.seed)
    validation = ValidationSet.for_run(run, cfg.validation_cpsat_seconds)

    # ------------------------------------------------------------------ model (new, fine-tuned or resumed)
    model = build_model(run, AnchoredPolicy, vec_env, cfg.ppo, width=width, num_layers=num_layers)
    policy = model.policy
    assert isinstance(policy, AnchoredPolicy)
    if parent is not None:
        initial = load_policy(cfg.init, run.device)
        if run.state is None:  # a resumed run has its own weights in last/model.zip
            policy.load_state_dict(initial.state_dict())
        policy.set_anchor(initial, cfg.kl_coef, cfg.ppo.ent_coef)

    # ------------------------------------------------------------------ learn
    architecture = architecture_of(policy, run.max_jobs, run.max_machines, run.max_width)
    warmup = (ValueWarmup(cfg.value_warmup),) if parent is not None else ()
    run_ppo(run, model, validation, cfg.total_timesteps, architecture, {"scheme": scheme}, parent, warmup)
    return run
