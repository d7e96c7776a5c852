"""Priority dispatching rules, acting through the same dispatch state as the learned policy.

Each rule scores the jobs from the state arrays (lower score = dispatched first) and picks
the legal job with the lowest score; ties go to the lowest job index, so every rule except
``random`` is deterministic.

Rules default to the ``non-delay`` scheme: the rule chooses among the operations that can
start at the earliest possible start time. That reproduces the published greedy-rule numbers
(SelfLabelingJobShop's, in ``shared/ANCHORS.md``) on TA 15x15: MWKR 19.2 % (published 19.1)
and SPT 25.9 % (26.1). Under the Giffler-Thompson ``active`` scheme the same rules are worse
(MWKR 26.9 %, SPT 58.4 %), because the conflict set of one machine often holds a single
operation and the rule's preference across machines is lost.

Rules (remaining = not yet scheduled, including the job's next operation):

* ``spt`` / ``lpt``: shortest / longest duration of the next operation;
* ``mwkr`` / ``lwkr``: most / least remaining work of the job;
* ``mor`` / ``lor``: most / fewest remaining operations of the job;
* ``mopnr``: most remaining operations, ties broken by most remaining work;
* ``fifo``: the job that has waited longest (earliest completion of its previous operation);
* ``fdd-mwkr``: smallest flow due date / remaining work, where the flow due date is the
  job's processing time up to and including the next operation (Sels et al. 2012);
* ``random``: uniform over the legal jobs (seeded).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numba
import numpy as np
import numpy.typing as npt

from jssp.dispatch import _SCHEME_IDS, DispatchState
from jssp.instance import Instance
from jssp.schedule import Schedule

Scores = npt.NDArray[np.int64] | npt.NDArray[np.float64]


def _next_durations(state: DispatchState) -> npt.NDArray[np.int64]:
    ops = np.minimum(state.job_next_op, state.instance.lengths - 1)
    return state.instance.durations[np.arange(state.instance.num_jobs), ops]


def _remaining_ops(state: DispatchState) -> npt.NDArray[np.int64]:
    return state.instance.lengths - state.job_next_op


def _mopnr(state: DispatchState) -> Scores:
    # Lexicographic (ops remaining, work remaining), both "most first", in one integer key.
    scale = int(state.instance.durations.sum()) + 1
    return -(_remaining_ops(state) * scale + state.job_remaining_work)


def _fdd_mwkr(state: DispatchState) -> Scores:
    total = state.instance.durations.sum(axis=1)
    flow_due_date = total - state.job_remaining_work + _next_durations(state)
    return flow_due_date / np.maximum(state.job_remaining_work, 1)


RULES: dict[str, Callable[[DispatchState], Scores]] = {
    "spt": _next_durations,
    "lpt": lambda state: -_next_durations(state),
    "mwkr": lambda state: -state.job_remaining_work,
    "lwkr": lambda state: state.job_remaining_work,
    "mor": lambda state: -_remaining_ops(state),
    "lor": _remaining_ops,
    "mopnr": _mopnr,
    "fifo": lambda state: state.job_ready,
    "fdd-mwkr": _fdd_mwkr,
}
RULE_NAMES = (*RULES, "random")
_RULE_IDS = {name: index for index, name in enumerate(RULES)}


@numba.njit(cache=True)
def _score(rule: int, duration: int, ops_left: int, work_left: int, total: int, ready: int) -> float:
    """The compiled twin of :data:`RULES` for one job (``mopnr``'s tie-break is applied by the caller)."""
    if rule == 0:
        return duration
    if rule == 1:
        return -duration
    if rule == 2:
        return -work_left
    if rule == 3:
        return work_left
    if rule == 4 or rule == 6:
        return -ops_left
    if rule == 5:
        return ops_left
    if rule == 7:
        return ready
    return (total - work_left + duration) / max(work_left, 1)


@numba.njit(cache=True)
def _heap_push(keys: np.ndarray, jobs: np.ndarray, size: int, key: int, job: int) -> int:
    """Push (key, job) on the binary min-heap held in ``keys[:size]``, ``jobs[:size]``; returns the new size."""
    index = size
    while index > 0:
        parent = (index - 1) // 2
        if keys[parent] < key or (keys[parent] == key and jobs[parent] < job):
            break
        keys[index] = keys[parent]
        jobs[index] = jobs[parent]
        index = parent
    keys[index] = key
    jobs[index] = job
    return size + 1


@numba.njit(cache=True)
def _heap_pop(keys: np.ndarray, jobs: np.ndarray, size: int) -> int:
    """Remove the smallest (key, job) (read it from ``keys[0], jobs[0]`` first); returns the new size."""
    size -= 1
    key, job = keys[size], jobs[size]
    index = 0
    while True:
        child = 2 * index + 1
        if child >= size:
            break
        if child + 1 < size and (
            keys[child + 1] < keys[child] or (keys[child + 1] == keys[child] and jobs[child + 1] < jobs[child])
        ):
            child += 1
        if key < keys[child] or (key == keys[child] and job < jobs[child]):
            break
        keys[index] = keys[child]
        jobs[index] = jobs[child]
        index = child
    keys[index] = key
    jobs[index] = job
    return size


@numba.njit(cache=True)
def _episode_state(
    machines: np.ndarray, durations: np.ndarray, lengths: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fresh state of a compiled episode: next operation, job and machine ready times, total and remaining work."""
    num_jobs = machines.shape[0]
    totals = np.zeros(num_jobs, dtype=np.int64)
    for job in range(num_jobs):
        for op in range(lengths[job]):
            totals[job] += durations[job, op]
    machine_ready = np.zeros(machines.max() + 1, dtype=np.int64)
    return np.zeros(num_jobs, dtype=np.int64), np.zeros(num_jobs, dtype=np.int64), machine_ready, totals, totals.copy()


@numba.njit(cache=True)
def _commit(
    machines: np.ndarray,
    durations: np.ndarray,
    job: int,
    start: int,
    next_op: np.ndarray,
    job_ready: np.ndarray,
    machine_ready: np.ndarray,
    work_left: np.ndarray,
    start_times: np.ndarray,
) -> None:
    """Start ``job``'s next operation at ``start`` in a compiled episode."""
    op = next_op[job]
    end = start + durations[job, op]
    start_times[job, op] = start
    job_ready[job] = end
    machine_ready[machines[job, op]] = end
    work_left[job] -= durations[job, op]
    next_op[job] = op + 1


@numba.njit(cache=True)
def _run_rule_non_delay(
    machines: np.ndarray,
    durations: np.ndarray,
    lengths: np.ndarray,
    rule: int,
    start_times: np.ndarray,
) -> None:
    """:func:`_run_rule` for the non-delay scheme in O(log n) per step instead of a scan of every job.

    The legal jobs are those whose next operation can start at T, the earliest possible start.
    A job's possible start only grows, so a heap of (possible start when pushed, job) holds lower
    bounds: entries popped at or below T are re-checked, and re-pushed with their true start when
    it has grown. The legal set, and so every choice, is exactly the scan's.
    """
    num_jobs = machines.shape[0]
    next_op, job_ready, machine_ready, totals, work_left = _episode_state(machines, durations, lengths)
    heap_keys = np.zeros(2 * num_jobs + 1, dtype=np.int64)
    heap_jobs = np.zeros(2 * num_jobs + 1, dtype=np.int64)
    size = 0
    for job in range(num_jobs):
        size = _heap_push(heap_keys, heap_jobs, size, 0, job)
    candidates = np.zeros(num_jobs, dtype=np.int64)
    num_candidates = 0
    now = 0
    remaining = lengths.sum()
    while remaining > 0:
        if num_candidates == 0:
            now = heap_keys[0]  # every job's possible start is at least the smallest lower bound
        # Move every job whose possible start is now from the heap to the candidates.
        while size > 0 and heap_keys[0] <= now:
            job = heap_jobs[0]
            size = _heap_pop(heap_keys, heap_jobs, size)
            start = max(job_ready[job], machine_ready[machines[job, next_op[job]]])
            if start > now:
                size = _heap_push(heap_keys, heap_jobs, size, start, job)
            else:
                candidates[num_candidates] = job
                num_candidates += 1
        if num_candidates == 0:
            continue
        best = 0
        best_score = 0.0
        best_tie = 0
        for index in range(num_candidates):
            job = candidates[index]
            op = next_op[job]
            score = _score(rule, durations[job, op], lengths[job] - op, work_left[job], totals[job], job_ready[job])
            tie = -work_left[job] if rule == 6 else 0
            better = score < best_score or (score == best_score and tie < best_tie)
            tied = score == best_score and tie == best_tie
            if index == 0 or better or (tied and job < candidates[best]):
                best, best_score, best_tie = index, score, tie
        _commit(machines, durations, candidates[best], now, next_op, job_ready, machine_ready, work_left, start_times)
        remaining -= 1
        # Candidates that lost their machine (or the chosen job itself) go back to the heap.
        kept = 0
        for index in range(num_candidates):
            job = candidates[index]
            if next_op[job] >= lengths[job]:
                continue
            start = max(job_ready[job], machine_ready[machines[job, next_op[job]]])
            if start > now:
                size = _heap_push(heap_keys, heap_jobs, size, start, job)
            else:
                candidates[kept] = job
                kept += 1
        num_candidates = kept


@numba.njit(cache=True)
def _run_rule(
    machines: np.ndarray,
    durations: np.ndarray,
    lengths: np.ndarray,
    scheme: int,
    rule: int,
    start_times: np.ndarray,
) -> None:
    """A whole episode of a deterministic rule in one call: the same choices as :func:`choose` on a
    :class:`DispatchState`, without a Python round trip per operation (1,000,000 steps in seconds).

    Legal sets follow ``jssp.dispatch._legal_mask``; among legal jobs the lowest score wins, then the
    lowest (ops left, -work left) for ``mopnr``, then the lowest job index.
    """
    num_jobs = machines.shape[0]
    next_op, job_ready, machine_ready, totals, work_left = _episode_state(machines, durations, lengths)
    remaining = lengths.sum()
    big = np.iinfo(np.int64).max
    while remaining > 0:
        # Pass 1 (active scheme): earliest completion C* and its machine; non-delay: earliest start.
        best_key = big
        best_machine = -1
        best_job = -1
        if scheme != 2:
            for job in range(num_jobs):
                op = next_op[job]
                if op >= lengths[job]:
                    continue
                start = max(job_ready[job], machine_ready[machines[job, op]])
                key = start + durations[job, op] if scheme == 0 else start
                if key < best_key:
                    best_key = key
                    best_machine = machines[job, op]
                    best_job = job
        # Pass 2: best-scoring legal job.
        chosen = -1
        chosen_score = 0.0
        chosen_tie = 0
        for job in range(num_jobs):
            op = next_op[job]
            if op >= lengths[job]:
                continue
            machine = machines[job, op]
            if scheme == 0 and job != best_job:
                if machine != best_machine or max(job_ready[job], machine_ready[machine]) >= best_key:
                    continue
            elif scheme == 1 and max(job_ready[job], machine_ready[machine]) != best_key:
                continue
            ops_left = lengths[job] - op
            score = _score(rule, durations[job, op], ops_left, work_left[job], totals[job], job_ready[job])
            tie = -work_left[job] if rule == 6 else 0
            if chosen < 0 or score < chosen_score or (score == chosen_score and tie < chosen_tie):
                chosen = job
                chosen_score = score
                chosen_tie = tie
        start = max(job_ready[chosen], machine_ready[machines[chosen, next_op[chosen]]])
        _commit(machines, durations, chosen, start, next_op, job_ready, machine_ready, work_left, start_times)
        remaining -= 1


def choose(state: DispatchState, rule: str, rng: np.random.Generator | None = None) -> int:
    """The job ``rule`` dispatches next from ``state``."""
    legal = np.flatnonzero(state.mask)
    if rule == "random":
        if rng is None:
            raise ValueError("the random rule needs a numpy Generator")
        return int(legal[rng.integers(len(legal))])
    scores = RULES[rule](state)
    return int(legal[np.argmin(scores[legal])])


def dispatch(instance: Instance, rule: str, scheme: str = "non-delay", seed: int = 0) -> Schedule:
    """Build a complete schedule with one rule.

    Args:
        instance: the instance to schedule.
        rule: one of :data:`RULE_NAMES`.
        scheme: schedule-generation scheme (see :mod:`jssp.dispatch`).
        seed: seed of the ``random`` rule; the other rules are deterministic and do not use it.
    """
    if rule not in RULE_NAMES:
        raise ValueError(f"unknown rule {rule!r}; choose one of {', '.join(RULE_NAMES)}")
    began = time.perf_counter()
    if rule != "random":
        if scheme not in _SCHEME_IDS:
            raise ValueError(f"unknown scheme {scheme!r}; choose one of {', '.join(_SCHEME_IDS)}")
        starts = np.full(instance.machines.shape, -1, dtype=np.int64)
        if scheme == "non-delay":
            _run_rule_non_delay(instance.machines, instance.durations, instance.lengths, _RULE_IDS[rule], starts)
        else:
            _run_rule(
                instance.machines, instance.durations, instance.lengths, _SCHEME_IDS[scheme], _RULE_IDS[rule], starts
            )
        return Schedule(instance, starts, method=rule, seconds=time.perf_counter() - began)
    rng = np.random.default_rng(seed)
    state = DispatchState(instance, scheme)
    while not state.done:
        state.step(choose(state, rule, rng))
    return Schedule(instance, state.start_times.copy(), method=rule, seconds=time.perf_counter() - began)


def dispatch_stepwise(instance: Instance, rule: str, scheme: str = "non-delay", seed: int = 0) -> Schedule:
    """:func:`dispatch` through :class:`DispatchState` one step at a time: the reference the compiled
    episode is tested against."""
    rng = np.random.default_rng(seed) if rule == "random" else None
    state = DispatchState(instance, scheme)
    while not state.done:
        state.step(choose(state, rule, rng))
    return Schedule(instance, state.start_times.copy(), method=rule)


def warm_up() -> None:
    """Load (or compile) the compiled episodes of every scheme now, so that no timed solve pays for it."""
    instance = Instance(np.array([[0, 1], [1, 0]]), np.array([[1, 2], [2, 1]]), name="warm-up")
    for scheme in _SCHEME_IDS:
        dispatch(instance, "mwkr", scheme=scheme)
