"""One-step lookahead for the blocking job shop with shutdowns, without seeing the future.

At a question, each candidate is tried on a copy of the simulation that a compiled rule then runs
to the end (a pilot method, Voss, Fink & Duin 2005). The copy runs on the calendar *as known now*:
the shutdowns that have started by now, a repair in progress assumed to last the expected
downtime from its start (its true end is not known yet), and no shutdown after now. So the
estimate uses only the past, and a policy built on it stays online. The estimates are a method of
their own (``lookahead-lor``: the candidate with the shortest continuation) and features of the
learned dispatcher (:mod:`jssp.blocking.env`).

Exact, every candidate run to the end costs about the cube of the number of jobs, so beyond
:data:`EXACT_OPERATIONS` operations (every benchmark of the la/ft/orb/abz grid and Taillard up to
50x20 stays exact) the lookahead is bounded (:data:`BOUNDED`): only the few candidates the rule
itself ranks first are tried, each continued for a fixed number of decisions and then scored by
:meth:`~jssp.blocking.simulator.BlockingState.makespan_bound`. A decision then costs about the same
whatever the size of the shop. Candidates not yet started that are twins (the same route, as the jobs of one
product in a real shop; :attr:`~jssp.instance.Instance.twins`) are tried once, by the first of them, and share
its estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from jssp.blocking.calendar import Calendar, Downtime, Interruptions
from jssp.blocking.schedule import BlockingSchedule
from jssp.blocking.simulator import NEXT_OP, BlockingState
from jssp.instance import Instance

EXACT_OPERATIONS = 1000
"""Instances up to this many operations get the exact lookahead (every candidate, run to the end)."""


@dataclass(frozen=True)
class Limits:
    """How far a bounded lookahead looks: ``candidates`` ranked first by the rule, ``decisions`` of the rule's
    continuation after each (None: no limit)."""

    candidates: int | None = None
    decisions: int | None = None


EXACT = Limits()
BOUNDED = Limits(candidates=8, decisions=24)
"""The limits of instances above :data:`EXACT_OPERATIONS` operations."""


def limits_for(instance: Instance) -> Limits:
    """:data:`EXACT` up to :data:`EXACT_OPERATIONS` operations, :data:`BOUNDED` beyond."""
    return EXACT if instance.num_operations <= EXACT_OPERATIONS else BOUNDED


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


def lookahead_makespans(
    state: BlockingState, rule: str, downtime: int, limits: Limits | None = None
) -> npt.NDArray[np.int64]:
    """Makespan of ``rule`` run to the end after each candidate of the current question, on the
    calendar known now; -1 for jobs that are not candidates.

    Under bounded ``limits`` (default :func:`limits_for` the instance) only the candidates the rule ranks
    first are tried, each continued for ``limits.decisions`` decisions and scored by the makespan bound
    there; a candidate not tried gets the worst estimate of those tried.

    Shapes:
        returns ``(num_jobs,)``.
    """
    return _estimates(state, rule, downtime, limits)[1]


def lookahead_choice(state: BlockingState, rule: str, downtime: int, limits: Limits | None = None) -> int:
    """The candidate whose ``rule`` continuation ends first (the lowest job index on ties; under bounded
    limits, the rule's own order among those tried)."""
    tried, makespans = _estimates(state, rule, downtime, limits)
    return int(tried[np.argmin(makespans[tried])])


def _estimates(
    state: BlockingState, rule: str, downtime: int, limits: Limits | None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The candidates tried (all in index order, or those the rule ranks first, in its order) and the
    estimates of :func:`lookahead_makespans`."""
    makespans = np.full(state.instance.num_jobs, -1, dtype=np.int64)
    candidates = state.candidates()
    if state.done:
        return candidates, makespans
    limits = limits_for(state.instance) if limits is None else limits
    calendar = known_calendar(state, downtime)
    # twins not started (same route, Instance.twins) are tried once, by the first of them
    stand_for = candidates.copy()
    twins = state.instance.twins
    outside = state.job_state[NEXT_OP, candidates] == 0
    if outside.any() and (twins[candidates] != candidates).any():
        _, first, inverse = np.unique(twins[candidates[outside]], return_index=True, return_inverse=True)
        stand_for[outside] = candidates[outside][first][inverse.reshape(-1)]
    tried = candidates[stand_for == candidates]
    if limits.candidates is not None and len(tried) > limits.candidates:
        ranked = state.ranked_candidates(rule)
        tried = ranked[np.isin(ranked, tried)][: limits.candidates]
    for job in tried:
        trial = state.clone(calendar)
        trial.step(int(job))
        trial.run_rule(rule, limits.decisions)
        makespans[job] = trial.now if trial.done else trial.makespan_bound()
    if len(tried) < len(candidates):
        was_tried = np.isin(stand_for, tried)
        makespans[candidates] = np.where(was_tried, makespans[stand_for], makespans[tried].max())
    return tried, makespans


def lookahead_schedule(
    instance: Instance,
    interruptions: Interruptions,
    calendar: Calendar | None = None,
    rule: str = "lor",
    limits: Limits | None = None,
    wip_limit: int | None = None,
) -> BlockingSchedule:
    """``lookahead-<rule>``: every question answered by :func:`lookahead_choice` (an online method), under
    ``limits`` (default :func:`limits_for` the instance) and admission control ``wip_limit`` (the continuations
    keep it: they are clones of the state)."""
    from jssp.blocking.rules import interruptions_record

    calendar = calendar if calendar is not None else interruptions.calendar(instance)
    downtime = expected_downtime(interruptions.resolved_downtime(instance))
    state = BlockingState(instance, calendar, mode=interruptions.mode, wip_limit=wip_limit)
    limits = limits_for(instance) if limits is None else limits
    while not state.done:
        state.step(lookahead_choice(state, rule, downtime, limits))
    return state.schedule(f"lookahead-{rule}", interruptions_record(instance, interruptions))
