"""Tabu search over N5 with aspiration, restarts from the best solution, and a kernel that reads the clock
itself (Nowicki & Smutnicki 1996; Taillard 1994).
"""

from __future__ import annotations

import contextlib
import functools
import math
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from jssp.instance import Instance
from jssp.local_search.batch import _batch_step
from jssp.local_search.graph import _Graph, _graph, _schedule_order, _Solution, _solution, _start_times
from jssp.local_search.incremental import _closes_cycle, _refresh, _Workspace, _workspace
from jssp.local_search.memory import (
    _BATCH_TABU_FACTOR,
    _BEST,
    _CLOCK_EVERY,
    _IMPROVEMENTS,
    _ITERATION,
    _LAST_IMPROVEMENT,
    _LOG_LENGTH,
    _MAKESPAN,
    _MIN_LOG_CAPACITY,
    _MOVES_EVALUATED,
    _NUM_COUNTERS,
    _SNAPSHOT,
    _STAMP,
    _STOPPED,
    _TABU_INSERTED,
    _TABU_USED,
    _apply,
    _is_tabu,
    _make_tabu,
    _Memory,
    _note_improvement,
    _perturb,
    _restore_best,
)
from jssp.local_search.moves import _estimate, _longest_paths, _n5_kernel
from jssp.schedule import Schedule


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
    run = _Run(instance, _schedule_order(initial), tenure, restart_after, exact, batch_moves)
    _seed_kernels(seed)
    iterations = 2**62 if max_iterations is None else max_iterations
    with _stop_on_interrupt() as interrupted:
        run.iterate(began + time_limit - run.finish, interrupted, iterations, lower_bound)
    run.restore_best()
    return run.result(began, "tabu", bool(interrupted[0]))


class _Run:
    """One tabu search's arrays: the instance's graph, the current solution, the memory and the scratch space.

    :func:`tabu_search` makes one and iterates it until its deadline; the elite search
    (:mod:`jssp.local_search.elite`) restarts it from many solutions in turn.

    Raises:
        ValueError: if ``order`` is cyclic.
    """

    def __init__(
        self,
        instance: Instance,
        order: npt.NDArray[np.int64],
        tenure: int | None,
        restart_after: int,
        exact: bool,
        batch_moves: bool | None,
    ) -> None:
        self.instance = instance
        self.tenure = tenure or max(8, min(20, instance.num_jobs + instance.num_machines) // 2)
        self.restart_after = restart_after
        self.exact = exact
        self.graph = _graph(instance)
        num_cells, num_operations = instance.machines.size, instance.num_operations
        self.solution = _solution(order.copy(), num_cells)
        self.workspace = _workspace(num_operations, num_cells, exact)
        evaluated = time.perf_counter()
        makespan = _refresh(self.graph, self.solution, self.workspace)
        if makespan < 0:
            raise ValueError(f"{instance.name}: the machine orders of the initial schedule are cyclic")
        self.finish = 2 * (time.perf_counter() - evaluated)
        """Seconds to keep in hand for rebuilding the best schedule at the end (about one evaluation)."""
        if batch_moves is None:
            batch_moves = num_operations >= BATCH_MOVES_FROM
        self.batch_moves = batch_moves and not exact
        live = (3 * self.tenure // 2 + 2) * (_BATCH_TABU_FACTOR if self.batch_moves else 1)  # at most, tabu at once
        table_size = 1 << max(6, int(4 * live).bit_length())
        log_capacity = min(restart_after + 16, max(num_operations, _MIN_LOG_CAPACITY))
        self.memory = _Memory(
            np.full(table_size, -1, dtype=np.int64),
            np.zeros(table_size, dtype=np.int64),
            np.empty(log_capacity, dtype=np.int64),
            np.empty(num_operations, dtype=np.int64),
            np.zeros(_NUM_COUNTERS, dtype=np.int64),
        )
        self.memory.counters[_BEST] = self.memory.counters[_MAKESPAN] = makespan

    @property
    def best(self) -> int:
        """The best makespan since the last :meth:`restart`."""
        return int(self.memory.counters[_BEST])

    @property
    def iterations(self) -> int:
        """Iterations so far, over every restart."""
        return int(self.memory.counters[_ITERATION])

    @property
    def stopped(self) -> bool:
        """Whether the search proved it can go no further (optimal, or at the lower bound)."""
        return bool(self.memory.counters[_STOPPED])

    def iterate(
        self,
        deadline: float,
        interrupted: npt.NDArray[np.int64],
        num_iterations: int = 2**62,
        lower_bound: int = 0,
        stop_when_stagnant: bool = False,
    ) -> None:
        """Iterate until ``deadline`` (a ``time.perf_counter()`` value), Ctrl-C, ``num_iterations``, a stop, or,
        with ``stop_when_stagnant``, ``restart_after`` iterations without improvement (instead of a restart)."""
        _tabu_iterations(
            self.graph,
            self.solution,
            self.memory,
            self.workspace,
            self.tenure,
            self.restart_after,
            lower_bound,
            num_iterations,
            self.exact,
            self.batch_moves,
            deadline,
            interrupted,
            stop_when_stagnant,
        )

    def restart(self, order: npt.NDArray[np.int64]) -> int:
        """Make ``order`` (acyclic) the current and best solution, with an empty tabu list; returns its makespan."""
        _restart(self.graph, self.solution, self.memory, self.workspace, order)
        return int(self.memory.counters[_MAKESPAN])

    def restore_best(self) -> npt.NDArray[np.int64]:
        """Make the best solution since the last :meth:`restart` current again; returns its order (a view)."""
        _restore_best(self.graph, self.solution, self.memory, self.workspace)
        return self.solution.order

    def result(self, began: float, method: str, interrupted: bool, **info: Any) -> TabuResult:
        """The current solution as a :class:`TabuResult` (call :meth:`restore_best` first for the best)."""
        counters = self.memory.counters
        info = {"iterations": int(counters[_ITERATION]), "improvements": int(counters[_IMPROVEMENTS]), **info}
        if interrupted:
            info["interrupted"] = True
        schedule = Schedule(
            self.instance,
            _start_times(self.instance, self.solution.heads),
            method=method,
            seconds=time.perf_counter() - began,
            status="interrupted" if interrupted else None,
            info=info,
        )
        return TabuResult(
            schedule,
            int(counters[_ITERATION]),
            int(counters[_IMPROVEMENTS]),
            int(counters[_MOVES_EVALUATED]),
            interrupted,
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
    stop_when_stagnant: bool = False,
) -> None:
    """Run up to ``num_iterations`` iterations of :func:`tabu_search`, or until ``deadline`` (a
    ``time.perf_counter`` value) or ``interrupted[0]`` (Ctrl-C, :func:`_stop_on_interrupt`), updating
    its arrays in place; with ``batch``, an iteration first tries :func:`_batch_step`. With
    ``stop_when_stagnant`` it returns where it would restart.

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
            if stop_when_stagnant:
                counters[_ITERATION] -= 1
                return
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


@numba.njit(cache=True)
def _restart(
    graph: _Graph, solution: _Solution, memory: _Memory, workspace: _Workspace, order: npt.NDArray[np.int64]
) -> None:
    """Make ``order`` the current and best solution of a search with an empty tabu list."""
    solution.order[:] = order
    for index in range(order.shape[0]):
        solution.position[order[index]] = index
    counters = memory.counters
    counters[_MAKESPAN] = counters[_BEST] = _refresh(graph, solution, workspace)
    counters[_LAST_IMPROVEMENT] = counters[_ITERATION]
    counters[_LOG_LENGTH] = counters[_SNAPSHOT] = 0
    counters[_STOPPED] = 0
    memory.tabu_keys[:] = -1
    counters[_TABU_USED] = counters[_TABU_INSERTED] = 0
