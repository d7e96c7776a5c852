"""A third problem variant defined only here: the job shop with job release dates (no change to the package).

A file is a standard-layout instance followed by one line ``release r_0 ... r_{n-1}``: job j may not
start before ``r_j`` (plus the ``--release-offset`` option). The problem brings its own reader,
option, validator, rule (``release-est``), schedule document (``jssp-release-schedule/1``), results
columns, resume key and summary table, and registers itself when this module is imported: the
spawned solver processes of ``evaluate.py`` and the web server import it by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jssp.classical import JobShop
from jssp.documents import schedule_from_document
from jssp.evaluation import EvaluationPlan, EvaluationTasks, Runner, Task, make_tasks
from jssp.instance import Instance
from jssp.parsing import InstanceFormatError, parse_instance
from jssp.problems import Problem, Reference, register_problem
from jssp.schedule import SCHEDULE_FORMAT, Schedule
from jssp.solvers import OptionError, SolveOptions, register
from jssp.validation import InfeasibleScheduleError

NAME = "jssp-release"
FORMAT = "jssp-release-schedule/1"


@dataclass(frozen=True, eq=False)
class ReleaseInstance(Instance):
    """An instance whose jobs are released over time."""

    release: tuple[int, ...] = ()


@dataclass(frozen=True)
class ReleaseOptions:
    """The problem's own option."""

    release_offset: int = 0
    """Added to every job's release date."""

    def check(self) -> None:
        if self.release_offset < 0:
            raise OptionError("release_offset", f"must be at least 0, got {self.release_offset}")


def parse_release(data: bytes | str, name: str, source: str, max_bytes: int | None = None) -> ReleaseInstance:
    """A standard instance followed by a ``release`` line with one date per job."""
    text = data.decode() if isinstance(data, bytes) else data
    lines = text.strip().splitlines()
    if not lines or not lines[-1].startswith("release"):
        raise InstanceFormatError(f"{source}:{len(lines)}: the last line must be 'release r_0 ... r_n-1'")
    instance = parse_instance("\n".join(lines[:-1]) + "\n", name=name, source=source)
    release = tuple(int(token) for token in lines[-1].split()[1:])
    if len(release) != instance.num_jobs or min(release) < 0:
        raise InstanceFormatError(f"{source}:{len(lines)}: {instance.num_jobs} non-negative release dates expected")
    return ReleaseInstance(instance.machines, instance.durations, name=name, release=release)


def release_dates(instance: Instance, options: SolveOptions) -> np.ndarray:
    """Each job's earliest start: its release date plus the option's offset (0 for a plain instance)."""
    release = getattr(instance, "release", ()) or (0,) * instance.num_jobs
    return np.asarray(release, dtype=np.int64) + options.problem_options.release_offset


def earliest_start_schedule(instance: Instance, options: SolveOptions) -> Schedule:
    """``release-est``: repeatedly start the next operation that can start earliest (ties: shortest, then job)."""
    ready = release_dates(instance, options).copy()  # (num_jobs,) when each job's next operation may start
    machine_free = np.zeros(instance.num_machines, dtype=np.int64)
    next_op = np.zeros(instance.num_jobs, dtype=np.int64)
    starts = np.full(instance.machines.shape, -1, dtype=np.int64)
    for _ in range(instance.num_operations):
        best = None
        for job in range(instance.num_jobs):
            op = int(next_op[job])
            if op == instance.lengths[job]:
                continue
            machine, duration = int(instance.machines[job, op]), int(instance.durations[job, op])
            key = (max(int(ready[job]), int(machine_free[machine])), duration, job)
            best = key if best is None or key < best else best
        assert best is not None
        start, duration, job = best
        op = int(next_op[job])
        starts[job, op] = start
        ready[job] = machine_free[instance.machines[job, op]] = start + duration
        next_op[job] += 1
    return Schedule(instance, starts)


class ReleaseProblem(JobShop):
    """The job shop with job release dates."""

    name = NAME
    description = "job shop with job release dates (a test variant)"
    options = ReleaseOptions
    default_methods = ("release-est",)
    schedule_format = FORMAT
    outputs = ("output", "gantt")
    result_columns = ("instance", "method", "makespan", "latest_release", "seconds", "feasible")
    result_types = {"makespan": int, "latest_release": int, "seconds": float, "feasible": lambda text: text == "True"}

    def read_instance(self, path: Path, instance: str | None = None) -> Instance:
        return parse_release(Path(path).read_bytes(), Path(path).stem, str(path))

    def parse_instance(
        self, data: bytes | str, name: str, source: str, instance: str | None, max_bytes: int
    ) -> Instance:
        return parse_release(data, name, source)

    def validate(self, instance: Instance, schedule: Any, options: SolveOptions) -> None:
        schedule.check()
        early = np.flatnonzero(schedule.start_times[:, 0] < release_dates(instance, options))
        if early.size:
            raise InfeasibleScheduleError(f"job {int(early[0])} starts before its release date")

    def reference(self, instance: Instance) -> Reference:
        release = np.asarray(getattr(instance, "release", ()) or (0,) * instance.num_jobs)
        return Reference(None, int((release + instance.durations.sum(axis=1)).max()), None)

    def document(self, schedule: Schedule, reference: Reference) -> dict[str, Any]:
        document = super().document(schedule, reference)
        return {**document, "format": FORMAT, "release": list(schedule.instance.release)}

    def write_output(self, output: str, schedule: Schedule, path: Path, reference: Reference) -> None:
        Problem.write_output(self, output, schedule, path, reference)  # the document as JSON, and the chart

    def schedule_from_document(self, document: dict[str, Any], max_operations: int) -> Schedule:
        schedule = schedule_from_document({**document, "format": SCHEDULE_FORMAT}, max_operations)
        instance = schedule.instance
        released = ReleaseInstance(
            instance.machines, instance.durations, instance.name, release=tuple(document["release"])
        )
        rebuilt = Schedule(released, schedule.start_times, method=schedule.method)
        self.validate(released, rebuilt, SolveOptions.of(NAME))
        return rebuilt

    def evaluation_tasks(self, plan: EvaluationPlan, done: Sequence[dict[str, Any]]) -> EvaluationTasks:
        finished = {self.result_key(row) for row in done}
        tasks = [
            task
            for task in make_tasks(plan.instances, plan.methods, NAME)
            if self.result_key({"instance": task.instance.name, "method": task.method}) not in finished
        ]
        return EvaluationTasks(
            tasks, len(tasks), f"{len(plan.instances)} release instances x {len(plan.methods)} methods"
        )

    def task_runner(self) -> Runner:
        return run_release_task

    def summary(self, rows: Sequence[dict[str, Any]], plan: EvaluationPlan) -> str:
        lines = ["# Release dates", "", "| instance | method | makespan |", "|---|---|---|"]
        lines += [f"| {row['instance']} | {row['method']} | {row['makespan']} |" for row in rows]
        return "\n".join(lines) + "\n"


def run_release_task(task: Task, options: SolveOptions, schedules_dir: Path | None) -> list[dict[str, Any]]:
    """One solve, one row of the problem's own columns."""
    from jssp.solvers import solve

    schedule = solve(task.instance, task.method, options)
    release = int(release_dates(task.instance, options).max())
    row = {"instance": task.instance.name, "method": task.method, "makespan": schedule.makespan}
    return [{**row, "latest_release": release, "seconds": round(schedule.seconds, 4), "feasible": True}]


PROBLEM = ReleaseProblem()


def register_release_problem() -> None:
    """Register the problem (and its rule): module import does it, and so may a web server's worker setup."""
    register_problem(PROBLEM)
    register("release-est", earliest_start_schedule, problem=NAME)


register_release_problem()
