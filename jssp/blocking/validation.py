"""Feasibility check of a blocking schedule with shutdowns, written independently of every solver.

Nothing here imports the simulator, the rules or the CP-SAT model: every rule is recomputed from
the instance, the recorded times and the down intervals alone. The rules (``docs/blocking.md``):

1. every operation has ``0 <= enter <= leave``; its processing ``segments`` are non-empty, lie
   inside ``[enter, leave]``, do not overlap each other and add up to its duration (exactly one
   segment per operation in ``restart`` mode: an interrupted attempt is lost, not recorded);
2. segments avoid the down intervals of their machine;
3. a job moves on at once: the enter of operation k + 1 equals the leave of operation k, and its
   last operation leaves when its processing ends (at enter for a zero-duration one);
4. transfers happen between up machines: nothing enters a machine that is down, and a job does
   not leave a machine that is down (its last operation excepted, which releases the machine as
   it ends);
5. on each machine the occupations ``[enter, leave)`` of different operations do not overlap
   (touching is allowed: a swap is a cycle of touches); a zero-length occupation does not fall
   strictly inside another;
6. the makespan is the latest leave; the down intervals are sorted and disjoint (and, when the
   calendar is given, equal to it up to the makespan).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from jssp.instance import Instance


class InfeasibleBlockingScheduleError(ValueError):
    """A blocking schedule that breaks one of the rules of :mod:`jssp.blocking.validation`."""


IntervalLists = Sequence[npt.ArrayLike]


def _as_intervals(rows: npt.ArrayLike) -> npt.NDArray[np.int64]:
    return np.asarray(rows, dtype=np.int64).reshape(-1, 2)


def _down_at(intervals: npt.NDArray[np.int64], times: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Whether each time falls inside one of the (sorted, disjoint) intervals ``[start, end)``."""
    index = np.searchsorted(intervals[:, 1], times, side="right")  # first interval ending after the time
    inside = index < len(intervals)
    inside[inside] = intervals[index[inside], 0] <= times[inside]
    return inside


def _meets_down(
    intervals: npt.NDArray[np.int64], starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Whether each ``[start, end)`` shares time with one of the (sorted, disjoint) intervals."""
    index = np.searchsorted(intervals[:, 1], starts, side="right")
    meets = index < len(intervals)
    meets[meets] = intervals[index[meets], 0] < ends[meets]
    return meets


def find_violations(
    instance: Instance,
    enter: npt.ArrayLike,
    leave: npt.ArrayLike,
    segments: npt.ArrayLike,
    down_intervals: IntervalLists,
    mode: str = "resume",
    makespan: int | None = None,
    expected_down_intervals: IntervalLists | None = None,
    max_reported: int = 10,
) -> list[str]:
    """List the rules the schedule breaks (empty list = feasible).

    Args:
        instance: the instance the schedule claims to solve.
        enter, leave: when each operation entered and left its machine.
        segments: processing segments, one row ``(job, op, start, end)`` each, in any order.
        down_intervals: per machine, the down intervals ``[start, end)`` that start up to the makespan.
        mode: ``"resume"`` or ``"restart"`` (restart allows one segment per operation).
        makespan: if given, must equal the latest leave.
        expected_down_intervals: if given (the calendar the method was run on), the down intervals
            that start up to the makespan must be exactly these.
        max_reported: stop after this many violations.

    Shapes:
        enter, leave: ``(num_jobs, width)``; padding cells are ignored.
        segments: ``(num_segments, 4)``.
    """
    violations: list[str] = []
    shape = instance.machines.shape
    enter_array, leave_array = np.asarray(enter), np.asarray(leave)
    segment_array = np.asarray(segments).reshape(-1, 4) if np.size(segments) else np.zeros((0, 4), dtype=np.int64)
    for name, array in (("enter", enter_array), ("leave", leave_array), ("segments", segment_array)):
        if name != "segments" and array.shape != shape:
            return [f"{name} has shape {array.shape}, expected {shape}"]
        if array.size and not np.issubdtype(array.dtype, np.integer):
            return [f"{name} must hold integers"]
    if len(down_intervals) != instance.num_machines:
        return [f"down_intervals has {len(down_intervals)} machines, expected {instance.num_machines}"]
    valid = instance.valid
    lengths = instance.lengths
    durations = instance.durations
    enter_array = np.where(valid, enter_array, 0).astype(np.int64)
    leave_array = np.where(valid, leave_array, 0).astype(np.int64)
    segment_array = segment_array.astype(np.int64)
    downs = [_as_intervals(rows) for rows in down_intervals]

    # Rule 6 (calendar): sorted, disjoint, non-empty intervals.
    for machine, rows in enumerate(downs):
        if len(rows) and (rows[0, 0] < 0 or (rows[:, 1] <= rows[:, 0]).any() or (rows[1:, 0] < rows[:-1, 1]).any()):
            violations.append(f"machine {machine}: down intervals are not sorted, disjoint and non-empty")
    if violations:
        return violations[:max_reported]

    # Rule 1: times and segments.
    for job, op in np.argwhere(valid & ((enter_array < 0) | (leave_array < enter_array)))[:max_reported]:
        violations.append(
            f"job {job} operation {op}: enter {enter_array[job, op]} and leave {leave_array[job, op]} "
            "must satisfy 0 <= enter <= leave"
        )
    seg_jobs, seg_ops, seg_starts, seg_ends = segment_array.T
    known = (seg_jobs >= 0) & (seg_jobs < instance.num_jobs) & (seg_ops >= 0)
    known[known] = seg_ops[known] < lengths[seg_jobs[known]]
    for row in segment_array[~known][:max_reported]:
        violations.append(f"segment {row.tolist()} names no operation of the instance")
    if violations:
        return violations[:max_reported]
    for row in segment_array[seg_starts >= seg_ends][:max_reported]:
        violations.append(f"job {row[0]} operation {row[1]}: segment [{row[2]}, {row[3]}] is empty or reversed")
    outside = (seg_starts < enter_array[seg_jobs, seg_ops]) | (seg_ends > leave_array[seg_jobs, seg_ops])
    for row in segment_array[outside][:max_reported]:
        job, op = row[0], row[1]
        violations.append(
            f"job {job} operation {op}: segment [{row[2]}, {row[3]}] lies outside "
            f"[enter {enter_array[job, op]}, leave {leave_array[job, op]}]"
        )
    order = np.lexsort((seg_starts, seg_ops, seg_jobs))
    ordered = segment_array[order]
    same_op = (ordered[1:, 0] == ordered[:-1, 0]) & (ordered[1:, 1] == ordered[:-1, 1])
    for index in np.flatnonzero(same_op & (ordered[1:, 2] < ordered[:-1, 3]))[:max_reported]:
        first, second = ordered[index], ordered[index + 1]
        violations.append(
            f"job {first[0]} operation {first[1]}: segments [{first[2]}, {first[3]}] and "
            f"[{second[2]}, {second[3]}] overlap"
        )
    width = instance.width
    node = seg_jobs * width + seg_ops
    processed = np.bincount(node, weights=seg_ends - seg_starts, minlength=instance.num_jobs * width)
    processed = processed.astype(np.int64).reshape(shape)
    for job, op in np.argwhere(valid & (processed != durations))[:max_reported]:
        violations.append(
            f"job {job} operation {op}: segments add up to {processed[job, op]}, its duration is {durations[job, op]}"
        )
    if mode == "restart":
        counts = np.bincount(node, minlength=instance.num_jobs * width).reshape(shape)
        for job, op in np.argwhere(valid & (durations > 0) & (counts != 1))[:max_reported]:
            violations.append(f"job {job} operation {op}: {counts[job, op]} segments; restart mode records one")

    # Rule 2: segments avoid the down intervals of their machine.
    seg_machines = instance.machines[seg_jobs, seg_ops]
    for machine in np.unique(seg_machines).tolist():
        if not len(downs[machine]):
            continue
        selected = np.flatnonzero(seg_machines == machine)
        hit = _meets_down(downs[machine], seg_starts[selected], seg_ends[selected])
        for row in segment_array[selected[hit]][:max_reported]:
            violations.append(
                f"job {row[0]} operation {row[1]}: segment [{row[2]}, {row[3]}] runs while machine {machine} is down"
            )

    # Rule 3: no time between two operations of a job; the last one leaves when its processing ends.
    gap = valid[:, 1:] & (enter_array[:, 1:] != leave_array[:, :-1])
    for job, op in np.argwhere(gap)[:max_reported]:
        violations.append(
            f"job {job} operation {op + 1} enters at {enter_array[job, op + 1]} but operation {op} "
            f"leaves at {leave_array[job, op]}"
        )
    jobs = np.arange(instance.num_jobs)
    last = lengths - 1
    processing_end = enter_array[jobs, last].copy()  # a zero-duration last operation ends as it enters
    last_node = jobs * width + last
    has_segments = np.isin(node, last_node)
    np.maximum.at(processing_end, seg_jobs[has_segments], seg_ends[has_segments])
    for job in np.flatnonzero(leave_array[jobs, last] != processing_end)[:max_reported]:
        violations.append(
            f"job {job} leaves its last operation at {leave_array[job, last[job]]}, "
            f"its processing ends at {processing_end[job]}"
        )

    # Rule 4: transfers between up machines.
    op_jobs, op_ops = np.nonzero(valid)
    op_machines = instance.machines[op_jobs, op_ops]
    for machine in range(instance.num_machines):
        if not len(downs[machine]):
            continue
        entering = op_machines == machine
        inside = _down_at(downs[machine], enter_array[op_jobs[entering], op_ops[entering]])
        for job, op in zip(op_jobs[entering][inside][:max_reported], op_ops[entering][inside], strict=False):
            violations.append(
                f"job {job} operation {op} enters machine {machine} at {enter_array[job, op]} while it is down"
            )
        leaving = entering & (op_ops < lengths[op_jobs] - 1)
        inside = _down_at(downs[machine], leave_array[op_jobs[leaving], op_ops[leaving]])
        for job, op in zip(op_jobs[leaving][inside][:max_reported], op_ops[leaving][inside], strict=False):
            violations.append(
                f"job {job} operation {op} leaves machine {machine} at {leave_array[job, op]} while it is down"
            )

    # Rule 5: one operation at a time on each machine. Sorted by (machine, enter, leave), an occupation
    # must not begin before the latest leave among the earlier ones of its machine.
    starts, ends = enter_array[op_jobs, op_ops], leave_array[op_jobs, op_ops]
    order = np.lexsort((ends, starts, op_machines))
    bounds = np.searchsorted(op_machines[order], np.arange(instance.num_machines + 1))
    for machine in range(instance.num_machines):
        selected = order[bounds[machine] : bounds[machine + 1]]
        if len(selected) < 2:
            continue
        latest = np.maximum.accumulate(ends[selected])[:-1]
        clash = np.flatnonzero(starts[selected[1:]] < latest)
        for index in clash[:max_reported]:
            later = selected[index + 1]
            earlier = selected[: index + 1][np.argmax(ends[selected[: index + 1]])]
            violations.append(
                f"machine {machine}: job {op_jobs[later]} operation {op_ops[later]} "
                f"[{starts[later]}, {ends[later]}) overlaps job {op_jobs[earlier]} operation {op_ops[earlier]} "
                f"[{starts[earlier]}, {ends[earlier]})"
            )

    # Rule 6: makespan and calendar.
    latest_leave = int(ends.max())
    if makespan is not None and makespan != latest_leave:
        violations.append(f"claimed makespan {makespan} differs from the latest leave {latest_leave}")
    if expected_down_intervals is not None:
        if len(expected_down_intervals) != instance.num_machines:
            violations.append(f"the calendar has {len(expected_down_intervals)} machines, not {instance.num_machines}")
        else:
            for machine, (rows, expected) in enumerate(zip(downs, expected_down_intervals, strict=True)):
                expected_rows = _as_intervals(expected)
                if not np.array_equal(
                    rows[rows[:, 0] <= latest_leave], expected_rows[expected_rows[:, 0] <= latest_leave]
                ):
                    violations.append(f"machine {machine}: down intervals differ from the calendar's")
    return violations[:max_reported]


def find_document_violations(
    instance: Instance, document: dict[str, Any], expected_down_intervals: IntervalLists | None = None
) -> list[str]:
    """:func:`find_violations` of a ``jssp-isbjssp-schedule/1`` JSON object (as read by ``json.load``)."""
    if document.get("format") != "jssp-isbjssp-schedule/1":
        return [f"not a jssp-isbjssp-schedule/1 document (format={document.get('format')!r})"]
    enter = np.full(instance.machines.shape, -1, dtype=np.int64)
    leave = np.full(instance.machines.shape, -1, dtype=np.int64)
    seen = np.zeros(instance.machines.shape, dtype=bool)
    segments: list[tuple[int, int, int, int]] = []
    try:
        for record in document["operations"]:
            job, op = int(record["job"]), int(record["op"])
            if not (0 <= job < instance.num_jobs and 0 <= op < instance.lengths[job]):
                return [f"operation record names job {job} operation {op}, not in the instance"]
            if seen[job, op]:
                return [f"job {job} operation {op} is listed twice"]
            if int(record["machine"]) != instance.machines[job, op]:
                return [f"job {job} operation {op} is on machine {record['machine']}, not {instance.machines[job, op]}"]
            seen[job, op] = True
            enter[job, op], leave[job, op] = int(record["enter"]), int(record["leave"])
            segments.extend((job, op, int(start), int(end)) for start, end in record["segments"])
        down_intervals = [_as_intervals(rows) for rows in document["down_intervals"]]
        makespan = int(document["makespan"])
        mode = str(document["interruptions"]["mode"])
    except (KeyError, TypeError, ValueError) as error:
        return [f"malformed document: {error!r}"]
    missing = np.argwhere(instance.valid & ~seen)
    if len(missing):
        return [f"job {missing[0][0]} operation {missing[0][1]} is missing ({len(missing)} operations in all)"]
    return find_violations(
        instance, enter, leave, np.array(segments, dtype=np.int64).reshape(-1, 4), down_intervals, mode=mode,
        makespan=makespan, expected_down_intervals=expected_down_intervals,
    )  # fmt: skip


def check_blocking_schedule(
    instance: Instance,
    enter: npt.ArrayLike,
    leave: npt.ArrayLike,
    segments: npt.ArrayLike,
    down_intervals: IntervalLists,
    mode: str = "resume",
    makespan: int | None = None,
    expected_down_intervals: IntervalLists | None = None,
) -> None:
    """Raise :class:`InfeasibleBlockingScheduleError` naming the first violations, if any."""
    violations = find_violations(
        instance, enter, leave, segments, down_intervals, mode, makespan, expected_down_intervals
    )
    if violations:
        more = "" if len(violations) == 1 else f" (+{len(violations) - 1} more: {'; '.join(violations[1:3])})"
        raise InfeasibleBlockingScheduleError(f"{instance.name}: {violations[0]}{more}")
