"""One-step lookahead for the blocking job shop with shutdowns, without seeing the future.

At a question, each candidate is tried on a copy of the simulation that a compiled rule then runs
to the end (a pilot method, Voss, Fink & Duin 2005). The copy runs on the calendar *as known now*:
the shutdowns that have started by now, a repair in progress assumed to last the expected
downtime from its start (its true end is not known yet), and no shutdown after now. So the
estimate uses only the past, and a policy built on it stays online. The estimates are a method of
their own (``lookahead-lor``: the candidate with the shortest continuation) and features of the
learned dispatcher (:mod:`jssp.blocking.env`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from jssp.blocking.calendar import Calendar, Downtime, Interruptions
from jssp.blocking.schedule import BlockingSchedule
from jssp.blocking.simulator import BlockingState
from jssp.instance import Instance


def expected_downtime(downtime: Downtime) -> int:
    """The mean length of a shutdown: the fixed value, or the middle of a ``(low, high)`` range."""
    if isinstance(downtime, tuple | list):
        return max(1, round((int(downtime[0]) + int(downtime[1])) / 2))
    return max(1, int(downtime))


def known_calendar(state: BlockingState, downtime: int) -> Calendar:
    """The calendar as known at ``state.now``: intervals started by now, repairs in progress ending
    ``downtime`` after their start (at least one unit after now), nothing later."""
    now = state.now
    known = []
    for intervals in state.known_down_intervals():  # an interval still in progress ends at now + 1 there
        known.append([(start, end if end <= now else max(start + downtime, now + 1)) for start, end in intervals])
    return Calendar.fixed(known)


def lookahead_makespans(state: BlockingState, rule: str, downtime: int) -> npt.NDArray[np.int64]:
    """Makespan of ``rule`` run to the end after each candidate of the current question, on the
    calendar known now; -1 for jobs that are not candidates.

    Shapes:
        returns ``(num_jobs,)``.
    """
    makespans = np.full(state.instance.num_jobs, -1, dtype=np.int64)
    if state.done:
        return makespans
    calendar = known_calendar(state, downtime)
    for job in state.candidates():
        trial = state.clone(calendar)
        trial.step(int(job))
        trial.run_rule(rule)
        makespans[job] = trial.now
    return makespans


def lookahead_choice(state: BlockingState, rule: str, downtime: int) -> int:
    """The candidate whose ``rule`` continuation ends first (the lowest job index on ties)."""
    makespans = lookahead_makespans(state, rule, downtime)
    candidates = state.candidates()
    return int(candidates[np.argmin(makespans[candidates])])


def lookahead_schedule(
    instance: Instance, interruptions: Interruptions, calendar: Calendar | None = None, rule: str = "lor"
) -> BlockingSchedule:
    """``lookahead-<rule>``: every question answered by :func:`lookahead_choice` (an online method)."""
    from jssp.blocking.rules import interruptions_record

    calendar = calendar if calendar is not None else interruptions.calendar(instance)
    downtime = expected_downtime(interruptions.resolved_downtime(instance))
    state = BlockingState(instance, calendar, mode=interruptions.mode)
    while not state.done:
        state.step(lookahead_choice(state, rule, downtime))
    return state.schedule(f"lookahead-{rule}", interruptions_record(instance, interruptions))
