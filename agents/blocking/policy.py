"""The learned dispatcher of the blocking job shop with shutdowns: GNN, SB3 policy, checkpoints, rollouts.

The encoder is the construction policy's relational GIN (:mod:`agents.encoder`) over the dynamic
disjunctive graph of :class:`jssp.blocking.env.BlockingEnv`: the operations that have not left their
machine, their job arcs, and a typed arc from the operation holding a machine to every next
operation waiting for it (several may wait for one machine, so arcs are summed, not copied). Each
candidate job is scored from its next operation's embedding and the graph's, with one shared MLP,
so the same weights serve any instance size.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor

from agents.encoder import PooledGraphEncoder
from agents.policy import CandidateScorer, GraphFeaturesExtractor, JobShopPolicy
from jssp.blocking.calendar import Calendar
from jssp.blocking.env import NUM_BLOCKING_FEATURES, EpisodeConstants, observation_spaces, observe
from jssp.blocking.lookahead import expected_downtime
from jssp.blocking.schedule import BlockingSchedule
from jssp.blocking.simulator import BlockingState
from jssp.instance import Instance


class DynamicGraphEncoder(PooledGraphEncoder):
    """Embeds every operation still in the shop, the graph, and each job's candidate operation (arcs summed:
    several operations may wait for one machine).

    Shapes:
        returns ``candidates``: ``(batch, max_jobs, width)`` (zeros for jobs without a candidate) and
        ``graph``: ``(batch, width)`` (mean of the remaining operations' embeddings).
    """

    def __init__(self, width: int = 32, num_layers: int = 2) -> None:
        super().__init__(NUM_BLOCKING_FEATURES, width, num_layers, sum_arcs=True)


class DynamicGraphFeaturesExtractor(GraphFeaturesExtractor):
    """:class:`agents.policy.GraphFeaturesExtractor` with the dynamic-graph encoder."""

    def __init__(self, observation_space: spaces.Dict, width: int = 32, num_layers: int = 2) -> None:
        super().__init__(observation_space, width, num_layers)
        self.encoder = DynamicGraphEncoder(width, num_layers)  # type: ignore[assignment]


HOLD_OFFSET = -4.0
"""Added to the hold action's logit: a dispatcher given the hold action starts out holding rarely (about e^-4 as
likely as an average job), so that fine-tuning starts from what it did without it."""


class HoldScorer(CandidateScorer):
    """:class:`agents.policy.CandidateScorer` whose last slot is the hold action: its candidate embedding is zero
    (the observation names no node there), so its score comes from the graph's embedding, the state of the whole
    shop, plus :data:`HOLD_OFFSET`."""

    def forward_actor(self, features: Tensor) -> Tensor:
        logits = super().forward_actor(features)
        return torch.cat([logits[:, :-1], logits[:, -1:] + HOLD_OFFSET], dim=1)


class BlockingPolicy(JobShopPolicy):
    """MaskablePPO policy over :class:`jssp.blocking.env.BlockingEnv` observations (one logit per job, then the
    hold action's when the spaces have one more action slot than jobs: :func:`jssp.blocking.env.observe`)."""

    features_extractor_type = DynamicGraphFeaturesExtractor
    kind = "isbjssp-dispatcher"

    def _build_mlp_extractor(self) -> None:
        assert isinstance(self.action_space, spaces.Discrete)
        space = self.observation_space
        assert isinstance(space, spaces.Dict)
        nodes, job_arcs = space["node_features"].shape[0], space["precedence_edges"].shape[1]  # type: ignore[index]
        # max_jobs * max_width nodes and max_jobs * max(max_width - 1, 1) job arcs (jssp.env.graph_spaces)
        max_jobs = nodes - job_arcs if nodes != job_arcs else nodes
        scorer = HoldScorer if int(self.action_space.n) == max_jobs + 1 else CandidateScorer
        self.mlp_extractor = scorer(self.width, int(self.action_space.n), self.candidate_parts)  # type: ignore[assignment]

    @classmethod
    def spaces_for(cls, architecture: dict[str, Any]) -> tuple[spaces.Dict, spaces.Discrete]:
        max_jobs, max_machines = architecture["max_jobs"], architecture["max_machines"]
        max_width = int(architecture.get("max_width", max_machines))
        hold = bool(architecture.get("hold", False))
        return observation_spaces(max_jobs, max_machines, max_width, hold), spaces.Discrete(max_jobs + hold)


def new_blocking_policy(
    width: int, num_layers: int, max_jobs: int, max_machines: int, max_width: int, hold: bool = False
) -> BlockingPolicy:
    """A freshly initialised blocking dispatcher for a padding size (outside SB3: tests, tools); ``hold``: with
    the hold action (:func:`policy_holds`)."""
    space = observation_spaces(max_jobs, max_machines, max_width, hold)
    return BlockingPolicy(space, spaces.Discrete(max_jobs + hold), lambda _: 0.0, width=width, num_layers=num_layers)


def load_blocking_policy(name_or_path: str | Path, device: str | torch.device = "cpu") -> BlockingPolicy:
    """Rebuild a saved blocking dispatcher on ``device``, in evaluation mode."""
    from agents.checkpoints import load_checkpoint

    return load_checkpoint(name_or_path, BlockingPolicy, device)


def _as_batch(observations: Sequence[dict[str, np.ndarray]], device: torch.device) -> dict[str, Tensor]:
    return {
        key: torch.as_tensor(np.stack([obs[key] for obs in observations]), device=device) for key in observations[0]
    }


def policy_holds(policy: JobShopPolicy) -> bool:
    """Whether the dispatcher has the hold action (:class:`HoldScorer`)."""
    return isinstance(policy.mlp_extractor, HoldScorer)


def policy_lookahead(policy: JobShopPolicy) -> str | None:
    """The lookahead rule a loaded checkpoint's features were trained with (``inference.lookahead``), or None."""
    return policy.metadata.get("inference", {}).get("lookahead") or None


def _calendar_downtime(calendar: Calendar) -> int:
    return expected_downtime(calendar.downtime) if calendar.downtime is not None else 1


def rollouts(
    policy: JobShopPolicy,
    instance: Instance,
    calendars: Sequence[Calendar],
    mode: str = "resume",
    temperature: float = 0.0,
    seed: int = 0,
    lookahead: str | None = None,
) -> list[BlockingState]:
    """Run one episode per calendar in lockstep, the questions of all of them in one forward pass.

    Args:
        temperature: 0 picks the highest logit (greedy); above 0 samples from ``softmax(logits / temperature)``.
        seed: seeds the sampling.
        lookahead: the rule of the lookahead features (see :func:`jssp.blocking.env.observe`), as the
            policy was trained with (:func:`policy_lookahead` of a checkpoint).

    Returns:
        The finished states, in the order of ``calendars``.
    """
    states = [BlockingState(instance, calendar, mode=mode) for calendar in calendars]
    downtimes = [_calendar_downtime(calendar) for calendar in calendars]
    return run_episodes(policy, states, downtimes, temperature, np.random.default_rng(seed), lookahead)


@torch.inference_mode()
def run_episodes(
    policy: JobShopPolicy,
    states: list[BlockingState],
    downtimes: Sequence[int],
    temperature: float,
    rng: np.random.Generator,
    lookahead: str | None = None,
) -> list[BlockingState]:
    """Answer every question of ``states`` (of one instance, at any point of their episodes) with the policy, in
    lockstep, until all are done; ``downtimes[k]`` is the expected shutdown length of state ``k``'s lookahead
    features. Returns ``states``, finished."""
    policy.eval()
    device = policy.device
    instance = states[0].instance
    max_jobs, max_width = instance.num_jobs, instance.width
    constants = EpisodeConstants.of(instance, max_jobs, max_width)
    hold = policy_holds(policy)
    while True:
        active = [index for index, state in enumerate(states) if not state.done]
        if not active:
            return states
        observations = [
            observe(
                states[index], max_jobs, instance.num_machines, max_width, constants, lookahead, downtimes[index], hold
            )
            for index in active
        ]
        logits = policy.job_logits(_as_batch(observations, device)).cpu().numpy()
        for index, row in zip(active, logits, strict=True):
            if temperature <= 0:
                job = int(np.argmax(row))
            else:
                scaled = (row - row.max()) / temperature
                probabilities = np.exp(scaled)
                job = int(rng.choice(len(row), p=probabilities / probabilities.sum()))
            if job == max_jobs:  # the hold action's slot
                states[index].hold()
            else:
                states[index].step(job)


def policy_schedule(
    policy: JobShopPolicy,
    instance: Instance,
    calendars: Sequence[Calendar],
    mode: str = "resume",
    temperature: float = 0.0,
    seed: int = 0,
    interruptions: dict[str, object] | None = None,
    lookahead: str | None = None,
) -> BlockingSchedule:
    """The best of the episodes on ``calendars`` (one greedy episode at temperature 0; several
    sampled ones on copies of one calendar, a planning method only meaningful without shutdowns).

    Args:
        interruptions: the schedule's ``interruptions`` record (default: the calendar's settings).
        lookahead: the policy's lookahead rule, see :func:`rollouts`.
    """
    if not calendars:
        raise ValueError("give at least one calendar")
    states = rollouts(policy, instance, calendars, mode, temperature, seed, lookahead)
    best = min(states, key=lambda state: state.now)
    schedule = best.schedule("gnn", interruptions)
    schedule.info["episodes"] = len(states)
    if policy_holds(policy):
        schedule.info["holds"] = best.holds
    return schedule
