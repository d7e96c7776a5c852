"""What the tabu search remembers beyond the current solution: its counters, the tabu list (a hash
table) and the record of the best solution (a log of swaps, or a copy once the log is full).
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
import numpy.typing as npt

from jssp.local_search.graph import _Graph, _Solution
from jssp.local_search.incremental import _closes_cycle, _refresh, _swap, _sweep, _Workspace
from jssp.local_search.moves import _n5_kernel

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
