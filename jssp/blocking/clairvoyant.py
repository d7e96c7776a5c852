"""A clairvoyant reference for the blocking job shop with shutdowns: CP-SAT that knows the calendar.

No online method can see when machines will stop; this model is given every down interval in
advance, and so bounds what foresight would buy. It is the blocking model of
:mod:`jssp.blocking.cpsat` (occupations ``[enter, leave)`` that do not overlap per machine, leave =
the next operation's enter) with the shutdowns added: each operation is processed in one piece
``[start, start + duration)`` inside its occupation that meets no down interval of its machine (it
never runs across a shutdown, so it is never interrupted), and a job moves only between up machines:
its enter time avoids the down intervals of the machine it enters and of the one it leaves (a last
operation's release excepted, as in the validator). Processing may start after the job entered,
so the model may hold a machine ahead of a shutdown: foresight an online rule does not have.

The search is warm-started from the best rule run in ``restart`` mode on the same calendar: an
operation that restarts after every interruption is recorded as its one uninterrupted attempt,
which is a solution of this model. That schedule's makespan caps the horizon, and it is returned
if CP-SAT finds nothing better in time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from jssp.blocking.calendar import Calendar, Interruptions
from jssp.blocking.cpsat import _add_no_overlap_constraints, _add_route_constraints, _create_variables
from jssp.blocking.rules import dispatch, interruptions_record
from jssp.blocking.schedule import BlockingSchedule
from jssp.blocking.simulator import JammedError
from jssp.cpsat import CpSatError, run_solver
from jssp.instance import Instance
from jssp.rules import RULES

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

    Variables = list[list[cp_model.IntVar]]


def restart_hint(instance: Instance, interruptions: Interruptions, calendar: Calendar) -> BlockingSchedule:
    """The shortest schedule of the deterministic rules in ``restart`` mode on ``calendar``: a feasible
    solution of the clairvoyant model (one uninterrupted segment per operation).

    Raises:
        JammedError: if every rule jams in restart mode (no operation finds an up period long enough).
    """
    restart = Interruptions(interruptions.rate, interruptions.downtime, interruptions.seed, mode="restart")
    schedules = []
    for rule in RULES:
        try:
            schedules.append(dispatch(instance, rule, restart, calendar=calendar))
        except JammedError:
            continue
    if not schedules:
        raise JammedError(f"{instance.name}: every rule jams in restart mode; no start for the clairvoyant model")
    return min(schedules, key=lambda schedule: schedule.makespan)


def solve_clairvoyant(
    instance: Instance,
    interruptions: Interruptions,
    time_limit: float = 30.0,
    num_workers: int = 2,
    seed: int = 0,
    calendar: Calendar | None = None,
    log: bool = False,
) -> BlockingSchedule:
    """Minimise the makespan knowing every shutdown in advance (see the module docstring).

    Args:
        instance: the instance to schedule.
        interruptions: the shutdown settings; the calendar is drawn from them (or given).
        time_limit: wall-clock limit, building the start and the model included.
        num_workers: CP-SAT search workers (threads).
        seed: CP-SAT random seed.
        calendar: the calendar to plan on (default: drawn from ``interruptions``).
        log: print CP-SAT's search log.

    Returns:
        A schedule with one processing segment per operation and every down interval of the calendar up
        to its makespan, CP-SAT's status (``"OPTIMAL"``, ``"FEASIBLE"``) and proven bound, the start's
        makespan in ``info["hint"]``.

    Raises:
        JammedError: if no rule gives a start (every rule jams in restart mode).
    """
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    calendar = calendar if calendar is not None else interruptions.calendar(instance)
    hint = restart_hint(instance, interruptions, calendar)
    horizon = hint.makespan
    downs = calendar.down_intervals(horizon)
    trivial_bound = instance.trivial_lower_bound()

    built = build_calendar_model(instance, downs, horizon)
    first = hint.processing_end - instance.durations  # start of the one segment (enter for zero durations)
    add_hint(built, hint.enter, hint.leave, first, hint.makespan)
    enters, leaves, starts = built.enters, built.leaves, built.starts

    run = run_solver(built.model, time_limit - (time.perf_counter() - started), num_workers, seed, log, trivial_bound)
    solver, status, lower_bound = run.solver, run.status, run.lower_bound

    record = interruptions_record(instance, interruptions)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and solver.objective_value <= hint.makespan:
        enter = np.full(instance.machines.shape, -1, dtype=np.int64)
        leave = np.full(instance.machines.shape, -1, dtype=np.int64)
        start = np.full(instance.machines.shape, -1, dtype=np.int64)
        for job, length in enumerate(instance.lengths.tolist()):
            enter[job, :length] = [solver.value(variable) for variable in enters[job]]
            leave[job, :length] = [solver.value(variable) for variable in leaves[job]]
            start[job, :length] = [solver.value(variable) for variable in starts[job]]
        jobs, ops = np.nonzero(instance.valid & (instance.durations > 0))
        segments = np.column_stack([jobs, ops, start[jobs, ops], start[jobs, ops] + instance.durations[jobs, ops]])
        end = int(leave[instance.valid].max())
        schedule = BlockingSchedule(
            instance, enter, leave, segments, calendar.down_intervals(end), interruptions=record,
            status=solver.status_name(status),
        )  # fmt: skip
    elif status in (cp_model.OPTIMAL, cp_model.FEASIBLE, cp_model.UNKNOWN):  # the start stands
        schedule = BlockingSchedule(
            instance, hint.enter, hint.leave, hint.segments, hint.down_intervals, interruptions=record,
            status="FEASIBLE",
        )  # fmt: skip
    else:
        raise CpSatError(f"{instance.name}: CP-SAT returned {solver.status_name(status)} for the clairvoyant model")
    schedule.method = "cpsat-clairvoyant"
    schedule.lower_bound = lower_bound
    schedule.seconds = time.perf_counter() - started
    schedule.info["hint"] = {"method": hint.method, "makespan": hint.makespan}
    return schedule


@dataclass
class CalendarModel:
    """A CP-SAT model of the blocking job shop on a known calendar and its variables (per job, per operation)."""

    model: cp_model.CpModel
    enters: Variables
    leaves: Variables
    starts: Variables
    """When each operation's one processing segment starts."""
    makespan: cp_model.IntVar


def build_calendar_model(
    instance: Instance,
    downs: list[npt.NDArray[np.int64]],
    horizon: int,
    entered: npt.NDArray[np.bool_] | None = None,
    early_ends: bool = False,
) -> CalendarModel:
    """The clairvoyant model (module docstring) with the down intervals ``downs`` (per machine, rows ``(start,
    end)``), makespan minimised, every time at most ``horizon``.

    Args:
        entered: per job, whether its first operation entered its machine already, at time 0 (the remaining
            work of a shop in progress, :mod:`jssp.blocking.replan`): that enter is fixed and needs no transfer.
        early_ends: minimise ``num_jobs * makespan + the sum of the jobs' ends`` instead of the makespan alone:
            among plans of one makespan, the one that finishes jobs early (a plan followed under shutdowns;
            with the makespan alone, everything off the critical path may be planned late).
    """
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    enters, leaves, occupations = _create_variables(model, instance, horizon, exact_last=False)
    _add_route_constraints(model, instance, enters, leaves)
    _add_no_overlap_constraints(model, instance, occupations)
    starts = _add_processing_constraints(model, instance, enters, leaves, downs, horizon)
    _add_transfer_constraints(model, instance, enters, downs, entered)
    if entered is not None:
        for job in np.flatnonzero(entered).tolist():
            model.add(enters[job][0] == 0)
    trivial_bound = instance.trivial_lower_bound()
    makespan = model.new_int_var(trivial_bound, max(trivial_bound, horizon), "makespan")
    for job_leaves in leaves:
        model.add(makespan >= job_leaves[-1])
    if early_ends:
        model.minimize(instance.num_jobs * makespan + sum(job_leaves[-1] for job_leaves in leaves))
    else:
        model.minimize(makespan)
    return CalendarModel(model, enters, leaves, starts, makespan)


def _add_processing_constraints(
    model: cp_model.CpModel,
    instance: Instance,
    enters: Variables,
    leaves: Variables,
    downs: list[npt.NDArray[np.int64]],
    horizon: int,
) -> Variables:
    """Each operation runs in one piece inside its occupation, meeting no down interval of its machine;
    a job's last operation leaves when its processing ends. Returns the processing starts."""
    starts: Variables = []
    processing: list[list[cp_model.IntervalVar]] = [[] for _ in range(instance.num_machines)]
    for job, length in enumerate(instance.lengths.tolist()):
        job_starts = []
        for op in range(length):
            duration = int(instance.durations[job, op])
            start = model.new_int_var(0, horizon, f"start_{job}_{op}")
            model.add(start >= enters[job][op])
            if op == length - 1:
                model.add(leaves[job][op] == start + duration)
            else:
                model.add(start + duration <= leaves[job][op])
            if duration > 0:
                interval = model.new_fixed_size_interval_var(start, duration, f"processing_{job}_{op}")
                processing[int(instance.machines[job, op])].append(interval)
            job_starts.append(start)
        starts.append(job_starts)
    for machine, intervals in enumerate(processing):
        model.add_no_overlap(intervals + _fixed_intervals(model, downs[machine], f"down_{machine}"))
    return starts


def _add_transfer_constraints(
    model: cp_model.CpModel,
    instance: Instance,
    enters: Variables,
    downs: list[npt.NDArray[np.int64]],
    entered: npt.NDArray[np.bool_] | None,
) -> None:
    """A job enters a machine, and leaves the previous one, only while both are up: the instant
    ``[enter, enter + 1)`` meets no down interval of either machine (their union, so one no-overlap). A first
    operation already ``entered`` has no transfer left."""
    for job, length in enumerate(instance.lengths.tolist()):
        for op in range(int(entered is not None and entered[job]), length):
            machines = {int(instance.machines[job, op])}
            if op > 0:
                machines.add(int(instance.machines[job, op - 1]))
            union = _union([downs[machine] for machine in machines])
            if len(union):
                instant = model.new_fixed_size_interval_var(enters[job][op], 1, f"transfer_{job}_{op}")
                model.add_no_overlap([instant, *_fixed_intervals(model, union, f"down_{job}_{op}")])


def _union(interval_lists: list[npt.NDArray[np.int64]]) -> npt.NDArray[np.int64]:
    """The union of several machines' down intervals as sorted, disjoint rows ``(start, end)``."""
    rows = np.concatenate(interval_lists) if interval_lists else np.zeros((0, 2), dtype=np.int64)
    if len(rows) < 2:
        return rows
    rows = rows[np.argsort(rows[:, 0], kind="stable")]
    merged = [rows[0].tolist()]
    for start, end in rows[1:].tolist():
        if start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return np.asarray(merged, dtype=np.int64)


def _fixed_intervals(model: cp_model.CpModel, rows: npt.NDArray[np.int64], name: str) -> list[cp_model.IntervalVar]:
    return [
        model.new_fixed_size_interval_var(int(start), int(end - start), f"{name}_{index}")
        for index, (start, end) in enumerate(rows.tolist())
    ]


def add_hint(
    built: CalendarModel,
    enter: npt.NDArray[np.int64],
    leave: npt.NDArray[np.int64],
    start: npt.NDArray[np.int64],
    makespan: int,
) -> None:
    """Warm start: a complete solution's enters, leaves, processing starts and makespan.

    Shapes:
        enter, leave, start: ``(num_jobs, width)``, as the instance's operations.
    """
    for job, job_enters in enumerate(built.enters):
        for op in range(len(job_enters)):
            built.model.add_hint(job_enters[op], int(enter[job, op]))
            built.model.add_hint(built.leaves[job][op], int(leave[job, op]))
            built.model.add_hint(built.starts[job][op], int(start[job, op]))
    built.model.add_hint(built.makespan, makespan)
