"""Longest paths, critical paths and blocks, and the N5 neighbourhood with its move estimates.

The public functions take a solution as :meth:`jssp.schedule.Schedule.machine_sequences` gives it; the
hot loops are numba kernels with plain-Python twins (``*_reference``) that the tests compare against.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from jssp.instance import Instance
from jssp.local_search.graph import (
    Move,
    Sequences,
    _Graph,
    _graph,
    _job_predecessor,
    _job_successor,
    _machine_predecessor,
    _machine_successor,
    _node_order,
    _Solution,
    _solution,
    _start_times,
)


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
