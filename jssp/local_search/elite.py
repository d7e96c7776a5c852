"""Tabu search with path relinking between elite solutions (TS/PR, Peng, Lü & Cheng 2015), on one core or several.

Plain tabu search stalls: after its first seconds it circles near one local optimum, and restarting from
the best solution with a few random moves rarely gets it out. TS/PR keeps a small pool of good, different
solutions. Each round takes two of them, walks from the first towards the second by swaps of adjacent
operations that the second orders the other way (path relinking), stops part of the way, and runs tabu
search from there until it stalls; a result better than the pool's worst replaces it when it is not
already in the pool. The walk lands in a region between two good solutions that neither search would
reach by itself.

With several workers each process runs its own pool from its own seed, and publishes its best solution
on a shared board that the others read before every round: a better solution found elsewhere joins their
pools, so the searches stay diverse but share their progress.
"""

from __future__ import annotations

import functools
import math
import multiprocessing
import multiprocessing.sharedctypes
import time
from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from jssp.instance import Instance
from jssp.local_search.graph import _Graph, _schedule_order, _Solution
from jssp.local_search.incremental import _swap, _Workspace
from jssp.local_search.memory import _STAMP, _Memory
from jssp.local_search.tabu import TabuResult, _Run, _seed_kernels, _stop_on_interrupt
from jssp.local_search.tabu import warm_up as warm_up_tabu
from jssp.schedule import Schedule


@dataclass(frozen=True)
class EliteSettings:
    """How the elite search spends its time (pool size and patience from one run on ta21-ta30, docs/notes.md)."""

    pool_size: int = 8
    """Elite solutions kept (each from its own tabu run)."""
    patience: int = 5_000
    """Iterations without improvement after which one round's tabu search stops."""
    relink_low: float = 0.25
    """Smallest share of the distance between two elites that a relinking walk covers."""
    relink_high: float = 0.5
    """Largest share (the share is drawn uniformly from [relink_low, relink_high))."""
    workers: int = 1
    """Processes, each with its own pool and seed, sharing their best solutions."""
    max_pool_operations: int = 5_000
    """Above this many operations each worker runs plain tabu search (a pool's rounds are too few: on 100x100 at
    60 s the pool was 8.1 % above the best known, plain tabu 5.6 %; TA and DMU stay under it)."""
    chooser: str = "fixed"
    """Once the pool is full (of rounds from schedules of the ``random`` rule), what picks how far each relinking
    walk goes (:data:`ROUND_KINDS`): ``fixed`` (always ``relink``, as TS/PR) or ``bandit`` (:class:`_Bandit`,
    learned during the solve; off by default: it did not win its ablation, docs/results.md)."""


@functools.cache
def warm_up() -> None:
    """Load (or compile) the kernels of tabu search and of the relinking walk now, so that no timed search pays for
    it: a few rounds on a 4x4 instance."""
    from jssp.generators import random_instance
    from jssp.rules import dispatch

    warm_up_tabu()
    instance = random_instance(4, 4, seed=0)
    order = _schedule_order(dispatch(instance, "spt"))
    _elite_worker(instance, order, math.inf, 0, 0, EliteSettings(pool_size=2, patience=20), None, 0, max_rounds=4)


def elite_search(
    instance: Instance,
    initial: Schedule,
    time_limit: float = 10.0,
    seed: int = 0,
    lower_bound: int = 0,
    settings: EliteSettings | None = None,
    stop_on_interrupt: bool = False,
    max_rounds: int | None = None,
) -> TabuResult:
    """Tabu search with path relinking between elites (see the module), from ``initial``, for ``time_limit`` seconds.

    The first round improves ``initial``; the pool is filled by rounds from schedules of the
    ``random`` rule, then every round relinks two elites. With ``settings.workers`` above 1, worker
    ``k`` runs the same search from seed ``seed + k`` in its own process (forked, so that it starts at
    once) and the best schedule of all is returned; ``info["workers"]`` has each worker's best makespan.
    With one worker and ``max_rounds``, a seed gives one result (each round's tabu search stops on
    stagnation, not on the clock, unless the time runs out first).

    Raises:
        ValueError: if ``initial``'s machine orders are cyclic.
        KeyboardInterrupt: on Ctrl-C, without ``stop_on_interrupt`` (with it, the best so far returns).
    """
    settings = settings or EliteSettings()
    warm_up()
    began = time.perf_counter()
    order = _schedule_order(initial)
    if settings.workers <= 1 or multiprocessing.current_process().daemon:  # a daemon may not start processes
        result = _elite_worker(instance, order, began + time_limit, seed, lower_bound, settings, None, 0, max_rounds)
    else:
        result = _elite_workers(instance, order, began + time_limit, seed, lower_bound, settings, max_rounds)
    result.schedule.seconds = time.perf_counter() - began
    if result.interrupted and not stop_on_interrupt:
        raise KeyboardInterrupt
    return result


class _Board:
    """The best solution of every worker, in memory shared between processes.

    ``finished`` is set by a worker that proved its solution optimal and by the first worker when its time is up:
    the others stop after their round.

    Shapes:
        makespans: ``(workers,)``, a large value until a worker publishes; orders: ``(workers, num_operations)``.
    """

    def __init__(self, workers: int, num_operations: int) -> None:
        context = multiprocessing.get_context("fork")
        self.lock = context.Lock()
        self._makespans = multiprocessing.sharedctypes.RawArray("q", workers)
        self._orders = multiprocessing.sharedctypes.RawArray("q", workers * num_operations)
        self.makespans = np.frombuffer(self._makespans, dtype=np.int64)
        self.orders = np.frombuffer(self._orders, dtype=np.int64).reshape(workers, num_operations)
        self.makespans[:] = np.iinfo(np.int64).max
        self._finished = multiprocessing.sharedctypes.RawValue("b", 0)

    @property
    def finished(self) -> bool:
        return bool(self._finished.value)

    def finish(self) -> None:
        self._finished.value = 1

    def publish(self, worker: int, makespan: int, order: npt.NDArray[np.int64]) -> None:
        with self.lock:
            if makespan < self.makespans[worker]:
                self.orders[worker] = order
                self.makespans[worker] = makespan

    def best_other(self, worker: int) -> tuple[int, npt.NDArray[np.int64]] | None:
        """The best solution another worker published, or None."""
        with self.lock:
            makespans = self.makespans.copy()
            makespans[worker] = np.iinfo(np.int64).max
            other = int(np.argmin(makespans))
            if makespans[other] == np.iinfo(np.int64).max:
                return None
            return int(makespans[other]), self.orders[other].copy()


def _elite_workers(
    instance: Instance,
    order: npt.NDArray[np.int64],
    deadline: float,
    seed: int,
    lower_bound: int,
    settings: EliteSettings,
    max_rounds: int | None,
) -> TabuResult:
    """Run :func:`_elite_worker` in ``settings.workers`` forked processes; the best result wins."""
    board = _Board(settings.workers, len(order))
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(
            target=_elite_worker,
            args=(instance, order, deadline, seed + worker, lower_bound, settings, board, worker, max_rounds),
            daemon=True,
        )
        for worker in range(1, settings.workers)
    ]
    for process in processes:
        process.start()
    try:
        result = _elite_worker(instance, order, deadline, seed, lower_bound, settings, board, 0, max_rounds)
    finally:
        board.finish()
        for process in processes:
            process.join(timeout=max(1.0, deadline - time.perf_counter() + 1.0))
            if process.is_alive():
                process.terminate()
    best = int(np.argmin(board.makespans))
    if board.makespans[best] < result.schedule.makespan:
        run = _Run(instance, board.orders[best].copy(), None, settings.patience, False, None)
        others = run.result(time.perf_counter(), "tabu-pr", result.interrupted)
        others.schedule.info = {**result.schedule.info}
        result = others
    result.schedule.info["workers"] = [int(value) for value in board.makespans]
    return result


def _elite_worker(
    instance: Instance,
    order: npt.NDArray[np.int64],
    deadline: float,
    seed: int,
    lower_bound: int,
    settings: EliteSettings,
    board: _Board | None,
    worker: int,
    max_rounds: int | None = None,
) -> TabuResult:
    """One worker's elite search until ``deadline`` or ``max_rounds``; it publishes its best to ``board`` after every
    round."""
    from jssp.rules import dispatch

    began = time.perf_counter()
    plain = instance.num_operations > settings.max_pool_operations
    run = _Run(instance, order, None, PLAIN_RESTART_AFTER if plain else settings.patience, False, None)
    deadline -= run.finish
    _seed_kernels(seed)
    if plain:  # tabu search with its own restarts, from this worker's seed, in slices to look at the board
        with _stop_on_interrupt() as interrupted:
            while time.perf_counter() < deadline and not interrupted[0] and not run.stopped:
                if board is not None and board.finished:
                    break
                run.iterate(min(deadline, time.perf_counter() + PLAIN_SLICE), interrupted, lower_bound=lower_bound)
        if board is not None and run.stopped:
            board.finish()
        run.restore_best()
        if board is not None:
            board.publish(worker, run.best, run.solution.order)
        return run.result(began, "tabu-pr", bool(interrupted[0]))
    rng = np.random.default_rng(seed)
    pool = _Pool(settings.pool_size, run)
    chooser = _Bandit(rng) if settings.chooser == "bandit" else None
    rounds = dict.fromkeys(("start", "random", *ROUND_KINDS, "shared"), 0)
    improving = dict.fromkeys(rounds, 0)

    def random_order() -> npt.NDArray[np.int64]:
        return _schedule_order(dispatch(instance, "random", seed=int(rng.integers(2**31))))

    def walk(origin: npt.NDArray[np.int64], guide: npt.NDArray[np.int64], low: float, high: float) -> None:
        """Relink from ``origin`` towards ``guide`` for a share of their distance in [low, high)."""
        run.restart(origin)
        positions = _positions(guide)
        steps = max(1, int(rng.uniform(low, high) * _distance(run.graph.offsets, origin, positions)))
        _relink(run.graph, run.solution, run.workspace, run.memory, positions, steps)

    with _stop_on_interrupt() as interrupted:
        kind = "start" if worker == 0 else "random"
        added = True
        while time.perf_counter() < deadline and not interrupted[0] and sum(rounds.values()) != max_rounds:
            if board is not None and board.finished:
                break
            iterations = run.iterations
            if kind == "start":
                run.restart(order)
            elif kind == "random":
                run.restart(random_order())
            else:  # a relinking walk between two elites
                first, second = rng.choice(len(pool), size=2, replace=False)
                low, high = SHARES.get(kind, (settings.relink_low, settings.relink_high))
                walk(pool.orders[first], pool.orders[second], low, high)
                run.restart(run.solution.order.copy())  # the walk left heads and tails stale
            run.iterate(deadline, interrupted, lower_bound=lower_bound, stop_when_stagnant=True)
            found = run.restore_best()
            before = pool.best
            added = pool.offer(found, run.best)
            rounds[kind] += 1
            improving[kind] += pool.best < before
            if chooser is not None and kind in ROUND_KINDS:
                reward = 1.0 if pool.best < before else 0.5 if added else 0.0
                chooser.update(kind, reward, run.iterations - iterations)
            if run.stopped:  # optimal, or at the lower bound
                if board is not None:
                    board.finish()
                break
            if board is not None:
                board.publish(worker, pool.best, pool.orders[pool.best_index])
                shared = board.best_other(worker)
                if shared is not None and shared[0] < pool.best:
                    pool.offer(shared[1], shared[0])
                    rounds["shared"] += 1
            if len(pool) < 2 or (len(pool) < settings.pool_size and added):  # fill the pool first
                kind = "random"
            else:
                kind = "relink" if chooser is None else chooser.choose()
    if not len(pool):  # the time ran out before a first round: the starting order is all there is
        pool.offer(run.restore_best().copy(), run.best)
    run.restart(pool.orders[pool.best_index])
    if board is not None:
        board.publish(worker, pool.best, pool.orders[pool.best_index])
    return run.result(
        began, "tabu-pr", bool(interrupted[0]), rounds=rounds, improving_rounds=improving, pool=sorted(pool.makespans)
    )


PLAIN_SLICE = 0.25
"""Seconds a plain worker searches between two looks at the board."""
PLAIN_RESTART_AFTER = 10_000
"""Iterations without improvement after which a plain worker restarts from its best (as :func:`tabu_search`)."""
ROUND_KINDS = ("relink", "near", "far")
"""How far a relinking round walks from one elite towards another before its tabu search: ``relink`` a share of
[relink_low, relink_high) of their distance, ``near`` and ``far`` the shares of :data:`SHARES`."""
SHARES = {"near": (0.05, 0.25), "far": (0.5, 0.8)}


class _Bandit:
    """Chooses the next round's kind by Thompson sampling: the one with the highest sampled success per iteration.

    A round succeeds (reward 1) when it improves the pool's best and half (0.5) when it enters the pool.
    Each kind's successes and failures decay by ``discount`` per update, so that the choice follows
    the search as it moves from easy improvements to rare ones; the cost of a kind is a moving average
    of its rounds' tabu iterations (not seconds, so that a seed gives one search).
    """

    def __init__(self, rng: np.random.Generator, discount: float = 0.9) -> None:
        self.rng = rng
        self.discount = discount
        self.successes = np.zeros(len(ROUND_KINDS))
        self.failures = np.zeros(len(ROUND_KINDS))
        self.cost = np.zeros(len(ROUND_KINDS))

    def choose(self) -> str:
        untried = np.flatnonzero(self.cost == 0)
        if len(untried):
            return ROUND_KINDS[int(untried[0])]
        rates = self.rng.beta(1 + self.successes, 1 + self.failures)
        return ROUND_KINDS[int(np.argmax(rates / self.cost))]

    def update(self, kind: str, reward: float, iterations: int) -> None:
        arm = ROUND_KINDS.index(kind)
        self.successes *= self.discount
        self.failures *= self.discount
        self.successes[arm] += reward
        self.failures[arm] += 1 - reward
        cost = max(iterations, 1)
        self.cost[arm] = cost if self.cost[arm] == 0 else 0.7 * self.cost[arm] + 0.3 * cost


class _Pool:
    """The elite solutions: at most ``size``, no two alike; a better newcomer replaces the worst."""

    def __init__(self, size: int, run: _Run) -> None:
        self.size = size
        self.orders = np.empty((size, run.solution.order.shape[0]), dtype=np.int64)
        self.makespans: list[int] = []

    def __len__(self) -> int:
        return len(self.makespans)

    @property
    def best_index(self) -> int:
        return int(np.argmin(self.makespans))

    @property
    def best(self) -> int:
        return min(self.makespans) if self.makespans else np.iinfo(np.int64).max

    def offer(self, order: npt.NDArray[np.int64], makespan: int) -> bool:
        """Add ``order`` if there is room, or in place of the worst if it is better; never twice. Returns whether
        it was added."""
        count = len(self.makespans)
        for index in range(count):
            if self.makespans[index] == makespan and np.array_equal(self.orders[index], order):
                return False
        if count < self.size:
            self.orders[count] = order
            self.makespans.append(makespan)
            return True
        worst = int(np.argmax(self.makespans))
        if makespan >= self.makespans[worst]:
            return False
        self.orders[worst] = order
        self.makespans[worst] = makespan
        return True


def _positions(order: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Each node's index in ``order`` (nodes not in it: -1)."""
    position = np.full(int(order.max()) + 1, -1, dtype=np.int64)
    position[order] = np.arange(len(order))
    return position


@numba.njit(cache=True)
def _distance(offsets: npt.NDArray[np.int64], order: npt.NDArray[np.int64], guide: npt.NDArray[np.int64]) -> int:
    """Pairs of operations on one machine that ``order`` runs in the other order than ``guide`` (positions)."""
    count = 0
    for machine in range(offsets.shape[0] - 1):
        for first in range(offsets[machine], offsets[machine + 1]):
            for second in range(first + 1, offsets[machine + 1]):
                count += guide[order[first]] > guide[order[second]]
    return count


@numba.njit(cache=True)
def _relink(
    graph: _Graph,
    solution: _Solution,
    workspace: _Workspace,
    memory: _Memory,
    guide: npt.NDArray[np.int64],
    steps: int,
) -> int:
    """Walk ``steps`` swaps from ``solution`` towards the solution whose node positions are ``guide``; returns the
    swaps made.

    Each step swaps a random pair of adjacent operations that the guide orders the other way, when
    the swap keeps the graph acyclic; each such swap lowers the distance (:func:`_distance`) by one.
    Heads and tails are left stale (a restart recomputes them); the topological order is kept.
    """
    order = solution.order
    size = order.shape[0]
    candidates = np.empty(size, dtype=np.int64)  # indices i whose pair (i, i + 1) the guide orders the other way
    where = np.full(size, -1, dtype=np.int64)
    count = 0
    for index in range(size - 1):
        if _inverted(graph, order, guide, index):
            candidates[count], where[index] = index, count
            count += 1
    made = 0
    while made < steps and count > 0:
        pick = np.random.randint(count)
        index = candidates[pick]
        memory.counters[_STAMP] += 1
        swapped = _swap(graph, solution, workspace, index, memory.counters[_STAMP])[0]
        if swapped:
            made += 1
        else:  # closes a cycle now: leave it out of this walk
            count = _drop(candidates, where, count, index)
            continue
        for near in (index - 1, index, index + 1):
            if 0 <= near < size - 1:
                inverted = _inverted(graph, order, guide, near)
                if inverted and where[near] < 0:
                    candidates[count], where[near] = near, count
                    count += 1
                elif not inverted and where[near] >= 0:
                    count = _drop(candidates, where, count, near)
    return made


@numba.njit(cache=True, inline="always")
def _inverted(graph: _Graph, order: npt.NDArray[np.int64], guide: npt.NDArray[np.int64], index: int) -> bool:
    first, second = order[index], order[index + 1]
    return graph.machine[first] == graph.machine[second] and guide[first] > guide[second]


@numba.njit(cache=True, inline="always")
def _drop(candidates: npt.NDArray[np.int64], where: npt.NDArray[np.int64], count: int, index: int) -> int:
    slot = where[index]
    last = candidates[count - 1]
    candidates[slot], where[last] = last, slot
    where[index] = -1
    return count - 1
