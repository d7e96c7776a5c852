"""Stable-baselines3 glue: a features extractor around the GNN and a policy with one logit per job.

SB3's actor-critic policies end in a fixed ``Linear(latent, n_actions)``; here the actor
instead scores every job's candidate operation with one shared MLP, so the same weights
serve any number of jobs (the action space only fixes the padding of one training run).
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import Tensor, nn

from agents.encoder import DisjunctiveGraphEncoder
from jssp.env import dispatcher_spaces


class GraphFeaturesExtractor(BaseFeaturesExtractor):
    """Runs the encoder; returns ``[candidate_0, graph, ..., candidate_{J-1}, graph, graph]`` flattened.

    Shapes:
        output: ``(batch, max_jobs * 2 * width + width)``.
    """

    def __init__(self, observation_space: spaces.Dict, width: int = 64, num_layers: int = 3) -> None:
        candidates_shape = observation_space["candidates"].shape
        assert candidates_shape is not None
        max_jobs = candidates_shape[0]
        super().__init__(observation_space, features_dim=max_jobs * 2 * width + width)
        self.encoder = DisjunctiveGraphEncoder(width, num_layers)
        self.width = width

    def forward(self, observations: dict[str, Tensor]) -> Tensor:
        candidates, graph = self.encoder(observations)
        batch_size, max_jobs, _ = candidates.shape
        pairs = torch.cat([candidates, graph[:, None, :].expand(-1, max_jobs, -1)], dim=2)
        return torch.cat([pairs.reshape(batch_size, -1), graph], dim=1)


class CandidateScorer(nn.Module):
    """SB3 ``mlp_extractor``: actor latent = one logit per job, critic latent = graph MLP.

    Args:
        width: embedding size.
        max_jobs: number of candidates the action space pads to.
        parts: embeddings per candidate in the extractor's output (2 for a job: its operation
            and the graph; 3 for an N5 move: its two operations and the graph).

    Shapes:
        input: the extractor's output; ``forward_actor`` returns ``(batch, num_jobs)`` for any
        ``num_jobs`` (inferred from the input width), ``forward_critic`` ``(batch, width)``.
    """

    def __init__(self, width: int, max_jobs: int, parts: int = 2) -> None:
        super().__init__()
        self.width = width
        self.parts = parts
        self.latent_dim_pi = max_jobs
        self.latent_dim_vf = width
        self.actor = nn.Sequential(
            nn.Linear(parts * width, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 1)
        )
        self.critic = nn.Sequential(nn.Linear(width, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh())

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor]:
        return self.forward_actor(features), self.forward_critic(features)

    def forward_actor(self, features: Tensor) -> Tensor:
        pairs = features[:, : -self.width].reshape(features.shape[0], -1, self.parts * self.width)
        return self.actor(pairs).squeeze(-1)

    def forward_critic(self, features: Tensor) -> Tensor:
        return self.critic(features[:, -self.width :])


class JobShopPolicy(MaskableActorCriticPolicy):
    """MaskablePPO policy over :class:`jssp.env.JobShopEnv` observations (one logit per job)."""

    features_extractor_type: type[BaseFeaturesExtractor] = GraphFeaturesExtractor
    """Encoder of the observations; subclasses swap it for other environments."""
    candidate_parts: int = 2
    """Embeddings per candidate in the extractor's output (see :class:`CandidateScorer`)."""
    kind: str = "dispatcher"
    """What the policy does, as ``checkpoint.json`` records it (``architecture.policy``)."""

    @classmethod
    def spaces_for(cls, architecture: dict[str, Any]) -> tuple[spaces.Dict, spaces.Discrete]:
        """Observation and action spaces of the padding a checkpoint's ``architecture`` records."""
        max_jobs, max_machines = architecture["max_jobs"], architecture["max_machines"]
        return dispatcher_spaces(max_jobs, max_machines, architecture.get("max_width") or max_machines)

    def __init__(self, *args: Any, width: int = 64, num_layers: int = 3, **kwargs: Any) -> None:
        self.width = width
        self.num_layers = num_layers
        self.metadata: dict[str, Any] = {}
        """``checkpoint.json`` of a loaded checkpoint (see :mod:`agents.checkpoints`); empty when built fresh."""
        kwargs["features_extractor_class"] = self.features_extractor_type
        kwargs["features_extractor_kwargs"] = {"width": width, "num_layers": num_layers}
        kwargs["share_features_extractor"] = True
        super().__init__(*args, **kwargs)

    def _build_mlp_extractor(self) -> None:
        assert isinstance(self.action_space, spaces.Discrete)
        self.mlp_extractor = CandidateScorer(  # type: ignore[assignment]
            self.width, int(self.action_space.n), self.candidate_parts
        )

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        # The scorer already returns logits: drop SB3's Linear(latent, n_actions) and rebuild the optimizer.
        self.action_net = nn.Identity()
        self.optimizer = self.optimizer_class(
            self.parameters(),
            lr=lr_schedule(1),  # type: ignore[call-arg]
            **self.optimizer_kwargs,
        )

    def job_logits(self, observation: dict[str, Tensor]) -> Tensor:
        """Masked logits for a batch of observations of any padding size (inference path, no SB3).

        Shapes:
            returns ``(batch, max_jobs)``; illegal jobs get ``-inf``.
        """
        # The extractor reads the raw tensors (it casts what it needs), so SB3's float copy of every
        # observation array is skipped: that copy was a third of the time of a 100x20 decoding step.
        features = self.features_extractor(observation)
        assert isinstance(self.mlp_extractor, CandidateScorer)
        logits = self.mlp_extractor.forward_actor(features)
        mask = observation["action_mask"].bool()
        return logits.masked_fill(~mask, float("-inf"))
