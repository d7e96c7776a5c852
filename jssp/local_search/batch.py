"""The many-moves step of the search for very large instances: every allowed improving N5 move of the
critical path at once, halved by estimate until the makespan drops.
"""

from __future__ import annotations

import numba
import numpy as np

from jssp.local_search.graph import _Graph, _Solution
from jssp.local_search.incremental import _swap, _sweep, _Workspace
from jssp.local_search.memory import (
    _BEST,
    _ITERATION,
    _LOG_LENGTH,
    _MAKESPAN,
    _SNAPSHOT,
    _STAMP,
    _is_tabu,
    _make_tabu,
    _Memory,
    _record_swap,
)


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
