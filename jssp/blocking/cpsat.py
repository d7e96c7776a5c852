"""CP-SAT for the deterministic blocking job shop with swaps (shutdown rate 0).

The model of the reference results (``instances/blocking_bounds.csv``): each operation occupies
its machine over an interval ``[enter, leave)`` at least as long as its duration (exactly as long
for a job's last operation, which releases the machine as it ends); a job enters its next
operation when it leaves the previous one; the intervals of one machine do not overlap. Touching
intervals are allowed, so a cycle of jobs can swap. Processing starts when the job enters.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from jssp.blocking.schedule import BlockingSchedule
from jssp.cpsat import CpSatError, run_solver
from jssp.instance import Instance

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

    Variables = list[list[cp_model.IntVar]]


def solve_blocking_cpsat(
    instance: Instance,
    time_limit: float = 10.0,
    num_workers: int = 2,
    seed: int = 0,
    hint: BlockingSchedule | None = None,
    log: bool = False,
) -> BlockingSchedule:
    """Minimise the makespan of the blocking job shop with swaps (no shutdowns) with CP-SAT.

    Args:
        instance: the instance to schedule.
        time_limit: wall-clock limit of the search in seconds.
        num_workers: CP-SAT search workers (threads).
        seed: CP-SAT random seed.
        hint: any schedule of the instance (from the simulator, at any shutdown rate: its occupation
            intervals are feasible here): a warm start whose makespan caps the horizon, returned
            if CP-SAT finds nothing better within the limit.
        log: print CP-SAT's search log.

    Returns:
        A schedule with ``method="cpsat"``, one processing segment per operation starting at its
        enter, CP-SAT's status (``"OPTIMAL"``, ``"FEASIBLE"``) and proven bound.

    Raises:
        CpSatError: if CP-SAT found no schedule and there is no hint to fall back on.
        ValueError: if ``hint`` schedules another instance.
    """
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    if hint is not None and hint.instance != instance:
        raise ValueError(f"hint schedules {hint.instance.name} ({hint.instance.shape}), not {instance.name}")
    # Running the jobs one after the other is always feasible: the total work bounds the optimum.
    horizon = int(instance.durations.sum()) if hint is None else min(int(instance.durations.sum()), hint.makespan)
    trivial_bound = instance.trivial_lower_bound()

    model = cp_model.CpModel()
    enters, leaves, occupations = _create_variables(model, instance, horizon)
    _add_route_constraints(model, instance, enters, leaves)
    _add_no_overlap_constraints(model, instance, occupations)
    makespan = _set_makespan_objective(model, leaves, trivial_bound, horizon)
    if hint is not None:
        _add_hint(model, enters, leaves, makespan, hint)

    run = run_solver(model, time_limit - (time.perf_counter() - started), num_workers, seed, log, trivial_bound)
    solver, status, lower_bound = run.solver, run.status, run.lower_bound
    if run.found:
        enter = np.full(instance.machines.shape, -1, dtype=np.int64)
        leave = np.full(instance.machines.shape, -1, dtype=np.int64)
        for job, (job_enters, job_leaves) in enumerate(zip(enters, leaves, strict=True)):
            enter[job, : len(job_enters)] = [solver.value(variable) for variable in job_enters]
            leave[job, : len(job_leaves)] = [solver.value(variable) for variable in job_leaves]
        jobs, ops = np.nonzero(instance.valid & (instance.durations > 0))
        starts = enter[jobs, ops]
        segments = np.column_stack([jobs, ops, starts, starts + instance.durations[jobs, ops]])
        status_name = solver.status_name(status)
    elif hint is not None:  # its occupations are feasible, and so its own (possibly interrupted) processing
        enter, leave, segments, status_name = hint.enter, hint.leave, hint.segments, "FEASIBLE"
    else:
        raise CpSatError(
            f"{instance.name}: CP-SAT returned {solver.status_name(status)} after {solver.wall_time:.2f}s "
            f"(time limit {time_limit}s, horizon {horizon})"
        )
    return BlockingSchedule(
        instance,
        enter,
        leave,
        segments,
        [np.zeros((0, 2), dtype=np.int64) for _ in range(instance.num_machines)],
        interruptions={"rate": 0.0, "downtime": None, "seed": None, "mode": "resume"},
        method="cpsat",
        seconds=time.perf_counter() - started,
        lower_bound=lower_bound,
        status=status_name,
    )


def _create_variables(
    model: cp_model.CpModel, instance: Instance, horizon: int, exact_last: bool = True
) -> tuple[Variables, Variables, list[list[cp_model.IntervalVar]]]:
    """Enter and leave times and the occupation interval ``[enter, leave)`` of every operation.

    An occupation lasts at least the duration, exactly the duration for the job's last operation
    unless ``exact_last`` is False (the clairvoyant model, where processing may wait for a machine
    to come back up). Domains come from the work before the operation in its job (head) and from it
    on (tail).
    """
    durations = instance.durations
    heads = np.cumsum(durations, axis=1) - durations
    tails = np.cumsum(durations[:, ::-1], axis=1)[:, ::-1]
    enters: Variables = []
    leaves: Variables = []
    occupations: list[list[cp_model.IntervalVar]] = []
    for job, length in enumerate(instance.lengths.tolist()):
        job_enters, job_leaves, job_occupations = [], [], []
        for op in range(length):
            duration = int(durations[job, op])
            latest_enter = horizon - int(tails[job, op])
            enter = model.new_int_var(int(heads[job, op]), latest_enter, f"enter_{job}_{op}")
            if op == length - 1 and exact_last:
                leave = model.new_int_var(int(heads[job, op]) + duration, horizon, f"leave_{job}_{op}")
                model.add(leave == enter + duration)
                size = model.new_constant(duration)
            elif op == length - 1:
                leave = model.new_int_var(int(heads[job, op]) + duration, horizon, f"leave_{job}_{op}")
                size = model.new_int_var(duration, horizon, f"occupation_{job}_{op}")
            else:
                # leave = enter of the next operation, whose own tail must fit before the horizon
                leave = model.new_int_var(int(heads[job, op]) + duration, latest_enter + duration, f"leave_{job}_{op}")
                size = model.new_int_var(duration, horizon, f"occupation_{job}_{op}")
            job_enters.append(enter)
            job_leaves.append(leave)
            job_occupations.append(model.new_interval_var(enter, size, leave, f"on_machine_{job}_{op}"))
        enters.append(job_enters)
        leaves.append(job_leaves)
        occupations.append(job_occupations)
    return enters, leaves, occupations


def _add_route_constraints(model: cp_model.CpModel, instance: Instance, enters: Variables, leaves: Variables) -> None:
    """A job enters its next operation's machine at the instant it leaves the previous one (no buffers)."""
    for job, length in enumerate(instance.lengths.tolist()):
        for op in range(1, length):
            model.add(enters[job][op] == leaves[job][op - 1])


def _add_no_overlap_constraints(
    model: cp_model.CpModel, instance: Instance, occupations: list[list[cp_model.IntervalVar]]
) -> None:
    """One operation at a time on each machine, blocked time included (zero-length occupations too:
    CP-SAT keeps them out of the inside of other intervals, as the validator does)."""
    jobs, ops = np.nonzero(instance.valid)
    machines = instance.machines[jobs, ops]
    for machine in range(instance.num_machines):
        selected = np.flatnonzero(machines == machine)
        model.add_no_overlap([occupations[jobs[index]][ops[index]] for index in selected.tolist()])


def _set_makespan_objective(
    model: cp_model.CpModel, leaves: Variables, lower_bound: int, horizon: int
) -> cp_model.IntVar:
    """Minimise the makespan, no smaller than every job's last leave."""
    makespan = model.new_int_var(lower_bound, max(lower_bound, horizon), "makespan")
    for job_leaves in leaves:
        model.add(makespan >= job_leaves[-1])
    model.minimize(makespan)
    return makespan


def _add_hint(
    model: cp_model.CpModel, enters: Variables, leaves: Variables, makespan: cp_model.IntVar, hint: BlockingSchedule
) -> None:
    """Warm start: every enter and leave of ``hint`` and its makespan, a complete feasible solution."""
    for job, (job_enters, job_leaves) in enumerate(zip(enters, leaves, strict=True)):
        for op, (enter, leave) in enumerate(zip(job_enters, job_leaves, strict=True)):
            model.add_hint(enter, int(hint.enter[job, op]))
            model.add_hint(leave, int(hint.leave[job, op]))
    model.add_hint(makespan, hint.makespan)
