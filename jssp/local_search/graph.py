"""Machine orders as arrays of node ids, the graph arrays the kernels read, and the kernels that navigate them.

A solution fixes the order of the operations on every machine; the kernels hold it as one array of
node ids (``job * width + op``), machine after machine, with every node's position in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numba
import numpy as np
import numpy.typing as npt

from jssp.instance import Instance
from jssp.schedule import Schedule

Move = tuple[int, int, int]  # (machine, position, position + 1): swap two adjacent operations on a machine
Sequences = npt.NDArray[np.int64] | Sequence[npt.ArrayLike]  # jobs in processing order, one list per machine


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
