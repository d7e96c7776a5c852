"""Graph neural network over the disjunctive graph of a partial schedule.

The encoder reads the padded observation of :class:`jssp.env.JobShopEnv`, turns a batch of
them into one disconnected PyG graph without a per-graph Python loop, and runs a few
relational GIN-style layers: each operation aggregates its job predecessor and successor,
its machine predecessor and successor in the partial schedule (four arc types, Park et al.
2021 use the same split), and the mean of the unscheduled operations that share its machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from jssp.env import NUM_NODE_FEATURES


def scatter(src: Tensor, index: Tensor, dim_size: int, reduce: str) -> Tensor:
    """``torch_geometric.utils.scatter`` along the first dimension, PyG imported on first use.

    PyG takes about a second to import and the compiled decoders (:mod:`agents.lockstep`) that
    ``jssp solve`` runs never call it.
    """
    from torch_geometric.utils import scatter as pyg_scatter

    return pyg_scatter(src, index, dim=0, dim_size=dim_size, reduce=reduce)


@dataclass
class GraphBatch:
    """A batch of observations flattened into one graph (padding removed).

    Shapes:
        x: ``(num_nodes_total, NUM_NODE_FEATURES)``;
        edges: four ``(2, num_arcs)`` tensors (job forward/backward, machine forward/backward);
        batch: ``(num_nodes_total,)`` graph of each node;
        machine_group: ``(num_nodes_total,)`` (graph, machine) id of each node;
        unscheduled: ``(num_nodes_total,)`` bool;
        candidates: ``(batch_size, max_jobs)`` node of each job's next operation, -1 if none
            (``(batch_size, max_moves, 2)`` nodes of each move for complete schedules).
    """

    x: Tensor
    edges: list[Tensor]
    batch: Tensor
    machine_group: Tensor
    num_machine_groups: int
    unscheduled: Tensor
    candidates: Tensor
    batch_size: int


def batch_observations(
    observation: dict[str, Tensor], keep_scheduled: bool = False, complete: bool = False
) -> GraphBatch:
    """Flatten a batch of padded observations (SB3 hands them over as float tensors).

    Args:
        observation: batched :class:`jssp.env.JobShopEnv` observation.
        keep_scheduled: keep the dispatched operations as nodes. By default they are dropped:
            what they tell about the future (when each job and machine is free) is already in
            the features of the unscheduled operations, and dropping them halves the graph on
            average, which is most of the encoder's cost.
        complete: the observation is a complete schedule (:class:`jssp.improvement_env.ImprovementEnv`):
            every operation is a node and counts as ``unscheduled`` (it takes part in the machine
            context and the pooling), and ``candidates`` are read from ``move_nodes``.
    """
    features = observation["node_features"].float()
    batch_size, max_nodes, _ = features.shape
    device = features.device
    num_nodes = observation["num_nodes"].reshape(batch_size).long()
    valid = torch.arange(max_nodes, device=device)[None, :] < num_nodes[:, None]  # (batch, max_nodes)
    valid = valid & (observation["op_machine"] >= 0)  # route padding of general instances is no node
    if not keep_scheduled and not complete:
        valid = valid & (features[:, :, 0] < 0.5)
    flat_valid = valid.reshape(-1)
    new_index = torch.cumsum(flat_valid.long(), 0) - 1  # padded slot -> compact node id
    new_index = torch.where(flat_valid, new_index, torch.full_like(new_index, -1))
    offsets = (torch.arange(batch_size, device=device) * max_nodes)[:, None]

    def compact_edges(padded: Tensor) -> Tensor:
        padded = padded.long()  # (batch, 2, max_arcs)
        real = padded[:, 0, :] >= 0
        sources = new_index[(padded[:, 0, :] + offsets)[real]]
        targets = new_index[(padded[:, 1, :] + offsets)[real]]
        kept = (sources >= 0) & (targets >= 0)
        return torch.stack([sources[kept], targets[kept]])

    precedence = compact_edges(observation["precedence_edges"])
    machine = compact_edges(observation["machine_edges"])
    x = features.reshape(batch_size * max_nodes, -1)[flat_valid]
    batch = torch.arange(batch_size, device=device).repeat_interleave(max_nodes)[flat_valid]
    op_machine = observation["op_machine"].long().reshape(-1)[flat_valid]
    max_machines = int(op_machine.max().item()) + 1 if op_machine.numel() else 1
    candidates = observation["move_nodes" if complete else "candidates"].long()
    global_candidates = candidates + offsets.reshape(batch_size, *[1] * (candidates.dim() - 1))
    compact_candidates = torch.where(
        candidates >= 0, new_index[global_candidates.clamp(min=0)], torch.full_like(candidates, -1)
    )
    return GraphBatch(
        x=x,
        edges=[precedence, precedence.flip(0), machine, machine.flip(0)],
        batch=batch,
        machine_group=batch * max_machines + op_machine,
        num_machine_groups=batch_size * max_machines,
        unscheduled=torch.ones_like(batch, dtype=torch.bool) if complete else x[:, 0] < 0.5,
        candidates=compact_candidates,
        batch_size=batch_size,
    )


class RelationalGINLayer(nn.Module):
    """One message-passing round with separate sums per arc type plus a machine context.

    ``h' = LayerNorm(h + MLP([h, sum_r A_r h, mean of unscheduled h on the same machine]))``.

    Args:
        width: node embedding size.
        num_relations: number of arc types (each aggregated separately).
        sum_arcs: sum the neighbours of each arc type with a scatter; by default every node is taken
            to have at most one neighbour per arc type (true of the disjunctive graph's job and
            machine arcs), and the sum is an index copy.

    Shapes:
        input ``h``: ``(num_nodes, width)``; output: same.
    """

    def __init__(self, width: int, num_relations: int = 4, sum_arcs: bool = False) -> None:
        super().__init__()
        self.num_relations = num_relations
        self.sum_arcs = sum_arcs
        self.mlp = nn.Sequential(nn.Linear(width * (num_relations + 2), width), nn.ReLU(), nn.Linear(width, width))
        self.norm = nn.LayerNorm(width)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.mlp:
            if isinstance(module, nn.Linear):
                module.reset_parameters()
        self.norm.reset_parameters()

    def forward(self, h: Tensor, graph: GraphBatch) -> Tensor:
        num_nodes = h.shape[0]
        parts = [h]
        for source, target in graph.edges:
            # Every operation has at most one predecessor and one successor per arc type, so the
            # neighbour sum is a plain index copy (cheaper than a scatter-add; same result).
            aggregated = h.new_zeros(num_nodes, h.shape[1])
            if source.numel() and self.sum_arcs:
                aggregated.index_add_(0, target, h[source])
            elif source.numel():
                aggregated[target] = h[source]
            parts.append(aggregated)
        weights = graph.unscheduled.to(h.dtype)[:, None]
        sums = scatter(h * weights, graph.machine_group, graph.num_machine_groups, "sum")
        counts = scatter(weights, graph.machine_group, graph.num_machine_groups, "sum")
        parts.append((sums / counts.clamp(min=1.0))[graph.machine_group])
        return self.norm(h + self.mlp(torch.cat(parts, dim=1)))


class DisjunctiveGraphEncoder(nn.Module):
    """Embeds every operation, the whole graph and each job's candidate operation.

    Args:
        width: embedding size.
        num_layers: message-passing rounds.
        keep_scheduled: also embed dispatched operations (see :func:`batch_observations`).

    Shapes:
        returns ``candidates``: ``(batch, max_jobs, width)`` (zeros for finished or padded jobs)
        and ``graph``: ``(batch, width)`` (mean of the unscheduled operations' embeddings).
    """

    def __init__(self, width: int = 64, num_layers: int = 3, keep_scheduled: bool = False) -> None:
        super().__init__()
        self.width = width
        self.keep_scheduled = keep_scheduled
        self.input = nn.Sequential(nn.Linear(NUM_NODE_FEATURES, width), nn.ReLU(), nn.Linear(width, width))
        self.layers = nn.ModuleList(RelationalGINLayer(width) for _ in range(num_layers))

    def forward(self, observation: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        graph = batch_observations(observation, self.keep_scheduled)
        h = self.input(graph.x)
        for layer in self.layers:
            h = layer(h, graph)
        weights = graph.unscheduled.to(h.dtype)[:, None]
        pooled = scatter(h * weights, graph.batch, graph.batch_size, "sum")
        counts = scatter(weights, graph.batch, graph.batch_size, "sum")
        graph_embedding = pooled / counts.clamp(min=1.0)
        padded_h = torch.cat([h, h.new_zeros(1, self.width)])  # index -1 -> the zero row
        candidates = padded_h[graph.candidates]
        return candidates, graph_embedding


class PooledGraphEncoder(nn.Module):
    """Embeds the nodes an observation keeps, the graph (their mean) and the nodes its ``candidates`` name.

    The encoder of the improvement policy (every operation of a complete schedule) and of the blocking
    dispatcher (the operations still in the shop).

    Args:
        num_features: node features of the observation.
        width: embedding size.
        num_layers: message-passing rounds (:class:`RelationalGINLayer`).
        sum_arcs: see :class:`RelationalGINLayer`.
        complete: the observation is a complete schedule (see :func:`batch_observations`).

    Shapes:
        returns the candidates' embeddings, ``candidates.shape + (width,)`` (zeros where the index is -1),
        and ``graph``: ``(batch, width)``.
    """

    def __init__(
        self, num_features: int, width: int, num_layers: int, sum_arcs: bool = False, complete: bool = False
    ) -> None:
        super().__init__()
        self.width = width
        self.complete = complete
        self.input = nn.Sequential(nn.Linear(num_features, width), nn.ReLU(), nn.Linear(width, width))
        self.layers = nn.ModuleList(RelationalGINLayer(width, sum_arcs=sum_arcs) for _ in range(num_layers))

    def forward(self, observation: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        graph = batch_observations(observation, complete=self.complete)
        h = self.input(graph.x)
        for layer in self.layers:
            h = layer(h, graph)
        graph_embedding = scatter(h, graph.batch, graph.batch_size, "mean")
        padded_h = torch.cat([h, h.new_zeros(1, self.width)])  # index -1 -> the zero row
        return padded_h[graph.candidates], graph_embedding
