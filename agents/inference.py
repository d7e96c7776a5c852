"""Solving with a trained policy outside SB3: greedy decoding and best-of-K sampling.

Decoding does not go through the padded observations that training uses. Once dispatched
operations are dropped (see :func:`agents.encoder.batch_observations`), the graph the encoder
sees has a fixed shape: the unscheduled operations of each job form a suffix of its route,
their only arcs are the job arcs inside that suffix (machine arcs join dispatched operations
only), and K rollouts advanced in lockstep all have the same number of them. So
:class:`LockstepDecoder` builds the node features of K partial schedules straight from their
:class:`jssp.dispatch.DispatchState` arrays into one dense ``(K, nodes, features)`` tensor, and
runs the policy's own weights with a shift for the job arcs and a per-machine mean, with no
graph compaction or scatter over padded slots. It computes the same logits as
:meth:`agents.policy.JobShopPolicy.job_logits` (the tests hold it to that), about 5x faster
per step on a 100x20 instance. Every step at which no rollout has a choice skips the network.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import numba
import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor, nn
from torch.nn import functional

from agents.encoder import RelationalGINLayer
from agents.policy import CandidateScorer, GraphFeaturesExtractor, JobShopPolicy
from jssp.dispatch import DispatchState
from jssp.env import NUM_NODE_FEATURES
from jssp.instance import Instance
from jssp.schedule import Schedule


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when a GPU is present, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _to_tensors(observations: list[dict[str, np.ndarray]], device: torch.device) -> dict[str, torch.Tensor]:
    return {key: torch.from_numpy(np.stack([obs[key] for obs in observations])).to(device) for key in observations[0]}


class LockstepDecoder:
    """Masked job logits of a :class:`JobShopPolicy` for partial schedules of one instance.

    The states must all have dispatched the same number of operations (rollouts in lockstep).
    Features follow :data:`jssp.env.NODE_FEATURES`, scaled by the instance's initial lower bound
    as in :class:`jssp.env.JobShopEnv`.

    Args:
        policy: a policy whose encoder drops dispatched operations (the default).
        instance: the instance every state schedules.
    """

    def __init__(self, policy: JobShopPolicy, instance: Instance) -> None:
        extractor = policy.features_extractor
        assert isinstance(extractor, GraphFeaturesExtractor) and isinstance(policy.mlp_extractor, CandidateScorer)
        encoder = extractor.encoder
        if encoder.keep_scheduled:
            raise ValueError("lockstep decoding needs an encoder that drops dispatched operations")
        self.device = policy.device
        self.instance = instance
        self.width = width = encoder.width
        self.time_scale = float(max(DispatchState(instance).lower_bound(), 1))
        # Plain tensors and functional calls: module calls cost more than the arithmetic at these sizes.
        self.input = _linears(encoder.input)
        self.actor = _linears(policy.mlp_extractor.actor)
        self.layers = []
        for layer in encoder.layers:
            assert isinstance(layer, RelationalGINLayer)
            first, second = _linears(layer.mlp)
            # Blocks of the first weight, in the order RelationalGINLayer concatenates its inputs: self,
            # job predecessor, job successor, machine predecessor, machine successor, machine mean. Machine
            # arcs never join two unscheduled operations, so their blocks drop out; the machine mean enters
            # linearly, so it is averaged before its block is applied.
            blocks = first[0].split(width, dim=1)
            self.layers.append(
                _DenseLayer(
                    torch.cat(blocks[:3]).T,
                    first[1],
                    blocks[5].T,
                    *second,
                    layer.norm.weight,
                    layer.norm.bias,
                )
            )

    def _graph(self, states: list[DispatchState]) -> tuple[Tensor, ...]:
        """Dense graph of the unscheduled operations of every state (see :func:`_unscheduled_graph`)."""
        instance = self.instance

        def stacked(name: str) -> npt.NDArray[Any]:
            if len(states) == 1:
                return getattr(states[0], name)[None]  # a view, no copy
            return np.stack([getattr(state, name) for state in states])

        mask = stacked("mask")
        num_states = len(states)
        num_nodes = instance.num_operations - states[0].num_scheduled
        features = np.empty((num_states, num_nodes, NUM_NODE_FEATURES), dtype=np.float32)
        arcs = np.empty((num_states, num_nodes, 2), dtype=np.float32)
        machine_onehot = np.zeros((num_states, num_nodes, instance.num_machines), dtype=np.float32)
        candidates = np.empty((num_states, instance.num_jobs), dtype=np.int64)
        _unscheduled_graph(
            instance.machines,
            instance.durations,
            stacked("job_next_op"),
            stacked("job_ready"),
            stacked("job_remaining_work"),
            mask,
            stacked("machine_remaining_work"),
            stacked("machine_ready"),
            self.time_scale,
            features,
            arcs,
            machine_onehot,
            candidates,
        )
        return tuple(torch.from_numpy(array) for array in (features, arcs, machine_onehot, candidates, mask))

    def logits(self, states: list[DispatchState]) -> Tensor:
        """Job logits, ``-inf`` on illegal jobs.

        Shapes:
            returns ``(K, num_jobs)`` float32 on the policy's device.
        """
        features, arcs, machine_onehot, candidates, mask = (tensor.to(self.device) for tensor in self._graph(states))
        num_states = features.shape[0]
        width: int = self.width
        from_predecessor, from_successor = arcs[:, 1:, 0:1], arcs[:, :-1, 1:2]
        machine_onehot_t = machine_onehot.transpose(1, 2)
        machine_size = machine_onehot_t.sum(dim=2, keepdim=True).clamp(min=1.0)  # (K, num_machines, 1)
        (input_weight, input_bias), (output_weight, output_bias) = self.input
        h = functional.linear(features, input_weight, input_bias)
        h = functional.linear(torch.relu(h), output_weight, output_bias)
        for layer in self.layers:
            own, predecessor, successor = (h @ layer.arc_weight).split(width, dim=2)
            hidden = own + layer.first_bias
            hidden[:, 1:] += predecessor[:, :-1] * from_predecessor
            hidden[:, :-1] += successor[:, 1:] * from_successor
            machine_mean = (machine_onehot_t @ h) / machine_size  # (K, num_machines, width)
            hidden += machine_onehot @ (machine_mean @ layer.context_weight)
            update = functional.linear(torch.relu(hidden), layer.second_weight, layer.second_bias)
            h = functional.layer_norm(h + update, (width,), layer.norm_weight, layer.norm_bias)
        graph = h.mean(dim=1)  # (K, width)
        padded = torch.cat([h, h.new_zeros(num_states, 1, width)], dim=1)  # position -1 -> zero row
        job_embeddings = padded[torch.arange(num_states, device=self.device)[:, None], candidates]
        scores = torch.cat([job_embeddings, graph[:, None, :].expand(-1, candidates.shape[1], -1)], dim=2)
        for index, (weight, bias) in enumerate(self.actor):
            scores = functional.linear(scores, weight, bias)
            if index < len(self.actor) - 1:
                scores = torch.tanh(scores)
        return scores.squeeze(-1).masked_fill(~mask, float("-inf"))


class _DenseLayer(NamedTuple):
    """One :class:`agents.encoder.RelationalGINLayer` as plain tensors (see :class:`LockstepDecoder`)."""

    arc_weight: Tensor  # (width, 3 * width): self, job predecessor, job successor
    first_bias: Tensor
    context_weight: Tensor  # (width, width): machine mean
    second_weight: Tensor
    second_bias: Tensor
    norm_weight: Tensor
    norm_bias: Tensor


def _linears(sequential: nn.Sequential) -> list[tuple[Tensor, Tensor]]:
    """Weights and biases of the Linear modules of ``sequential``, in order."""
    return [(module.weight, module.bias) for module in sequential if isinstance(module, nn.Linear)]


@numba.njit(cache=True)
def _unscheduled_graph(
    machines: npt.NDArray[np.int64],
    durations: npt.NDArray[np.int64],
    next_op: npt.NDArray[np.int64],
    job_ready: npt.NDArray[np.int64],
    job_work: npt.NDArray[np.int64],
    mask: npt.NDArray[np.bool_],
    machine_work: npt.NDArray[np.int64],
    machine_ready: npt.NDArray[np.int64],
    scale: float,
    features: npt.NDArray[np.float32],
    arcs: npt.NDArray[np.float32],
    machine_onehot: npt.NDArray[np.float32],
    candidates: npt.NDArray[np.int64],
) -> None:
    """Fill the dense graph of the unscheduled operations of K partial schedules, job by job.

    Node features are those of :meth:`jssp.env.JobShopEnv._observation` for the same operations
    (an unscheduled operation starts when its job predecessor ends at the earliest).

    Shapes:
        machines, durations: ``(num_jobs, num_machines)``; next_op, job_ready, job_work, mask:
        ``(K, num_jobs)``; machine_work, machine_ready: ``(K, num_machines)``; out: features
        ``(K, nodes, NUM_NODE_FEATURES)``, arcs ``(K, nodes, 2)`` (1 where the job predecessor /
        successor is a node too), machine_onehot ``(K, nodes, num_machines)`` (zeros on entry),
        candidates ``(K, num_jobs)`` (node of each job's next operation, -1 when finished).
    """
    num_states, num_jobs = next_op.shape
    num_machines = machines.shape[1]
    for state in range(num_states):
        node = 0
        for job in range(num_jobs):
            first = next_op[state, job]
            candidates[state, job] = node if first < num_machines else -1
            end = job_ready[state, job]
            for op in range(first, num_machines):
                machine = machines[job, op]
                duration = durations[job, op]
                end += duration
                row = features[state, node]
                row[0] = 0.0
                row[1] = duration / scale
                row[2] = (end - duration) / scale
                row[3] = end / scale
                row[4] = 1.0 if op == first and mask[state, job] else 0.0
                row[5] = (num_machines - first) / num_machines
                row[6] = job_work[state, job] / scale
                row[7] = machine_work[state, machine] / scale
                row[8] = machine_ready[state, machine] / scale
                arcs[state, node, 0] = 1.0 if op > first else 0.0
                arcs[state, node, 1] = 1.0 if op < num_machines - 1 else 0.0
                machine_onehot[state, node, machine] = 1.0
                node += 1


@torch.inference_mode()
def greedy_schedule(policy: JobShopPolicy, instance: Instance, scheme: str = "non-delay") -> Schedule:
    """Dispatch the highest-scoring legal job at every step."""
    began = time.perf_counter()
    decoder = LockstepDecoder(policy, instance)
    state = DispatchState(instance, scheme)
    while not state.done:
        if state.num_legal == 1:
            job = int(np.flatnonzero(state.mask)[0])
        else:
            job = int(torch.argmax(decoder.logits([state])[0]).item())
        state.step(job)
    return Schedule(instance, state.start_times.copy(), seconds=time.perf_counter() - began)


@torch.inference_mode()
def sampled_schedule(
    policy: JobShopPolicy,
    instance: Instance,
    num_samples: int = 128,
    temperature: float = 1.0,
    seed: int = 0,
    scheme: str = "non-delay",
    include_greedy: bool = True,
) -> Schedule:
    """Best of ``num_samples`` rollouts sampled from the policy, all advanced together.

    One batched network call per step serves every rollout that has a choice (each episode
    has exactly ``num_operations`` steps, so they stay in lockstep). With ``include_greedy``
    the first rollout decodes greedily, so the result is never worse than ``gnn``.

    Args:
        temperature: logits are divided by it before sampling (lower = closer to greedy).
    """
    if num_samples < 1 or temperature <= 0:
        raise ValueError("num_samples must be >= 1 and temperature > 0")
    began = time.perf_counter()
    decoder = LockstepDecoder(policy, instance)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    states = [DispatchState(instance, scheme) for _ in range(num_samples)]
    for _ in range(instance.num_operations):
        masks = np.stack([state.mask for state in states])
        actions = masks.argmax(axis=1)
        choosing = np.flatnonzero(masks.sum(axis=1) > 1)
        if len(choosing):
            logits = decoder.logits([states[i] for i in choosing]).float().cpu()
            sampled = torch.multinomial(torch.softmax(logits / temperature, dim=1), 1, generator=generator).squeeze(1)
            if include_greedy and choosing[0] == 0:
                sampled[0] = torch.argmax(logits[0])
            actions[choosing] = sampled.numpy()
        for state, action in zip(states, actions, strict=True):
            state.step(int(action))
    best = states[int(np.argmin([state.makespan for state in states]))]
    return Schedule(instance, best.start_times.copy(), seconds=time.perf_counter() - began)
