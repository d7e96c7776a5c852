"""Greedy job logits for very large instances: embeddings kept up to date instead of recomputed.

:class:`agents.lockstep.LockstepDecoder` embeds every unscheduled operation at every step, so a
greedy schedule costs time quadratic in the number of operations. A dispatch changes the input
features of few operations only (those of the dispatched job, those on its machine, and the
candidates whose legality flipped), and a two-layer encoder reaches a candidate's embedding from
the operations of its machine and its job successor only. So
:class:`IncrementalDecoder` keeps the first-layer inputs of every operation (input embedding,
its arc blocks, the per-machine sums of the machine mean) and updates the rows that changed; each
step then runs the first layer on the operations of the candidates' machines and the second on
the candidates. Those embeddings are exact. What is not kept exactly is the graph embedding (the
mean of every operation's final embedding, a part of every candidate's score): it is recomputed
by a full exact pass every time ``refresh`` of the operations left at the last pass have been
dispatched, and held in between. A ``refresh`` of 0 recomputes it at every step, which makes the
logits those of the exact decoder (within float32 rounding: the machine sums are kept in float64).

Only encoders of two layers (both shipped dispatchers) take this route; :func:`supports` says
whether a policy does.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from agents.lockstep import LockstepDecoder, _residual_layer_norm, _tanh_mlp
from agents.policy import JobShopPolicy
from jssp.dispatch import DispatchState
from jssp.env import NUM_NODE_FEATURES
from jssp.instance import Instance


def supports(policy: JobShopPolicy) -> bool:
    """Whether :class:`IncrementalDecoder` can decode ``policy`` (a dispatcher with a two-layer encoder)."""
    encoder = getattr(policy.features_extractor, "encoder", None)
    return encoder is not None and not encoder.keep_scheduled and len(encoder.layers) == 2


class IncrementalDecoder:
    """Logits of the legal jobs of one rollout, updated step by step (see the module docstring).

    The kept state follows one :class:`jssp.dispatch.DispatchState` forward: give it that state's
    successive steps (any number of dispatches between two calls), never another rollout's.

    Args:
        policy: a dispatcher with a two-layer encoder that drops dispatched operations.
        instance: the instance the rollout schedules.
        refresh: share of the operations left at the last exact pass that may be dispatched before
            the graph embedding is recomputed; 0 recomputes it at every step (exact logits).

    Shapes:
        the per-operation arrays are indexed by node ``job * width + op`` (``num_jobs * width`` slots).
    """

    def __init__(self, policy: JobShopPolicy, instance: Instance, refresh: float = 0.01) -> None:
        if not supports(policy):
            raise ValueError("incremental decoding needs a two-layer encoder that drops dispatched operations")
        if refresh < 0:
            raise ValueError(f"refresh must be >= 0, got {refresh}")
        self.exact = LockstepDecoder(policy, instance, compiled=True)
        self.instance = instance
        self.refresh = refresh
        exact = self.exact
        self.width = exact.width
        (self.input_weight, self.input_bias), (self.input_out_weight, self.input_out_bias) = exact.numpy_input
        self.first, self.second = exact.numpy_layers
        self.actor = exact.numpy_actor
        num_jobs, route_width = instance.machines.shape
        num_slots = num_jobs * route_width
        num_machines = instance.num_machines
        # Static layout: operations of each machine (node ids in job order) and each job's duration prefix sums.
        self.slot_machine = np.ascontiguousarray(instance.machines.reshape(-1))
        valid_nodes = np.flatnonzero(instance.valid.reshape(-1))
        by_machine = valid_nodes[np.argsort(self.slot_machine[valid_nodes], kind="stable")]
        self.machine_nodes = np.ascontiguousarray(by_machine)
        self.machine_offsets = np.zeros(num_machines + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.slot_machine[valid_nodes], minlength=num_machines), out=self.machine_offsets[1:])
        self.duration_prefix = np.zeros((num_jobs, route_width + 1), dtype=np.int64)
        np.cumsum(instance.durations, axis=1, out=self.duration_prefix[:, 1:])
        # Kept state: input embeddings and first-layer arc blocks of every node, and per-machine sums of the
        # embeddings of the unscheduled nodes (float64, so that updating them by differences does not drift).
        self.embedding = np.zeros((num_slots, self.width), dtype=np.float32)
        self.projected = np.zeros((num_slots, 3 * self.width), dtype=np.float32)
        self.machine_sum = np.zeros((num_machines, self.width), dtype=np.float64)
        self.machine_count = np.bincount(self.slot_machine[valid_nodes], minlength=num_machines).astype(np.int64)
        # What the kept state was computed from (compared with the dispatch state to find what changed):
        # at first nothing was, so every node counts as changed.
        self.seen_next_op = np.full(num_jobs, -1, dtype=np.int64)
        self.seen_mask = np.zeros(num_jobs, dtype=np.bool_)
        self.seen_machine_ready = np.full(num_machines, -1, dtype=np.int64)
        self.seen_machine_work = np.full(num_machines, -1, dtype=np.int64)
        # Scratch: node lists, marks that deduplicate them (``stamp[node] == counter`` means listed), rows.
        self.counter = np.zeros(1, dtype=np.int64)
        self.stamp = np.zeros(num_slots, dtype=np.int64)
        self.row_of = np.zeros(num_slots, dtype=np.int64)
        self.near = np.empty(num_slots, dtype=np.int64)
        self.features = np.empty((num_slots, NUM_NODE_FEATURES), dtype=np.float32)
        self.graph: npt.NDArray[np.float32] | None = None
        self.refreshed_at = 0  # operations scheduled at the last exact pass
        self.refreshed_left = 0  # and operations left then

    def logits(self, state: DispatchState) -> npt.NDArray[np.float32]:
        """Job logits of ``state`` (the next state of this decoder's rollout), ``-inf`` on illegal jobs.

        At a refresh (see ``refresh``) they come from the exact decoder, which also gives the new
        graph embedding; in between from :meth:`candidate_logits` with the held one.

        Shapes:
            returns ``(num_jobs,)`` float32.
        """
        since = state.num_scheduled - self.refreshed_at
        if self.graph is None or since >= max(self.refresh * self.refreshed_left, 1.0):
            logits, graph = self.exact.compiled_logits([state])
            self.graph = graph[0]
            self.refreshed_at = state.num_scheduled
            self.refreshed_left = self.instance.num_operations - state.num_scheduled
            return logits[0]
        return self.candidate_logits(state, self.graph)

    def candidate_logits(self, state: DispatchState, graph: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Logits of the legal jobs from the kept first-layer inputs, with ``graph`` as the graph
        embedding; ``-inf`` on the other jobs.

        Shapes:
            graph: ``(width,)``; returns ``(num_jobs,)``.
        """
        self._update(state)
        instance = self.instance
        first, second = self.first, self.second
        width = self.width
        # First layer on every operation of the candidates' machines and on the candidates' job successors.
        count, hidden, candidate_rows, successor_rows = _first_layer_near_candidates(
            instance.machines,
            instance.lengths,
            state.job_next_op,
            state.mask,
            self.machine_nodes,
            self.machine_offsets,
            self.projected,
            self.machine_sum,
            self.machine_count,
            first.first_bias,
            first.context_weight,
            self.stamp,
            self.row_of,
            self.counter,
            self.near,
        )
        nodes = self.near[:count]
        near = self.embedding[nodes]  # (count, width), a copy: the first layer's output below
        _residual_layer_norm(
            near, hidden @ first.second_weight, first.second_bias, first.norm_weight, first.norm_bias, first.norm_eps
        )
        # Second layer on the candidates: own and successor arc blocks, mean of their machine's nodes.
        own = near[candidate_rows] @ second.arc_weight[:, :width]
        successor = near[np.maximum(successor_rows, 0)] @ second.arc_weight[:, 2 * width :]
        hidden = _second_layer_at_candidates(
            near,
            self.slot_machine[nodes],
            self.slot_machine[nodes[candidate_rows]],
            own,
            successor,
            successor_rows,
            second.first_bias,
            second.context_weight,
            instance.num_machines,
        )
        final = near[candidate_rows]
        _residual_layer_norm(
            final,
            hidden @ second.second_weight,
            second.second_bias,
            second.norm_weight,
            second.norm_bias,
            second.norm_eps,
        )
        pairs = np.concatenate([final, np.broadcast_to(graph, final.shape)], axis=1, dtype=np.float32)
        logits = np.full(instance.num_jobs, -np.inf, dtype=np.float32)
        logits[state.mask] = _tanh_mlp(self.actor, pairs)[:, 0]
        return logits

    def _update(self, state: DispatchState) -> None:
        """Bring the kept input embeddings, arc blocks and machine sums to ``state`` (changed rows only)."""
        instance = self.instance
        count = _changed_features(
            instance.machines,
            instance.durations,
            instance.lengths,
            self.duration_prefix,
            self.machine_nodes,
            self.machine_offsets,
            state.job_next_op,
            state.job_ready,
            state.job_remaining_work,
            state.mask,
            state.machine_ready,
            state.machine_remaining_work,
            self.exact.time_scale,
            self.seen_next_op,
            self.seen_mask,
            self.seen_machine_ready,
            self.seen_machine_work,
            self.embedding,
            self.machine_sum,
            self.machine_count,
            self.stamp,
            self.counter,
            self.near,
            self.features,
        )
        if count == 0:
            return
        embedding = np.maximum(self.features[:count] @ self.input_weight + self.input_bias, np.float32(0.0))
        embedding = embedding @ self.input_out_weight + self.input_out_bias
        _store_rows(
            self.near[:count],
            embedding,
            embedding @ self.first.arc_weight,
            self.slot_machine,
            self.embedding,
            self.projected,
            self.machine_sum,
        )


@numba.njit(cache=True)
def _changed_features(
    machines: npt.NDArray[np.int64],
    durations: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    duration_prefix: npt.NDArray[np.int64],
    machine_nodes: npt.NDArray[np.int64],
    machine_offsets: npt.NDArray[np.int64],
    next_op: npt.NDArray[np.int64],
    job_ready: npt.NDArray[np.int64],
    job_work: npt.NDArray[np.int64],
    mask: npt.NDArray[np.bool_],
    machine_ready: npt.NDArray[np.int64],
    machine_work: npt.NDArray[np.int64],
    scale: float,
    seen_next_op: npt.NDArray[np.int64],
    seen_mask: npt.NDArray[np.bool_],
    seen_machine_ready: npt.NDArray[np.int64],
    seen_machine_work: npt.NDArray[np.int64],
    embedding: npt.NDArray[np.float32],
    machine_sum: npt.NDArray[np.float64],
    machine_count: npt.NDArray[np.int64],
    stamp: npt.NDArray[np.int64],
    counter: npt.NDArray[np.int64],
    changed: npt.NDArray[np.int64],
    features: npt.NDArray[np.float32],
) -> int:
    """Drop the operations dispatched since the last call and list the nodes whose features changed.

    An unscheduled operation's features (those of :func:`agents.lockstep._unscheduled_graph`) read
    its job's next operation, ready time and remaining work, its machine's ready time and remaining
    work, and its job's legality: the nodes of a job or a machine where one of those moved are
    listed in ``changed[:count]``, their new features in ``features[:count]``; returns ``count``.
    A node is unscheduled when its op is at or after its job's next operation.
    """
    num_jobs, width = machines.shape
    counter[0] += 1
    mark = counter[0]
    count = 0
    for job in range(num_jobs):
        first = next_op[job]
        seen = seen_next_op[job]
        if first != seen:
            for op in range(max(seen, 0), first):  # dispatched since: no longer a node
                node = job * width + op
                machine = machines[job, op]
                machine_count[machine] -= 1
                for column in range(embedding.shape[1]):
                    machine_sum[machine, column] -= embedding[node, column]
            for op in range(first, lengths[job]):
                node = job * width + op
                stamp[node] = mark
                changed[count] = node
                count += 1
            seen_next_op[job] = first
        elif mask[job] != seen_mask[job] and first < lengths[job]:
            node = job * width + first
            stamp[node] = mark
            changed[count] = node
            count += 1
        seen_mask[job] = mask[job]
    for machine in range(machine_ready.shape[0]):
        if (
            machine_ready[machine] == seen_machine_ready[machine]
            and machine_work[machine] == seen_machine_work[machine]
        ):
            continue
        seen_machine_ready[machine] = machine_ready[machine]
        seen_machine_work[machine] = machine_work[machine]
        for index in range(machine_offsets[machine], machine_offsets[machine + 1]):
            node = machine_nodes[index]
            job = node // width
            if node - job * width >= next_op[job] and stamp[node] != mark:
                stamp[node] = mark
                changed[count] = node
                count += 1
    for index in range(count):
        node = changed[index]
        job = node // width
        op = node - job * width
        first = next_op[job]
        machine = machines[job, op]
        duration = durations[job, op]
        start = job_ready[job] + duration_prefix[job, op] - duration_prefix[job, first]
        row = features[index]
        row[0] = 0.0
        row[1] = duration / scale
        row[2] = start / scale
        row[3] = (start + duration) / scale
        row[4] = 1.0 if op == first and mask[job] else 0.0
        row[5] = (lengths[job] - first) / width
        row[6] = job_work[job] / scale
        row[7] = machine_work[machine] / scale
        row[8] = machine_ready[machine] / scale
    return count


@numba.njit(cache=True)
def _store_rows(
    nodes: npt.NDArray[np.int64],
    new_embedding: npt.NDArray[np.float32],
    new_projected: npt.NDArray[np.float32],
    slot_machine: npt.NDArray[np.int64],
    embedding: npt.NDArray[np.float32],
    projected: npt.NDArray[np.float32],
    machine_sum: npt.NDArray[np.float64],
) -> None:
    """Write the new rows of ``nodes`` and move their machines' sums by the change of their embeddings."""
    width = embedding.shape[1]
    for index in range(nodes.shape[0]):
        node = nodes[index]
        machine = slot_machine[node]
        for column in range(width):
            machine_sum[machine, column] += new_embedding[index, column] - embedding[node, column]
            embedding[node, column] = new_embedding[index, column]
        for column in range(projected.shape[1]):
            projected[node, column] = new_projected[index, column]


@numba.njit(cache=True)
def _first_layer_near_candidates(
    machines: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    next_op: npt.NDArray[np.int64],
    mask: npt.NDArray[np.bool_],
    machine_nodes: npt.NDArray[np.int64],
    machine_offsets: npt.NDArray[np.int64],
    projected: npt.NDArray[np.float32],
    machine_sum: npt.NDArray[np.float64],
    machine_count: npt.NDArray[np.int64],
    first_bias: npt.NDArray[np.float32],
    context_weight: npt.NDArray[np.float32],
    stamp: npt.NDArray[np.int64],
    row_of: npt.NDArray[np.int64],
    counter: npt.NDArray[np.int64],
    near: npt.NDArray[np.int64],
) -> tuple[int, npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The first half of the first layer on the nodes the candidates' second-layer embeddings read.

    Lists in ``near[:count]`` every unscheduled node of each legal candidate's machine (in node
    order, as the exact decoder sums them), then the candidates' job successors not listed yet, and
    computes ``relu(own + bias + job neighbours' blocks + machine mean @ context_weight)`` for them
    from the kept arc blocks and machine sums, as :func:`agents.lockstep._combine_neighbours` does.

    Returns:
        ``count``; hidden ``(count, width)``; for each legal job in order, the row of its candidate
        and of its job successor (-1 when it has none).
    """
    num_jobs, width = machines.shape
    size = first_bias.shape[0]
    num_machines = machine_count.shape[0]
    counter[0] += 1
    mark = counter[0]
    count = 0
    listed = np.zeros(num_machines, dtype=np.bool_)
    num_legal = 0
    for job in range(num_jobs):
        if not mask[job]:
            continue
        num_legal += 1
        machine = machines[job, next_op[job]]
        if listed[machine]:
            continue
        listed[machine] = True
        for index in range(machine_offsets[machine], machine_offsets[machine + 1]):
            node = machine_nodes[index]
            other = node // width
            if node - other * width >= next_op[other]:
                stamp[node] = mark
                row_of[node] = count
                near[count] = node
                count += 1
    candidate_rows = np.empty(num_legal, dtype=np.int64)
    successor_rows = np.full(num_legal, -1, dtype=np.int64)
    legal = 0
    for job in range(num_jobs):
        if not mask[job]:
            continue
        node = job * width + next_op[job]
        candidate_rows[legal] = row_of[node]
        if next_op[job] + 1 < lengths[job]:
            successor = node + 1
            if stamp[successor] != mark:
                stamp[successor] = mark
                row_of[successor] = count
                near[count] = successor
                count += 1
            successor_rows[legal] = row_of[successor]
        legal += 1
    context = np.zeros((num_machines, size), dtype=np.float32)
    has_context = np.zeros(num_machines, dtype=np.bool_)
    hidden = np.empty((count, size), dtype=np.float32)
    for row in range(count):
        node = near[row]
        job = node // width
        op = node - job * width
        machine = machines[job, op]
        if not has_context[machine]:
            has_context[machine] = True
            if machine_count[machine] > 0:
                for inner in range(size):
                    mean = np.float32(machine_sum[machine, inner] / machine_count[machine])
                    for column in range(size):
                        context[machine, column] += mean * context_weight[inner, column]
        for column in range(size):
            hidden[row, column] = projected[node, column] + first_bias[column] + context[machine, column]
        if op > next_op[job]:
            for column in range(size):
                hidden[row, column] += projected[node - 1, size + column]
        if op + 1 < lengths[job]:
            for column in range(size):
                hidden[row, column] += projected[node + 1, 2 * size + column]
        for column in range(size):
            hidden[row, column] = max(hidden[row, column], 0.0)
    return count, hidden, candidate_rows, successor_rows


@numba.njit(cache=True)
def _second_layer_at_candidates(
    near: npt.NDArray[np.float32],
    near_machine: npt.NDArray[np.int64],
    candidate_machine: npt.NDArray[np.int64],
    own: npt.NDArray[np.float32],
    successor: npt.NDArray[np.float32],
    successor_rows: npt.NDArray[np.int64],
    first_bias: npt.NDArray[np.float32],
    context_weight: npt.NDArray[np.float32],
    num_machines: int,
) -> npt.NDArray[np.float32]:
    """The first half of the second layer on the candidates.

    ``relu(own block + bias + successor's block + mean of the first layer's output on the
    candidate's machine @ context_weight)``: ``near`` holds every unscheduled node of each
    candidate's machine (and the successors, which count only on their own machine).

    Shapes:
        near: ``(count, width)``; near_machine: ``(count,)``; candidate_machine, successor_rows:
        ``(num_legal,)``; own, successor: ``(num_legal, width)``; returns ``(num_legal, width)``.
    """
    size = first_bias.shape[0]
    wanted = np.zeros(num_machines, dtype=np.bool_)
    for machine in candidate_machine:
        wanted[machine] = True
    sums = np.zeros((num_machines, size), dtype=np.float32)
    counts = np.zeros(num_machines, dtype=np.float32)
    for row in range(near.shape[0]):
        machine = near_machine[row]
        if wanted[machine]:
            counts[machine] += 1.0
            for column in range(size):
                sums[machine, column] += near[row, column]
    context = np.zeros((num_machines, size), dtype=np.float32)
    for machine in range(num_machines):
        if wanted[machine] and counts[machine] > 0.0:
            for inner in range(size):
                mean = sums[machine, inner] / counts[machine]
                for column in range(size):
                    context[machine, column] += mean * context_weight[inner, column]
    hidden = np.empty((candidate_machine.shape[0], size), dtype=np.float32)
    for index in range(candidate_machine.shape[0]):
        machine = candidate_machine[index]
        for column in range(size):
            value = own[index, column] + first_bias[column] + context[machine, column]
            if successor_rows[index] >= 0:
                value += successor[index, column]
            hidden[index, column] = max(value, 0.0)
    return hidden
