"""The loop shared by the supervised trainers (imitation, self-labelling): label, step, validate.

Both train the dispatcher by cross-entropy towards labelled decisions
(:func:`cross_entropy_loss`); they differ only in where the labels come
from. :func:`train_supervised` owns the starting point (fresh network, ``--init`` checkpoint or
the run's ``last/``), the optimizer and its resume state, the batching and the validation
cadence, so each trainer writes only its labelling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch.nn import functional

from agents.checkpoints import architecture_of, checkpoint_identity, load_policy, new_policy, read_metadata
from agents.harness import Monitor, RunContext, mean_values, torch_state_bytes
from agents.policy import JobShopPolicy
from agents.training import ValidationSet


@dataclass
class LabelledInstance:
    """The decisions of the best sampled schedule of one instance, as padded observations.

    Shapes:
        observations: each entry ``(decisions, ...)`` as :class:`jssp.env.JobShopEnv` pads it;
        actions: ``(decisions,)`` the job dispatched at each decision.
    """

    observations: dict[str, npt.NDArray[np.generic]]
    actions: npt.NDArray[np.int64]
    best_makespan: int
    mean_makespan: float


def cross_entropy_loss(policy: JobShopPolicy, batch: list[LabelledInstance], device: torch.device) -> torch.Tensor:
    """Mean cross-entropy of the policy's job choice against the labels of ``batch``."""
    labelled = [item for item in batch if len(item.actions)]
    if not labelled:
        return torch.zeros((), device=device, requires_grad=True)
    observations = {
        key: torch.from_numpy(np.concatenate([item.observations[key] for item in labelled])).to(device)
        for key in labelled[0].observations
    }
    actions = torch.from_numpy(np.concatenate([item.actions for item in labelled])).to(device)
    logits = policy.job_logits(observations)
    return functional.cross_entropy(logits, actions)


Labeller = Callable[[JobShopPolicy, int], tuple[LabelledInstance, dict[str, float]]]
"""Labels the ``done``-th training instance of the run; returns it and the values to log for it."""


@dataclass(frozen=True)
class SupervisedSettings:
    """Optimisation settings of the supervised trainers."""

    instances_per_update: int = 4
    """Labelled instances per gradient step."""
    learning_rate: float = 1e-3
    """Adam learning rate."""
    decay_learning_rate: bool = True
    """Decay the learning rate linearly to zero over the run."""
    validation_cpsat_seconds: float = 1.0
    """CP-SAT limit of the validation reference (0 to skip)."""


def starting_policy(
    run: RunContext, init: str, scheme: str, width: int, num_layers: int
) -> tuple[JobShopPolicy, str, dict[str, Any] | None]:
    """The policy to train (``last/`` when resuming, else ``init`` or a fresh network), the scheme it
    acts in (``init``'s own when given) and the parent's identity."""
    parent = checkpoint_identity(init) if init else None
    if parent is not None:
        scheme = read_metadata(init)["inference"]["scheme"]
    if run.state is not None:
        policy = load_policy(run.last, run.device)
    elif parent is not None:
        policy = load_policy(init, run.device)
    else:
        policy = new_policy(width, num_layers, scheme, run.max_jobs, run.max_machines, run.max_width).to(run.device)
    return policy, scheme, parent


def train_supervised(
    run: RunContext,
    settings: SupervisedSettings,
    policy: JobShopPolicy,
    scheme: str,
    parent: dict[str, Any] | None,
    planned: int,
    label: Labeller,
    logged: tuple[str, ...],
) -> None:
    """Cross-entropy steps on ``label``'s instances up to ``planned`` of them, under a :class:`Monitor`."""
    if planned <= 0 or settings.instances_per_update <= 0:
        raise ValueError("the run needs at least one training instance and --instances-per-update >= 1")
    validation = ValidationSet.for_run(run, settings.validation_cpsat_seconds)
    optimizer = torch.optim.Adam(policy.parameters(), lr=settings.learning_rate)
    if run.state is not None:
        optimizer.load_state_dict(torch.load(run.last / "optimizer.pt", map_location=run.device, weights_only=True))
    architecture = architecture_of(policy, run.max_jobs, run.max_machines, run.max_width)
    inference = {"scheme": scheme}
    parent_inference = read_metadata(parent["folder"])["inference"] if parent is not None else {}
    if "sample_temperature" in parent_inference:
        inference["sample_temperature"] = parent_inference["sample_temperature"]
    monitor = Monitor(run, policy, validation, "instances", planned, architecture, inference, parent)
    done = run.progress
    last_validated = done

    def validate(recent: dict[str, list[float]]) -> None:
        monitor.validate(done, mean_values(recent), {"optimizer.pt": torch_state_bytes(optimizer.state_dict())})

    if run.state is None:
        validate({})
    policy.train()
    batch: list[LabelledInstance] = []
    recent: dict[str, list[float]] = {key: [] for key in ("loss", *logged)}
    while done < planned:
        labelled, values = label(policy, done)
        batch.append(labelled)
        for key, value in values.items():
            recent[key].append(value)
        done += 1
        monitor.advance(done)
        if len(batch) == settings.instances_per_update or done == planned:
            share_left = 1 - (done - len(batch)) / planned if settings.decay_learning_rate else 1.0
            for group in optimizer.param_groups:
                group["lr"] = settings.learning_rate * share_left
            optimizer.zero_grad()
            loss = cross_entropy_loss(policy, batch, run.device)
            loss.backward()
            optimizer.step()
            recent["loss"].append(float(loss.item()))
            batch = []
        if monitor.due(done, last_validated) and not batch:
            validate(recent)
            last_validated = done
            recent = {key: [] for key in recent}
    monitor.finish()
