"""Self-labelling fine-tuning of the dispatcher (Corsini et al. 2024, "Self-Labeling the Job Shop
Scheduling Problem", SLJ).

For each training instance the current policy samples K complete schedules; the best one becomes
the label, and the policy takes a cross-entropy step towards the job it dispatched at every
decision of that schedule (steps with a single legal job carry no signal and are skipped). No
critic and no reward shaping: the policy learns to do greedily what its best samples did. Here it
fine-tunes a PPO-trained checkpoint, whose samples are already good labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from torch.nn import functional

from agents.inference import sample_rollouts
from agents.policy import JobShopPolicy
from jssp.env import JobShopEnv
from jssp.instance import Instance


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


def label_instance(
    policy: JobShopPolicy,
    instance: Instance,
    num_samples: int,
    seed: int,
    scheme: str,
    max_jobs: int,
    max_machines: int,
) -> LabelledInstance:
    """Sample ``num_samples`` schedules and replay the best one's decisions in a padded environment."""
    # The lockstep decoder reads the weights directly; the policy has no mode-dependent layers.
    states, actions = sample_rollouts(policy, instance, num_samples, seed=seed, scheme=scheme, include_greedy=True)
    makespans = np.array([state.makespan for state in states])
    best = int(np.argmin(makespans))
    env = JobShopEnv(instance, max_jobs=max_jobs, max_machines=max_machines, scheme=scheme, illegal_action="raise")
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


def self_labelling_loss(policy: JobShopPolicy, batch: list[LabelledInstance], device: torch.device) -> torch.Tensor:
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
