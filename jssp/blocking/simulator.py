"""Event-driven simulator of the blocking job shop with swaps and machine shutdowns (ISBJSSP).

Semantics (Wong et al. 2023 name the problem; the rules below are this package's choices, see
``docs/blocking.md``):

* Blocking: there are no buffers. A job keeps its machine after its operation ends, until it
  enters its next machine (transfers take no time); its last operation releases the machine at
  once. Before its first operation a job waits in an unlimited input area and holds nothing.
* Swaps: blocked jobs that form a cycle, each waiting for the machine the next one holds, all
  move at the same instant, automatically. A job whose next operation is on the machine it holds
  (a re-entrant route with two consecutive visits) is a cycle of one: it continues in place at
  once. With ``swaps=False`` only such cycles of one move, and a cycle of two or more jobs is a
  deadlock (:class:`DeadlockError`).
* Shutdowns come from a :class:`~jssp.blocking.calendar.Calendar`. While a machine is down the
  operation on it pauses (``resume``, it continues where it stopped when the machine comes back)
  or loses its progress (``restart``); nothing enters the machine, a blocked job on it cannot
  leave, and a cycle through it waits.
* Decisions are non-delay: an empty, up machine with a candidate is filled. A candidate of such a
  machine is a job whose next operation is on it and that waits to enter the shop or is blocked
  on an up machine. Machines with one candidate are filled without asking; when several free
  machines have several candidates, the policy picks one operation (by its job) among all of
  them, and the simulator settles again before the next question.
* Plans: a method may fix, per machine, the order in which jobs enter it (:meth:`BlockingState.follow`); such a
  machine's only candidate is the job its plan sends next. A state may also stop at time 0 and after every
  shutdown and repair (``stop_at_events``), for methods that re-plan there (:mod:`jssp.blocking.replan`).

Time is integer and advances from event to event: at each event time completions are applied,
then shutdowns and repairs, then, until nothing changes, cycles are swapped and single-candidate
machines filled (each pass takes a snapshot of the candidates and fills, in machine order, every
machine that has exactly one), and then the policy is asked. A decision at time t uses only what
has happened up to t: the simulator reads a down interval only once it has started, and stops to
have the calendar drawn further before it reads past the known horizon.

State lives in a few numpy arrays (:class:`BlockingState`); the whole loop runs in one compiled
kernel (:func:`_advance`), which either stops at each question (a Python policy, e.g. a learned
one) or answers it with a dispatching rule compiled in (the score functions of
:mod:`jssp.rules`). :mod:`jssp.blocking.reference` is the plain-Python twin the tests hold it to.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numba
import numpy as np
import numpy.typing as npt

from jssp.blocking.calendar import MODES, Calendar
from jssp.blocking.errors import DEFAULT_PATIENCE, DeadlockError, JammedError, StallError
from jssp.blocking.schedule import BlockingSchedule
from jssp.instance import Instance
from jssp.rules import _RULE_IDS, _score

# Rows of job_state: (NUM_JOB_FIELDS, num_jobs).
NEXT_OP = 0  # index of the job's next operation not yet entered (lengths[job] once it entered its last)
HELD_MACHINE = 1  # machine the job holds, -1 while it waits to enter or once it has left
REMAINING = 2  # processing left of the current operation; 0 when blocked
SEGMENT_START = 3  # start of the processing segment now running, -1 when not processing (blocked, paused)
READY = 4  # when the job's current operation ended (it became blocked); 0 before its first operation
WORK_LEFT = 5  # total duration of the operations not yet entered
NUM_JOB_FIELDS = 6

# Rows of machine_state: (NUM_MACHINE_FIELDS, num_machines).
HOLDER = 0  # job on the machine, -1 when empty
DOWN = 1  # 1 while the machine is down
NEXT_INTERVAL = 2  # index of the machine's first down interval that has not ended yet
NUM_MACHINE_FIELDS = 3

# Entries of counters: (NUM_COUNTERS,).
NOW = 0  # current time
NUM_SEGMENTS = 1  # processing segments recorded
JOBS_DONE = 2  # jobs that left the shop
NUM_MOVES = 3  # operations entered (every transfer into a machine)
NUM_DECISIONS = 4  # choices among several candidates (by the policy or the compiled rule)
EVENTS_PENDING = 5  # 1 until the events at time NOW have been applied
NEEDED_TIME = 6  # the event time past the calendar horizon, when the kernel returned NEED_CALENDAR
IDLE_EVENTS = 7  # events since a job last moved or finished processing
JOBS_STARTED = 8  # jobs that entered their first operation
WIP_LIMIT = 9  # admission control: most jobs in the shop at once (started, not done); 0 for no limit
STOP_AT_EVENTS = 10  # 1: _advance also returns EVENT after every shutdown or repair
CALENDAR_EVENTS = 11  # shutdowns and repairs applied so far
HOLD_AT = 12  # the time of the last question answered by holding (no job enters until time moves on); -1: none
NUM_COUNTERS = 13

# Statuses returned by _advance.
DONE = 0
DECIDE = 1  # mask holds the candidate jobs; call again with the chosen one
NEED_CALENDAR = 2  # draw the calendar beyond counters[NEEDED_TIME] and call again
STALLED = 3  # unfinished jobs, nothing processing, no machine down: a deadlock
JAMMED = 4  # more than max_idle_events events in a row without a job moving or finishing
EVENT = 5  # a machine went down or came back up (only with counters[STOP_AT_EVENTS]); call again to go on

ASK = -1
"""Rule id that makes the kernel stop at every question instead of answering it."""


@numba.njit(cache=True)
def _end_processing(
    lengths: np.ndarray, job_state: np.ndarray, machine_state: np.ndarray, leave: np.ndarray, counters: np.ndarray,
    job: int, now: int,
) -> None:  # fmt: skip
    """The job's current operation has no processing left: it blocks its machine, or leaves the shop."""
    job_state[REMAINING, job] = 0
    job_state[SEGMENT_START, job] = -1
    job_state[READY, job] = now
    counters[IDLE_EVENTS] = 0
    if job_state[NEXT_OP, job] == lengths[job]:
        machine = job_state[HELD_MACHINE, job]
        leave[job, lengths[job] - 1] = now
        if machine_state[HOLDER, machine] == job:
            machine_state[HOLDER, machine] = -1
        job_state[HELD_MACHINE, job] = -1
        counters[JOBS_DONE] += 1


@numba.njit(cache=True, inline="always")
def _queue_remove(queues: np.ndarray, positions: np.ndarray, machine: int, job: int) -> None:
    """Take ``job`` out of the queue of ``machine`` (the last job of the queue takes its slot)."""
    size = queues[machine, 0]
    slot = positions[job]
    last = queues[machine, size]
    queues[machine, slot] = last
    positions[last] = slot
    queues[machine, 0] = size - 1
    positions[job] = -1


@numba.njit(cache=True, inline="always")
def _queue_add(queues: np.ndarray, positions: np.ndarray, machine: int, job: int) -> None:
    """Put ``job`` at the end of the queue of ``machine``."""
    size = queues[machine, 0] + 1
    queues[machine, size] = job
    positions[job] = size
    queues[machine, 0] = size


@numba.njit(cache=True, inline="always")
def _planned(plan: np.ndarray, machine: int) -> int:
    """The job the plan sends next into ``machine``; -1 when the machine follows no plan or its plan is used up."""
    pointer = plan[machine, 0]
    if pointer == 0 or pointer >= plan.shape[1]:
        return -1
    return plan[machine, pointer]


@numba.njit(cache=True)
def _enter(
    machines: np.ndarray, durations: np.ndarray, lengths: np.ndarray, job_state: np.ndarray,
    machine_state: np.ndarray, enter: np.ndarray, leave: np.ndarray, counters: np.ndarray,
    queues: np.ndarray, positions: np.ndarray, plan: np.ndarray, job: int, now: int,
) -> None:  # fmt: skip
    """The job leaves the machine it holds (if any) and enters its next operation's machine at ``now``; it
    moves from that machine's queue to the queue of its next operation's machine, and the machine's plan (if
    it follows one) moves on to its next job.

    Inside a cycle the jobs move one after the other: a job leaving a machine empties it only if
    no cycle member has entered it already.
    """
    op = job_state[NEXT_OP, job]
    machine = machines[job, op]
    held = job_state[HELD_MACHINE, job]
    if held >= 0:
        leave[job, op - 1] = now
        if machine_state[HOLDER, held] == job:
            machine_state[HOLDER, held] = -1
    _queue_remove(queues, positions, machine, job)
    if plan[machine, 0] > 0:
        plan[machine, 0] += 1
    if op == 0:
        counters[JOBS_STARTED] += 1
    if op + 1 < lengths[job]:
        _queue_add(queues, positions, machines[job, op + 1], job)
    enter[job, op] = now
    machine_state[HOLDER, machine] = job
    job_state[HELD_MACHINE, job] = machine
    job_state[NEXT_OP, job] = op + 1
    job_state[WORK_LEFT, job] -= durations[job, op]
    counters[NUM_MOVES] += 1
    counters[IDLE_EVENTS] = 0
    if durations[job, op] > 0:
        job_state[REMAINING, job] = durations[job, op]
        job_state[SEGMENT_START, job] = now
    else:
        _end_processing(lengths, job_state, machine_state, leave, counters, job, now)


@numba.njit(cache=True)
def _record_segment(segments: np.ndarray, counters: np.ndarray, job: int, op: int, start: int, end: int) -> None:
    index = counters[NUM_SEGMENTS]
    segments[index, 0] = job
    segments[index, 1] = op
    segments[index, 2] = start
    segments[index, 3] = end
    counters[NUM_SEGMENTS] = index + 1


@numba.njit(cache=True)
def _apply_events(
    durations: np.ndarray, lengths: np.ndarray, down_starts: np.ndarray, down_ends: np.ndarray,
    down_counts: np.ndarray, restart: bool, job_state: np.ndarray, machine_state: np.ndarray, leave: np.ndarray,
    segments: np.ndarray, counters: np.ndarray, now: int,
) -> bool:  # fmt: skip
    """On each machine, the completion at ``now``, then the shutdown or repair at ``now`` (an operation that
    ends as its machine goes down has completed); returns whether a job stopped processing or a machine came
    up empty or with a blocked job, the only events after which a job may move."""
    may_move = False
    for machine in range(machine_state.shape[1]):
        job = machine_state[HOLDER, machine]
        if job >= 0:
            start = job_state[SEGMENT_START, job]
            if start >= 0 and start + job_state[REMAINING, job] == now:
                _record_segment(segments, counters, job, job_state[NEXT_OP, job] - 1, start, now)
                _end_processing(lengths, job_state, machine_state, leave, counters, job, now)
                may_move = True
        index = machine_state[NEXT_INTERVAL, machine]
        while index < down_counts[machine] and down_ends[machine, index] <= now:
            index += 1
        machine_state[NEXT_INTERVAL, machine] = index
        down = index < down_counts[machine] and down_starts[machine, index] <= now
        job = machine_state[HOLDER, machine]
        if down and machine_state[DOWN, machine] == 0:
            machine_state[DOWN, machine] = 1
            counters[CALENDAR_EVENTS] += 1
            if job >= 0 and job_state[SEGMENT_START, job] >= 0:
                start = job_state[SEGMENT_START, job]
                op = job_state[NEXT_OP, job] - 1
                if restart:
                    job_state[REMAINING, job] = durations[job, op]
                else:
                    if now > start:
                        _record_segment(segments, counters, job, op, start, now)
                    job_state[REMAINING, job] -= now - start
                job_state[SEGMENT_START, job] = -1
        elif not down and machine_state[DOWN, machine] == 1:
            machine_state[DOWN, machine] = 0
            counters[CALENDAR_EVENTS] += 1
            if job >= 0 and job_state[REMAINING, job] > 0:
                job_state[SEGMENT_START, job] = now  # resumes; nobody can enter or leave this machine
            else:
                may_move = True
    return may_move


@numba.njit(cache=True, inline="always")
def _candidate_machine(machines: np.ndarray, lengths: np.ndarray, job_state: np.ndarray, machine_state: np.ndarray,
                       job: int) -> int:  # fmt: skip
    """The empty, up machine the job could enter now, or -1 (not waiting or blocked on an up machine)."""
    op = job_state[NEXT_OP, job]
    if op >= lengths[job]:
        return -1
    machine = machines[job, op]
    if machine_state[DOWN, machine] == 1 or machine_state[HOLDER, machine] >= 0:
        return -1
    held = job_state[HELD_MACHINE, job]
    if held >= 0 and (job_state[REMAINING, job] > 0 or machine_state[DOWN, held] == 1):
        return -1
    return machine


@numba.njit(cache=True, inline="always")
def _cycle_successor(machines: np.ndarray, lengths: np.ndarray, job_state: np.ndarray, machine_state: np.ndarray,
                     machine: int) -> int:  # fmt: skip
    """The machine wanted by the blocked job on ``machine`` when both are up and it is occupied, else -1."""
    job = machine_state[HOLDER, machine]
    if job < 0 or machine_state[DOWN, machine] == 1 or job_state[REMAINING, job] > 0:
        return -1
    op = job_state[NEXT_OP, job]
    if op >= lengths[job]:
        return -1
    wanted = machines[job, op]
    if machine_state[DOWN, wanted] == 1 or machine_state[HOLDER, wanted] < 0:
        return -1
    return wanted


@numba.njit(cache=True, inline="always")
def _cycle_planned(machines: np.ndarray, lengths: np.ndarray, job_state: np.ndarray, machine_state: np.ndarray,
                   plan: np.ndarray, machine: int, length: int) -> bool:  # fmt: skip
    """Whether the plan lets every member of the cycle through ``machine`` enter the machine it wants (a machine
    that follows a plan takes only the job the plan sends next). Cycles of the restricted successors are exactly
    the cycles whose every member is let through, so checking found cycles is the same as restricting the walk."""
    current = machine
    for _ in range(length):
        wanted = _cycle_successor(machines, lengths, job_state, machine_state, current)
        planned = _planned(plan, wanted)
        if planned >= 0 and planned != machine_state[HOLDER, current]:
            return False
        current = wanted
    return True


@numba.njit(cache=True)
def _swap_cycles(
    machines: np.ndarray, durations: np.ndarray, lengths: np.ndarray, swaps: bool, job_state: np.ndarray,
    machine_state: np.ndarray, enter: np.ndarray, leave: np.ndarray, counters: np.ndarray,
    queues: np.ndarray, positions: np.ndarray, plan: np.ndarray, now: int, mark: np.ndarray, movers: np.ndarray,
) -> int:  # fmt: skip
    """Move every cycle of blocked jobs at once (cycles of one always, longer ones when ``swaps``); returns
    how many jobs moved.

    Each occupied machine points to at most one machine (the one its blocked job wants), so cycles
    are disjoint: one walk per machine finds them all on the snapshot taken before any move.
    ``mark`` and ``movers`` are scratch arrays of ``num_machines`` entries.
    """
    num_machines = machine_state.shape[1]
    mark[:] = 0  # 0: unvisited; w + 1: visited by the walk from w
    num_movers = 0
    for first in range(num_machines):
        machine = first
        while machine >= 0 and mark[machine] == 0:
            mark[machine] = first + 1
            machine = _cycle_successor(machines, lengths, job_state, machine_state, machine)
        if machine < 0 or mark[machine] != first + 1:
            continue
        # machine lies on a cycle found by this walk
        length = 1
        current = _cycle_successor(machines, lengths, job_state, machine_state, machine)
        while current != machine:
            length += 1
            current = _cycle_successor(machines, lengths, job_state, machine_state, current)
        if length > 1 and not swaps:
            continue
        if plan.shape[1] > 1 and not _cycle_planned(machines, lengths, job_state, machine_state, plan, machine, length):
            continue
        for _ in range(length):
            movers[num_movers] = machine_state[HOLDER, current]
            num_movers += 1
            current = _cycle_successor(machines, lengths, job_state, machine_state, current)
    for index in range(num_movers):
        _enter(machines, durations, lengths, job_state, machine_state, enter, leave, counters, queues, positions,
               plan, movers[index], now)  # fmt: skip
    return num_movers


@numba.njit(cache=True, inline="always")
def _shop_full(counters: np.ndarray) -> bool:
    """Whether admission control holds new jobs out: the limit is set and that many jobs are in the shop."""
    limit = counters[WIP_LIMIT]
    return limit > 0 and counters[JOBS_STARTED] - counters[JOBS_DONE] >= limit


@numba.njit(cache=True)
def _settle(
    machines: np.ndarray, durations: np.ndarray, lengths: np.ndarray, swaps: bool, job_state: np.ndarray,
    machine_state: np.ndarray, enter: np.ndarray, leave: np.ndarray, counters: np.ndarray,
    queues: np.ndarray, positions: np.ndarray, plan: np.ndarray, now: int, mask: np.ndarray, scratch: np.ndarray,
) -> int:  # fmt: skip
    """Swap cycles and fill single-candidate machines until neither moves a job; then mark the candidates
    of the question (each on a machine with two or more) in ``mask`` and return how many there are. A machine
    that follows a plan has at most one candidate: the job its plan sends next.

    Each pass swaps every cycle, then takes a snapshot of the candidates and fills, in machine
    order, every empty, up machine that has exactly one. A pass reads only the queues of the empty,
    up machines (the jobs whose next operation is there), so its cost does not grow with the jobs
    elsewhere in the shop. ``scratch`` is ``(5, max(num_jobs, num_machines))``.
    """
    num_jobs = job_state.shape[1]
    num_machines = machine_state.shape[1]
    count, only, marked = scratch[0, :num_machines], scratch[1, :num_machines], scratch[2, :num_jobs]
    num_marked = 0
    while True:
        moved = _swap_cycles(machines, durations, lengths, swaps, job_state, machine_state, enter, leave, counters,
                             queues, positions, plan, now, scratch[3, :num_machines],
                             scratch[4, :num_machines])  # fmt: skip
        count[:] = 0
        num_marked = 0
        # A candidate needs an empty, up machine; in a blocking shop there often is none.
        for machine in range(num_machines):
            if machine_state[HOLDER, machine] >= 0 or machine_state[DOWN, machine] == 1:
                continue
            planned = _planned(plan, machine)
            for slot in range(1, queues[machine, 0] + 1):
                job = queues[machine, slot]
                if planned >= 0 and job != planned:
                    continue
                held = job_state[HELD_MACHINE, job]
                if held >= 0 and (job_state[REMAINING, job] > 0 or machine_state[DOWN, held] == 1):
                    continue  # still processing, or blocked on a machine that is down
                if job_state[NEXT_OP, job] == 0 and _shop_full(counters):
                    continue  # held out by admission control
                count[machine] += 1
                only[machine] = job
                marked[num_marked] = job
                num_marked += 1
        for machine in range(num_machines):
            if count[machine] == 1 and not (job_state[NEXT_OP, only[machine]] == 0 and _shop_full(counters)):
                _enter(machines, durations, lengths, job_state, machine_state, enter, leave, counters, queues,
                       positions, plan, only[machine], now)  # fmt: skip
                moved += 1
        if moved == 0:
            break
    mask[:] = False
    for index in range(num_marked):
        mask[marked[index]] = True
    return num_marked


@numba.njit(cache=True)
def _choose(durations: np.ndarray, lengths: np.ndarray, totals: np.ndarray, job_state: np.ndarray, mask: np.ndarray,
            rule: int) -> int:  # fmt: skip
    """The candidate with the lowest rule score (then, for ``mopnr``, most work left; then lowest index)."""
    chosen = -1
    chosen_score = 0.0
    chosen_tie = 0
    for job in range(job_state.shape[1]):
        if not mask[job]:
            continue
        op = job_state[NEXT_OP, job]
        work_left = job_state[WORK_LEFT, job]
        score = _score(rule, durations[job, op], lengths[job] - op, work_left, totals[job], job_state[READY, job])
        tie = -work_left if rule == 6 else 0
        if chosen < 0 or score < chosen_score or (score == chosen_score and tie < chosen_tie):
            chosen, chosen_score, chosen_tie = job, score, tie
    return chosen


@numba.njit(cache=True)
def _candidate_scores(durations: np.ndarray, lengths: np.ndarray, totals: np.ndarray, job_state: np.ndarray,
                      jobs: np.ndarray, rule: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The rule score and tie-break :func:`_choose` compares, for each of ``jobs``."""
    scores = np.empty(len(jobs), dtype=np.float64)
    ties = np.zeros(len(jobs), dtype=np.int64)
    for index in range(len(jobs)):
        job = jobs[index]
        op = job_state[NEXT_OP, job]
        work_left = job_state[WORK_LEFT, job]
        scores[index] = _score(
            rule, durations[job, op], lengths[job] - op, work_left, totals[job], job_state[READY, job]
        )
        if rule == 6:
            ties[index] = -work_left
    return scores, ties


@numba.njit(cache=True)
def _next_event(job_state: np.ndarray, machine_state: np.ndarray, down_starts: np.ndarray, down_ends: np.ndarray,
                down_counts: np.ndarray) -> int:  # fmt: skip
    """Earliest completion, shutdown or repair after now; -1 when nothing is processing and no machine is down
    (no event can then change anything)."""
    best = np.iinfo(np.int64).max
    pending = False
    for machine in range(machine_state.shape[1]):
        job = machine_state[HOLDER, machine]
        if job >= 0 and job_state[SEGMENT_START, job] >= 0:
            pending = True
            best = min(best, job_state[SEGMENT_START, job] + job_state[REMAINING, job])
        index = machine_state[NEXT_INTERVAL, machine]
        if machine_state[DOWN, machine] == 1:
            pending = True
            best = min(best, down_ends[machine, index])
        elif index < down_counts[machine]:
            best = min(best, down_starts[machine, index])
    return best if pending else -1


@numba.njit(cache=True)
def _advance(
    machines: np.ndarray, durations: np.ndarray, lengths: np.ndarray, totals: np.ndarray,
    down_starts: np.ndarray, down_ends: np.ndarray, down_counts: np.ndarray, horizon: int,
    restart: bool, swaps: bool, max_idle_events: int, rule: int, choice: int, decision_limit: int,
    job_state: np.ndarray, machine_state: np.ndarray, enter: np.ndarray, leave: np.ndarray,
    segments: np.ndarray, counters: np.ndarray, mask: np.ndarray, queues: np.ndarray, positions: np.ndarray,
    plan: np.ndarray,
) -> int:  # fmt: skip
    """Run the simulation until the next question (``rule == ASK``), the end, the calendar horizon, or (with
    ``counters[STOP_AT_EVENTS]``) the next shutdown or repair.

    Args:
        choice: the job chosen for the last question (-1 when there is none to apply).
        decision_limit: with a rule, stop at the question after this many decisions in all (``counters[NUM_DECISIONS]``)
            as if asked; -1 for no limit.
        rule: a rule id of :data:`jssp.rules._RULE_IDS` to answer every question in the kernel, or
            :data:`ASK` to stop at each one.
        horizon: events after this time are not simulated (the calendar is not known beyond it).
        max_idle_events: events in a row without a job moving or finishing after which it gives up.

    Returns:
        :data:`DONE`, :data:`DECIDE` (``mask`` holds the candidates), :data:`NEED_CALENDAR`
        (``counters[NEEDED_TIME]`` is the event time past the horizon), :data:`STALLED`, :data:`JAMMED` or
        :data:`EVENT` (the events at ``counters[NOW]`` are applied; nothing has moved since).
    """
    num_jobs = job_state.shape[1]
    scratch = np.empty((5, max(num_jobs, machine_state.shape[1])), dtype=np.int64)
    if choice >= 0:
        _enter(machines, durations, lengths, job_state, machine_state, enter, leave, counters, queues, positions,
               plan, choice, counters[NOW])  # fmt: skip
        counters[NUM_DECISIONS] += 1
    elif counters[EVENTS_PENDING] == 1:
        if counters[NOW] > horizon:
            counters[NEEDED_TIME] = counters[NOW]
            return NEED_CALENDAR
        _apply_events(durations, lengths, down_starts, down_ends, down_counts, restart, job_state, machine_state,
                      leave, segments, counters, counters[NOW])  # fmt: skip
        counters[EVENTS_PENDING] = 0
        if counters[STOP_AT_EVENTS] == 1:  # time 0 is an event: nothing has moved yet
            mask[:] = False
            return EVENT
    may_move = True  # a call may resume a question unanswered (a rule takes over from a policy)
    while True:
        now = counters[NOW]
        # After an event that can move no job (a shutdown), the last settling still holds: no candidate.
        # After a hold, nothing enters a machine until time moves on (the question stands answered).
        if may_move and counters[HOLD_AT] != now and _settle(machines, durations, lengths, swaps, job_state,
                                                             machine_state, enter, leave, counters, queues,
                                                             positions, plan, now, mask, scratch) > 0:  # fmt: skip
            if rule == ASK or counters[NUM_DECISIONS] == decision_limit:
                return DECIDE
            job = _choose(durations, lengths, totals, job_state, mask, rule)
            _enter(machines, durations, lengths, job_state, machine_state, enter, leave, counters, queues, positions,
                   plan, job, now)  # fmt: skip
            counters[NUM_DECISIONS] += 1
            continue
        if counters[JOBS_DONE] == num_jobs:
            mask[:] = False
            return DONE
        time = _next_event(job_state, machine_state, down_starts, down_ends, down_counts)
        if time < 0:
            return STALLED
        if time > horizon:
            counters[NEEDED_TIME] = time
            return NEED_CALENDAR
        counters[NOW] = time
        counters[IDLE_EVENTS] += 1
        calendar_events = counters[CALENDAR_EVENTS]
        may_move = _apply_events(durations, lengths, down_starts, down_ends, down_counts, restart, job_state,
                                 machine_state, leave, segments, counters, time)  # fmt: skip
        if counters[IDLE_EVENTS] > max_idle_events:
            return JAMMED
        changed = counters[CALENDAR_EVENTS] > calendar_events
        if counters[STOP_AT_EVENTS] == 1 and changed and counters[JOBS_DONE] < num_jobs:
            mask[:] = False
            return EVENT


Policy = Callable[["BlockingState"], int]
"""Picks one job of ``state.candidates()``; it may read the state's public arrays, never its calendar."""


class BlockingState:
    """A blocking job shop being simulated: the array API a policy sees at each question.

    A state starts at time 0 and runs at once to the first question. A policy reads
    :meth:`candidates` (jobs whose next operation may enter its machine now), picks one and calls
    :meth:`step`, which runs on to the next question; :attr:`done` ends the episode.
    :meth:`run_rule` answers every remaining question with a rule compiled into the kernel.
    ``now`` grows between questions by the time that passed, so the sum of minus those increments
    is minus the makespan (a reward consistent with it).

    Attributes:
        instance: the instance simulated.
        mode: ``"resume"`` or ``"restart"`` (what a shutdown does to the operation in process).
        swaps: whether cycles of two or more blocked jobs swap.
        wip_limit: admission control, at most this many jobs in the shop at once (entered their first operation,
            not yet left): a job that has not started is no candidate while the shop is full; None: no limit,
            every free machine may be filled (the published rules).
        patience: the simulation raises :class:`JammedError` after ``patience * num_machines``
            events in a row in which no job moved or finished processing.
        stop_at_events: the state also stops (:attr:`at_event`) at time 0 before any job moves and after every
            shutdown and repair, so that a method can re-plan (:meth:`follow`) and go on (:meth:`advance`).
        holds: how many questions :meth:`hold` answered.
        plans_dropped: how many times a plan given to :meth:`follow` led nowhere (every job left waited for
            another) and was dropped; the questions were then asked again.
        job_state: per job, the rows :data:`NEXT_OP`, :data:`HELD_MACHINE`, :data:`REMAINING`,
            :data:`SEGMENT_START`, :data:`READY`, :data:`WORK_LEFT` (see the module constants).
        machine_state: per machine, the rows :data:`HOLDER`, :data:`DOWN`, :data:`NEXT_INTERVAL`
            (the last is the simulator's pointer into the calendar, not for policies).
        enter, leave: when each operation entered and left its machine, -1 until it has.
        mask: the candidate jobs of the current question.

    Shapes:
        job_state: ``(6, num_jobs)``; machine_state: ``(3, num_machines)``;
        enter, leave: ``(num_jobs, width)``; mask: ``(num_jobs,)`` bool;
        segments (recorded so far): ``(num_segments, 4)`` rows ``(job, op, start, end)``.
    """

    plans_dropped: int = 0

    def __init__(
        self,
        instance: Instance,
        calendar: Calendar,
        mode: str = "resume",
        swaps: bool = True,
        patience: int = DEFAULT_PATIENCE,
        wip_limit: int | None = None,
        stop_at_events: bool = False,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"interruption mode must be one of {', '.join(MODES)}, got {mode!r}")
        if patience < 1:
            raise ValueError(f"patience must be at least 1, got {patience}")
        if wip_limit is not None and wip_limit < 1:
            raise ValueError(f"wip_limit must be at least 1, got {wip_limit}")
        if calendar.num_machines != instance.num_machines:
            raise ValueError(
                f"calendar has {calendar.num_machines} machines, instance {instance.name} {instance.num_machines}"
            )
        self.instance = instance
        self.mode = mode
        self.swaps = swaps
        self.patience = patience
        self._calendar = calendar
        self._machines, self._durations, self._lengths = instance.machines, instance.durations, instance.lengths
        self._totals = instance.durations.sum(axis=1)
        num_jobs, num_machines = instance.num_jobs, instance.num_machines
        self.job_state = np.zeros((NUM_JOB_FIELDS, num_jobs), dtype=np.int64)
        self.job_state[HELD_MACHINE] = -1
        self.job_state[SEGMENT_START] = -1
        self.job_state[WORK_LEFT] = self._totals
        self.machine_state = np.zeros((NUM_MACHINE_FIELDS, num_machines), dtype=np.int64)
        self.machine_state[HOLDER] = -1
        self.enter = np.full(instance.machines.shape, -1, dtype=np.int64)
        self.leave = np.full(instance.machines.shape, -1, dtype=np.int64)
        self.mask = np.zeros(num_jobs, dtype=np.bool_)
        # per machine: how many jobs have their next operation there, then those jobs (a job is in one queue
        # until it enters its last operation); per job: its slot in that queue
        self._queues = np.zeros((num_machines, num_jobs + 1), dtype=np.int64)
        self._queue_positions = np.full(num_jobs, -1, dtype=np.int64)
        for job in np.flatnonzero(self._lengths > 0):
            machine = self._machines[job, 0]
            self._queues[machine, 0] += 1
            self._queues[machine, self._queues[machine, 0]] = job
            self._queue_positions[job] = self._queues[machine, 0]
        self._counters = np.zeros(NUM_COUNTERS, dtype=np.int64)
        self._counters[EVENTS_PENDING] = 1
        self._counters[WIP_LIMIT] = 0 if wip_limit is None else wip_limit
        self._counters[STOP_AT_EVENTS] = int(stop_at_events)
        self._counters[HOLD_AT] = -1
        self.holds = 0
        # per machine: a pointer (0: no plan) and the jobs in the order they are to enter it; one column until a
        # plan is given, so that the clones a lookahead makes stay cheap
        self._plan = np.zeros((num_machines, 1), dtype=np.int64)
        self._segments = np.zeros((0, 4), dtype=np.int64)
        # A first stretch of calendar: about the makespan of a fair schedule at full availability.
        lower_bound = instance.trivial_lower_bound()
        calendar.extend(max(2 * lower_bound, 1))
        self._load_calendar()
        self._status = self._run(ASK, -1)

    def _load_calendar(self) -> None:
        self._down_starts, self._down_ends, self._down_counts = self._calendar.arrays()
        # Every interval can cut one segment in two: this bound never overflows.
        capacity = self.instance.num_operations + int(self._down_counts.sum()) + 1
        if len(self._segments) < capacity:
            grown = np.zeros((capacity, 4), dtype=np.int64)
            grown[: len(self._segments)] = self._segments
            self._segments = grown

    def _run(self, rule: int, choice: int, decision_limit: int = -1) -> int:
        while True:
            status = _advance(
                self._machines, self._durations, self._lengths, self._totals,
                self._down_starts, self._down_ends, self._down_counts, self._calendar.horizon,
                self.mode == "restart", self.swaps, self.patience * self.instance.num_machines, rule, choice,
                decision_limit, self.job_state, self.machine_state, self.enter, self.leave, self._segments,
                self._counters, self.mask, self._queues, self._queue_positions, self._plan,
            )  # fmt: skip
            choice = -1  # applied by the call that returned
            if status == NEED_CALENDAR:
                needed = int(self._counters[NEEDED_TIME])
                self._calendar.extend(max(needed, 2 * self._calendar.horizon))
                self._load_calendar()
                continue
            if status == JAMMED:
                calendar = self._calendar
                settings = (
                    "" if calendar.rate is None else f" (shutdown rate {calendar.rate:g}, downtime {calendar.downtime})"
                )
                raise JammedError(
                    f"{self.instance.name}: no job moved or finished during the last {self.patience} shutdowns and "
                    f"repairs per machine, up to time {self.now}{settings}; a cycle of blocked jobs waits for all "
                    "its machines to be up at once"
                )
            if status == STALLED and self._plan[:, 0].any():
                self._plan[:, 0] = 0  # the plan leads nowhere from here: ask instead
                self.plans_dropped += 1
                continue
            if status == STALLED:
                error = StallError if self.swaps else DeadlockError
                unfinished = np.flatnonzero(self.job_state[NEXT_OP] < self._lengths).tolist()
                raise error(
                    f"{self.instance.name}: at time {self.now} jobs {unfinished[:10]} wait for each other and no "
                    "event is pending" + ("" if self.swaps else " (swaps are off)")
                )
            return int(status)

    def known_down_intervals(self) -> list[npt.NDArray[np.int64]]:
        """Per machine, the down intervals started by :attr:`now`, as an online method may know them: one still
        in progress ends at ``now + 1`` as far as is known (its true end is the calendar's secret).

        Shapes:
            each: ``(intervals, 2)`` start and end.
        """
        known = []
        for rows in self._calendar.down_intervals(self.now):
            rows = rows.copy()
            rows[:, 1] = np.minimum(rows[:, 1], self.now + 1)
            known.append(rows)
        return known

    def clone(self, calendar: Calendar | None = None, stop_at_events: bool = False) -> BlockingState:
        """An independent copy of the simulation at this question or event, on the same calendar or on
        ``calendar``, following the same plan; it stops at shutdowns and repairs only if ``stop_at_events``.

        A copy on another calendar that agrees with this one up to now (its down intervals that
        have started by now, with the repair of a machine down now ending later than now) continues
        as if the future were that calendar's: what a policy that looks ahead may simulate without
        seeing the real future.
        """
        copy = object.__new__(BlockingState)
        copy.__dict__.update(self.__dict__)
        for name in ("job_state", "machine_state", "enter", "leave", "mask", "_counters", "_segments", "_queues",
                     "_queue_positions", "_plan"):  # fmt: skip
            setattr(copy, name, getattr(self, name).copy())
        copy._counters[STOP_AT_EVENTS] = int(stop_at_events)
        if calendar is not None:
            if calendar.num_machines != self.instance.num_machines:
                raise ValueError(
                    f"calendar has {calendar.num_machines} machines, instance {self.instance.num_machines}"
                )
            copy._calendar = calendar
            calendar.extend(max(self._calendar.horizon, 1))
            copy._load_calendar()
            now = self.now
            for machine in range(self.instance.num_machines):  # the pointer into the new calendar's intervals
                ends = copy._down_ends[machine, : copy._down_counts[machine]]
                copy.machine_state[NEXT_INTERVAL, machine] = int(np.searchsorted(ends, now, side="right"))
        return copy

    @property
    def done(self) -> bool:
        return self._status == DONE

    @property
    def following(self) -> bool:
        """Whether a plan given to :meth:`follow` still restricts some machine."""
        pointers = self._plan[:, 0]
        live = (pointers > 0) & (pointers < self._plan.shape[1])
        return bool((self._plan[live, pointers[live]] >= 0).any())

    @property
    def at_event(self) -> bool:
        """Stopped at time 0 or at a shutdown or repair (only with ``stop_at_events``): call :meth:`advance`."""
        return self._status == EVENT

    @property
    def now(self) -> int:
        """The current time: that of the question being asked, or the makespan once done."""
        return int(self._counters[NOW])

    @property
    def num_moves(self) -> int:
        """Operations entered so far."""
        return int(self._counters[NUM_MOVES])

    @property
    def num_decisions(self) -> int:
        """Questions answered so far (choices among two or more candidates)."""
        return int(self._counters[NUM_DECISIONS])

    @property
    def machine_down(self) -> npt.NDArray[np.bool_]:
        """Which machines are down now, ``(num_machines,)``."""
        return self.machine_state[DOWN] == 1

    @property
    def segments(self) -> npt.NDArray[np.int64]:
        """Processing segments recorded so far, ``(num_segments, 4)`` rows ``(job, op, start, end)``."""
        return self._segments[: self._counters[NUM_SEGMENTS]]

    def candidates(self) -> npt.NDArray[np.int64]:
        """Jobs that may be chosen now, in increasing order (empty once done)."""
        return np.flatnonzero(self.mask)

    def candidate_machines(self) -> npt.NDArray[np.int64]:
        """The machine each candidate of :meth:`candidates` would enter."""
        jobs = self.candidates()
        return self._machines[jobs, self.job_state[NEXT_OP, jobs]]

    def step(self, job: int) -> None:
        """Move ``job`` into its next machine now, then run on to the next question or the end.

        Raises:
            ValueError: if ``job`` is not a candidate.
            StallError: if the simulation stalls (a bug with swaps on; :class:`DeadlockError` without them).
        """
        if self.done or not 0 <= job < self.instance.num_jobs or not self.mask[job]:
            raise ValueError(f"job {job} is not a candidate (candidates: {self.candidates().tolist()})")
        self._status = self._run(ASK, int(job))

    @property
    def can_hold(self) -> bool:
        """Whether :meth:`hold` may answer the question now: some operation is processing or some machine is down,
        so time will move on."""
        if self._status != DECIDE:
            return False
        pending = _next_event(self.job_state, self.machine_state, self._down_starts, self._down_ends, self._down_counts)
        return bool(pending >= 0)

    def hold(self) -> None:
        """Answer the question with no job: every free machine stays free until the next completion, shutdown or
        repair, where the questions are asked again (the shop waits, as admission control does).

        Raises:
            ValueError: if nothing is processing and no machine is down (waiting would never end): see
                :attr:`can_hold`.
        """
        if not self.can_hold:
            raise ValueError("cannot hold: no question is asked, or nothing would ever move the shop on")
        self._counters[HOLD_AT] = self.now
        self.holds += 1
        self._status = self._run(ASK, -1)

    def advance(self) -> None:
        """Go on from an event (:attr:`at_event`) to the next question, event or the end."""
        if not self.at_event:
            raise ValueError("the state is not stopped at an event; answer its question with step()")
        self._status = self._run(ASK, -1)

    @functools.cached_property
    def _operations_per_machine(self) -> npt.NDArray[np.int64]:
        """How many operations visit each machine (clones share it: it is in ``__dict__`` once computed)."""
        return np.bincount(self.instance.machines[self.instance.valid], minlength=self.instance.num_machines)

    def follow(self, plan: Sequence[Sequence[int]] | None) -> None:
        """From now on let jobs enter each machine only in the order of ``plan`` (``plan[machine]``, jobs in order;
        a job visiting a machine twice appears twice); a machine whose list is used up, or empty, is free again.
        Machines then have at most one candidate, so a complete plan asks no questions. None: no plan.

        A plan made from this state by a feasible schedule of the remaining work (each machine's order of its
        enters) keeps feasible however the machines stop later: shutdowns only delay it. If a plan leads to a
        state where every job left waits for another, it is dropped and counted in :attr:`plans_dropped`.
        """
        instance = self.instance
        if plan is None:
            self._plan = np.zeros((instance.num_machines, 1), dtype=np.int64)
            return
        if len(plan) != instance.num_machines:
            raise ValueError(f"a plan has one list per machine ({instance.num_machines}), got {len(plan)}")
        visits = self._operations_per_machine
        rows = np.full((instance.num_machines, 1 + int(visits.max(initial=0))), -1, dtype=np.int64)
        for machine, jobs in enumerate(plan):
            if len(jobs) > visits[machine]:
                raise ValueError(f"the plan of machine {machine} has {len(jobs)} jobs, more than visit it")
            rows[machine, 1 : 1 + len(jobs)] = jobs
            rows[machine, 0] = 1 if len(jobs) else 0
        self._plan = rows

    def run_rule(self, rule: str, max_decisions: int | None = None) -> None:
        """Answer the remaining questions with a deterministic rule of :data:`jssp.rules.RULES`, in the kernel: all
        of them, or the next ``max_decisions`` (the state then waits at the question after them, unless done)."""
        if rule not in _RULE_IDS:
            raise ValueError(f"rule {rule!r} is not compiled; choose one of {', '.join(_RULE_IDS)}")
        if max_decisions is not None and max_decisions < 0:
            raise ValueError(f"max_decisions must be at least 0, got {max_decisions}")
        if not self.done:
            limit = -1 if max_decisions is None else self.num_decisions + max_decisions
            self._status = self._run(_RULE_IDS[rule], -1, limit)

    def ranked_candidates(self, rule: str) -> npt.NDArray[np.int64]:
        """The candidates in the order ``rule`` prefers them (its score, its tie-break, then the lower index): the
        first is the one :meth:`run_rule` would choose."""
        if rule not in _RULE_IDS:
            raise ValueError(f"rule {rule!r} is not compiled; choose one of {', '.join(_RULE_IDS)}")
        jobs = self.candidates()
        scores, ties = _candidate_scores(self._durations, self._lengths, self._totals, self.job_state, jobs,
                                         _RULE_IDS[rule])  # fmt: skip
        return jobs[np.lexsort((jobs, ties, scores))]

    def makespan_bound(self) -> int:
        """A lower bound of the makespan from here if no machine stopped again: now plus the most of any job's
        processing left (its operation in process and those not entered) and any machine's (the same, by machine).
        """
        if self.done:
            return self.now
        lengths, next_op = self._lengths, self.job_state[NEXT_OP]
        width = self._machines.shape[1]
        waiting = (np.arange(width)[None, :] >= next_op[:, None]) & (np.arange(width)[None, :] < lengths[:, None])
        in_process = self.job_state[REMAINING]
        loads = np.bincount(
            self._machines[waiting], weights=self._durations[waiting], minlength=self.instance.num_machines
        )
        held = self.job_state[HELD_MACHINE]
        busy = held >= 0
        loads += np.bincount(held[busy], weights=in_process[busy], minlength=self.instance.num_machines)
        jobs = in_process + self.job_state[WORK_LEFT]
        return self.now + int(max(jobs.max(initial=0), loads.max(initial=0)))

    def schedule(self, method: str = "", interruptions: dict[str, object] | None = None) -> BlockingSchedule:
        """The finished schedule, with the calendar's down intervals that start before the makespan.

        Args:
            interruptions: the ``interruptions`` record of the JSON (rate, downtime, seed, mode);
                defaults to the calendar's settings and this state's mode.
        """
        if not self.done:
            raise ValueError("the simulation has not finished")
        makespan = int(self.leave[self.instance.valid].max())
        segments = self.segments
        order = np.lexsort((segments[:, 2], segments[:, 1], segments[:, 0]))
        if interruptions is None:
            calendar = self._calendar
            downtime = list(calendar.downtime) if isinstance(calendar.downtime, tuple) else calendar.downtime
            interruptions = {"rate": calendar.rate, "downtime": downtime, "seed": calendar.seed, "mode": self.mode}
        return BlockingSchedule(
            self.instance,
            enter=self.enter.copy(),
            leave=self.leave.copy(),
            segments=segments[order].copy(),
            down_intervals=self._calendar.down_intervals(makespan),
            interruptions=interruptions,
            method=method,
            info={"moves": self.num_moves, "decisions": self.num_decisions},
        )


def simulate(
    instance: Instance,
    calendar: Calendar,
    policy: Policy | str,
    mode: str = "resume",
    swaps: bool = True,
    method: str = "",
) -> BlockingSchedule:
    """Simulate one episode with a compiled rule (by name) or a Python policy; returns the schedule."""
    state = BlockingState(instance, calendar, mode=mode, swaps=swaps)
    if isinstance(policy, str):
        state.run_rule(policy)
    else:
        while not state.done:
            state.step(policy(state))
    return state.schedule(method or (policy if isinstance(policy, str) else ""))


def warm_up() -> None:
    """Load (or compile) the kernel now, so the first timed episode does not pay for it."""
    instance = Instance(np.array([[0, 1], [1, 0]]), np.array([[3, 2], [3, 2]]), name="warm-up")
    calendar = Calendar.fixed([[(1, 2)], []])
    simulate(instance, calendar, "spt")
    simulate(instance, calendar, lambda state: int(state.ranked_candidates("lor")[0]))
