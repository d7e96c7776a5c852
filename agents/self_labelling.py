"""Self-labelling fine-tuning of the dispatcher (Corsini et al. 2024, "Self-Labeling the Job Shop
Scheduling Problem", SLJ).

For each training instance the current policy samples K complete schedules; the best one becomes
the label, and the policy takes a cross-entropy step towards the job it dispatched at every
decision of that schedule (steps with a single legal job carry no signal and are skipped). No
critic and no reward shaping: the policy learns to do greedily what its best samples did. Here it
fine-tunes a trained checkpoint, whose samples are already good labels. ``train.py self-labelling``
runs :func:`main`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, ClassVar

import numpy as np
import numpy.typing as npt
import tyro

from agents.harness import RunContext, RunSettings, start_run
from agents.inference import sample_rollouts
from agents.policy import JobShopPolicy
from agents.supervised import LabelledInstance, SupervisedSettings, starting_policy, train_supervised
from jssp.env import JobShopEnv
from jssp.instance import Instance


def label_instance(
    policy: JobShopPolicy,
    instance: Instance,
    num_samples: int,
    seed: int,
    scheme: str,
    max_jobs: int,
    max_machines: int,
    max_width: int | None = None,
) -> LabelledInstance:
    """Sample ``num_samples`` schedules and replay the best one's decisions in a padded environment."""
    # The lockstep decoder reads the weights directly; the policy has no mode-dependent layers.
    states, actions = sample_rollouts(policy, instance, num_samples, seed=seed, scheme=scheme, include_greedy=True)
    makespans = np.array([state.makespan for state in states])
    best = int(np.argmin(makespans))
    env = JobShopEnv(
        instance,
        max_jobs=max_jobs,
        max_machines=max_machines,
        scheme=scheme,
        illegal_action="raise",
        max_width=max_width,
    )
    observation, _ = env.reset(seed=seed)
    kept: list[dict[str, npt.NDArray[np.generic]]] = []
    chosen: list[int] = []
    for job in actions[best]:
        if int(observation["action_mask"].sum()) > 1:
            kept.append(observation)
            chosen.append(int(job))
        observation, *_ = env.step(int(job))
    stacked = {key: np.stack([obs[key] for obs in kept]) for key in kept[0]} if kept else {}
    return LabelledInstance(stacked, np.array(chosen, dtype=np.int64), int(makespans[best]), float(makespans.mean()))


@dataclass(frozen=True)
class SelfLabellingConfig:
    """Fine-tune a trained dispatcher by self-labelling (SLJ): imitate its own best of K samples."""

    EXTENDABLE: ClassVar[tuple[str, ...]] = ("instances",)
    """Fields a resumed run may raise (to train longer)."""

    run: Annotated[RunSettings, tyro.conf.OmitArgPrefixes] = RunSettings(
        run_dir=Path("runs/self-labelling"), sizes=("10x10", "15x15", "20x15", "20x20"), eval_every=100
    )
    optimisation: Annotated[SupervisedSettings, tyro.conf.OmitArgPrefixes] = field(
        default_factory=lambda: SupervisedSettings(learning_rate=1e-4, decay_learning_rate=False)
    )
    init: str = "gnn-default"
    """Checkpoint (shipped name or folder) to fine-tune; its architecture and scheme are kept."""
    instances: int = 2000
    """Training instances (one label each)."""
    samples: int = 64
    """Schedules sampled per instance; the best is the label."""


def main(cfg: SelfLabellingConfig) -> RunContext:
    # ------------------------------------------------------------------ preamble and starting point
    if cfg.instances <= 0 or cfg.samples <= 0:
        raise ValueError("--instances and --samples must be positive")
    if not cfg.init:
        raise ValueError("self-labelling fine-tunes a trained policy: give --init CHECKPOINT")
    run = start_run(cfg, "self-labelling")
    policy, scheme, parent = starting_policy(run, cfg.init, "", 0, 0)

    # ------------------------------------------------------------------ instance stream
    sampler = run.sampler()
    rng = np.random.default_rng(run.settings.seed)
    for _ in range(run.progress):  # replay the stream so a resumed run sees the instances it would have seen
        sampler.sample(rng)

    # ------------------------------------------------------------------ label, step, validate
    def label(current: JobShopPolicy, done: int) -> tuple[LabelledInstance, dict[str, float]]:
        instance = sampler.sample(rng)
        labelled = label_instance(
            current,
            instance,
            cfg.samples,
            run.settings.seed + done,
            scheme,
            run.max_jobs,
            run.max_machines,
            run.max_width,
        )
        gain = 100 * (labelled.mean_makespan - labelled.best_makespan) / labelled.mean_makespan
        return labelled, {"label_gain": gain}

    train_supervised(run, cfg.optimisation, policy, scheme, parent, cfg.instances, label, ("label_gain",))
    return run
