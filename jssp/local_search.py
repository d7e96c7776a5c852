"""Complete schedules as machine orders: longest paths, critical blocks, the N5 neighbourhood, tabu search.

A solution is the order of the jobs on every machine (``sequences``, as returned by
:meth:`jssp.schedule.Schedule.machine_sequences`). Its semi-active schedule is the longest path
in the disjunctive graph with those machine arcs fixed; the makespan is the longest path's
length and the critical path the operations on it. Hot loops are one numba kernel each with a
plain-Python twin (``*_reference``) that the tests compare against.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from jssp.instance import Instance
from jssp.schedule import Schedule

Move = tuple[int, int, int]  # (machine, position, position + 1): swap two adjacent jobs on a machine


def operation_index(instance: Instance) -> npt.NDArray[np.int64]:
    """``op_of[job, machine]``: position of the job's operation on that machine in its route.

    Shapes:
        returns ``(num_jobs, num_machines)``.
    """
    op_of = np.empty_like(instance.machines)
    rows = np.arange(instance.num_jobs)[:, None]
    op_of[rows, instance.machines] = np.arange(instance.num_machines)[None, :]
    return op_of


@numba.njit(cache=True)
def _machine_positions(op_of: np.ndarray, sequences: np.ndarray) -> np.ndarray:
    """``machine_position[job, op]``: index of that operation in its machine's sequence."""
    num_jobs, num_machines = op_of.shape
    machine_position = np.empty((num_jobs, num_machines), dtype=np.int64)
    for machine in range(num_machines):
        for position in range(num_jobs):
            job = sequences[machine, position]
            machine_position[job, op_of[job, machine]] = position
    return machine_position


@numba.njit(cache=True)
def _evaluate(
    machines: np.ndarray, durations: np.ndarray, op_of: np.ndarray, sequences: np.ndarray, starts: np.ndarray
) -> int:
    """Earliest start times for fixed machine orders (Kahn's algorithm); returns the makespan, -1 on a cycle."""
    num_jobs, num_machines = machines.shape
    machine_position = _machine_positions(op_of, sequences)
    indegree = np.zeros((num_jobs, num_machines), dtype=np.int64)
    for job in range(num_jobs):
        for op in range(num_machines):
            indegree[job, op] = (op > 0) + (machine_position[job, op] > 0)
    queue = np.empty(num_jobs * num_machines, dtype=np.int64)
    head = 0
    tail = 0
    for job in range(num_jobs):
        if indegree[job, 0] == 0:
            queue[tail] = job * num_machines
            tail += 1
    for job in range(num_jobs):
        for op in range(num_machines):
            starts[job, op] = 0
    makespan = 0
    while head < tail:
        node = queue[head]
        head += 1
        job = node // num_machines
        op = node % num_machines
        end = starts[job, op] + durations[job, op]
        if end > makespan:
            makespan = end
        if op + 1 < num_machines:
            if end > starts[job, op + 1]:
                starts[job, op + 1] = end
            indegree[job, op + 1] -= 1
            if indegree[job, op + 1] == 0:
                queue[tail] = job * num_machines + op + 1
                tail += 1
        machine = machines[job, op]
        position = machine_position[job, op]
        if position + 1 < num_jobs:
            next_job = sequences[machine, position + 1]
            next_op = op_of[next_job, machine]
            if end > starts[next_job, next_op]:
                starts[next_job, next_op] = end
            indegree[next_job, next_op] -= 1
            if indegree[next_job, next_op] == 0:
                queue[tail] = next_job * num_machines + next_op
                tail += 1
    if tail < num_jobs * num_machines:
        return -1
    return makespan


def evaluate_sequences(
    instance: Instance, sequences: npt.NDArray[np.int64], op_of: npt.NDArray[np.int64] | None = None
) -> tuple[int, npt.NDArray[np.int64]]:
    """(makespan, start times) of the semi-active schedule of ``sequences``; makespan -1 if cyclic."""
    starts = np.empty((instance.num_jobs, instance.num_machines), dtype=np.int64)
    op_of = operation_index(instance) if op_of is None else op_of
    makespan = _evaluate(instance.machines, instance.durations, op_of, np.ascontiguousarray(sequences), starts)
    return int(makespan), starts


def evaluate_sequences_reference(instance: Instance, sequences: npt.NDArray[np.int64]) -> tuple[int, np.ndarray]:
    """Plain-Python twin of :func:`evaluate_sequences` (repeated relaxation until nothing changes)."""
    op_of = operation_index(instance)
    num_jobs, num_machines = instance.num_jobs, instance.num_machines
    starts = np.zeros((num_jobs, num_machines), dtype=np.int64)
    for _ in range(num_jobs * num_machines + 1):
        changed = False
        for job in range(num_jobs):
            for op in range(1, num_machines):
                end = starts[job, op - 1] + instance.durations[job, op - 1]
                if starts[job, op] < end:
                    starts[job, op], changed = end, True
        for machine in range(num_machines):
            for position in range(1, num_jobs):
                before, after = sequences[machine, position - 1], sequences[machine, position]
                end = starts[before, op_of[before, machine]] + instance.durations[before, op_of[before, machine]]
                if starts[after, op_of[after, machine]] < end:
                    starts[after, op_of[after, machine]], changed = end, True
        if not changed:
            return int((starts + instance.durations).max()), starts
    return -1, starts


def critical_path(
    instance: Instance, sequences: npt.NDArray[np.int64], starts: npt.NDArray[np.int64]
) -> list[tuple[int, int]]:
    """One longest path as (job, op) pairs from time 0 to the makespan.

    Walks back from an operation ending at the makespan, to a predecessor (machine first, then
    job) whose end equals the current start.
    """
    op_of = operation_index(instance)
    ends = starts + instance.durations
    makespan = int(ends.max())
    job, op = (int(value) for value in np.argwhere(ends == makespan)[0])
    position_on_machine = np.empty((instance.num_jobs, instance.num_machines), dtype=np.int64)
    for machine in range(instance.num_machines):
        position_on_machine[sequences[machine], machine] = np.arange(instance.num_jobs)
    path = [(job, op)]
    while starts[job, op] > 0:
        machine = int(instance.machines[job, op])
        position = position_on_machine[job, machine]
        previous = None
        if position > 0:
            other = int(sequences[machine, position - 1])
            other_op = int(op_of[other, machine])
            if ends[other, other_op] == starts[job, op]:
                previous = (other, other_op)
        if previous is None and op > 0 and ends[job, op - 1] == starts[job, op]:
            previous = (job, op - 1)
        if previous is None:  # zero-duration corner: fall back on any tight predecessor
            break
        job, op = previous
        path.append(previous)
    path.reverse()
    return path


def critical_blocks(instance: Instance, path: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Maximal runs of consecutive critical operations on the same machine."""
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
    sequences: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    op_of: npt.NDArray[np.int64] | None = None,
) -> list[Move]:
    """The N5 moves of :func:`n5_moves_reference`, computed by the compiled kernel the tabu search uses."""
    moves = np.empty((2 * instance.num_operations + 2, 3), dtype=np.int64)
    op_of = operation_index(instance) if op_of is None else op_of
    count = _n5_kernel(instance.machines, instance.durations, op_of, np.ascontiguousarray(sequences), starts, moves)
    return [(int(machine), int(first), int(second)) for machine, first, second in moves[:count]]


def n5_moves_reference(
    instance: Instance, sequences: npt.NDArray[np.int64], starts: npt.NDArray[np.int64]
) -> list[Move]:
    """N5 neighbourhood (Nowicki & Smutnicki 1996): swap the first two and the last two operations
    of every critical block, except the first two of the first block and the last two of the last.

    Such swaps never create a cycle (van Laarhoven et al. 1992).
    """
    blocks = critical_blocks(instance, critical_path(instance, sequences, starts))
    position_of = {}
    for machine in range(instance.num_machines):
        for position, job in enumerate(sequences[machine]):
            position_of[(int(job), machine)] = position
    moves: list[Move] = []
    last = len(blocks) - 1
    for index, block in enumerate(blocks):
        if len(block) < 2:
            continue
        machine = int(instance.machines[block[0]])
        first = position_of[(block[0][0], machine)]
        end = position_of[(block[-1][0], machine)]
        if index > 0:
            moves.append((machine, first, first + 1))
        if index < last and (end - 1 != first or index == 0):
            moves.append((machine, end - 1, end))
    return list(dict.fromkeys(moves))


def apply_move(sequences: npt.NDArray[np.int64], move: Move) -> npt.NDArray[np.int64]:
    """A copy of ``sequences`` with the move's two adjacent jobs swapped."""
    machine, first, second = move
    result = sequences.copy()
    result[machine, first], result[machine, second] = sequences[machine, second], sequences[machine, first]
    return result


@dataclass
class TabuResult:
    """Best schedule found and how the search went."""

    schedule: Schedule
    iterations: int
    improvements: int
    moves_evaluated: int


@functools.cache
def warm_up() -> None:
    """Load (or, on the first run after an install or a change, compile) the tabu-search kernels now,
    so that no timed search pays for it: a 3x3 search of a few iterations runs every kernel."""
    from jssp.generators import random_instance
    from jssp.rules import dispatch

    instance = random_instance(3, 3, seed=0)
    for exact in (False, True):
        _search(instance, dispatch(instance, "spt"), math.inf, 20, None, 0, 0, 10_000, exact)


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
) -> TabuResult:
    """Tabu search over N5 with aspiration and restarts from the best solution.

    Every iteration scores each N5 move (Nowicki & Smutnicki 1996) by the longest path through the
    two swapped operations, computed in O(1) from the current heads and tails (Taillard 1994;
    :func:`_estimate_moves`), or with ``exact`` by re-evaluating the whole schedule per move. It
    takes the best-scoring move that is not tabu (a tabu move is allowed when its score beats the
    best makespan so far), evaluates the result exactly, and forbids swapping the same pair back
    for a tenure drawn uniformly from ``[tenure, 3 * tenure // 2]``. When every move is tabu, a
    random one is taken. After ``restart_after`` iterations without improvement the search jumps
    back to the best solution, perturbs it with a few random N5 moves and clears the tabu list (a
    simple stand-in for TSAB's back-jump tracking). Stops at the time limit, the iteration limit,
    an empty neighbourhood (the critical path is one block, so the schedule is optimal), or
    ``lower_bound``.

    The iterations run in one numba kernel (:func:`_tabu_iterations`), called in chunks so the
    time limit is checked between them; under ``max_iterations`` and a seed the search is
    deterministic. ``moves_evaluated`` counts scored moves.
    """
    warm_up()  # once per process: the kernels load (or compile) outside the first search's time limit
    return _search(instance, initial, time_limit, max_iterations, tenure, seed, lower_bound, restart_after, exact)


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
) -> TabuResult:
    """:func:`tabu_search` itself, on kernels already loaded."""
    began = time.perf_counter()
    op_of = operation_index(instance)
    tenure = tenure or max(8, min(20, instance.num_jobs + instance.num_machines) // 2)
    sequences = np.ascontiguousarray(initial.machine_sequences())
    makespan, starts = evaluate_sequences(instance, sequences, op_of)
    best_sequences, best_starts = sequences.copy(), starts.copy()
    # tabu_until[machine, first_job, second_job]: last iteration at which putting first_job right
    # before second_job on that machine is forbidden.
    tabu_until = np.zeros((instance.num_machines, instance.num_jobs, instance.num_jobs), dtype=np.int64)
    counters = np.array([0, makespan, 0, 0, 0, 0], dtype=np.int64)  # see _tabu_iterations
    _seed_kernels(seed)
    # Chunks of about 20 ms: the time limit is honoured to that precision.
    chunk = max(1, 200_000 // max(instance.num_operations, 1))
    while time.perf_counter() - began < time_limit and counters[_STOPPED] == 0:
        budget = chunk if max_iterations is None else min(chunk, max_iterations - int(counters[_ITERATION]))
        if budget <= 0:
            break
        _tabu_iterations(
            instance.machines,
            instance.durations,
            op_of,
            sequences,
            starts,
            best_sequences,
            best_starts,
            tabu_until,
            counters,
            tenure,
            restart_after,
            lower_bound,
            budget,
            exact,
        )
    schedule = Schedule(instance, best_starts, method="tabu", seconds=time.perf_counter() - began)
    return TabuResult(
        schedule, int(counters[_ITERATION]), int(counters[_IMPROVEMENTS]), int(counters[_MOVES_EVALUATED])
    )


# Slots of the counters array shared by tabu_search and _tabu_iterations.
_ITERATION, _BEST, _LAST_IMPROVEMENT, _IMPROVEMENTS, _MOVES_EVALUATED, _STOPPED = range(6)


@numba.njit(cache=True)
def _seed_kernels(seed: int) -> None:
    """Seed numba's own random generator (used by :func:`_tabu_iterations`)."""
    np.random.seed(seed)


@numba.njit(cache=True)
def _n5_kernel(
    machines: np.ndarray,
    durations: np.ndarray,
    op_of: np.ndarray,
    sequences: np.ndarray,
    starts: np.ndarray,
    moves: np.ndarray,
) -> int:
    """Compiled twin of :func:`n5_moves_reference` (same critical path, same moves in the same order).

    Shapes:
        moves: ``(capacity, 3)`` filled with (machine, position, position + 1); returns the count.
    """
    num_jobs, num_machines = machines.shape
    position_of = np.empty((num_jobs, num_machines), dtype=np.int64)  # [job, machine]
    for machine in range(num_machines):
        for position in range(num_jobs):
            position_of[sequences[machine, position], machine] = position
    makespan = 0
    last_job = 0
    last_op = 0
    for job in range(num_jobs):
        for op in range(num_machines):
            end = starts[job, op] + durations[job, op]
            if end > makespan:
                makespan, last_job, last_op = end, job, op
    # Walk back along tight arcs (machine predecessor first, then job predecessor).
    path = np.empty(num_jobs * num_machines, dtype=np.int64)
    length = 0
    job, op = last_job, last_op
    path[length] = job * num_machines + op
    length += 1
    while starts[job, op] > 0:
        machine = machines[job, op]
        position = position_of[job, machine]
        found = False
        if position > 0:
            other = sequences[machine, position - 1]
            other_op = op_of[other, machine]
            if starts[other, other_op] + durations[other, other_op] == starts[job, op]:
                job, op, found = other, other_op, True
        if not found and op > 0 and starts[job, op - 1] + durations[job, op - 1] == starts[job, op]:
            op, found = op - 1, True
        if not found:
            break
        path[length] = job * num_machines + op
        length += 1
    # Blocks along the path (from its start), then N5's first and last swaps of each.
    block_first = np.empty(length, dtype=np.int64)  # position on the machine of each block's first op
    block_last = np.empty(length, dtype=np.int64)
    block_machine = np.empty(length, dtype=np.int64)
    block_size = np.zeros(length, dtype=np.int64)
    num_blocks = 0
    for index in range(length - 1, -1, -1):
        job, op = path[index] // num_machines, path[index] % num_machines
        machine = machines[job, op]
        if num_blocks > 0 and block_machine[num_blocks - 1] == machine:
            block_last[num_blocks - 1] = position_of[job, machine]
            block_size[num_blocks - 1] += 1
        else:
            block_machine[num_blocks] = machine
            block_first[num_blocks] = position_of[job, machine]
            block_last[num_blocks] = position_of[job, machine]
            block_size[num_blocks] = 1
            num_blocks += 1
    count = 0
    for index in range(num_blocks):
        if block_size[index] < 2:
            continue
        machine, first, end = block_machine[index], block_first[index], block_last[index]
        if index > 0:
            count = _add_move(moves, count, machine, first)
        if index < num_blocks - 1 and (end - 1 != first or index == 0):
            count = _add_move(moves, count, machine, end - 1)
    return count


@numba.njit(cache=True)
def _add_move(moves: np.ndarray, count: int, machine: int, position: int) -> int:
    """Append (machine, position, position + 1) unless already there; returns the new count."""
    for index in range(count):
        if moves[index, 0] == machine and moves[index, 1] == position:
            return count
    moves[count, 0], moves[count, 1], moves[count, 2] = machine, position, position + 1
    return count + 1


@numba.njit(cache=True)
def _tails(
    machines: np.ndarray, durations: np.ndarray, op_of: np.ndarray, sequences: np.ndarray, tails: np.ndarray
) -> None:
    """Longest path from the end of every operation to the end of the schedule (Kahn's algorithm on the
    reversed arcs); an operation is critical exactly when start + duration + tail = makespan.

    Shapes:
        tails: ``(num_jobs, num_machines)``, written.
    """
    num_jobs, num_machines = machines.shape
    machine_position = _machine_positions(op_of, sequences)
    outdegree = np.zeros((num_jobs, num_machines), dtype=np.int64)
    queue = np.empty(num_jobs * num_machines, dtype=np.int64)
    tail = 0
    for job in range(num_jobs):
        for op in range(num_machines):
            tails[job, op] = 0
            outdegree[job, op] = (op + 1 < num_machines) + (machine_position[job, op] + 1 < num_jobs)
            if outdegree[job, op] == 0:
                queue[tail] = job * num_machines + op
                tail += 1
    head = 0
    while head < tail:
        node = queue[head]
        head += 1
        job, op = node // num_machines, node % num_machines
        reach = tails[job, op] + durations[job, op]
        if op > 0:
            if reach > tails[job, op - 1]:
                tails[job, op - 1] = reach
            outdegree[job, op - 1] -= 1
            if outdegree[job, op - 1] == 0:
                queue[tail] = node - 1
                tail += 1
        machine = machines[job, op]
        position = machine_position[job, op]
        if position > 0:
            other = sequences[machine, position - 1]
            other_op = op_of[other, machine]
            if reach > tails[other, other_op]:
                tails[other, other_op] = reach
            outdegree[other, other_op] -= 1
            if outdegree[other, other_op] == 0:
                queue[tail] = other * num_machines + other_op
                tail += 1


@numba.njit(cache=True)
def _estimate_moves(
    machines: np.ndarray,
    durations: np.ndarray,
    op_of: np.ndarray,
    sequences: np.ndarray,
    starts: np.ndarray,
    tails: np.ndarray,
    moves: np.ndarray,
    count: int,
    values: np.ndarray,
) -> None:
    """Length of the longest path through the two swapped operations after each N5 move, in O(1) per move.

    Swapping adjacent critical operations u (first) and v on a machine changes the heads of u and v
    and their tails; those of their other neighbours stay, because an N5 swap never puts either
    operation upstream of its own predecessors (Taillard 1994; the estimate TSAB selects moves by,
    Nowicki & Smutnicki 1996). The new makespan is at least this value, and equal to it whenever the
    longest path still runs through u or v.

    Shapes:
        moves: ``(count, 3)``; values: ``(count,)``, written.
    """
    num_jobs, num_machines = machines.shape
    for index in range(count):
        machine, first, second = moves[index, 0], moves[index, 1], moves[index, 2]
        job_u, job_v = sequences[machine, first], sequences[machine, second]
        op_u, op_v = op_of[job_u, machine], op_of[job_v, machine]
        duration_u, duration_v = durations[job_u, op_u], durations[job_v, op_v]
        head_v = 0  # v now follows u's machine predecessor and its own job predecessor
        if op_v > 0:
            head_v = starts[job_v, op_v - 1] + durations[job_v, op_v - 1]
        if first > 0:
            before = sequences[machine, first - 1]
            head_v = max(head_v, starts[before, op_of[before, machine]] + durations[before, op_of[before, machine]])
        head_u = head_v + duration_v
        if op_u > 0:
            head_u = max(head_u, starts[job_u, op_u - 1] + durations[job_u, op_u - 1])
        tail_u = 0  # u now precedes v's machine successor and its own job successor
        if op_u + 1 < num_machines:
            tail_u = tails[job_u, op_u + 1] + durations[job_u, op_u + 1]
        if second + 1 < num_jobs:
            after = sequences[machine, second + 1]
            tail_u = max(tail_u, tails[after, op_of[after, machine]] + durations[after, op_of[after, machine]])
        tail_v = tail_u + duration_u
        if op_v + 1 < num_machines:
            tail_v = max(tail_v, tails[job_v, op_v + 1] + durations[job_v, op_v + 1])
        values[index] = max(head_v + duration_v + tail_v, head_u + duration_u + tail_u)


@numba.njit(cache=True)
def _tabu_iterations(
    machines: np.ndarray,
    durations: np.ndarray,
    op_of: np.ndarray,
    sequences: np.ndarray,
    starts: np.ndarray,
    best_sequences: np.ndarray,
    best_starts: np.ndarray,
    tabu_until: np.ndarray,
    counters: np.ndarray,
    tenure: int,
    restart_after: int,
    lower_bound: int,
    num_iterations: int,
    exact: bool,
) -> None:
    """Run up to ``num_iterations`` iterations of :func:`tabu_search`, updating its arrays in place.

    ``counters`` holds iteration, best makespan, iteration of the last improvement, improvements,
    moves evaluated, and a stop flag (set on an empty neighbourhood, when every move closes a
    cycle, or at ``lower_bound``).
    """
    num_jobs, num_machines = machines.shape
    capacity = 2 * num_jobs * num_machines + 2
    moves = np.empty((capacity, 3), dtype=np.int64)
    values = np.empty(capacity, dtype=np.int64)
    scratch = np.empty_like(starts)
    tails = np.empty_like(starts)
    for _ in range(num_iterations):
        if counters[_BEST] <= lower_bound:
            counters[_STOPPED] = 1
            return
        counters[_ITERATION] += 1
        iteration = counters[_ITERATION]
        if iteration - counters[_LAST_IMPROVEMENT] > restart_after:
            _perturb_kernel(machines, durations, op_of, best_sequences, sequences, starts, moves)
            tabu_until[:] = 0
            counters[_LAST_IMPROVEMENT] = iteration
        count = _n5_kernel(machines, durations, op_of, sequences, starts, moves)
        if count == 0:
            counters[_STOPPED] = 1
            return
        chosen = -1
        feasible = 0
        if not exact:
            _tails(machines, durations, op_of, sequences, tails)
            _estimate_moves(machines, durations, op_of, sequences, starts, tails, moves, count, values)
        for index in range(count):
            machine, first, second = moves[index, 0], moves[index, 1], moves[index, 2]
            job_a, job_b = sequences[machine, first], sequences[machine, second]
            if exact:
                sequences[machine, first], sequences[machine, second] = job_b, job_a
                values[index] = _evaluate(machines, durations, op_of, sequences, scratch)
                sequences[machine, first], sequences[machine, second] = job_a, job_b
            counters[_MOVES_EVALUATED] += 1
            if values[index] < 0:
                continue
            feasible += 1
            allowed = tabu_until[machine, job_b, job_a] < iteration or values[index] < counters[_BEST]
            if allowed and (chosen < 0 or values[index] < values[chosen]):
                chosen = index
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
        machine, first, second = moves[chosen, 0], moves[chosen, 1], moves[chosen, 2]
        job_a, job_b = sequences[machine, first], sequences[machine, second]
        sequences[machine, first], sequences[machine, second] = job_b, job_a
        value = _evaluate(machines, durations, op_of, sequences, starts)
        tabu_until[machine, job_a, job_b] = iteration + np.random.randint(tenure, 3 * tenure // 2 + 1)
        if value < counters[_BEST]:
            counters[_BEST] = value
            best_sequences[:] = sequences
            best_starts[:] = starts
            counters[_IMPROVEMENTS] += 1
            counters[_LAST_IMPROVEMENT] = iteration


@numba.njit(cache=True)
def _perturb_kernel(
    machines: np.ndarray,
    durations: np.ndarray,
    op_of: np.ndarray,
    source: np.ndarray,
    sequences: np.ndarray,
    starts: np.ndarray,
    moves: np.ndarray,
    num_moves: int = 3,
) -> None:
    """``sequences = source`` followed by a few random N5 moves (each keeps the graph acyclic)."""
    sequences[:] = source
    _evaluate(machines, durations, op_of, sequences, starts)
    for _ in range(num_moves):
        count = _n5_kernel(machines, durations, op_of, sequences, starts, moves)
        if count == 0:
            return
        pick = np.random.randint(count)
        machine, first, second = moves[pick, 0], moves[pick, 1], moves[pick, 2]
        job_a, job_b = sequences[machine, first], sequences[machine, second]
        sequences[machine, first], sequences[machine, second] = job_b, job_a
        _evaluate(machines, durations, op_of, sequences, starts)
