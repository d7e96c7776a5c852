"""Stable-baselines3 glue for the improvement mode: one logit per N5 move of a complete schedule.

The encoder is the construction policy's (:mod:`agents.encoder`) over every operation of the
complete disjunctive graph; a move is scored from the embeddings of the two operations it
swaps and the graph embedding, with one shared MLP, so the same weights serve any number of
moves and any instance size (Zhang et al., ICLR 2024, score moves the same way).
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import Tensor

from agents.encoder import PooledGraphEncoder
from agents.policy import JobShopPolicy
from jssp.improvement_env import NUM_IMPROVEMENT_FEATURES, improvement_spaces


class CompleteGraphEncoder(PooledGraphEncoder):
    """Embeds every operation of a complete schedule, the graph, and the two operations of each move.

    Shapes:
        returns ``moves``: ``(batch, max_moves, 2, width)`` (zeros for padded moves) and
        ``graph``: ``(batch, width)`` (mean of the operations' embeddings).
    """

    def __init__(self, width: int = 32, num_layers: int = 2) -> None:
        super().__init__(NUM_IMPROVEMENT_FEATURES, width, num_layers, complete=True)


class MoveFeaturesExtractor(BaseFeaturesExtractor):
    """Runs the encoder; returns ``[first_0, second_0, graph, ..., graph]`` flattened (three parts per move).

    Shapes:
        output: ``(batch, max_moves * 3 * width + width)``.
    """

    def __init__(self, observation_space: spaces.Dict, width: int = 32, num_layers: int = 2) -> None:
        moves_shape = observation_space["move_nodes"].shape
        assert moves_shape is not None
        max_moves = moves_shape[0]
        super().__init__(observation_space, features_dim=max_moves * 3 * width + width)
        self.encoder = CompleteGraphEncoder(width, num_layers)

    def forward(self, observations: dict[str, Tensor]) -> Tensor:
        moves, graph = self.encoder(observations)
        batch_size, max_moves = moves.shape[:2]
        triples = torch.cat([moves.flatten(2), graph[:, None, :].expand(-1, max_moves, -1)], dim=2)
        return torch.cat([triples.reshape(batch_size, -1), graph], dim=1)


class ImprovementPolicy(JobShopPolicy):
    """MaskablePPO policy over :class:`jssp.improvement_env.ImprovementEnv` observations (one logit per move)."""

    features_extractor_type = MoveFeaturesExtractor
    candidate_parts = 3
    kind = "improvement"

    @classmethod
    def spaces_for(cls, architecture: dict[str, Any]) -> tuple[spaces.Dict, spaces.Discrete]:
        max_jobs, max_machines = architecture["max_jobs"], architecture["max_machines"]
        return improvement_spaces(max_jobs, max_machines, architecture.get("max_width") or max_machines)

    def move_logits(self, observation: dict[str, Tensor]) -> Tensor:
        """Masked logits of every move for a batch of observations of any padding size (inference path).

        Shapes:
            returns ``(batch, max_moves)``; illegal or padded moves get ``-inf``.
        """
        return self.job_logits(observation)
