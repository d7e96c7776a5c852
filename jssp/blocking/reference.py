"""The plain-Python twin of the compiled simulator: the reference its tests hold it to.

Written from the rules in :mod:`jssp.blocking.simulator`'s docstring, not from the kernel: plain
lists, one job at a time, the calendar read through :meth:`Calendar.is_down` and its interval
lists (no horizon bookkeeping). Slow and only for tests; it must make the same decisions and the
same schedule as :class:`~jssp.blocking.simulator.BlockingState`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from jssp.blocking.calendar import Calendar
from jssp.instance import Instance


def rule_score(rule: str, duration: int, ops_left: int, work_left: int, total: int, ready: int) -> tuple[float, int]:
    """A candidate's (score, tie-break) under a rule of :data:`jssp.rules.RULES`; the lowest pair wins."""
    scores = {
        "spt": duration,
        "lpt": -duration,
        "mwkr": -work_left,
        "lwkr": work_left,
        "mor": -ops_left,
        "lor": ops_left,
        "mopnr": -ops_left,
        "fifo": ready,
        "fdd-mwkr": (total - work_left + duration) / max(work_left, 1),
    }
    return float(scores[rule]), (-work_left if rule == "mopnr" else 0)


@dataclass
class ReferenceResult:
    """What the reference simulation recorded.

    Shapes:
        enter, leave: ``(num_jobs, width)``; segments: ``(num_segments, 4)`` sorted by job, op, start.
    """

    enter: npt.NDArray[np.int64]
    leave: npt.NDArray[np.int64]
    segments: npt.NDArray[np.int64]
    decisions: list[tuple[int, list[int], int]] = field(default_factory=list)
    """(time, candidates, chosen job) of every question."""


@dataclass
class ReferenceView:
    """What a policy of the reference sees at a question."""

    now: int
    next_op: list[int]
    work_left: list[int]
    ready: list[int]
    down: list[bool]


ReferencePolicy = Callable[[ReferenceView, list[int]], int]


def simulate_reference(
    instance: Instance,
    calendar: Calendar,
    policy: ReferencePolicy | str,
    mode: str = "resume",
    swaps: bool = True,
    plan: Sequence[Sequence[int]] | None = None,
) -> ReferenceResult:
    """Simulate one episode step by step (see :mod:`jssp.blocking.simulator` for the rules).

    Args:
        policy: a rule name of :data:`jssp.rules.RULES`, or a function of (view, candidate jobs in
            increasing order) returning the chosen job.
        plan: per machine, the jobs in the order they may enter it (a machine whose list is used up is free).

    Raises:
        RuntimeError: if jobs remain and no event is pending.
    """
    num_jobs, num_machines = instance.num_jobs, instance.num_machines
    routes = [instance.route(job) for job in range(num_jobs)]
    totals = [sum(duration for _, duration in route) for route in routes]
    next_op = [0] * num_jobs
    held = [-1] * num_jobs
    remaining = [0] * num_jobs
    running_since = [-1] * num_jobs  # start of the running segment, -1 when not processing
    ready = [0] * num_jobs
    work_left = list(totals)
    holder = [-1] * num_machines
    down = [False] * num_machines
    enter = np.full(instance.machines.shape, -1, dtype=np.int64)
    leave = np.full(instance.machines.shape, -1, dtype=np.int64)
    segments: list[tuple[int, int, int, int]] = []
    decisions: list[tuple[int, list[int], int]] = []
    finished = 0
    now = 0
    entered = [0] * num_machines  # jobs that entered each machine, to find its place in the plan

    def planned(machine: int) -> int:
        if plan is None or entered[machine] >= len(plan[machine]):
            return -1
        return plan[machine][entered[machine]]

    def allowed(job: int, machine: int) -> bool:
        return planned(machine) in (-1, job)

    def stop_processing(job: int) -> None:
        nonlocal finished
        remaining[job], running_since[job], ready[job] = 0, -1, now
        if next_op[job] == len(routes[job]):  # the last operation releases its machine at once
            leave[job, next_op[job] - 1] = now
            if holder[held[job]] == job:
                holder[held[job]] = -1
            held[job] = -1
            finished += 1

    def move(job: int) -> None:
        op = next_op[job]
        machine, duration = routes[job][op]
        if held[job] >= 0:
            leave[job, op - 1] = now
            if holder[held[job]] == job:
                holder[held[job]] = -1
        enter[job, op] = now
        entered[machine] += 1
        holder[machine], held[job] = job, machine
        next_op[job] += 1
        work_left[job] -= duration
        if duration > 0:
            remaining[job], running_since[job] = duration, now
        else:
            stop_processing(job)

    def wanted(job: int) -> int:
        return routes[job][next_op[job]][0] if next_op[job] < len(routes[job]) else -1

    def is_blocked(job: int) -> bool:
        return held[job] >= 0 and remaining[job] == 0

    def apply_events() -> None:
        for job in range(num_jobs):
            if running_since[job] >= 0 and running_since[job] + remaining[job] == now:
                segments.append((job, next_op[job] - 1, running_since[job], now))
                stop_processing(job)
        for machine in range(num_machines):
            is_down = calendar.is_down(machine, now)
            job = holder[machine]
            if is_down and not down[machine] and job >= 0 and running_since[job] >= 0:
                op = next_op[job] - 1
                if mode == "restart":
                    remaining[job] = routes[job][op][1]
                else:
                    segments.append((job, op, running_since[job], now))
                    remaining[job] -= now - running_since[job]
                running_since[job] = -1
            if not is_down and down[machine] and job >= 0 and remaining[job] > 0:
                running_since[job] = now
            down[machine] = is_down

    def candidates_by_machine() -> dict[int, list[int]]:
        found: dict[int, list[int]] = {}
        for job in range(num_jobs):
            machine = wanted(job)
            if machine < 0 or down[machine] or holder[machine] >= 0 or not allowed(job, machine):
                continue
            if held[job] < 0 or (is_blocked(job) and not down[held[job]]):
                found.setdefault(machine, []).append(job)
        return found

    def swap_cycles() -> int:
        def successor(machine: int) -> int:
            job = holder[machine]
            if job < 0 or down[machine] or not is_blocked(job):
                return -1
            target = wanted(job)
            usable = target >= 0 and not down[target] and holder[target] >= 0 and allowed(job, target)
            return target if usable else -1

        cycles, seen = [], set()
        for first in range(num_machines):
            path: list[int] = []
            machine = first
            while machine >= 0 and machine not in seen:
                seen.add(machine)
                path.append(machine)
                machine = successor(machine)
            if machine >= 0 and machine in path:
                cycle = path[path.index(machine) :]
                if len(cycle) == 1 or swaps:
                    cycles.append([holder[member] for member in cycle])
        movers = [job for cycle in cycles for job in cycle]
        for job in movers:
            move(job)
        return len(movers)

    def fill_single_candidates() -> int:
        singles = sorted((machine, jobs[0]) for machine, jobs in candidates_by_machine().items() if len(jobs) == 1)
        for _, job in singles:
            move(job)
        return len(singles)

    def next_event() -> int | None:
        times = [running_since[job] + remaining[job] for job in range(num_jobs) if running_since[job] >= 0]
        if not times and not any(down):
            return None
        for machine in range(num_machines):
            time = now
            while True:  # the next change of the machine's state, drawing the calendar as needed
                rows = calendar.intervals(machine)
                later = rows[(rows[:, 1] > now)]
                if len(later):
                    times.append(int(later[0, 1] if down[machine] else later[0, 0]))
                    break
                if calendar.horizon > 2**61:
                    break
                time = 2 * max(time, calendar.horizon, 1)
                calendar.extend(time)
        return min(times)

    apply_events()
    while True:
        while swap_cycles() + fill_single_candidates():
            pass
        candidates = sorted(job for jobs in candidates_by_machine().values() for job in jobs)
        if candidates:
            if isinstance(policy, str):
                keys = []
                for job in candidates:
                    op = next_op[job]
                    score = rule_score(policy, routes[job][op][1], len(routes[job]) - op, work_left[job],
                                       totals[job], ready[job])  # fmt: skip
                    keys.append((*score, job))
                chosen = min(keys)[2]
            else:
                chosen = policy(ReferenceView(now, list(next_op), list(work_left), list(ready), list(down)), candidates)
            decisions.append((now, candidates, chosen))
            move(chosen)
            continue
        if finished == num_jobs:
            break
        time = next_event()
        if time is None:
            raise RuntimeError(f"stalled at time {now} with {num_jobs - finished} jobs unfinished")
        now = time
        apply_events()
    rows = np.array(sorted(segments), dtype=np.int64).reshape(-1, 4)
    return ReferenceResult(enter, leave, rows, decisions)
