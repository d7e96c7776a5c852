"""Event-driven re-planning for the blocking job shop with shutdowns: plan the remaining work, follow the plan.

``reschedule`` plans at time 0 and again whenever a machine goes down or comes back up: the work left
in the shop as it stands (jobs on machines with their processing left, jobs blocked, jobs waiting
to start, machines down until their expected repair) goes to CP-SAT on the blocking model with
swaps and the known down intervals (:func:`jssp.blocking.clairvoyant.build_calendar_model`), warm
started from the plan followed so far or a rule, whichever ends first continued on the calendar known now,
within a budget of seconds per event. The plan
minimises the makespan and, second, the sum of the jobs' ends: with the makespan alone, everything off the
critical path may be planned late, and a plan followed under shutdowns needs that slack (``docs/notes.md``).
The simulator then follows each machine's planned order of enters (:meth:`BlockingState.follow`)
until the next event; it stays the judge of every schedule. Like every online method it sees no
shutdown before it starts, and a repair in progress is assumed to take the expected downtime
(:func:`jssp.blocking.lookahead.known_calendar`).

Any planner may take CP-SAT's place (:data:`Planner`): ``gnn-replan`` (registered by ``agents``) plans with
episodes of the learned dispatcher. :func:`continuation_plan` turns any finished continuation of the state into
a plan.

``right-shift`` is the classic it improves on: one such plan at time 0, followed to the end; a
shutdown only delays what comes after it on the plan (each machine keeps its order).

A plan is a feasible selection of the remaining work, so following it never deadlocks: shutdowns
only delay it. Should the simulator ever find every job left waiting for another under a plan
(zero-length operations tied at one instant can order differently), the plan is dropped and ``lor``
answers the questions until the next event.
"""

from __future__ import annotations

import functools
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from jssp.blocking.calendar import Calendar, Interruptions
from jssp.blocking.lookahead import expected_downtime, known_calendar
from jssp.blocking.schedule import BlockingSchedule
from jssp.blocking.simulator import HELD_MACHINE, NEXT_OP, REMAINING, BlockingState
from jssp.instance import Instance
from jssp.rules import RULES

MAX_OPERATIONS = 5000
"""Largest instances re-planned: beyond, building one CP-SAT model per event costs more than the budget."""
FALLBACK_RULE = "lor"
"""The rule that continues the shop for the warm start, and answers any question a plan leaves open."""

Plan = list[list[int]]
"""Per machine, the shop's jobs in the order they are to enter it (:meth:`BlockingState.follow`)."""
Planner = Callable[[BlockingState, int, float], tuple[Plan, dict[str, object]]]
"""``planner(state, downtime, seconds)``: a plan of the work left in ``state`` on the calendar known now (a repair
in progress ends ``downtime`` after its start), made in about ``seconds``, and what the planning did."""


@dataclass(frozen=True)
class Residual:
    """The work left in a shop at ``now`` as an instance of its own, time counted from ``now``.

    Job ``index`` of ``instance`` is job ``jobs[index]`` of the shop from its operation ``first_op[index]``
    on; where ``entered[index]``, that first operation is the one the job is on now (its processing left as
    the duration, 0 when blocked), entered at time 0.

    Shapes:
        jobs, first_op, entered: ``(jobs left,)``.
    """

    instance: Instance
    jobs: npt.NDArray[np.int64]
    first_op: npt.NDArray[np.int64]
    entered: npt.NDArray[np.bool_]
    now: int


def residual_of(state: BlockingState) -> Residual:
    """The work left in ``state``: every job not yet out of the shop, from the operation it is on (if any)."""
    shop = state.instance
    next_op, held = state.job_state[NEXT_OP], state.job_state[HELD_MACHINE]
    jobs = np.flatnonzero((next_op < shop.lengths) | (held >= 0))
    entered = held[jobs] >= 0
    first_op = next_op[jobs] - entered
    routes = []
    for job, op, on_machine in zip(jobs.tolist(), first_op.tolist(), entered.tolist(), strict=True):
        route = [(int(shop.machines[job, k]), int(shop.durations[job, k])) for k in range(op, int(shop.lengths[job]))]
        if on_machine:
            route[0] = (route[0][0], int(state.job_state[REMAINING, job]))
        routes.append(route)
    instance = Instance.from_routes(routes, name=f"{shop.name}@{state.now}", num_machines=shop.num_machines)
    return Residual(instance, jobs, first_op, entered, state.now)


def plan_remaining(
    state: BlockingState,
    downtime: int,
    time_limit: float,
    num_workers: int = 2,
    seed: int = 0,
    warm_starts: Sequence[str] | None = None,
    early_ends: bool = True,
) -> tuple[Plan, dict[str, object]]:
    """Plan the work left in ``state`` on the calendar known now; returns the plan of :meth:`BlockingState.follow`
    (per machine, the jobs in the order they are to enter it) and what the search did.

    Args:
        downtime: expected length of a shutdown; a repair in progress ends that long after its start.
        time_limit: seconds for the whole plan, the model and the warm start included.
        warm_starts: the rules whose continuations may start the search; None: every deterministic rule, and the
            plan the state follows now (continued on the calendar known now), whichever ends first.
        early_ends: minimise the jobs' ends second to the makespan (see
            :func:`~jssp.blocking.clairvoyant.build_calendar_model`); False: the makespan alone.
    """
    from ortools.sat.python import cp_model

    from jssp.blocking.clairvoyant import add_hint, build_calendar_model
    from jssp.cpsat import run_solver

    started = time.perf_counter()
    residual = residual_of(state)
    now = residual.now
    calendar = known_calendar(state, downtime)
    hint_method, continuation = warm_start(state, calendar, warm_starts)
    enter, leave, start = _residual_times(residual, continuation)
    horizon = continuation.now - now
    downs = [_from_now(rows, now) for rows in calendar.down_intervals(now)]  # the repairs in progress

    built = build_calendar_model(residual.instance, downs, horizon, residual.entered, early_ends)
    add_hint(built, enter, leave, start, horizon)
    remaining = time_limit - (time.perf_counter() - started)
    info: dict[str, object] = {"hint": horizon, "hint_method": hint_method, "chosen": hint_method}
    if remaining > 0:
        trivial_bound = residual.instance.trivial_lower_bound()
        run = run_solver(built.model, remaining, num_workers, seed, False, trivial_bound)
        info["status"] = run.solver.status_name(run.status)
        if run.status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and run.solver.value(built.makespan) <= horizon:
            info["makespan"] = int(run.solver.value(built.makespan))
            info["chosen"] = "cpsat"
            for job, job_enters in enumerate(built.enters):
                enter[job, : len(job_enters)] = [run.solver.value(variable) for variable in job_enters]
                leave[job, : len(job_enters)] = [run.solver.value(variable) for variable in built.leaves[job]]
    return _machine_orders(residual, enter, leave), info


def warm_start(
    state: BlockingState, calendar: Calendar, warm_starts: Sequence[str] | None = None
) -> tuple[str, BlockingState]:
    """The shortest finished continuation of ``state`` on ``calendar`` and what made it: following its plan (when
    it has one and ``warm_starts`` is None; ``"plan"``), or a rule (its name)."""
    tries: list[tuple[str, BlockingState]] = []
    if warm_starts is None and state.following:
        tries.append(("plan", _past_event(state.clone(calendar))))
    for rule in RULES if warm_starts is None else warm_starts:
        tries.append((rule, branch(state, calendar)))
    for name, continuation in tries:
        continuation.run_rule(FALLBACK_RULE if name == "plan" else name)  # the plan's open questions: lor
    return min(tries, key=lambda named: named[1].now)


def branch(state: BlockingState, calendar: Calendar, plan: Plan | None = None) -> BlockingState:
    """A copy of ``state`` on ``calendar`` that follows ``plan`` (None: no plan, every question asked) and stands at
    no event: ready for a rule or a policy to run it on."""
    copy = state.clone(calendar)
    copy.follow(plan)
    return _past_event(copy)


def _past_event(state: BlockingState) -> BlockingState:
    if state.at_event:
        state.advance()
    return state


def plan_key(finished: BlockingState) -> tuple[int, int]:
    """How finished continuations are ranked as plans: the makespan, then the sum of the jobs' ends (the slack
    a plan followed under shutdowns needs)."""
    return finished.now, int(finished.leave.max(axis=1).sum())


def _from_now(rows: npt.NDArray[np.int64], now: int) -> npt.NDArray[np.int64]:
    """Down intervals still to end after ``now``, in time counted from ``now``."""
    later = rows[rows[:, 1] > now] - now
    return np.column_stack([np.maximum(later[:, 0], 0), later[:, 1]]).astype(np.int64)


def _residual_times(
    residual: Residual, continuation: BlockingState
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Enters, leaves and processing starts of the residual operations in a finished continuation of the shop.

    Nothing stops the continuation after now but the repairs it waits for, so each residual operation is
    processed in one piece ending where the continuation's last segment of it ends.
    """
    shape = residual.instance.machines.shape
    ops = residual.first_op[:, None] + np.arange(shape[1])[None, :]
    valid = residual.instance.valid
    jobs = np.broadcast_to(residual.jobs[:, None], shape)
    now = residual.now
    enter = np.zeros(shape, dtype=np.int64)
    leave = np.zeros(shape, dtype=np.int64)
    enter[valid] = continuation.enter[jobs[valid], ops[valid]] - now
    leave[valid] = continuation.leave[jobs[valid], ops[valid]] - now
    enter[:, 0] = np.where(residual.entered, 0, enter[:, 0])
    ends = np.full(continuation.instance.machines.shape, -1, dtype=np.int64)
    segments = continuation.segments
    np.maximum.at(ends, (segments[:, 0], segments[:, 1]), segments[:, 3])
    durations = residual.instance.durations
    start = np.where(valid, ends[jobs, np.minimum(ops, continuation.instance.width - 1)] - now - durations, 0)
    start = np.where(durations > 0, start, enter)
    return enter, leave, np.maximum(start, enter)


def continuation_plan(state: BlockingState, continuation: BlockingState) -> Plan:
    """The plan that makes ``state`` do what its finished ``continuation`` (a clone of it run to the end) did:
    per machine, the jobs in the order they entered it there."""
    residual = residual_of(state)
    enter, leave, _ = _residual_times(residual, continuation)
    return _machine_orders(residual, enter, leave)


def _machine_orders(residual: Residual, enter: npt.NDArray[np.int64], leave: npt.NDArray[np.int64]) -> Plan:
    """Per machine, the shop's jobs in the order of their planned enters (ties: the shorter stay first), leaving
    out the operations the jobs are on now."""
    instance = residual.instance
    to_enter = instance.valid.copy()
    to_enter[:, 0] &= ~residual.entered
    jobs, ops = np.nonzero(to_enter)
    order = np.lexsort((residual.jobs[jobs], leave[jobs, ops], enter[jobs, ops], instance.machines[jobs, ops]))
    plan: Plan = [[] for _ in range(instance.num_machines)]
    for index in order.tolist():
        plan[int(instance.machines[jobs[index], ops[index]])].append(int(residual.jobs[jobs[index]]))
    return plan


def replan_schedule(
    instance: Instance,
    interruptions: Interruptions,
    calendar: Calendar | None = None,
    event_budget: float = 1.0,
    num_workers: int = 2,
    seed: int = 0,
    every_event: bool = True,
    time_limit: float | None = None,
    warm_starts: Sequence[str] | None = None,
    early_ends: bool = True,
) -> BlockingSchedule:
    """``reschedule`` (``every_event``: a plan at time 0 and after every shutdown and repair) or ``right-shift``
    (one plan at time 0, followed to the end), each plan searched by CP-SAT for ``event_budget`` seconds
    (:func:`plan_remaining`, with ``num_workers``, ``seed``, ``warm_starts`` and ``early_ends``).

    Raises:
        ValueError: for an instance of more than :data:`MAX_OPERATIONS` operations.
    """
    from ortools.sat.python import cp_model  # noqa: F401  (loaded before the first plan's clock starts)

    if instance.num_operations > MAX_OPERATIONS:
        raise ValueError(
            f"{instance.name} has {instance.num_operations} operations; re-planning takes at most {MAX_OPERATIONS}"
        )
    planner: Planner = functools.partial(
        plan_remaining, num_workers=num_workers, seed=seed, warm_starts=warm_starts, early_ends=early_ends
    )
    method = "reschedule" if every_event else "right-shift"
    return follow_plans(instance, interruptions, planner, method, calendar, event_budget, every_event, time_limit)


def follow_plans(
    instance: Instance,
    interruptions: Interruptions,
    planner: Planner,
    method: str,
    calendar: Calendar | None = None,
    event_budget: float = 1.0,
    every_event: bool = True,
    time_limit: float | None = None,
) -> BlockingSchedule:
    """The shop run on ``calendar`` (default: drawn from ``interruptions``) following ``planner``'s plans, one at
    time 0 and (``every_event``) one after every shutdown and repair, each given ``event_budget`` seconds; the
    schedule is named ``method``.

    Past ``time_limit`` seconds (None: no limit) no new plan is made: the last one is followed to the end, as
    right-shift does. The schedule's ``info`` records the plans made, the events left without one, the plans'
    seconds (each, mean, p99 and most), where the plans came from (the planner's ``info["chosen"]``: ``cpsat``, a
    rule's name, ``plan``, ...), how many plans were dropped and how many questions ``lor`` answered.
    """
    from jssp.blocking.rules import interruptions_record

    calendar = calendar if calendar is not None else interruptions.calendar(instance)
    downtime = expected_downtime(interruptions.resolved_downtime(instance))
    state = BlockingState(instance, calendar, mode=interruptions.mode, stop_at_events=True)
    seconds: list[float] = []
    chosen: Counter[str] = Counter()
    questions = unplanned = 0
    deadline = math.inf if time_limit is None else time.perf_counter() + time_limit
    while not state.done:
        if state.at_event:
            if not seconds or (every_event and time.perf_counter() < deadline):
                began = time.perf_counter()
                budget = event_budget if not seconds else min(event_budget, deadline - began)
                plan, info = planner(state, downtime, budget)
                chosen[str(info.get("chosen", "?"))] += 1
                state.follow(plan)
                seconds.append(time.perf_counter() - began)
            elif every_event:
                unplanned += 1
            state.advance()
        else:  # a question the plan leaves open
            state.step(int(state.ranked_candidates(FALLBACK_RULE)[0]))
            questions += 1
    schedule = state.schedule(method, interruptions_record(instance, interruptions))
    schedule.info.update(
        plans=len(seconds),
        plan_seconds=[round(value, 5) for value in seconds],
        events_without_plan=unplanned,
        plan_seconds_mean=float(np.mean(seconds)),
        plan_seconds_p99=float(np.percentile(seconds, 99)),
        plan_seconds_max=float(np.max(seconds)),
        plans_chosen=dict(sorted(chosen.items())),
        plans_dropped=state.plans_dropped,
        questions_answered_by_rule=questions,
    )
    return schedule
