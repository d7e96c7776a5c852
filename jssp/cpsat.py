"""OR-Tools CP-SAT baseline: the disjunctive job-shop model solved to optimality or a time limit.

The model is the textbook one (one interval per operation, a no-overlap constraint per machine,
precedence along each job's route, minimise the latest job end), built in small named steps so
each constraint family can be read on its own. Routes may be general: a job has as many
intervals as operations, and a job that visits a machine twice has two intervals in its
no-overlap constraint.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from jssp.instance import Instance
from jssp.schedule import Schedule
from jssp.validation import find_violations

if TYPE_CHECKING:  # OR-Tools (and the pandas it imports) loads in solve_cpsat, so CpSatError is cheap to import
    from ortools.sat.python import cp_model

    StartVariables = list[list[cp_model.IntVar]]


class CpSatError(RuntimeError):
    """CP-SAT found no solution within the limit (or the model is invalid)."""


class _OutOfTimeError(Exception):
    """Building the model used up the time limit."""


# CP-SAT's workers finish their current step after the time limit, which takes longer the larger the
# model: CP-SAT gets this much less time per operation.
_STOP_SECONDS_PER_OPERATION = 1e-5


def solve_cpsat(
    instance: Instance,
    time_limit: float = 10.0,
    num_workers: int = 2,
    seed: int = 0,
    hint: Schedule | None = None,
    upper_bound: int | None = None,
    log: bool = False,
) -> Schedule:
    """Minimise the makespan of ``instance`` with CP-SAT.

    With ``num_workers=1`` the search is deterministic for a given ``seed``: the same instance
    gives the same schedule whenever the search ends before ``time_limit`` (it proves optimality).
    When the limit cuts the search, where it stops depends on machine speed and load; with
    several workers the portfolio races threads, so only the makespan of a proven optimum is
    reproducible.

    Args:
        instance: the instance to schedule.
        time_limit: wall-clock limit of the whole call in seconds: building the model counts, CP-SAT
            searches for what is left.
        num_workers: CP-SAT search workers (threads).
        seed: CP-SAT random seed.
        hint: a schedule of the same instance used as a warm start. When it is feasible, its
            makespan caps the horizon, so any CP-SAT solution is at least as good, and it is
            returned (status ``"FEASIBLE"``) if CP-SAT finds nothing within the limit.
        upper_bound: a makespan no worse than which a schedule is wanted; it caps the horizon,
            so a bound below the optimum makes the model infeasible.
        log: print CP-SAT's search log.

    Returns:
        A schedule with ``method="cpsat"``, the wall time of the whole call in ``seconds``,
        CP-SAT's proven bound (at least the trivial bound) in ``lower_bound``, ``status``
        ``"OPTIMAL"`` or ``"FEASIBLE"``, and the time spent building the model in
        ``info["model_seconds"]``.

    Raises:
        CpSatError: if CP-SAT found no schedule and there is no feasible hint to fall back on
            (building the model of a large instance may use up the limit), or it proved that no
            schedule fits within ``upper_bound``.
        ValueError: if ``hint`` schedules another instance.
    """
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    if hint is not None and hint.instance != instance:
        raise ValueError(f"hint schedules {hint.instance.name} ({hint.instance.shape}), not {instance.name}")
    feasible_hint = hint if hint is not None and not find_violations(instance, hint.start_times) else None

    horizon = int(instance.durations.sum())
    if upper_bound is not None:
        horizon = min(horizon, upper_bound)
    if feasible_hint is not None:
        horizon = min(horizon, feasible_hint.makespan)
    trivial_bound = instance.trivial_lower_bound()
    if horizon < trivial_bound:
        raise CpSatError(
            f"{instance.name}: upper bound {horizon} is below the trivial lower bound {trivial_bound}; no schedule fits"
        )

    model = cp_model.CpModel()
    try:
        deadline = started + time_limit
        starts, intervals = _create_variables(model, instance, horizon, deadline)
        _add_precedence_constraints(model, instance, starts, deadline)
        _add_no_overlap_constraints(model, instance, intervals)
        makespan = _set_makespan_objective(model, instance, starts, trivial_bound, horizon)
        if hint is not None:
            _add_hint(model, starts, makespan, hint)
    except _OutOfTimeError:
        if feasible_hint is None:
            raise CpSatError(
                f"{instance.name}: building the CP-SAT model of {instance.num_operations} operations took longer "
                f"than the time limit {time_limit}s"
            ) from None
        return _hint_schedule(feasible_hint, started, trivial_bound)

    model_seconds = time.perf_counter() - started
    stop_seconds = min(_STOP_SECONDS_PER_OPERATION * instance.num_operations, max(0.0, time_limit - model_seconds) / 2)
    run = run_solver(model, time_limit - model_seconds - stop_seconds, num_workers, seed, log, trivial_bound)
    solver, status, lower_bound = run.solver, run.status, run.lower_bound
    if run.found:
        start_times = np.full(instance.machines.shape, -1, dtype=np.int64)
        for job, job_starts in enumerate(starts):
            start_times[job, : len(job_starts)] = [solver.value(start) for start in job_starts]
        status_name = solver.status_name(status)
    elif status == cp_model.UNKNOWN and feasible_hint is not None:
        start_times, status_name = feasible_hint.start_times.copy(), "FEASIBLE"
    else:
        raise CpSatError(
            f"{instance.name}: CP-SAT returned {solver.status_name(status)} after {solver.wall_time:.2f}s "
            f"(time limit {time_limit}s, model built in {model_seconds:.2f}s, horizon {horizon})"
        )
    return Schedule(
        instance,
        start_times,
        method="cpsat",
        seconds=time.perf_counter() - started,
        lower_bound=lower_bound,
        status=status_name,
        info={"model_seconds": round(model_seconds, 3)},
    )


@dataclass(frozen=True)
class SolverRun:
    """What one CP-SAT solve of a makespan model returned (:func:`run_solver`)."""

    solver: cp_model.CpSolver
    """The solver, to read the values of the model's variables from."""
    status: cp_model.CpSolverStatus
    """CP-SAT's status (``cp_model.OPTIMAL``, ``FEASIBLE``, ``UNKNOWN``, ...)."""
    lower_bound: int
    """CP-SAT's proven bound on the objective, rounded up, and at least the trivial bound it was given."""

    @property
    def found(self) -> bool:
        """Whether CP-SAT found a solution (optimal or not)."""
        from ortools.sat.python import cp_model

        return self.status in (cp_model.OPTIMAL, cp_model.FEASIBLE)


def run_solver(
    model: cp_model.CpModel, seconds: float, num_workers: int, seed: int, log: bool, trivial_bound: int
) -> SolverRun:
    """Solve ``model`` (a makespan to minimise) for at most ``seconds`` with the given threads and seed: the one
    place every CP-SAT model of the package (classical, blocking, clairvoyant) is run."""
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.0, seconds)
    solver.parameters.num_workers = num_workers
    solver.parameters.random_seed = seed
    solver.parameters.log_search_progress = log
    status = solver.solve(model)
    bound = solver.best_objective_bound
    lower_bound = max(trivial_bound, math.ceil(bound)) if math.isfinite(bound) else trivial_bound
    return SolverRun(solver, status, lower_bound)


def _hint_schedule(hint: Schedule, started: float, lower_bound: int) -> Schedule:
    """The feasible hint as CP-SAT's answer, when the time ran out before CP-SAT could search."""
    return Schedule(
        hint.instance,
        hint.start_times.copy(),
        method="cpsat",
        seconds=time.perf_counter() - started,
        lower_bound=lower_bound,
        status="FEASIBLE",
        info={"model_seconds": None},
    )


def _check_time(deadline: float, job: int) -> None:
    """Raise :class:`_OutOfTimeError` past ``deadline``; looks at the clock every 64 jobs (from job 64 on)."""
    if job and job % 64 == 0 and time.perf_counter() > deadline:
        raise _OutOfTimeError


def _create_variables(
    model: cp_model.CpModel, instance: Instance, horizon: int, deadline: float
) -> tuple[StartVariables, list[list[cp_model.IntervalVar]]]:
    """One start variable and one fixed-size interval per operation.

    A start domain is ``[head, horizon - tail]``: the work before the operation in its job must
    fit before it, the work from it on must fit before the horizon.

    Shapes:
        both returned lists hold one list per job, as long as its route and indexed like
        ``instance.durations``.
    """
    durations = instance.durations  # padding holds 0, so the sums below cover each route alone
    heads = np.cumsum(durations, axis=1) - durations
    tails = np.cumsum(durations[:, ::-1], axis=1)[:, ::-1]
    starts: StartVariables = []
    intervals: list[list[cp_model.IntervalVar]] = []
    for job, length in enumerate(instance.lengths.tolist()):
        _check_time(deadline, job)
        job_starts, job_intervals = [], []
        for op in range(length):
            duration = int(durations[job, op])
            start = model.new_int_var(int(heads[job, op]), horizon - int(tails[job, op]), f"start_{job}_{op}")
            job_starts.append(start)
            job_intervals.append(model.new_fixed_size_interval_var(start, duration, f"op_{job}_{op}"))
        starts.append(job_starts)
        intervals.append(job_intervals)
    return starts, intervals


def _add_precedence_constraints(
    model: cp_model.CpModel, instance: Instance, starts: StartVariables, deadline: float
) -> None:
    """Each operation starts once the previous operation of its job has ended."""
    for job, length in enumerate(instance.lengths.tolist()):
        _check_time(deadline, job)
        for op in range(1, length):
            model.add(starts[job][op] >= starts[job][op - 1] + int(instance.durations[job, op - 1]))


def _add_no_overlap_constraints(
    model: cp_model.CpModel, instance: Instance, intervals: list[list[cp_model.IntervalVar]]
) -> None:
    """No two operations with positive duration run on the same machine at once (two visits of
    one job to a machine are two intervals there).

    Zero-duration operations are left out: CP-SAT would forbid one strictly inside another
    operation's interval, but they use no machine time, as in :mod:`jssp.validation`.
    """
    jobs, ops = np.nonzero(instance.valid & (instance.durations > 0))  # in (job, op) order
    machines = instance.machines[jobs, ops]
    grouped = np.argsort(machines, kind="stable")
    bounds = np.searchsorted(machines[grouped], np.arange(instance.num_machines + 1))
    for machine in range(instance.num_machines):
        selected = grouped[bounds[machine] : bounds[machine + 1]]
        model.add_no_overlap(
            [intervals[job][op] for job, op in zip(jobs[selected].tolist(), ops[selected].tolist(), strict=True)]
        )


def _set_makespan_objective(
    model: cp_model.CpModel, instance: Instance, starts: StartVariables, lower_bound: int, horizon: int
) -> cp_model.IntVar:
    """Minimise the makespan, a variable no smaller than every job's completion time."""
    makespan = model.new_int_var(lower_bound, horizon, "makespan")
    for job, job_starts in enumerate(starts):
        last = len(job_starts) - 1
        model.add(makespan >= job_starts[last] + int(instance.durations[job, last]))
    model.minimize(makespan)
    return makespan


def _add_hint(model: cp_model.CpModel, starts: StartVariables, makespan: cp_model.IntVar, hint: Schedule) -> None:
    """Warm start: hint every start time and the makespan, a complete solution when ``hint`` is feasible."""
    hint_starts: npt.NDArray[np.int64] = hint.start_times
    for job, job_starts in enumerate(starts):
        for op, start in enumerate(job_starts):
            model.add_hint(start, int(hint_starts[job, op]))
    model.add_hint(makespan, hint.makespan)
