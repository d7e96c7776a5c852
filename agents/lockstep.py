"""Job logits for K partial schedules of one instance advanced in lockstep, without padded observations.

Once dispatched operations are dropped (see :func:`agents.encoder.batch_observations`), the graph
the encoder sees has a fixed shape: the unscheduled operations of each job form a suffix of its
route, their only arcs are the job arcs inside that suffix (machine arcs join dispatched
operations only), and K rollouts advanced in lockstep all have the same number of them. So the
node features of K partial schedules are written straight from their
:class:`jssp.dispatch.DispatchState` arrays into one dense ``(K, nodes, features)`` array (one numba
kernel), and each layer applies the policy's own weights with a shift for the job arcs and a
per-machine mean: no graph compaction and no scatter over padded slots. The logits are those of
:meth:`agents.policy.JobShopPolicy.job_logits` (the tests hold both back ends to that).

On the CPU the encoder runs in numpy matrix products plus two numba kernels per layer that fuse
the element-wise work (torch's per-call cost dominates at these sizes); elsewhere it runs in torch.
:class:`CompleteGraphDecoder` does the same for the improvement policy's move logits over a
complete schedule (used by :func:`agents.improvement.inference.improve` on the CPU).
"""

from __future__ import annotations

from typing import Any, Generic, NamedTuple, TypeVar

import numba
import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor, nn
from torch.nn import functional

from agents.encoder import RelationalGINLayer
from agents.improvement.policy import MoveFeaturesExtractor
from agents.policy import CandidateScorer, GraphFeaturesExtractor, JobShopPolicy
from jssp.dispatch import DispatchState
from jssp.env import NUM_NODE_FEATURES
from jssp.instance import Instance

ArrayT = TypeVar("ArrayT", Tensor, npt.NDArray[np.float32])


class _DenseLayer(NamedTuple, Generic[ArrayT]):
    """One :class:`agents.encoder.RelationalGINLayer`, weights laid out ``(inputs, outputs)``.

    The first weight's blocks follow the layer's concatenation: self, job predecessor, job successor,
    machine predecessor, machine successor, machine mean. Machine arcs never join two unscheduled
    operations, so their blocks drop out; the machine mean enters linearly, so it is averaged before
    its block is applied.
    """

    arc_weight: ArrayT  # (width, blocks * width): self, job predecessor, job successor[, machine arcs]
    first_bias: ArrayT
    context_weight: ArrayT  # (width, width): machine mean
    second_weight: ArrayT  # (width, width)
    second_bias: ArrayT
    norm_weight: ArrayT
    norm_bias: ArrayT
    norm_eps: float


class LockstepDecoder:
    """Masked job logits of a :class:`JobShopPolicy` for partial schedules of one instance.

    The states must all have dispatched the same number of operations. Features follow
    :data:`jssp.env.NODE_FEATURES`, scaled by the instance's initial lower bound as in
    :class:`jssp.env.JobShopEnv`.

    Args:
        policy: a policy whose encoder drops dispatched operations (the default).
        instance: the instance every state schedules.
        compiled: run the encoder in numpy and numba on the CPU, from a copy of the weights (default
            for a policy on the CPU, where it is about twice as fast as torch; any device's policy
            works); ``False`` runs it in torch on the policy's device.
    """

    def __init__(self, policy: JobShopPolicy, instance: Instance, compiled: bool | None = None) -> None:
        self.device = policy.device
        self.compiled = self.device.type == "cpu" if compiled is None else compiled
        self.instance = instance
        self.time_scale = float(max(DispatchState(instance).lower_bound(), 1))
        # Plain tensors and functional calls: module calls cost more than the arithmetic at these sizes.
        self.weights = DenseWeights.of(policy, detach=True)
        self.width = self.weights.width
        if self.compiled:
            self.numpy_input = [(_numpy(weight), _numpy(bias)) for weight, bias in self.weights.input]
            self.numpy_layers = [_numpy_layer(layer) for layer in self.weights.layers]
            self.numpy_actor = [(_numpy(weight), _numpy(bias)) for weight, bias in self.weights.actor]

    def logits(self, states: list[DispatchState]) -> Tensor:
        """Job logits, ``-inf`` on illegal jobs.

        Shapes:
            returns ``(K, num_jobs)`` float32 on the policy's device.
        """
        if self.compiled:
            return torch.from_numpy(self.compiled_logits(states)[0])
        graph = unscheduled_graph(self.instance, states, self.time_scale)
        return self.weights.job_logits(
            self.instance.num_machines, *(torch.from_numpy(array).to(self.device) for array in graph)
        )

    def compiled_logits(self, states: list[DispatchState]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """:meth:`logits` by the compiled encoder, with the graph embeddings (mean of the node embeddings).

        Shapes:
            returns logits ``(K, num_jobs)`` and graph embeddings ``(K, width)``.
        """
        features, arcs, machine, candidates, mask = unscheduled_graph(self.instance, states, self.time_scale)
        h = self._encode_compiled(features, arcs, machine)
        graph = h.mean(axis=1)  # (K, width)
        return self._score_compiled(h, graph, candidates, mask), graph

    def _encode_compiled(
        self, features: npt.NDArray[np.float32], arcs: npt.NDArray[np.float32], machine: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float32]:
        """Node embeddings in numpy and numba (same arithmetic as :meth:`DenseWeights.encode`)."""
        num_states, num_nodes, _ = features.shape
        (input_weight, input_bias), (output_weight, output_bias) = self.numpy_input
        h = np.maximum(features.reshape(-1, NUM_NODE_FEATURES) @ input_weight + input_bias, 0.0)
        h = h @ output_weight + output_bias  # (K * nodes, width)
        flat_arcs, flat_machine = arcs.reshape(-1, 2), machine.reshape(-1)
        for layer in self.numpy_layers:
            hidden = np.empty_like(h)
            _combine_neighbours(
                h,
                h @ layer.arc_weight,
                layer.first_bias,
                layer.context_weight,
                flat_arcs,
                flat_machine,
                num_nodes,
                self.instance.num_machines,
                hidden,
            )
            _residual_layer_norm(
                h, hidden @ layer.second_weight, layer.second_bias, layer.norm_weight, layer.norm_bias, layer.norm_eps
            )  # in place
        return h.reshape(num_states, num_nodes, self.width)

    def _score_compiled(
        self,
        h: npt.NDArray[np.float32],
        graph: npt.NDArray[np.float32],
        candidates: npt.NDArray[np.int64],
        mask: npt.NDArray[np.bool_],
    ) -> npt.NDArray[np.float32]:
        """:meth:`DenseWeights.score` in numpy, given the graph embeddings ``h.mean(axis=1)``."""
        num_states = h.shape[0]
        padded = np.concatenate([h, np.zeros((num_states, 1, self.width), dtype=np.float32)], axis=1)
        job_embeddings = padded[np.arange(num_states)[:, None], candidates]  # position -1 -> zero row
        pairs = np.concatenate(
            [job_embeddings, np.broadcast_to(graph[:, None, :], job_embeddings.shape)], axis=2, dtype=np.float32
        )
        scores = _tanh_mlp(self.numpy_actor, pairs)[..., 0]
        return np.where(mask, scores, np.float32(-np.inf)).astype(np.float32)


def unscheduled_graph(
    instance: Instance, states: list[DispatchState], time_scale: float
) -> tuple[npt.NDArray[Any], ...]:
    """Dense graph of the unscheduled operations of partial schedules of ``instance`` (see :func:`_unscheduled_graph`).

    The states must all have dispatched the same number of operations; ``time_scale`` divides every time feature
    (the instance's initial lower bound, as in :class:`jssp.env.JobShopEnv`).

    Shapes:
        returns features ``(K, nodes, NUM_NODE_FEATURES)``, arcs ``(K, nodes, 2)``, machine ``(K, nodes)``,
        candidates ``(K, num_jobs)`` and mask ``(K, num_jobs)``; with one state the mask is a view of the state's
        own, which its next step changes (copy it to keep it).
    """

    def stacked(name: str) -> npt.NDArray[Any]:
        if len(states) == 1:
            return getattr(states[0], name)[None]  # a view, no copy
        return np.stack([getattr(state, name) for state in states])

    mask = stacked("mask")
    num_states = len(states)
    num_nodes = instance.num_operations - states[0].num_scheduled
    features = np.empty((num_states, num_nodes, NUM_NODE_FEATURES), dtype=np.float32)
    arcs = np.empty((num_states, num_nodes, 2), dtype=np.float32)
    machine = np.empty((num_states, num_nodes), dtype=np.int64)
    candidates = np.empty((num_states, instance.num_jobs), dtype=np.int64)
    _unscheduled_graph(
        instance.machines,
        instance.durations,
        instance.lengths,
        stacked("job_next_op"),
        stacked("job_ready"),
        stacked("job_remaining_work"),
        mask,
        stacked("machine_remaining_work"),
        stacked("machine_ready"),
        time_scale,
        features,
        arcs,
        machine,
        candidates,
    )
    return features, arcs, machine, candidates, mask


class DenseWeights(NamedTuple):
    """A :class:`JobShopPolicy`'s encoder and actor as plain tensors, applied to dense graphs of unscheduled operations.

    Built from the live parameters (``detach=False``) the arithmetic is differentiable, which is how
    :mod:`agents.lockstep_ppo` trains on the graphs the lockstep rollouts produce.
    """

    input: list[tuple[Tensor, Tensor]]
    layers: list[_DenseLayer[Tensor]]
    actor: list[tuple[Tensor, Tensor]]
    width: int

    @classmethod
    def of(cls, policy: JobShopPolicy, detach: bool) -> DenseWeights:
        """The weights of ``policy`` (views of its parameters; ``detach`` cuts them from autograd)."""
        extractor = policy.features_extractor
        assert isinstance(extractor, GraphFeaturesExtractor) and isinstance(policy.mlp_extractor, CandidateScorer)
        encoder = extractor.encoder
        if encoder.keep_scheduled:
            raise ValueError("lockstep decoding needs an encoder that drops dispatched operations")
        width: int = encoder.width
        # The machine arcs never join two unscheduled operations, so only three arc blocks are used.
        layers = [_dense_layer(layer, width, arc_blocks=3, detach=detach) for layer in encoder.layers]
        return cls(_linears(encoder.input, detach), layers, _linears(policy.mlp_extractor.actor, detach), width)

    def job_logits(
        self, num_machines: int, features: Tensor, arcs: Tensor, machine: Tensor, candidates: Tensor, mask: Tensor
    ) -> Tensor:
        """Masked job logits (``-inf`` on illegal jobs) of the graphs :func:`unscheduled_graph` returns.

        Shapes:
            returns ``(K, num_jobs)``.
        """
        return self.score(self.encode(features, arcs, machine, num_machines), candidates, mask)

    def encode(self, features: Tensor, arcs: Tensor, machine: Tensor, num_machines: int) -> Tensor:
        """Node embeddings. Shapes: returns ``(K, nodes, width)``."""
        (input_weight, input_bias), (output_weight, output_bias) = self.input
        h = torch.relu(features @ input_weight + input_bias) @ output_weight + output_bias
        from_predecessor, from_successor = arcs[:, 1:, 0:1], arcs[:, :-1, 1:2]
        machine_onehot = functional.one_hot(machine, num_machines).to(h.dtype)
        machine_onehot_t = machine_onehot.transpose(1, 2)
        machine_size = machine_onehot_t.sum(dim=2, keepdim=True).clamp(min=1.0)  # (K, num_machines, 1)
        for layer in self.layers:
            own, predecessor, successor = (h @ layer.arc_weight).split(self.width, dim=2)
            hidden = own + layer.first_bias
            hidden[:, 1:] += predecessor[:, :-1] * from_predecessor
            hidden[:, :-1] += successor[:, 1:] * from_successor
            machine_mean = (machine_onehot_t @ h) / machine_size  # (K, num_machines, width)
            hidden = torch.relu(hidden + machine_onehot @ (machine_mean @ layer.context_weight))
            update = hidden @ layer.second_weight + layer.second_bias
            h = functional.layer_norm(h + update, (self.width,), layer.norm_weight, layer.norm_bias, layer.norm_eps)
        return h

    def score(self, h: Tensor, candidates: Tensor, mask: Tensor) -> Tensor:
        """The actor on each job's next operation and the mean embedding; ``-inf`` on illegal jobs."""
        num_states = h.shape[0]
        graph = h.mean(dim=1)  # (K, width)
        padded = torch.cat([h, h.new_zeros(num_states, 1, self.width)], dim=1)  # position -1 -> zero row
        job_embeddings = padded[torch.arange(num_states, device=h.device)[:, None], candidates]
        scores = torch.cat([job_embeddings, graph[:, None, :].expand(-1, candidates.shape[1], -1)], dim=2)
        for index, (weight, bias) in enumerate(self.actor):
            scores = scores @ weight + bias
            if index < len(self.actor) - 1:
                scores = torch.tanh(scores)
        return scores.squeeze(-1).masked_fill(~mask, float("-inf"))


def _linears(sequential: nn.Module, detach: bool = True) -> list[tuple[Tensor, Tensor]]:
    """Weights ``(inputs, outputs)`` and biases of the Linear modules of ``sequential``, in order."""

    def cut(tensor: Tensor) -> Tensor:
        return tensor.detach() if detach else tensor

    return [
        (cut(module.weight).T, cut(module.bias)) for module in sequential.modules() if isinstance(module, nn.Linear)
    ]


def _tanh_mlp(
    layers: list[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]], inputs: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """The actor MLP of :class:`agents.policy.CandidateScorer` in numpy (Linear, tanh, ..., Linear)."""
    for index, (weight, bias) in enumerate(layers):
        inputs = inputs @ weight + bias
        if index < len(layers) - 1:
            inputs = np.tanh(inputs)
    return inputs


def _numpy(tensor: Tensor) -> npt.NDArray[np.float32]:
    return np.ascontiguousarray(tensor.detach().cpu().numpy(), dtype=np.float32)


def _dense_layer(layer: nn.Module, width: int, arc_blocks: int, detach: bool = True) -> _DenseLayer[Tensor]:
    """The weights of a :class:`RelationalGINLayer` with its first ``arc_blocks`` blocks side by side.

    The blocks are self, job predecessor, job successor, machine predecessor, machine successor; the
    sixth (machine mean) becomes ``context_weight``.
    """
    assert isinstance(layer, RelationalGINLayer)
    (first_weight, first_bias), (second_weight, second_bias) = _linears(layer.mlp, detach)
    blocks = first_weight.split(width)
    return _DenseLayer(
        torch.cat(blocks[:arc_blocks], dim=1),
        first_bias,
        blocks[5],
        second_weight,
        second_bias,
        layer.norm.weight.detach() if detach else layer.norm.weight,
        layer.norm.bias.detach() if detach else layer.norm.bias,
        layer.norm.eps,
    )


def _numpy_layer(layer: _DenseLayer[Tensor]) -> _DenseLayer[npt.NDArray[np.float32]]:
    return _DenseLayer(
        _numpy(layer.arc_weight),
        _numpy(layer.first_bias),
        _numpy(layer.context_weight),
        _numpy(layer.second_weight),
        _numpy(layer.second_bias),
        _numpy(layer.norm_weight),
        _numpy(layer.norm_bias),
        layer.norm_eps,
    )


@numba.njit(cache=True)
def _unscheduled_graph(
    machines: npt.NDArray[np.int64],
    durations: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    next_op: npt.NDArray[np.int64],
    job_ready: npt.NDArray[np.int64],
    job_work: npt.NDArray[np.int64],
    mask: npt.NDArray[np.bool_],
    machine_work: npt.NDArray[np.int64],
    machine_ready: npt.NDArray[np.int64],
    scale: float,
    features: npt.NDArray[np.float32],
    arcs: npt.NDArray[np.float32],
    node_machine: npt.NDArray[np.int64],
    candidates: npt.NDArray[np.int64],
) -> None:
    """Fill the dense graph of the unscheduled operations of K partial schedules, job by job.

    Node features are those of :meth:`jssp.env.JobShopEnv._observation` for the same operations
    (an unscheduled operation starts when its job predecessor ends at the earliest).

    Shapes:
        machines, durations: ``(num_jobs, width)``; lengths: ``(num_jobs,)``; next_op, job_ready, job_work,
        mask: ``(K, num_jobs)``; machine_work, machine_ready: ``(K, num_machines)``; out: features
        ``(K, nodes, NUM_NODE_FEATURES)``, arcs ``(K, nodes, 2)`` (1 where the job predecessor /
        successor is a node too), node_machine ``(K, nodes)``,
        candidates ``(K, num_jobs)`` (node of each job's next operation, -1 when finished).
    """
    num_states, num_jobs = next_op.shape
    width = machines.shape[1]
    for state in range(num_states):
        node = 0
        for job in range(num_jobs):
            first = next_op[state, job]
            length = lengths[job]
            candidates[state, job] = node if first < length else -1
            end = job_ready[state, job]
            for op in range(first, length):
                machine = machines[job, op]
                duration = durations[job, op]
                end += duration
                row = features[state, node]
                row[0] = 0.0
                row[1] = duration / scale
                row[2] = (end - duration) / scale
                row[3] = end / scale
                row[4] = 1.0 if op == first and mask[state, job] else 0.0
                row[5] = (length - first) / width
                row[6] = job_work[state, job] / scale
                row[7] = machine_work[state, machine] / scale
                row[8] = machine_ready[state, machine] / scale
                arcs[state, node, 0] = 1.0 if op > first else 0.0
                arcs[state, node, 1] = 1.0 if op < length - 1 else 0.0
                node_machine[state, node] = machine
                node += 1


@numba.njit(cache=True)
def _machine_context(
    h: npt.NDArray[np.float32], group: npt.NDArray[np.int64], num_groups: int, context_weight: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Mean of ``h`` over the nodes of each group (a machine of a state), times ``context_weight``.

    Shapes:
        h: ``(nodes, width)``; group: ``(nodes,)``; returns ``(num_groups, width)`` (zeros for empty groups).
    """
    num_nodes, width = h.shape
    sums = np.zeros((num_groups, width), dtype=np.float32)
    counts = np.zeros(num_groups, dtype=np.float32)
    for node in range(num_nodes):
        counts[group[node]] += 1.0
        for column in range(width):
            sums[group[node], column] += h[node, column]
    context = np.zeros((num_groups, width), dtype=np.float32)
    for index in range(num_groups):
        if counts[index] > 0.0:
            for row in range(width):
                mean = sums[index, row] / counts[index]
                for column in range(width):
                    context[index, column] += mean * context_weight[row, column]
    return context


@numba.njit(cache=True)
def _combine_neighbours(
    h: npt.NDArray[np.float32],
    projected: npt.NDArray[np.float32],
    first_bias: npt.NDArray[np.float32],
    context_weight: npt.NDArray[np.float32],
    arcs: npt.NDArray[np.float32],
    machine: npt.NDArray[np.int64],
    nodes_per_state: int,
    num_machines: int,
    hidden: npt.NDArray[np.float32],
) -> None:
    """The first half of a :class:`agents.encoder.RelationalGINLayer` once its arc blocks are applied.

    ``hidden = relu(own + bias + job predecessor's block + job successor's block + mean of h on the
    machine @ context_weight)``, with the K states stacked (no job arc crosses from one state to the next).

    Shapes:
        h, hidden: ``(K * nodes, width)``; projected: ``(K * nodes, 3 * width)``; arcs: ``(K * nodes, 2)``;
        machine: ``(K * nodes,)``; context_weight: ``(width, width)``.
    """
    num_nodes, width = h.shape
    group = np.empty(num_nodes, dtype=np.int64)  # (state, machine) of each node
    for node in range(num_nodes):
        group[node] = (node // nodes_per_state) * num_machines + machine[node]
    context = _machine_context(h, group, (num_nodes // nodes_per_state) * num_machines, context_weight)
    # One branch-free loop per term, so each vectorises.
    for node in range(num_nodes):
        row = group[node]
        for column in range(width):
            hidden[node, column] = projected[node, column] + first_bias[column] + context[row, column]
        if arcs[node, 0] > 0.0:
            for column in range(width):
                hidden[node, column] += projected[node - 1, width + column]
        if arcs[node, 1] > 0.0:
            for column in range(width):
                hidden[node, column] += projected[node + 1, 2 * width + column]
        for column in range(width):
            hidden[node, column] = max(hidden[node, column], 0.0)


@numba.njit(cache=True, fastmath=True)  # reassociated sums: vectorised row reductions
def _residual_layer_norm(
    h: npt.NDArray[np.float32],
    update: npt.NDArray[np.float32],
    update_bias: npt.NDArray[np.float32],
    weight: npt.NDArray[np.float32],
    bias: npt.NDArray[np.float32],
    eps: float,
) -> None:
    """``h = LayerNorm(h + update + update_bias)`` in place, row by row.

    Shapes:
        h, update: ``(nodes, width)``; update_bias, weight, bias: ``(width,)``.
    """
    width = h.shape[1]
    row = np.empty(width, dtype=np.float32)
    for node in range(h.shape[0]):
        total = 0.0
        for column in range(width):
            row[column] = h[node, column] + update[node, column] + update_bias[column]
            total += row[column]
        mean = total / width
        spread = 0.0
        for column in range(width):
            spread += (row[column] - mean) ** 2
        scale = 1.0 / np.sqrt(spread / width + eps)
        for column in range(width):
            h[node, column] = (row[column] - mean) * scale * weight[column] + bias[column]


class CompleteGraphDecoder:
    """Masked move logits of an :class:`agents.improvement.policy.ImprovementPolicy`, compiled for the CPU.

    Reads one :class:`jssp.improvement_env.ImprovementEnv` observation (every operation is a node,
    route padding is dropped; job arcs shift by one in the job-major node order, machine arcs are
    index gathers, and the machine mean is over all operations of the machine) and computes what
    ``move_logits`` computes, in numpy products and one numba kernel per layer. The tests hold it to
    ``move_logits``.

    Args:
        policy: a trained improvement policy (on the CPU).
        instance: the instance whose schedules are improved.
    """

    def __init__(self, policy: JobShopPolicy, instance: Instance) -> None:
        extractor = policy.features_extractor
        assert isinstance(extractor, MoveFeaturesExtractor) and isinstance(policy.mlp_extractor, CandidateScorer)
        encoder = extractor.encoder
        if policy.device.type != "cpu":
            raise ValueError("the compiled move decoder runs on the CPU only")
        self.instance = instance
        self.width: int = encoder.width
        self.input = [(_numpy(weight), _numpy(bias)) for weight, bias in _linears(encoder.input)]
        self.actor = [(_numpy(weight), _numpy(bias)) for weight, bias in _linears(policy.mlp_extractor.actor)]
        self.layers = [_numpy_layer(_dense_layer(layer, self.width, arc_blocks=5)) for layer in encoder.layers]
        # The operations in node order (node job * width + op, padding dropped) and their compact index.
        self.nodes = np.flatnonzero(instance.valid.reshape(-1))
        self.position = np.full(instance.machines.size, -1, dtype=np.int64)
        self.position[self.nodes] = np.arange(len(self.nodes))
        self.machine = np.ascontiguousarray(instance.machines.reshape(-1)[self.nodes])
        op = self.nodes % instance.width
        self.job_predecessor = op > 0
        self.job_successor = op + 1 < instance.lengths[self.nodes // instance.width]

    def logits(self, observation: dict[str, npt.NDArray[Any]]) -> npt.NDArray[np.float32]:
        """Move logits, ``-inf`` on illegal and padded moves. Shapes: returns ``(max_moves,)``."""
        instance = self.instance
        num_nodes = len(self.nodes)
        features = observation["node_features"][self.nodes]
        machine_edges = observation["machine_edges"]
        real = machine_edges[0] >= 0
        sources, targets = self.position[machine_edges[0, real]], self.position[machine_edges[1, real]]
        machine_predecessor = np.full(num_nodes, -1, dtype=np.int64)
        machine_successor = np.full(num_nodes, -1, dtype=np.int64)
        machine_predecessor[targets] = sources
        machine_successor[sources] = targets
        (input_weight, input_bias), (output_weight, output_bias) = self.input
        h = np.maximum(features @ input_weight + input_bias, 0.0) @ output_weight + output_bias
        h = np.ascontiguousarray(h, dtype=np.float32)
        for layer in self.layers:
            hidden = np.empty_like(h)
            _combine_complete(
                h,
                h @ layer.arc_weight,
                layer.first_bias,
                layer.context_weight,
                instance.num_machines,
                self.machine,
                self.job_predecessor,
                self.job_successor,
                machine_predecessor,
                machine_successor,
                hidden,
            )
            _residual_layer_norm(
                h, hidden @ layer.second_weight, layer.second_bias, layer.norm_weight, layer.norm_bias, layer.norm_eps
            )
        graph = h.mean(axis=0)
        move_nodes = observation["move_nodes"]
        mask = observation["action_mask"].astype(bool)
        scores = np.full(len(mask), -np.inf, dtype=np.float32)
        moves = np.flatnonzero(mask & (move_nodes[:, 0] >= 0))
        if len(moves):
            nodes = self.position[move_nodes[moves]]
            hidden_scores = np.concatenate(
                [h[nodes[:, 0]], h[nodes[:, 1]], np.broadcast_to(graph, (len(moves), self.width))], axis=1
            )
            scores[moves] = _tanh_mlp(self.actor, hidden_scores)[:, 0]
        return scores


@numba.njit(cache=True)
def _combine_complete(
    h: npt.NDArray[np.float32],
    projected: npt.NDArray[np.float32],
    first_bias: npt.NDArray[np.float32],
    context_weight: npt.NDArray[np.float32],
    num_machines: int,
    machine: npt.NDArray[np.int64],
    job_predecessor: npt.NDArray[np.bool_],
    job_successor: npt.NDArray[np.bool_],
    machine_predecessor: npt.NDArray[np.int64],
    machine_successor: npt.NDArray[np.int64],
    hidden: npt.NDArray[np.float32],
) -> None:
    """The first half of a :class:`agents.encoder.RelationalGINLayer` over a complete schedule.

    ``hidden = relu(own + bias + job predecessor's and successor's blocks + machine predecessor's and
    successor's blocks + mean of h on the machine @ context_weight)``; the operations are in job-major
    order, so a job predecessor (successor), where ``job_predecessor`` (``job_successor``) says there
    is one, is the previous (next) node.

    Shapes:
        h, hidden: ``(nodes, width)``; projected: ``(nodes, 5 * width)``; machine, job_predecessor,
        job_successor, machine_predecessor, machine_successor: ``(nodes,)`` (-1 where there is none).
    """
    num_nodes, width = h.shape
    context = _machine_context(h, machine, num_machines, context_weight)
    for node in range(num_nodes):  # one branch-free loop per term, as in _combine_neighbours
        before, after = machine_predecessor[node], machine_successor[node]
        row = machine[node]
        for column in range(width):
            hidden[node, column] = projected[node, column] + first_bias[column] + context[row, column]
        if job_predecessor[node]:
            for column in range(width):
                hidden[node, column] += projected[node - 1, width + column]
        if job_successor[node]:
            for column in range(width):
                hidden[node, column] += projected[node + 1, 2 * width + column]
        if before >= 0:
            for column in range(width):
                hidden[node, column] += projected[before, 3 * width + column]
        if after >= 0:
            for column in range(width):
                hidden[node, column] += projected[after, 4 * width + column]
        for column in range(width):
            hidden[node, column] = max(hidden[node, column], 0.0)
