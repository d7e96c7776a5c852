"""Feasibility check of a schedule, written independently of every solver.

Nothing here imports the environment, the rules, CP-SAT or local search: the validator
recomputes every constraint from the instance and the start times alone, so a bug in a
solver cannot hide behind a shared helper.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from jssp.instance import Instance


class InfeasibleScheduleError(ValueError):
    """A schedule that breaks precedence, machine capacity or the claimed makespan."""


def find_violations(
    instance: Instance,
    start_times: npt.ArrayLike,
    makespan: int | None = None,
    max_reported: int = 10,
) -> list[str]:
    """List the constraints that ``start_times`` breaks (empty list = feasible).

    Args:
        instance: the instance the schedule claims to solve.
        start_times: start of job j's k-th operation at ``[j][k]``.
        makespan: if given, must equal the latest completion time.
        max_reported: stop after this many violations.

    Shapes:
        start_times: ``(num_jobs, width)``, integers >= 0; padding cells (after a job's last
        operation) are ignored.

    Zero-duration operations occupy no machine time, so they never conflict on a machine
    (``jssp.cpsat`` leaves them out of its no-overlap constraints for the same reason); they
    still respect job precedence.
    """
    starts = np.asarray(start_times)
    expected_shape = instance.machines.shape
    if starts.shape != expected_shape:
        return [f"start_times has shape {starts.shape}, expected {expected_shape}"]
    if not np.issubdtype(starts.dtype, np.integer):
        if not np.issubdtype(starts.dtype, np.floating) or not np.all(np.isfinite(starts)):
            return ["start_times must be finite integers"]
        valid_starts = starts[instance.valid]
        if not np.array_equal(valid_starts, np.round(valid_starts)):
            return ["start_times must be integers"]
    valid = instance.valid
    starts = np.where(valid, starts, 0).astype(np.int64)
    durations = instance.durations
    ends = starts + durations
    violations: list[str] = []

    for job, op in np.argwhere((starts < 0) & valid)[:max_reported]:
        violations.append(f"job {job} operation {op} starts at negative time {starts[job, op]}")

    # Precedence inside each job: operation k+1 (when it exists) starts after operation k ends.
    late = (starts[:, 1:] < ends[:, :-1]) & valid[:, 1:]
    for job, op in np.argwhere(late)[:max_reported]:
        violations.append(
            f"job {job} operation {op + 1} starts at {starts[job, op + 1]} "
            f"before operation {op} ends at {ends[job, op]}"
        )

    # Capacity: on each machine, operations with positive duration must not overlap. One sort of all
    # operations by (machine, start, end) puts each machine's operations side by side.
    jobs, ops = np.nonzero(valid & (durations > 0))
    machines = instance.machines[jobs, ops]
    order = np.lexsort((ends[jobs, ops], starts[jobs, ops], machines))
    jobs, ops, machines = jobs[order], ops[order], machines[order]
    overlap = (machines[1:] == machines[:-1]) & (starts[jobs[1:], ops[1:]] < ends[jobs[:-1], ops[:-1]])
    for index in np.flatnonzero(overlap)[:max_reported]:
        first = (jobs[index], ops[index])
        second = (jobs[index + 1], ops[index + 1])
        violations.append(
            f"machine {machines[index]}: job {first[0]} operation {first[1]} "
            f"[{starts[first]}, {ends[first]}) overlaps job {second[0]} operation {second[1]} "
            f"[{starts[second]}, {ends[second]})"
        )

    latest = int(ends[valid].max())
    if makespan is not None and makespan != latest:
        violations.append(f"claimed makespan {makespan} differs from the latest completion {latest}")
    return violations[:max_reported]


def check_schedule(instance: Instance, start_times: npt.ArrayLike, makespan: int | None = None) -> None:
    """Raise :class:`InfeasibleScheduleError` naming the first violations, if any."""
    violations = find_violations(instance, start_times, makespan)
    if violations:
        more = "" if len(violations) == 1 else f" (+{len(violations) - 1} more: {'; '.join(violations[1:3])})"
        raise InfeasibleScheduleError(f"{instance.name}: {violations[0]}{more}")
