"""Complete schedules as machine orders: longest paths, critical blocks, the N5 neighbourhood, tabu search.

A solution is the order of the jobs on every machine (``sequences``, as returned by
:meth:`jssp.schedule.Schedule.machine_sequences`). Its semi-active schedule is the longest path
in the disjunctive graph with those machine arcs fixed; the makespan is the longest path's
length and the critical path the operations on it. Hot loops are one numba kernel each with a
plain-Python twin (``*_reference``) that the tests compare against.
"""

from __future__ import annotations

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
def _evaluate(
    machines: np.ndarray, durations: np.ndarray, op_of: np.ndarray, sequences: np.ndarray, starts: np.ndarray
) -> int:
    """Earliest start times for fixed machine orders (Kahn's algorithm); returns the makespan, -1 on a cycle."""
    num_jobs, num_machines = machines.shape
    # machine_position[job, op]: index of that operation in its machine's sequence.
    machine_position = np.empty((num_jobs, num_machines), dtype=np.int64)
    for machine in range(num_machines):
        for position in range(num_jobs):
            job = sequences[machine, position]
            machine_position[job, op_of[job, machine]] = position
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


def n5_moves(instance: Instance, sequences: npt.NDArray[np.int64], starts: npt.NDArray[np.int64]) -> list[Move]:
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


def tabu_search(
    instance: Instance,
    initial: Schedule,
    time_limit: float = 10.0,
    max_iterations: int | None = None,
    tenure: int | None = None,
    seed: int = 0,
    lower_bound: int = 0,
    restart_after: int = 2000,
) -> TabuResult:
    """Tabu search over N5 with aspiration and restarts from the best solution.

    Every iteration evaluates each N5 move (Nowicki & Smutnicki 1996) from scratch with the
    compiled longest-path kernel, takes the best one that is not tabu (a tabu move is allowed
    when it beats the best makespan so far), and forbids swapping the same pair back for a
    tenure drawn uniformly from ``[tenure, 3 * tenure // 2]``. When every move is tabu, a random
    one is taken. After ``restart_after`` iterations without improvement the search jumps back
    to the best solution, perturbs it with a few random N5 moves and clears the tabu list (a
    simple stand-in for TSAB's back-jump tracking). Stops at the time limit, the iteration
    limit, an empty neighbourhood (the critical path is one block, so the schedule is
    optimal), or ``lower_bound``.
    """
    began = time.perf_counter()
    rng = np.random.default_rng(seed)
    op_of = operation_index(instance)
    tenure = tenure or max(8, min(20, instance.num_jobs + instance.num_machines) // 2)
    sequences = initial.machine_sequences()
    makespan, starts = evaluate_sequences(instance, sequences, op_of)
    best_makespan, best_starts, best_sequences = makespan, starts.copy(), sequences.copy()
    tabu: dict[tuple[int, int, int], int] = {}
    iteration = improvements = last_improvement = moves_evaluated = 0
    while time.perf_counter() - began < time_limit and best_makespan > lower_bound:
        if max_iterations is not None and iteration >= max_iterations:
            break
        iteration += 1
        if iteration - last_improvement > restart_after:
            sequences, starts = _perturb(instance, best_sequences, op_of, rng)
            tabu.clear()
            last_improvement = iteration
        moves = n5_moves(instance, sequences, starts)
        if not moves:
            break
        candidates = []
        for move in moves:
            machine, first, second = move
            pair = (machine, int(sequences[machine, second]), int(sequences[machine, first]))
            neighbour = apply_move(sequences, move)
            value, neighbour_starts = evaluate_sequences(instance, neighbour, op_of)
            moves_evaluated += 1
            if value < 0:
                continue
            is_tabu = tabu.get(pair, 0) >= iteration
            candidates.append((value, is_tabu, move, neighbour, neighbour_starts, pair))
        allowed = [c for c in candidates if not c[1] or c[0] < best_makespan]
        if not allowed:
            if not candidates:
                break
            allowed = [candidates[int(rng.integers(len(candidates)))]]
        value, _, move, sequences, starts, pair = min(allowed, key=lambda c: c[0])
        machine = move[0]
        # Forbid swapping this pair back for a randomised tenure.
        tabu[(machine, pair[2], pair[1])] = iteration + int(rng.integers(tenure, 3 * tenure // 2 + 1))
        if value < best_makespan:
            best_makespan, best_starts, best_sequences = value, starts.copy(), sequences.copy()
            improvements += 1
            last_improvement = iteration
    schedule = Schedule(instance, best_starts, method="tabu", seconds=time.perf_counter() - began)
    return TabuResult(schedule, iteration, improvements, moves_evaluated)


def _perturb(
    instance: Instance,
    sequences: npt.NDArray[np.int64],
    op_of: npt.NDArray[np.int64],
    rng: np.random.Generator,
    num_moves: int = 3,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Apply a few random N5 moves (each keeps the graph acyclic)."""
    makespan, starts = evaluate_sequences(instance, sequences, op_of)
    for _ in range(num_moves):
        moves = n5_moves(instance, sequences, starts)
        if not moves:
            break
        candidate = apply_move(sequences, moves[int(rng.integers(len(moves)))])
        value, candidate_starts = evaluate_sequences(instance, candidate, op_of)
        if value >= 0:
            sequences, starts = candidate, candidate_starts
    return sequences, starts
