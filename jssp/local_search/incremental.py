"""Swapping two adjacent operations with heads and tails kept up to date incrementally.

The search keeps a topological order of the solution graph and repairs it in the window between the two
swapped operations (Pearce & Kelly 2006), so that heads are recomputed from the swapped pair on and tails
up to it, in one sweep each.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
import numpy.typing as npt

from jssp.local_search.graph import (
    _Graph,
    _job_predecessor,
    _job_successor,
    _machine_predecessor,
    _machine_successor,
    _Solution,
)
from jssp.local_search.moves import _head_from_predecessors, _longest_paths, _makespan_node, _tail_from_successors


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
