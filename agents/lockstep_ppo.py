"""PPO on rollouts advanced in lockstep, with a shared per-instance baseline (``train.py ppo-lockstep``).

Each update draws ``--instances-per-update`` training instances and samples ``--rollouts-per-instance``
rollouts of each, all advanced together: at every step the states that have a choice and the same
number of unscheduled operations form one dense graph (:func:`agents.lockstep.unscheduled_graph`)
and one network call scores them, with no padded observation and no graph compaction. The return
of a rollout is its negative makespan; its advantage is that return minus the mean over the rollouts
of the same instance, divided by their standard deviation (the POMO baseline, normalised per
instance), and every decision of the rollout shares it; ``--baseline greedy`` takes the instance's
greedy rollout instead of the mean (self-critical), so that only samples shorter than greedy decoding
are reinforced. The loss is PPO's clipped objective, an entropy bonus and, when fine-tuning,
``KL(pi || pi_init)``; there is no critic. The gradient of a minibatch is accumulated step by step
(the graphs of different steps differ in size), so the memory of an update is that of one step's graph.

The instance stream and the sampling follow from ``(seed, update)``, so a resumed run continues
exactly where an uninterrupted one would be.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, ClassVar, Literal

import numpy as np
import numpy.typing as npt
import torch
import tyro
from torch import Tensor

from agents.checkpoints import architecture_of, lineage, load_policy
from agents.harness import Monitor, RunContext, RunSettings, mean_values, start_run, torch_state_bytes
from agents.lockstep import DenseWeights, unscheduled_graph
from agents.policy import JobShopPolicy
from agents.supervised import starting_policy
from agents.training import ValidationSet
from jssp.dispatch import DispatchState
from jssp.instance import Instance

RESUME_FILE = "lockstep.json"
"""File of ``last/`` holding the number of updates done (the key of the next update's randomness)."""


@dataclass(frozen=True)
class LockstepSettings:
    """Optimisation settings of :mod:`agents.lockstep_ppo`."""

    instances_per_update: int = 16
    """Training instances drawn for each update."""
    rollouts_per_instance: int = 8
    """Sampled rollouts of each instance (they share the instance's baseline); at least 2."""
    epochs: int = 2
    """Passes over an update's decisions."""
    minibatches: int = 4
    """Optimiser steps per pass (each accumulates the gradient of a share of the steps)."""
    learning_rate: float = 1e-4
    """Adam learning rate (decayed linearly to zero over the run unless --no-decay-learning-rate)."""
    decay_learning_rate: bool = True
    """Decay the learning rate linearly to zero over the run."""
    clip_range: float = 0.2
    """PPO clip range of the probability ratio."""
    ent_coef: float = 0.01
    """Entropy bonus at the start of the run."""
    ent_coef_end: float = 0.0
    """Entropy bonus at the end of the run (linear in between)."""
    kl_coef: float = 0.0
    """Fine-tuning: weight of KL(pi || pi_init) in the loss (0: off)."""
    temperature: float = 1.0
    """Rollouts follow softmax(logits / temperature), and PPO's ratio and KL are of that policy; below 1 keeps a
    fine-tuned policy's rollouts near its greedy decisions (greedy decoding does not depend on it)."""
    baseline: Literal["mean", "greedy"] = "mean"
    """Per-instance baseline of the advantage: the mean of the instance's sampled rollouts (POMO), or the makespan
    of its greedy rollout (self-critical: only samples that beat greedy decoding are reinforced; one more rollout
    per instance, not trained on)."""
    max_grad_norm: float = 1.0
    """Gradient norm clip."""
    validation_cpsat_seconds: float = 1.0
    """CP-SAT limit of the validation reference (0 to skip)."""

    def check(self) -> None:
        """Raise ValueError naming the first setting out of range, before a run starts."""
        for name in ("instances_per_update", "epochs", "minibatches"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.rollouts_per_instance < 2:
            raise ValueError(
                f"--rollouts-per-instance must be at least 2 (they share a baseline), got {self.rollouts_per_instance}"
            )
        for name in ("learning_rate", "clip_range", "max_grad_norm", "temperature"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"--{name.replace('_', '-')} must be a finite number above 0, got {value:g}")
        for name in ("ent_coef", "ent_coef_end", "kl_coef"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"--{name.replace('_', '-')} must be a finite number of at least 0, got {value:g}")


@dataclass(frozen=True)
class LockstepPPOConfig:
    """Train the GNN dispatcher with PPO on lockstep rollouts and a per-instance baseline (from scratch or --init)."""

    EXTENDABLE: ClassVar[tuple[str, ...]] = ("total_timesteps", "max_minutes")
    """Fields a resumed run may raise (to train longer)."""

    run: Annotated[RunSettings, tyro.conf.OmitArgPrefixes] = RunSettings(run_dir=Path("runs/ppo-lockstep"))
    lockstep: Annotated[LockstepSettings, tyro.conf.OmitArgPrefixes] = field(default_factory=LockstepSettings)
    total_timesteps: int = 1_000_000
    """Environment steps (one dispatched operation each, forced ones included), counted from the start of the run."""
    max_minutes: float = 0.0
    """Also stop once the run has trained this many minutes of wall time (0: no limit); the learning-rate and
    entropy schedules then follow whichever of steps and time is further along."""
    init: str = ""
    """Fine-tune this checkpoint (shipped name or folder); its architecture and scheme are kept."""
    scheme: str = "non-delay"
    """Scheme of a fresh policy (see jssp.dispatch); a fine-tuned one keeps its checkpoint's."""
    width: int = 32
    """Embedding width of a fresh network."""
    num_layers: int = 2
    """Message-passing rounds of a fresh network."""


@dataclass
class StepBatch:
    """The decisions of one step of the rollouts that had a choice and graphs of one shape.

    Shapes:
        features ``(rows, nodes, NUM_NODE_FEATURES)``, arcs ``(rows, nodes, 2)``, machine ``(rows, nodes)``,
        candidates and mask ``(rows, num_jobs)``, actions, log_probs and rollouts ``(rows,)``.
    """

    num_machines: int
    graph: tuple[Tensor, ...]
    """features, arcs, machine, candidates, mask (see :func:`agents.lockstep.unscheduled_graph`)."""
    actions: Tensor
    log_probs: Tensor
    rollouts: Tensor
    """Index of each row's rollout (into :attr:`Rollouts.makespans`)."""
    anchor_log_p: Tensor | None = None
    """``(rows, num_jobs)``: the starting policy's log-probabilities (``-inf`` on illegal jobs), for the KL term."""


@dataclass
class Rollouts:
    """What :func:`collect` returns: the decisions, grouped by step, and each rollout's outcome."""

    steps: list[StepBatch]
    makespans: npt.NDArray[np.int64]
    """``(instances * rollouts,)``, rollouts of one instance side by side."""
    decisions: int
    """Environment steps taken (forced ones included)."""
    lower_bounds: npt.NDArray[np.float64]
    """``(instances,)``: each instance's lower bound (the graphs' time scale)."""
    greedy_makespans: npt.NDArray[np.int64] | None = None
    """``(instances,)``: the makespan of each instance's greedy rollout (with the greedy baseline only)."""

    def advantages(self, rollouts_per_instance: int) -> npt.NDArray[np.float32]:
        """Baseline minus makespan, over the spread of the instance's makespans (0 where all tie).

        The baseline is the mean of the sampled rollouts, or the greedy rollout's makespan where there is one (the
        spread then includes it).
        """
        makespans = self.makespans.astype(np.float64).reshape(-1, rollouts_per_instance)
        if self.greedy_makespans is None:
            baseline = makespans.mean(axis=1, keepdims=True)
            spread = makespans.std(axis=1, keepdims=True)
        else:
            baseline = self.greedy_makespans.astype(np.float64)[:, None]
            spread = np.concatenate([makespans, baseline], axis=1).std(axis=1, keepdims=True)
        centred = baseline - makespans
        return np.where(spread > 0, centred / np.maximum(spread, 1e-12), 0.0).reshape(-1).astype(np.float32)


@torch.no_grad()
def collect(
    weights: DenseWeights,
    instances: list[Instance],
    rollouts_per_instance: int,
    scheme: str,
    generator: torch.Generator,
    device: torch.device,
    temperature: float = 1.0,
    greedy: bool = False,
    anchor: DenseWeights | None = None,
) -> Rollouts:
    """Sample ``rollouts_per_instance`` rollouts of each instance with the policy whose ``weights`` are given.

    With ``greedy``, one more rollout of each instance, advanced in the same network calls, takes the
    highest-scoring job at every step; its decisions are not returned, only its makespan. With ``anchor``
    (fine-tuning), each step also keeps that policy's log-probabilities, computed once for all epochs of the update.
    """
    per_instance = rollouts_per_instance + int(greedy)  # the greedy rollout comes last
    states = [DispatchState(instance, scheme) for instance in instances for _ in range(per_instance)]
    scales = [float(max(DispatchState(instance).lower_bound(), 1)) for instance in instances]
    steps: list[StepBatch] = []
    decisions = 0
    for step in range(max(instance.num_operations for instance in instances)):
        # States with a choice, grouped by graph shape: (jobs, machines, unscheduled operations).
        groups: dict[tuple[int, int, int], list[tuple[int, list[int]]]] = defaultdict(list)
        for index, instance in enumerate(instances):
            if step >= instance.num_operations:
                continue
            first = index * per_instance
            members = range(first, first + per_instance)
            choosing = [member for member in members if states[member].num_legal > 1]
            for member in members:
                if states[member].num_legal == 1:
                    states[member].step(int(np.argmax(states[member].mask)))
            decisions += per_instance
            if choosing:
                shape = (instance.num_jobs, instance.num_machines, instance.num_operations - step)
                groups[shape].append((index, choosing))
        for (_, num_machines, _), group in groups.items():
            graphs = [unscheduled_graph(instances[i], [states[m] for m in chosen], scales[i]) for i, chosen in group]
            # Copies: a single state's mask comes back as a view of the state, which the next steps change.
            graph = tuple(torch.from_numpy(np.concatenate(parts)).to(device) for parts in zip(*graphs, strict=True))
            log_p = _log_policy(weights, num_machines, graph, temperature)
            actions = torch.multinomial(log_p.exp().cpu(), 1, generator=generator).squeeze(1).to(device)
            rows = [member for _, chosen in group for member in chosen]
            kept = [member % per_instance < rollouts_per_instance for member in rows]  # False: a greedy rollout
            sampled = torch.tensor(kept, device=device)
            actions = torch.where(sampled, actions, log_p.argmax(dim=1))
            for member, action in zip(rows, actions.tolist(), strict=True):
                states[member].step(action)
            if not sampled.all():
                graph = tuple(part[sampled] for part in graph)
                log_p, actions = log_p[sampled], actions[sampled]
                rows = [member for member, keep in zip(rows, kept, strict=True) if keep]
            if rows:
                # Index of each row's rollout among the sampled ones (the greedy rollouts left out).
                indices = [member // per_instance * rollouts_per_instance + member % per_instance for member in rows]
                log_probs = log_p.gather(1, actions[:, None]).squeeze(1)
                anchor_log_p = None if anchor is None else _log_policy(anchor, num_machines, graph, temperature)
                of_rows = torch.tensor(indices, device=device)
                steps.append(StepBatch(num_machines, graph, actions, log_probs, of_rows, anchor_log_p))
    makespans = np.array([state.makespan for state in states], dtype=np.int64).reshape(-1, per_instance)
    greedy_makespans = makespans[:, -1].copy() if greedy else None
    sampled_makespans = makespans[:, :rollouts_per_instance].reshape(-1)
    return Rollouts(steps, sampled_makespans, decisions, np.array(scales), greedy_makespans)


def update(
    policy: JobShopPolicy,
    optimizer: torch.optim.Optimizer,
    rollouts: Rollouts,
    settings: LockstepSettings,
    ent_coef: float,
    rng: np.random.Generator,
) -> dict[str, float]:
    """PPO epochs over the decisions of ``rollouts``; returns the means of the logged values.

    The KL term is to the policy whose log-probabilities :func:`collect` kept (``anchor``), where it kept them.
    """
    if not rollouts.steps:
        return {}
    device = rollouts.steps[0].actions.device
    advantages = torch.from_numpy(rollouts.advantages(settings.rollouts_per_instance)).to(device)
    logged: dict[str, list[float]] = defaultdict(list)
    for _ in range(settings.epochs):
        order = rng.permutation(len(rollouts.steps))
        for group in np.array_split(order, min(settings.minibatches, len(order))):
            optimizer.zero_grad()
            total_rows = sum(len(rollouts.steps[index].actions) for index in group)
            weights = DenseWeights.of(policy, detach=False)  # the parameters change only at the step below
            for index in group:
                batch = rollouts.steps[index]
                terms = _loss_terms(weights, batch, advantages, settings)
                loss = terms["policy_loss"] - ent_coef * terms["entropy"] + settings.kl_coef * terms["kl"]
                (loss / total_rows).backward()
                for key, value in terms.items():
                    logged[key].append(float(value.detach()) / len(batch.actions))
            torch.nn.utils.clip_grad_norm_(policy.parameters(), settings.max_grad_norm)
            optimizer.step()
    return mean_values(logged)


def _loss_terms(
    weights: DenseWeights,
    batch: StepBatch,
    advantages: Tensor,
    settings: LockstepSettings,
) -> dict[str, Tensor]:
    """Sums over the batch's rows of the clipped policy loss, the entropy, KL to the anchor and the clipped share."""
    mask = batch.graph[4]
    log_p = _log_policy(weights, batch.num_machines, batch.graph, settings.temperature)
    new_log_probs = log_p.gather(1, batch.actions[:, None]).squeeze(1)
    ratio = torch.exp(new_log_probs - batch.log_probs)
    advantage = advantages[batch.rollouts]
    clipped = torch.clamp(ratio, 1 - settings.clip_range, 1 + settings.clip_range)
    legal_log_p = log_p.masked_fill(~mask, 0.0)  # no inf reaches a product
    terms = {
        "policy_loss": -torch.minimum(ratio * advantage, clipped * advantage).sum(),
        "entropy": -(legal_log_p.exp() * legal_log_p).masked_fill(~mask, 0.0).sum(),
        "clip_fraction": ((ratio - 1).abs() > settings.clip_range).float().sum(),
        "kl": torch.zeros((), device=ratio.device),
    }
    if batch.anchor_log_p is not None:
        log_ratio = legal_log_p - batch.anchor_log_p.masked_fill(~mask, 0.0)
        terms["kl"] = (legal_log_p.exp() * log_ratio).masked_fill(~mask, 0.0).sum()
    return terms


def _log_policy(weights: DenseWeights, num_machines: int, graph: tuple[Tensor, ...], temperature: float) -> Tensor:
    """Log-probabilities of the policy that rollouts follow: softmax(logits / temperature) over the jobs."""
    return torch.log_softmax(weights.job_logits(num_machines, *graph) / temperature, dim=1)


def _update_randomness(seed: int, index: int) -> tuple[np.random.Generator, torch.Generator]:
    """The instance stream and shuffles (numpy) and the action sampling (torch) of update ``index``."""
    rng = np.random.default_rng([seed, index])
    generator = torch.Generator(device="cpu").manual_seed(int(rng.integers(2**62)))
    return rng, generator


def main(cfg: LockstepPPOConfig) -> RunContext:
    # ------------------------------------------------------------------ preamble and starting point
    cfg.lockstep.check()
    if cfg.total_timesteps <= 0:
        raise ValueError("--total-timesteps must be positive")
    if not (math.isfinite(cfg.max_minutes) and cfg.max_minutes >= 0):
        raise ValueError(f"--max-minutes must be a finite number of at least 0, got {cfg.max_minutes:g}")
    budget = 60 * cfg.max_minutes or math.inf
    run = start_run(cfg, "ppo-lockstep")
    settings = cfg.lockstep
    policy, scheme, parent = starting_policy(run, cfg.init, cfg.scheme, cfg.width, cfg.num_layers)
    if parent is not None:
        parent["lineage"] = lineage(cfg.init)  # the card lists every run that made the policy
    anchor = None
    if parent is not None and settings.kl_coef > 0:
        anchor = DenseWeights.of(load_policy(cfg.init, run.device), detach=True)
    optimizer = torch.optim.Adam(policy.parameters(), lr=settings.learning_rate)
    updates = 0
    if run.state is not None:
        optimizer.load_state_dict(torch.load(run.last / "optimizer.pt", map_location=run.device, weights_only=True))
        updates = int(json.loads((run.last / RESUME_FILE).read_text())["updates"])

    # ------------------------------------------------------------------ validation and monitor
    validation = ValidationSet.for_run(run, settings.validation_cpsat_seconds)
    architecture = architecture_of(policy, run.max_jobs, run.max_machines, run.max_width)
    inference = {"scheme": scheme}
    monitor = Monitor(run, policy, validation, "timesteps", cfg.total_timesteps, architecture, inference, parent)
    progress = run.progress
    last_validated = progress
    recent: dict[str, list[float]] = defaultdict(list)

    def validate() -> None:
        files = {
            "optimizer.pt": torch_state_bytes(optimizer.state_dict()),
            RESUME_FILE: (json.dumps({"updates": updates}) + "\n").encode(),
        }
        monitor.validate(progress, mean_values(recent), files)
        recent.clear()

    if run.state is None:
        validate()  # the curve starts at the initial policy

    # ------------------------------------------------------------------ sample, update, validate
    sampler = run.sampler()
    while progress < cfg.total_timesteps and monitor.wall_seconds < budget:
        share_left = max(0.0, min(1 - progress / cfg.total_timesteps, 1 - monitor.wall_seconds / budget))
        for group in optimizer.param_groups:
            group["lr"] = settings.learning_rate * (share_left if settings.decay_learning_rate else 1.0)
        ent_coef = settings.ent_coef_end + (settings.ent_coef - settings.ent_coef_end) * share_left
        rng, generator = _update_randomness(run.settings.seed, updates)
        instances = [sampler.sample(rng) for _ in range(settings.instances_per_update)]
        began = time.perf_counter()
        rollouts = collect(
            DenseWeights.of(policy, detach=True),
            instances,
            settings.rollouts_per_instance,
            scheme,
            generator,
            run.device,
            settings.temperature,
            greedy=settings.baseline == "greedy",
            anchor=anchor,
        )
        collected = time.perf_counter()
        values = update(policy, optimizer, rollouts, settings, ent_coef, rng)
        updated = time.perf_counter()
        updates += 1
        progress += rollouts.decisions
        lower_bounds = np.repeat(rollouts.lower_bounds, settings.rollouts_per_instance)
        values["train_gap_to_lb"] = float(np.mean(100 * (rollouts.makespans - lower_bounds) / lower_bounds))
        if rollouts.greedy_makespans is not None:
            gaps = (rollouts.greedy_makespans - rollouts.lower_bounds) / rollouts.lower_bounds
            values["train_greedy_gap_to_lb"] = float(np.mean(100 * gaps))
        values["rollout_seconds"] = collected - began
        values["update_seconds"] = updated - collected
        for key, value in values.items():
            recent[key].append(value)
        monitor.advance(progress)
        if monitor.due(progress, last_validated) or monitor.wall_seconds >= budget:
            validate()
            last_validated = progress
    monitor.finish()
    return run
