"""Complete schedules as machine orders: longest paths, critical blocks, the N5 neighbourhood, tabu search.

A solution fixes the order of the operations on every machine. The public functions take it as
:meth:`jssp.schedule.Schedule.machine_sequences` gives it: per machine, the jobs in processing
order, a job listed once per visit (its k-th occurrence is its k-th operation there); for
classical instances the ``(num_machines, num_jobs)`` matrix of those lists works as well. The
kernels hold it as one array of node ids (``job * width + op``), machine after machine.

The semi-active schedule of a solution is the longest path in the disjunctive graph with those
machine arcs fixed; the makespan is the longest path's length and the critical path the
operations on it. Hot loops are numba kernels with plain-Python twins (``*_reference``) that the
tests compare against. What the tabu search keeps is linear in the number of operations; it keeps
a topological order too, so that after a swap it recomputes heads only from the swapped pair on and
tails only up to it, in one sweep each, and reads the clock inside its kernel.
"""

from __future__ import annotations

import contextlib
import functools
import math
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numba
import numpy as np
import numpy.typing as npt

from jssp.instance import Instance
from jssp.schedule import Schedule

Move = tuple[int, int, int]  # (machine, position, position + 1): swap two adjacent operations on a machine
Sequences = npt.NDArray[np.int64] | Sequence[npt.ArrayLike]  # jobs in processing order, one list per machine


# ---------------------------------------------------------------------------------------------
# Machine orders as node arrays
# ---------------------------------------------------------------------------------------------


class _Graph(NamedTuple):
    """The instance as flat per-node arrays; node ``job * width + op``, padding nodes are never used.

    Shapes:
        machine, duration: ``(num_jobs * width,)``; lengths: ``(num_jobs,)``;
        offsets: ``(num_machines + 1,)``, machine m's operations fill ``order[offsets[m]:offsets[m + 1]]``.
    """

    machine: npt.NDArray[np.int64]
    duration: npt.NDArray[np.int64]
    lengths: npt.NDArray[np.int64]
    offsets: npt.NDArray[np.int64]
    width: int


class _Solution(NamedTuple):
    """Machine orders with the longest paths into and out of every operation, and a topological order.

    Shapes:
        order: ``(num_operations,)`` node ids, machine after machine, each machine's in processing order;
        position, heads, tails: ``(num_jobs * width,)``: index in ``order``, earliest start, and longest
        path from the operation's end to the end of the schedule;
        topo: ``(num_operations,)`` node ids in an order where every arc goes forward (kept close to
        start-time order), and rank: ``(num_jobs * width,)`` the index of each node in it.
    """

    order: npt.NDArray[np.int64]
    position: npt.NDArray[np.int64]
    heads: npt.NDArray[np.int64]
    tails: npt.NDArray[np.int64]
    topo: npt.NDArray[np.int64]
    rank: npt.NDArray[np.int64]


def _graph(instance: Instance) -> _Graph:
    counts = np.bincount(instance.machines[instance.valid], minlength=instance.num_machines)
    offsets = np.zeros(instance.num_machines + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return _Graph(instance.machines.ravel(), instance.durations.ravel(), instance.lengths, offsets, instance.width)


def _solution(order: npt.NDArray[np.int64], num_cells: int) -> _Solution:
    position = np.full(num_cells, -1, dtype=np.int64)
    position[order] = np.arange(len(order))

    def zeros(size: int) -> npt.NDArray[np.int64]:
        return np.zeros(size, dtype=np.int64)

    return _Solution(order, position, zeros(num_cells), zeros(num_cells), zeros(len(order)), zeros(num_cells))


def operation_index(instance: Instance) -> npt.NDArray[np.int64]:
    """``op_of[job, machine]``: position of the job's operation on that machine in its route.

    Only classical instances have one operation per (job, machine); the functions below accept it
    to skip rebuilding it, and work without it on any instance.

    Shapes:
        returns ``(num_jobs, num_machines)``.

    Raises:
        ValueError: if the instance is not classical.
    """
    if not instance.is_classical:
        raise ValueError(f"{instance.name}: operation_index needs every job to visit every machine once")
    op_of = np.empty_like(instance.machines)
    rows = np.arange(instance.num_jobs)[:, None]
    op_of[rows, instance.machines] = np.arange(instance.num_machines)[None, :]
    return op_of


def _node_order(
    instance: Instance, sequences: Sequences, op_of: npt.NDArray[np.int64] | None = None
) -> npt.NDArray[np.int64]:
    """The node ids of ``sequences``, machine after machine (the ``order`` of :class:`_Solution`).

    Raises:
        ValueError: if the lists do not hold each machine's operations.
    """
    num_jobs, num_machines, width = instance.num_jobs, instance.num_machines, instance.width
    if instance.is_classical:  # every list holds each job once: a matrix
        matrix = np.asarray(sequences, dtype=np.int64)
        if matrix.shape != (num_machines, num_jobs) or not np.array_equal(np.sort(matrix, axis=1), _ranges(matrix)):
            raise ValueError(f"sequences must list every job once per machine, shape {(num_machines, num_jobs)}")
        op_of = operation_index(instance) if op_of is None else op_of
        return np.ascontiguousarray((matrix * width + op_of[matrix, np.arange(num_machines)[:, None]]).ravel())
    rows = [np.asarray(row, dtype=np.int64).reshape(-1) for row in sequences]
    counts = np.bincount(instance.machines[instance.valid], minlength=num_machines)
    if len(rows) != num_machines or [len(row) for row in rows] != counts.tolist():
        raise ValueError(f"sequences must hold one list per machine of its {instance.num_operations} operations")
    jobs = np.concatenate(rows)
    if jobs.min() < 0 or jobs.max() >= num_jobs:
        raise ValueError(f"sequences name a job outside 0..{num_jobs - 1}")
    # The k-th occurrence of a job on a machine is its k-th operation there: group both the
    # entries and the operations by (machine, job), keeping order inside each group.
    keys = np.repeat(np.arange(num_machines), counts) * num_jobs + jobs
    grouping = np.argsort(keys, kind="stable")
    nodes = np.flatnonzero(instance.valid.ravel())
    nodes = nodes[np.argsort(instance.machines.ravel()[nodes], kind="stable")]  # by machine, then job and op
    if not np.array_equal(keys[grouping], instance.machines.ravel()[nodes] * num_jobs + nodes // width):
        raise ValueError("sequences do not list each job on a machine as often as its route visits it")
    order = np.empty_like(jobs)
    order[grouping] = nodes
    return order


def _ranges(matrix: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    return np.broadcast_to(np.arange(matrix.shape[1]), matrix.shape)


def _schedule_order(schedule: Schedule) -> npt.NDArray[np.int64]:
    """Node ids machine after machine, each machine's in the order of :meth:`Schedule.machine_sequences`."""
    instance = schedule.instance
    jobs, ops = np.nonzero(instance.valid)
    machines = instance.machines[jobs, ops]
    starts = schedule.start_times[jobs, ops]
    ends = starts + instance.durations[jobs, ops]
    return np.ascontiguousarray((jobs * instance.width + ops)[np.lexsort((ops, jobs, ends, starts, machines))])


def _start_times(instance: Instance, heads: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """``(num_jobs, width)`` start times from per-node heads, -1 in padding."""
    starts = heads.reshape(instance.machines.shape).copy()
    if not instance.is_classical:
        starts[~instance.valid] = -1
    return starts


# ---------------------------------------------------------------------------------------------
# Public functions on machine sequences
# ---------------------------------------------------------------------------------------------


def evaluate_sequences(
    instance: Instance, sequences: Sequences, op_of: npt.NDArray[np.int64] | None = None
) -> tuple[int, npt.NDArray[np.int64]]:
    """(makespan, start times) of the semi-active schedule of ``sequences``; makespan -1 if cyclic.

    Args:
        op_of: :func:`operation_index` of a classical instance, when the caller keeps it.

    Shapes:
        start times: ``(num_jobs, width)``, -1 in padding.
    """
    makespan, solution = _evaluated(instance, sequences, op_of, with_tails=False)
    return makespan, _start_times(instance, solution.heads)


def longest_paths(
    instance: Instance, sequences: Sequences, op_of: npt.NDArray[np.int64] | None = None
) -> tuple[int, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(makespan, start times, tails) of ``sequences``: the tail of an operation is the longest path from
    its end to the end of the schedule, so it is critical exactly when start + duration + tail = makespan.

    Shapes:
        start times, tails: ``(num_jobs, width)``; -1 in padding.
    """
    makespan, solution = _evaluated(instance, sequences, op_of, with_tails=True)
    tails = _start_times(instance, solution.tails)
    return makespan, _start_times(instance, solution.heads), tails


def _evaluated(
    instance: Instance, sequences: Sequences, op_of: npt.NDArray[np.int64] | None, with_tails: bool
) -> tuple[int, _Solution]:
    graph = _graph(instance)
    solution = _solution(_node_order(instance, sequences, op_of), instance.machines.size)
    return _evaluate(graph, solution, with_tails), solution


def evaluate_sequences_reference(instance: Instance, sequences: Sequences) -> tuple[int, npt.NDArray[np.int64]]:
    """Plain-Python twin of :func:`evaluate_sequences` (repeated relaxation until nothing changes)."""
    lists = machine_operations_reference(instance, sequences)
    durations = instance.durations
    starts = np.where(instance.valid, 0, -1).astype(np.int64)
    for _ in range(instance.num_operations + 1):
        changed = False
        for job in range(instance.num_jobs):
            for op in range(1, int(instance.lengths[job])):
                end = starts[job, op - 1] + durations[job, op - 1]
                if starts[job, op] < end:
                    starts[job, op], changed = end, True
        for operations in lists:
            for before, after in zip(operations, operations[1:], strict=False):
                end = starts[before] + durations[before]
                if starts[after] < end:
                    starts[after], changed = end, True
        if not changed:
            return int(np.where(instance.valid, starts + durations, 0).max()), starts
    return -1, starts


def machine_operations_reference(instance: Instance, sequences: Sequences) -> list[list[tuple[int, int]]]:
    """Per machine, the (job, op) operations of ``sequences`` in processing order (the k-th occurrence of a
    job is its k-th operation on that machine); ValueError if the lists do not match the routes."""
    visits: dict[tuple[int, int], list[int]] = {}
    for job in range(instance.num_jobs):
        for op in range(int(instance.lengths[job])):
            visits.setdefault((int(instance.machines[job, op]), job), []).append(op)
    lists = []
    for machine, row in enumerate(sequences):
        seen: dict[int, int] = {}
        operations = []
        for job in (int(value) for value in np.asarray(row).reshape(-1)):
            ops = visits.get((machine, job), [])
            if seen.get(job, 0) >= len(ops):
                raise ValueError(f"job {job} appears on machine {machine} more often than its route visits it")
            operations.append((job, ops[seen.get(job, 0)]))
            seen[job] = seen.get(job, 0) + 1
        lists.append(operations)
    if len(lists) != instance.num_machines or sum(map(len, lists)) != instance.num_operations:
        raise ValueError(f"sequences must hold one list per machine of its {instance.num_operations} operations")
    return lists


def critical_path(instance: Instance, sequences: Sequences, starts: npt.NDArray[np.int64]) -> list[tuple[int, int]]:
    """One longest path as (job, op) pairs from time 0 to the makespan.

    Starts at the first operation in (job, op) order that ends at the makespan and walks back to
    a predecessor (machine first, then job) whose end equals the current start.
    """
    lists = machine_operations_reference(instance, sequences)
    machine_before = {
        after: before for operations in lists for before, after in zip(operations, operations[1:], strict=False)
    }
    ends = np.where(instance.valid, starts + instance.durations, -1)
    makespan = int(ends.max())
    job, op = (int(value) for value in np.argwhere(ends == makespan)[0])
    path = [(job, op)]
    while starts[job, op] > 0:
        previous = None
        other = machine_before.get((job, op))
        if other is not None and ends[other] == starts[job, op]:
            previous = other
        if previous is None and op > 0 and ends[job, op - 1] == starts[job, op]:
            previous = (job, op - 1)
        if previous is None:  # zero-duration corner: fall back on any tight predecessor
            break
        job, op = previous
        path.append(previous)
    path.reverse()
    return path


def critical_blocks(instance: Instance, path: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Maximal runs of consecutive critical operations on the same machine.

    Two consecutive operations of :func:`critical_path` on one machine are adjacent there: the
    walk takes a tight machine predecessor before a job predecessor.
    """
    blocks: list[list[tuple[int, int]]] = []
    for job, op in path:
        machine = instance.machines[job, op]
        if blocks and instance.machines[blocks[-1][-1]] == machine:
            blocks[-1].append((job, op))
        else:
            blocks.append([(job, op)])
    return blocks


def n5_moves(
    instance: Instance,
    sequences: Sequences,
    starts: npt.NDArray[np.int64],
    op_of: npt.NDArray[np.int64] | None = None,
) -> list[Move]:
    """The N5 moves of :func:`n5_moves_reference`, computed by the compiled kernel the tabu search uses."""
    graph = _graph(instance)
    solution = _solution(_node_order(instance, sequences, op_of), instance.machines.size)
    solution.heads[:] = np.asarray(starts, dtype=np.int64).ravel()
    path = np.empty(instance.num_operations, dtype=np.int64)
    moves = np.empty(instance.num_operations, dtype=np.int64)
    count = _n5_kernel(graph, solution, path, moves)
    machines = graph.machine[solution.order[moves[:count]]]
    firsts = moves[:count] - graph.offsets[machines]
    return [(int(machine), int(first), int(first) + 1) for machine, first in zip(machines, firsts, strict=True)]


def estimate_moves(
    instance: Instance, sequences: Sequences, moves: list[Move], op_of: npt.NDArray[np.int64] | None = None
) -> npt.NDArray[np.int64]:
    """The O(1) score tabu search gives each move (:func:`_estimate`): a lower bound on the makespan after
    it, exact whenever the longest path still runs through one of the two swapped operations.

    Shapes:
        returns ``(len(moves),)``.
    """
    graph = _graph(instance)
    solution = _solution(_node_order(instance, sequences, op_of), instance.machines.size)
    _evaluate(graph, solution, with_tails=True)
    firsts = [int(graph.offsets[machine]) + first for machine, first, _ in moves]
    return np.array([_estimate(graph, solution, first) for first in firsts], dtype=np.int64)


def n5_moves_reference(instance: Instance, sequences: Sequences, starts: npt.NDArray[np.int64]) -> list[Move]:
    """N5 neighbourhood (Nowicki & Smutnicki 1996): swap the first two and the last two operations
    of every critical block, except the first two of the first block and the last two of the last.

    Two operations of one job are never swapped (on general routes a job may hold consecutive
    places of a block; swapping them would contradict its route). When that leaves no move, every
    swap of two adjacent critical operations of different jobs is a move instead (van Laarhoven et
    al. 1992's neighbourhood on the critical path), so that the neighbourhood is empty only when the
    critical path is one block or one job's route, whose length bounds every schedule: the schedule
    is optimal. Neither kind of swap creates a cycle when durations are positive.
    """
    blocks = critical_blocks(instance, critical_path(instance, sequences, starts))
    position_of = {
        operation: (machine, position)
        for machine, operations in enumerate(machine_operations_reference(instance, sequences))
        for position, operation in enumerate(operations)
    }
    moves: list[Move] = []
    skipped = False
    last = len(blocks) - 1
    for index, block in enumerate(blocks):
        if len(block) < 2:
            continue
        machine, first = position_of[block[0]]
        end = position_of[block[-1]][1]
        swaps = []
        if index > 0:
            swaps.append((block[0], block[1]))
        if index < last and (end - 1 != first or index == 0):
            swaps.append((block[-2], block[-1]))
        for before, after in swaps:
            if before[0] != after[0]:
                position = position_of[before][1]
                moves.append((machine, position, position + 1))
            else:
                skipped = True
    if not moves and skipped:
        for block in blocks:
            for before, after in zip(block, block[1:], strict=False):
                if before[0] != after[0]:
                    machine, position = position_of[before]
                    moves.append((machine, position, position + 1))
    return list(dict.fromkeys(moves))


def apply_move(sequences: Sequences, move: Move) -> Sequences:
    """A copy of ``sequences`` with the move's two adjacent operations swapped (a matrix stays a matrix)."""
    machine, first, second = move
    if isinstance(sequences, np.ndarray) and sequences.ndim == 2:
        result = sequences.copy()
        result[machine, first], result[machine, second] = sequences[machine, second], sequences[machine, first]
        return result
    rows = [np.array(row, dtype=np.int64) for row in sequences]
    rows[machine][first], rows[machine][second] = rows[machine][second], rows[machine][first]
    return rows


# ---------------------------------------------------------------------------------------------
# Kernels: graph navigation, longest paths, critical path, N5, move estimates
# ---------------------------------------------------------------------------------------------


@numba.njit(cache=True, inline="always")
def _job_predecessor(graph: _Graph, node: int) -> int:
    return node - 1 if node % graph.width > 0 else -1


@numba.njit(cache=True, inline="always")
def _job_successor(graph: _Graph, node: int) -> int:
    return node + 1 if node % graph.width + 1 < graph.lengths[node // graph.width] else -1


@numba.njit(cache=True, inline="always")
def _machine_predecessor(graph: _Graph, order: np.ndarray, position: np.ndarray, node: int) -> int:
    index = position[node]
    return order[index - 1] if index > graph.offsets[graph.machine[node]] else -1


@numba.njit(cache=True, inline="always")
def _machine_successor(graph: _Graph, order: np.ndarray, position: np.ndarray, node: int) -> int:
    index = position[node] + 1
    return order[index] if index < graph.offsets[graph.machine[node] + 1] else -1


@numba.njit(cache=True)
def _longest_paths(
    graph: _Graph,
    order: np.ndarray,
    position: np.ndarray,
    heads: np.ndarray,
    tails: np.ndarray,
    with_tails: bool,
    indegree: np.ndarray,
    queue: np.ndarray,
) -> int:
    """Earliest starts (heads) for fixed machine orders by Kahn's algorithm and, with ``with_tails``,
    tails in the reverse of the same topological order; returns the makespan, -1 on a cycle.

    Shapes:
        indegree: ``(num_jobs * width,)`` and queue: ``(num_operations,)``, scratch.
    """
    num_operations = order.shape[0]
    width = graph.width
    size = 0
    for job in range(graph.lengths.shape[0]):
        for op in range(graph.lengths[job]):
            node = job * width + op
            heads[node] = 0
            indegree[node] = (op > 0) + (position[node] > graph.offsets[graph.machine[node]])
            if indegree[node] == 0:
                queue[size] = node
                size += 1
    makespan = 0
    done = 0
    while done < size:
        node = queue[done]
        done += 1
        end = heads[node] + graph.duration[node]
        makespan = max(makespan, end)
        for successor in (_job_successor(graph, node), _machine_successor(graph, order, position, node)):
            if successor >= 0:
                heads[successor] = max(heads[successor], end)
                indegree[successor] -= 1
                if indegree[successor] == 0:
                    queue[size] = successor
                    size += 1
    if size < num_operations:
        return -1
    if with_tails:
        for index in range(num_operations - 1, -1, -1):
            node = queue[index]
            tails[node] = _tail_from_successors(graph, order, position, tails, node)
    return makespan


def _evaluate(graph: _Graph, solution: _Solution, with_tails: bool) -> int:
    """:func:`_longest_paths` of ``solution`` into its own arrays, with fresh scratch."""
    indegree = np.empty(len(solution.position), dtype=np.int32)
    queue = np.empty(len(solution.order), dtype=np.int64)
    return int(
        _longest_paths(
            graph, solution.order, solution.position, solution.heads, solution.tails, with_tails, indegree, queue
        )
    )


@numba.njit(cache=True, inline="always")
def _head_from_predecessors(
    graph: _Graph, order: np.ndarray, position: np.ndarray, heads: np.ndarray, node: int
) -> int:
    head = 0
    for other in (_job_predecessor(graph, node), _machine_predecessor(graph, order, position, node)):
        if other >= 0:
            head = max(head, heads[other] + graph.duration[other])
    return head


@numba.njit(cache=True, inline="always")
def _tail_from_successors(graph: _Graph, order: np.ndarray, position: np.ndarray, tails: np.ndarray, node: int) -> int:
    tail = 0
    for other in (_job_successor(graph, node), _machine_successor(graph, order, position, node)):
        if other >= 0:
            tail = max(tail, tails[other] + graph.duration[other])
    return tail


@numba.njit(cache=True)
def _makespan_node(graph: _Graph, heads: np.ndarray) -> int:
    """The first operation in (job, op) order that ends at the makespan (a job's ends never decrease)."""
    width = graph.width
    best = -1
    node = 0
    for job in range(graph.lengths.shape[0]):
        last = job * width + graph.lengths[job] - 1
        end = heads[last] + graph.duration[last]
        if end > best:
            best, node = end, last
    while node % width > 0 and heads[node - 1] + graph.duration[node - 1] == best:
        node -= 1
    return node


@numba.njit(cache=True)
def _critical_path(graph: _Graph, solution: _Solution, path: np.ndarray) -> int:
    """Twin of :func:`critical_path`: the path from its last operation back to time 0 into ``path``;
    returns its length."""
    heads = solution.heads
    node = _makespan_node(graph, heads)
    path[0] = node
    length = 1
    while heads[node] > 0:
        previous = _machine_predecessor(graph, solution.order, solution.position, node)
        if previous < 0 or heads[previous] + graph.duration[previous] != heads[node]:
            previous = _job_predecessor(graph, node)
            if previous < 0 or heads[previous] + graph.duration[previous] != heads[node]:
                break
        node = previous
        path[length] = node
        length += 1
    return length


@numba.njit(cache=True)
def _n5_kernel(graph: _Graph, solution: _Solution, path: np.ndarray, moves: np.ndarray) -> int:
    """Compiled twin of :func:`n5_moves_reference` (same critical path, same moves in the same order).

    Shapes:
        path, moves: ``(num_operations,)``; moves receives the index in ``order`` of the first
        operation of each swap; returns the number of moves.
    """
    length = _critical_path(graph, solution, path)
    count = 0
    skipped = 0
    first = last = solution.position[path[length - 1]]
    size = 1
    block = 0
    for index in range(length - 2, -1, -1):
        node = path[index]
        if graph.machine[node] == graph.machine[path[index + 1]]:
            last = solution.position[node]
            size += 1
        else:
            count, skipped = _block_moves(graph, solution, moves, count, skipped, first, last, size, block == 0, False)
            block += 1
            first = last = solution.position[node]
            size = 1
    count, skipped = _block_moves(graph, solution, moves, count, skipped, first, last, size, block == 0, True)
    if count == 0 and skipped > 0:  # every N5 swap lies inside a job: take the other critical swaps
        width = graph.width
        for index in range(length - 2, -1, -1):
            before, after = path[index + 1], path[index]
            if graph.machine[before] == graph.machine[after] and before // width != after // width:
                moves[count] = solution.position[before]
                count += 1
    return count


@numba.njit(cache=True, inline="always")
def _block_moves(
    graph: _Graph,
    solution: _Solution,
    moves: np.ndarray,
    count: int,
    skipped: int,
    first: int,
    last: int,
    size: int,
    is_first: bool,
    is_last: bool,
) -> tuple[int, int]:
    """Append N5's swaps of the block at ``order[first..last]`` except those inside one job;
    returns the new count of moves and of swaps skipped so."""
    if size < 2:
        return count, skipped
    width = graph.width
    order = solution.order
    if not is_first:
        if order[first] // width != order[first + 1] // width:
            moves[count] = first
            count += 1
        else:
            skipped += 1
    if not is_last and (last - 1 != first or is_first):
        if order[last - 1] // width != order[last] // width:
            moves[count] = last - 1
            count += 1
        else:
            skipped += 1
    return count, skipped


@numba.njit(cache=True, inline="always")
def _estimate(graph: _Graph, solution: _Solution, index: int) -> int:
    """Length of the longest path through the two operations at ``order[index]`` and ``order[index + 1]``
    once swapped, in O(1).

    Swapping adjacent critical operations u (first) and v on a machine changes the heads of u and v
    and their tails; those of their other neighbours stay, because an N5 swap never puts either
    operation upstream of its own predecessors (Taillard 1994; the estimate TSAB selects moves by,
    Nowicki & Smutnicki 1996). The new makespan is at least this value, and equal to it whenever
    the longest path still runs through u or v.
    """
    order, heads, tails, duration = solution.order, solution.heads, solution.tails, graph.duration
    u, v = order[index], order[index + 1]
    head_v = 0  # v now follows u's machine predecessor and its own job predecessor
    other = _job_predecessor(graph, v)
    if other >= 0:
        head_v = heads[other] + duration[other]
    if index > graph.offsets[graph.machine[u]]:
        other = order[index - 1]
        head_v = max(head_v, heads[other] + duration[other])
    head_u = head_v + duration[v]
    other = _job_predecessor(graph, u)
    if other >= 0:
        head_u = max(head_u, heads[other] + duration[other])
    tail_u = 0  # u now precedes v's machine successor and its own job successor
    other = _job_successor(graph, u)
    if other >= 0:
        tail_u = tails[other] + duration[other]
    if index + 2 < graph.offsets[graph.machine[u] + 1]:
        other = order[index + 2]
        tail_u = max(tail_u, tails[other] + duration[other])
    tail_v = tail_u + duration[u]
    other = _job_successor(graph, v)
    if other >= 0:
        tail_v = max(tail_v, tails[other] + duration[other])
    return max(head_v + duration[v] + tail_v, head_u + duration[u] + tail_u)


# ---------------------------------------------------------------------------------------------
# Kernels: swapping two operations, with incremental heads and tails
# ---------------------------------------------------------------------------------------------


class _Workspace(NamedTuple):
    """Scratch arrays of the search, allocated once.

    Shapes:
        path, moves, values, queue, stack: ``(num_operations,)``; indegree, stamp: ``(num_jobs * width,)``;
        scratch: ``(num_jobs * width,)`` in exact mode, else empty.
    """

    path: npt.NDArray[np.int64]
    moves: npt.NDArray[np.int64]
    values: npt.NDArray[np.int64]
    queue: npt.NDArray[np.int64]
    stack: npt.NDArray[np.int64]
    indegree: npt.NDArray[np.int32]
    stamp: npt.NDArray[np.int64]
    scratch: npt.NDArray[np.int64]


def _workspace(num_operations: int, num_cells: int, exact: bool) -> _Workspace:
    def empty(size: int) -> npt.NDArray[np.int64]:
        return np.empty(size, dtype=np.int64)

    return _Workspace(
        empty(num_operations),
        empty(num_operations),
        empty(num_operations),
        empty(num_operations),
        empty(num_operations),
        np.empty(num_cells, dtype=np.int32),
        np.zeros(num_cells, dtype=np.int64),
        empty(num_cells if exact else 0),
    )


@numba.njit(cache=True)
def _refresh(graph: _Graph, solution: _Solution, workspace: _Workspace) -> int:
    """Recompute heads, tails and the topological order of ``solution`` from scratch; returns the
    makespan (-1 on a cycle). The order is Kahn's, sorted by start time (ties kept), so that the
    window :func:`_swap` repairs is about the operations running while the first one does."""
    topo, rank = solution.topo, solution.rank
    makespan = _longest_paths(
        graph, solution.order, solution.position, solution.heads, solution.tails, True, workspace.indegree, topo
    )
    if makespan >= 0:
        starts = workspace.queue
        for index in range(topo.shape[0]):
            starts[index] = solution.heads[topo[index]]
        topo[:] = topo[np.argsort(starts, kind="mergesort")]
        for index in range(topo.shape[0]):
            rank[topo[index]] = index
    return makespan


@numba.njit(cache=True)
def _swap(graph: _Graph, solution: _Solution, workspace: _Workspace, index: int, stamp: int) -> tuple[bool, int, int]:
    """Swap ``order[index]`` (x) and ``order[index + 1]`` (y) and repair the topological order; heads and
    tails are left to :func:`_sweep`. Returns whether the swap was made (not when it would close a
    cycle) and the range of ranks it changed: heads may change from the first on, tails up to the last.

    Only the arc between x and y turns round, so the old order fails only inside the window of ranks
    from x to y: the operations there that x reaches (in one forward pass, as every other arc goes
    forward) move, in order, after the others (Pearce & Kelly 2006 repair a topological order the
    same way). ``stamp`` must differ from every earlier call's.
    """
    order, position, topo, rank = solution.order, solution.position, solution.topo, solution.rank
    x, y = order[index], order[index + 1]
    order[index], order[index + 1] = y, x
    position[y], position[x] = index, index + 1
    low, high = rank[x], rank[y]
    marks, reached = workspace.stamp, workspace.stack
    marks[x] = stamp
    for place in range(low + 1, high + 1):
        node = topo[place]
        for other in (_job_predecessor(graph, node), _machine_predecessor(graph, order, position, node)):
            if other >= 0 and marks[other] == stamp:
                marks[node] = stamp
    if marks[y] == stamp:  # x reaches y another way: the swap would close a cycle
        order[index], order[index + 1] = x, y
        position[x], position[y] = index, index + 1
        return False, low, low
    count = 0
    place = low
    for current in range(low, high + 1):
        node = topo[current]
        if marks[node] == stamp:
            reached[count] = node
            count += 1
        else:
            topo[place] = node
            rank[node] = place
            place += 1
    for offset in range(count):
        topo[place + offset] = reached[offset]
        rank[reached[offset]] = place + offset
    return True, low, high


@numba.njit(cache=True)
def _sweep(graph: _Graph, solution: _Solution, low: int, high: int) -> int:
    """Recompute heads from rank ``low`` on and tails up to rank ``high`` along the topological order
    (the others cannot have changed); returns the makespan."""
    order, position, heads, tails, topo = (
        solution.order,
        solution.position,
        solution.heads,
        solution.tails,
        solution.topo,
    )
    for place in range(low, topo.shape[0]):
        node = topo[place]
        heads[node] = _head_from_predecessors(graph, order, position, heads, node)
    for place in range(high, -1, -1):
        node = topo[place]
        tails[node] = _tail_from_successors(graph, order, position, tails, node)
    node = _makespan_node(graph, heads)
    return heads[node] + graph.duration[node]


@numba.njit(cache=True)
def _closes_cycle(graph: _Graph, solution: _Solution, workspace: _Workspace, index: int, stamp: int) -> bool:
    """Whether swapping ``order[index]`` (u) and ``order[index + 1]`` (v) closes a cycle: whether a path
    other than the machine arc leads from u to v.

    Every operation x on such a path has ``head(x) + duration(x) <= head(v)``, which prunes the
    search; for a critical pair (v starts when u ends) the path can only run through operations of
    zero duration, so with positive durations the answer takes O(1). ``stamp`` must differ from
    every earlier call's.
    """
    order, position, heads, duration = solution.order, solution.position, solution.heads, graph.duration
    u, v = order[index], order[index + 1]
    start = _job_successor(graph, u)
    if start < 0:
        return False
    if start == v:
        return True
    limit = heads[v]
    if heads[start] + duration[start] > limit:
        return False
    stack = workspace.stack
    stack[0] = start
    workspace.stamp[start] = stamp
    size = 1
    while size > 0:
        size -= 1
        node = stack[size]
        for successor in (_job_successor(graph, node), _machine_successor(graph, order, position, node)):
            if successor == v:
                return True
            if (
                successor >= 0
                and workspace.stamp[successor] != stamp
                and heads[successor] + duration[successor] <= limit
            ):
                workspace.stamp[successor] = stamp
                stack[size] = successor
                size += 1
    return False


# ---------------------------------------------------------------------------------------------
# Tabu search
# ---------------------------------------------------------------------------------------------


@dataclass
class TabuResult:
    """Best schedule found and how the search went."""

    schedule: Schedule
    iterations: int
    improvements: int
    moves_evaluated: int
    interrupted: bool = False
    """Stopped early by Ctrl-C; ``schedule`` is the best found until then."""


@functools.cache
def warm_up() -> None:
    """Load (or, on the first run after an install or a change, compile) the tabu-search kernels now,
    so that no timed search pays for it: a 3x3 search of a few iterations runs every kernel. The rule
    episodes that build the starts of the ``tabu`` method are loaded too."""
    from jssp.generators import random_instance
    from jssp.rules import dispatch
    from jssp.rules import warm_up as warm_up_rules

    warm_up_rules()

    instance = random_instance(3, 3, seed=0)
    for exact in (False, True):
        _search(instance, dispatch(instance, "spt"), math.inf, 20, None, 0, 0, 10_000, exact, exact)


def tabu_search(
    instance: Instance,
    initial: Schedule,
    time_limit: float = 10.0,
    max_iterations: int | None = None,
    tenure: int | None = None,
    seed: int = 0,
    lower_bound: int = 0,
    restart_after: int = 10_000,
    exact: bool = False,
    batch_moves: bool | None = None,
    stop_on_interrupt: bool = False,
) -> TabuResult:
    """Tabu search over N5 with aspiration and restarts from the best solution.

    Every iteration scores each N5 move (Nowicki & Smutnicki 1996) by the longest path through the
    two swapped operations, computed in O(1) from the current heads and tails (Taillard 1994;
    :func:`_estimate`), or with ``exact`` by re-evaluating the whole schedule per move. It takes
    the best-scoring move that is not tabu (a tabu move is allowed when its score beats the best
    makespan so far), applies it, updating heads and tails incrementally, and forbids swapping the
    same pair back for a tenure drawn uniformly from ``[tenure, 3 * tenure // 2]``. When every move
    is tabu, a random one is taken. After ``restart_after`` iterations without improvement the
    search jumps back to the best solution, perturbs it with a few random N5 moves and clears the
    tabu list (a simple stand-in for TSAB's back-jump tracking). Stops at the time limit, the
    iteration limit, an empty neighbourhood (the critical path is one block, so the schedule is
    optimal), or ``lower_bound``.

    On large instances one iteration costs a pass over many operations while one move shortens one
    of many long paths, so with ``batch_moves`` (by default from :data:`BATCH_MOVES_FROM`
    operations on; not with ``exact``) an iteration first tries to take every improving move at once
    (:func:`_batch_step`).

    The clock starts when the function is called, so reading the start solution counts, and is
    checked inside the iterations; the best solution is rebuilt once at the end. Under
    ``max_iterations`` and a seed the search is deterministic. ``moves_evaluated`` counts scored
    moves.

    Ctrl-C stops the search within a clock reading: with ``stop_on_interrupt`` it returns the best
    schedule found (``interrupted`` set, as ``jssp solve --method tabu`` wants, like CP-SAT);
    otherwise KeyboardInterrupt is raised (a teacher's label must not be cut short silently).

    Raises:
        ValueError: if ``initial``'s machine orders are cyclic (it is not a feasible schedule).
        KeyboardInterrupt: on Ctrl-C, without ``stop_on_interrupt``.
    """
    warm_up()  # once per process: the kernels load (or compile) outside the first search's time limit
    result = _search(
        instance, initial, time_limit, max_iterations, tenure, seed, lower_bound, restart_after, exact, batch_moves
    )
    if result.interrupted and not stop_on_interrupt:
        raise KeyboardInterrupt
    return result


BATCH_MOVES_FROM = 250_000
"""Operations from which :func:`tabu_search` takes batches of moves by default."""

# Slots of the counters array of _tabu_iterations.
(
    _ITERATION,
    _BEST,
    _LAST_IMPROVEMENT,
    _IMPROVEMENTS,
    _MOVES_EVALUATED,
    _STOPPED,
    _MAKESPAN,
    _LOG_LENGTH,
    _SNAPSHOT,
    _TABU_USED,
    _TABU_INSERTED,
    _STAMP,
) = range(12)
_NUM_COUNTERS = 12
# Work units (recomputed operations, path steps, scored moves) between two looks at the clock:
# well under a millisecond of kernel time.
_CLOCK_EVERY = 1 << 14
# Swaps the log of the best solution holds before the search keeps a copy instead (then at most one
# copy per that many iterations, so the copies cost O(1) per iteration on average).
_MIN_LOG_CAPACITY = 1 << 16
# Room in the tabu table for this many moves per iteration when batches of moves are taken.
_BATCH_TABU_FACTOR = 256


class _Memory(NamedTuple):
    """What the search remembers beyond the current solution.

    ``tabu_keys`` / ``tabu_until`` are an open-addressing hash table: key ``x * num_cells + y``
    forbids operation x right before operation y until iteration ``until`` (-1 = empty slot).
    The best solution is the current one with the swaps in ``log`` undone, last first, or, once
    the log overflowed (``counters[_SNAPSHOT]``), the copy in ``best_order``.

    Shapes:
        tabu_keys, tabu_until: ``(table_size,)``, a power of two; log: ``(log_capacity,)``;
        best_order: ``(num_operations,)``; counters: ``(_NUM_COUNTERS,)``.
    """

    tabu_keys: npt.NDArray[np.int64]
    tabu_until: npt.NDArray[np.int64]
    log: npt.NDArray[np.int64]
    best_order: npt.NDArray[np.int64]
    counters: npt.NDArray[np.int64]


def _search(
    instance: Instance,
    initial: Schedule,
    time_limit: float,
    max_iterations: int | None,
    tenure: int | None,
    seed: int,
    lower_bound: int,
    restart_after: int,
    exact: bool,
    batch_moves: bool | None,
) -> TabuResult:
    """:func:`tabu_search` itself, on kernels already loaded."""
    began = time.perf_counter()
    tenure = tenure or max(8, min(20, instance.num_jobs + instance.num_machines) // 2)
    graph = _graph(instance)
    num_cells, num_operations = instance.machines.size, instance.num_operations
    solution = _solution(_schedule_order(initial), num_cells)
    workspace = _workspace(num_operations, num_cells, exact)
    evaluated = time.perf_counter()
    makespan = _refresh(graph, solution, workspace)
    if makespan < 0:
        raise ValueError(f"{instance.name}: the machine orders of the initial schedule are cyclic")
    # Rebuilding the best schedule at the end costs about one evaluation: keep that much in hand.
    finish = 2 * (time.perf_counter() - evaluated)
    if batch_moves is None:
        batch_moves = num_operations >= BATCH_MOVES_FROM
    batch_moves = batch_moves and not exact
    live = (3 * tenure // 2 + 2) * (_BATCH_TABU_FACTOR if batch_moves else 1)  # at most, tabu at once
    table_size = 1 << max(6, int(4 * live).bit_length())
    log_capacity = min(restart_after + 16, max(num_operations, _MIN_LOG_CAPACITY))
    memory = _Memory(
        np.full(table_size, -1, dtype=np.int64),
        np.zeros(table_size, dtype=np.int64),
        np.empty(log_capacity, dtype=np.int64),
        np.empty(num_operations, dtype=np.int64),
        np.zeros(_NUM_COUNTERS, dtype=np.int64),
    )
    memory.counters[_BEST] = memory.counters[_MAKESPAN] = makespan
    _seed_kernels(seed)
    iterations = 2**62 if max_iterations is None else max_iterations
    deadline = began + time_limit - finish
    with _stop_on_interrupt() as interrupted:
        _tabu_iterations(
            graph,
            solution,
            memory,
            workspace,
            tenure,
            restart_after,
            lower_bound,
            iterations,
            exact,
            batch_moves,
            deadline,
            interrupted,
        )
    _restore_best(graph, solution, memory, workspace)
    counters = memory.counters
    info: dict[str, Any] = {"iterations": int(counters[_ITERATION]), "improvements": int(counters[_IMPROVEMENTS])}
    if interrupted[0]:
        info["interrupted"] = True
    schedule = Schedule(
        instance,
        _start_times(instance, solution.heads),
        method="tabu",
        seconds=time.perf_counter() - began,
        status="interrupted" if interrupted[0] else None,
        info=info,
    )
    return TabuResult(
        schedule,
        int(counters[_ITERATION]),
        int(counters[_IMPROVEMENTS]),
        int(counters[_MOVES_EVALUATED]),
        bool(interrupted[0]),
    )


@contextlib.contextmanager
def _stop_on_interrupt() -> Iterator[npt.NDArray[np.int64]]:
    """A flag that Ctrl-C sets while the search runs, instead of raising KeyboardInterrupt: the
    search then stops with its best schedule, as CP-SAT does.

    Python runs its signal handlers between bytecodes, which the compiled search reaches only
    when it reads the clock (:func:`_now`); the kernel looks at the flag right after. Only in the
    main thread, and only while SIGINT has Python's default handler (a caller's own handler stays).

    Shapes:
        the flag: ``(1,)``, 1 once Ctrl-C was pressed.
    """
    flag = np.zeros(1, dtype=np.int64)
    ours = threading.current_thread() is threading.main_thread()
    ours = ours and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if ours:
        signal.signal(signal.SIGINT, lambda signum, frame: flag.fill(1))
    try:
        yield flag
    finally:
        if ours:
            signal.signal(signal.SIGINT, signal.default_int_handler)


@numba.njit(cache=True)
def _seed_kernels(seed: int) -> None:
    """Seed numba's own random generator (used by :func:`_tabu_iterations`)."""
    np.random.seed(seed)


@numba.njit(cache=True)
def _now() -> float:
    with numba.objmode(now="float64"):
        now = time.perf_counter()
    return now


@numba.njit(cache=True)
def _tabu_iterations(
    graph: _Graph,
    solution: _Solution,
    memory: _Memory,
    workspace: _Workspace,
    tenure: int,
    restart_after: int,
    lower_bound: int,
    num_iterations: int,
    exact: bool,
    batch: bool,
    deadline: float,
    interrupted: npt.NDArray[np.int64],
) -> None:
    """Run up to ``num_iterations`` iterations of :func:`tabu_search`, or until ``deadline`` (a
    ``time.perf_counter`` value) or ``interrupted[0]`` (Ctrl-C, :func:`_stop_on_interrupt`), updating
    its arrays in place; with ``batch``, an iteration first tries :func:`_batch_step`.

    ``memory.counters`` holds iteration, best makespan, iteration of the last improvement,
    improvements, moves evaluated, a stop flag (set on an empty neighbourhood, when every move
    closes a cycle, or at ``lower_bound``), the current makespan and the state of the best
    solution's record (see :class:`_Memory`).
    """
    counters = memory.counters
    order, moves, values = solution.order, workspace.moves, workspace.values
    num_cells = graph.machine.shape[0]
    num_jobs = graph.lengths.shape[0]
    work = _CLOCK_EVERY  # look at the clock before the first iteration
    for _ in range(num_iterations):
        if work >= _CLOCK_EVERY:
            work = 0
            if _now() >= deadline or interrupted[0]:
                return
        if counters[_BEST] <= lower_bound:
            counters[_STOPPED] = 1
            return
        counters[_ITERATION] += 1
        iteration = counters[_ITERATION]
        if iteration - counters[_LAST_IMPROVEMENT] > restart_after:
            _restore_best(graph, solution, memory, workspace)
            work += 4 * order.shape[0] + _perturb(graph, solution, memory, workspace)
            memory.tabu_keys[:] = -1
            counters[_TABU_USED] = counters[_TABU_INSERTED] = 0
            counters[_LAST_IMPROVEMENT] = iteration
        count = _n5_kernel(graph, solution, workspace.path, moves)
        work += 2 * num_jobs + count
        if count == 0:
            counters[_STOPPED] = 1
            return
        chosen = -1
        feasible = 0
        for index in range(count):
            first = moves[index]
            before, after = order[first], order[first + 1]
            counters[_STAMP] += 1
            if _closes_cycle(graph, solution, workspace, first, counters[_STAMP]):
                values[index] = -1
            elif exact:
                order[first], order[first + 1] = after, before
                solution.position[after], solution.position[before] = first, first + 1
                values[index] = _longest_paths(
                    graph,
                    order,
                    solution.position,
                    workspace.scratch,
                    workspace.scratch,
                    False,
                    workspace.indegree,
                    workspace.queue,
                )
                order[first], order[first + 1] = before, after
                solution.position[before], solution.position[after] = first, first + 1
                work += order.shape[0]
            else:
                values[index] = _estimate(graph, solution, first)
            counters[_MOVES_EVALUATED] += 1
            if values[index] < 0:
                continue
            feasible += 1
            allowed = not _is_tabu(memory, after * num_cells + before, iteration) or values[index] < counters[_BEST]
            if allowed and (chosen < 0 or values[index] < values[chosen]):
                chosen = index
            if exact and _now() >= deadline:  # an exact iteration can be long: give it up whole
                counters[_ITERATION] -= 1
                return
        stale_low, stale_high = 1 << 62, -1
        if batch:
            taken, stale_low, stale_high = _batch_step(graph, solution, memory, workspace, count, tenure)
            work += 3 * order.shape[0]
            if taken:
                _note_improvement(memory)
                continue
        if chosen < 0:
            if feasible == 0:
                counters[_STOPPED] = 1
                return
            pick = np.random.randint(feasible)
            for index in range(count):
                if values[index] >= 0:
                    if pick == 0:
                        chosen = index
                        break
                    pick -= 1
        first = moves[chosen]
        before, after = order[first], order[first + 1]
        work += _apply(graph, solution, memory, workspace, first, stale_low, stale_high)
        until = iteration + np.random.randint(tenure, 3 * tenure // 2 + 1)
        _make_tabu(memory, before * num_cells + after, until, iteration)
        _note_improvement(memory)


@numba.njit(cache=True, inline="always")
def _note_improvement(memory: _Memory) -> None:
    """Make the current solution the best one if it is better."""
    counters = memory.counters
    if counters[_MAKESPAN] < counters[_BEST]:
        counters[_BEST] = counters[_MAKESPAN]
        counters[_IMPROVEMENTS] += 1
        counters[_LAST_IMPROVEMENT] = counters[_ITERATION]
        counters[_LOG_LENGTH] = 0  # the current solution is the best
        counters[_SNAPSHOT] = 0


@numba.njit(cache=True)
def _apply(
    graph: _Graph,
    solution: _Solution,
    memory: _Memory,
    workspace: _Workspace,
    first: int,
    stale_low: int = 1 << 62,
    stale_high: int = -1,
) -> int:
    """Swap ``order[first]`` and ``order[first + 1]`` (:func:`_record_swap`) and update heads, tails and
    the current makespan, also over the ranks where earlier swaps left them stale (heads from
    ``stale_low`` on, tails up to ``stale_high``); returns the work."""
    made, low, high = _record_swap(graph, solution, memory, workspace, first)
    low, high = (min(low, stale_low), max(high, stale_high)) if made else (stale_low, stale_high)
    if low < solution.order.shape[0] or high >= 0:
        memory.counters[_MAKESPAN] = _sweep(graph, solution, min(low, solution.order.shape[0]), high)
    return (solution.order.shape[0] - low) + high + (high - low)  # the sweeps and the window


@numba.njit(cache=True)
def _record_swap(
    graph: _Graph, solution: _Solution, memory: _Memory, workspace: _Workspace, first: int
) -> tuple[bool, int, int]:
    """:func:`_swap` with the record of the best solution kept (the swap logged, or the best copied
    once the log is full); heads and tails are left stale."""
    counters = memory.counters
    if counters[_SNAPSHOT] == 0 and counters[_LOG_LENGTH] == memory.log.shape[0]:
        _undo_log(solution, memory)  # keep the best as a copy from now on
        memory.best_order[:] = solution.order
        for index in range(counters[_LOG_LENGTH]):
            _swap_positions(solution, memory.log[index])
        counters[_SNAPSHOT] = 1
    counters[_STAMP] += 1
    made, low, high = _swap(graph, solution, workspace, first, counters[_STAMP])
    if made and counters[_SNAPSHOT] == 0:
        memory.log[counters[_LOG_LENGTH]] = first
        counters[_LOG_LENGTH] += 1
    return made, low, high


@numba.njit(cache=True)
def _batch_step(
    graph: _Graph, solution: _Solution, memory: _Memory, workspace: _Workspace, count: int, tenure: int
) -> tuple[bool, int, int]:
    """Try to take many of the ``count`` scored moves at once; returns whether it did and, when it did
    not, the ranks where heads (from the first) and tails (up to the second) are left stale.

    The candidates are the allowed moves (not tabu, or beating the best makespan) whose estimate
    beats the current makespan, at most one per pair of operations. They are made together and kept
    if the makespan dropped, each made tabu; else the better-estimated half is tried, down to two.
    Each move alone shortens every longest path through its pair; together they can lengthen a path
    that runs through several pairs, hence the check. On large instances, where one pass over the
    operations costs what a whole iteration costs and a move shortens one of many long paths, this
    makes far more progress per pass than one move.
    """
    counters = memory.counters
    order, moves, values, batch = solution.order, workspace.moves, workspace.values, workspace.path
    num_cells = graph.machine.shape[0]
    iteration, makespan = counters[_ITERATION], counters[_MAKESPAN]
    size = 0
    for index in range(count):
        value = values[index]
        first = moves[index]
        if value < 0 or value >= makespan:
            continue
        if value >= counters[_BEST] and _is_tabu(memory, order[first + 1] * num_cells + order[first], iteration):
            continue
        if size > 0 and abs(first - moves[batch[size - 1]]) <= 1:  # shares an operation with the move before
            if value < values[batch[size - 1]]:
                batch[size - 1] = index
            continue
        batch[size] = index
        size += 1
    if size < 2:
        return False, 1 << 62, -1
    ranked = moves[batch[:size][np.argsort(values[batch[:size]], kind="mergesort")]]
    pairs = np.empty((size, 2), dtype=np.int64)  # the operations each move puts first and second
    made = np.zeros(size, dtype=np.bool_)
    low, high = order.shape[0], 0
    while size >= 2:
        for index in range(size):
            pairs[index, 0], pairs[index, 1] = order[ranked[index] + 1], order[ranked[index]]
            made[index], first, last = _record_swap(graph, solution, memory, workspace, ranked[index])
            low, high = min(low, first), max(high, last)
        value = _sweep(graph, solution, low, high)
        if value < makespan:
            counters[_MAKESPAN] = value
            for index in range(size):
                if made[index]:
                    until = iteration + np.random.randint(tenure, 3 * tenure // 2 + 1)
                    _make_tabu(memory, pairs[index, 1] * num_cells + pairs[index, 0], until, iteration)
            return True, 1 << 62, -1
        # Undo; the next try (or the caller's move) sweeps over these ranks too.
        low, high = order.shape[0], 0
        for index in range(size - 1, -1, -1):
            if made[index]:
                counters[_STAMP] += 1
                _, first, last = _swap(graph, solution, workspace, ranked[index], counters[_STAMP])
                low, high = min(low, first), max(high, last)
                if counters[_SNAPSHOT] == 0:
                    counters[_LOG_LENGTH] -= 1
        size //= 2
    return False, low, high


@numba.njit(cache=True, inline="always")
def _swap_positions(solution: _Solution, first: int) -> None:
    order, position = solution.order, solution.position
    before, after = order[first], order[first + 1]
    order[first], order[first + 1] = after, before
    position[after], position[before] = first, first + 1


@numba.njit(cache=True)
def _undo_log(solution: _Solution, memory: _Memory) -> None:
    for index in range(memory.counters[_LOG_LENGTH] - 1, -1, -1):
        _swap_positions(solution, memory.log[index])


@numba.njit(cache=True)
def _restore_best(graph: _Graph, solution: _Solution, memory: _Memory, workspace: _Workspace) -> None:
    """Make the best solution current again, with its heads, tails and makespan."""
    counters = memory.counters
    if counters[_SNAPSHOT]:
        solution.order[:] = memory.best_order
        for index in range(solution.order.shape[0]):
            solution.position[solution.order[index]] = index
    else:
        _undo_log(solution, memory)
    counters[_LOG_LENGTH] = 0
    counters[_SNAPSHOT] = 0
    counters[_MAKESPAN] = _refresh(graph, solution, workspace)


@numba.njit(cache=True)
def _perturb(graph: _Graph, solution: _Solution, memory: _Memory, workspace: _Workspace, num_moves: int = 3) -> int:
    """A few random N5 moves (each keeps the graph acyclic); returns the work."""
    work = 0
    for _ in range(num_moves):
        count = _n5_kernel(graph, solution, workspace.path, workspace.moves)
        if count == 0:
            return work
        first = workspace.moves[np.random.randint(count)]
        memory.counters[_STAMP] += 1
        if not _closes_cycle(graph, solution, workspace, first, memory.counters[_STAMP]):
            work += _apply(graph, solution, memory, workspace, first)
    return work


@numba.njit(cache=True, inline="always")
def _tabu_slot(keys: np.ndarray, key: int) -> int:
    return int((np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)) & (keys.shape[0] - 1)


@numba.njit(cache=True, inline="always")
def _is_tabu(memory: _Memory, key: int, iteration: int) -> bool:
    keys = memory.tabu_keys
    slot = _tabu_slot(keys, key)
    while keys[slot] != -1:
        if keys[slot] == key:
            return memory.tabu_until[slot] >= iteration
        slot = (slot + 1) & (keys.shape[0] - 1)
    return False


@numba.njit(cache=True)
def _make_tabu(memory: _Memory, key: int, until: int, iteration: int) -> None:
    """Forbid ``key`` until iteration ``until`` (replacing an earlier entry of the same key).

    Expired entries are reused but never emptied, so probe chains stay intact; when half the
    table is in use it is rebuilt from the live entries (at most once per quarter of the table's
    insertions). A table three quarters full of live entries (only batches of moves fill it so)
    forgets new ones rather than grow.
    """
    keys, untils, counters = memory.tabu_keys, memory.tabu_until, memory.counters
    mask = keys.shape[0] - 1
    slot = _tabu_slot(keys, key)
    free = -1
    while keys[slot] != -1:
        if keys[slot] == key:
            untils[slot] = until
            return
        if free < 0 and untils[slot] < iteration:
            free = slot
        slot = (slot + 1) & mask
    if free < 0:
        if 4 * counters[_TABU_USED] >= 3 * keys.shape[0]:
            return
        free = slot
        counters[_TABU_USED] += 1
    keys[free], untils[free] = key, until
    counters[_TABU_INSERTED] += 1
    if 2 * counters[_TABU_USED] > keys.shape[0] and 4 * counters[_TABU_INSERTED] >= keys.shape[0]:
        counters[_TABU_INSERTED] = 0
        live_keys = keys.copy()
        live_untils = untils.copy()
        keys[:] = -1
        counters[_TABU_USED] = 0
        for index in range(live_keys.shape[0]):
            if live_keys[index] != -1 and live_untils[index] >= iteration:
                slot = _tabu_slot(keys, live_keys[index])
                while keys[slot] != -1:
                    slot = (slot + 1) & mask
                keys[slot], untils[slot] = live_keys[index], live_untils[index]
                counters[_TABU_USED] += 1
