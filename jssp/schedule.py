"""A complete schedule (start time of every operation) and its JSON and CSV forms."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from jssp.files import write_atomically
from jssp.instance import Instance
from jssp.validation import check_schedule

SCHEDULE_FORMAT = "jssp-schedule/1"
OPERATION_FIELDS = ("job", "op", "machine", "start", "duration", "end")
# json.dumps of one operation record, as a template: a million records render in a second, not ten.
_OPERATION_JSON = "{{" + ", ".join(f'"{name}": {{}}' for name in OPERATION_FIELDS) + "}}"


class _Rendered(list[str]):
    """List items that are already JSON text (see :func:`format_json`)."""


@dataclass(eq=False)
class Schedule:
    """Start times of every operation of an instance, plus how they were found.

    Attributes:
        instance: the instance scheduled.
        start_times: start of job j's k-th operation.
        method: name of the solver that produced it (``"mwkr"``, ``"cpsat"``).
        seconds: wall time the solver took.
        lower_bound: a bound on the optimum the solver proved (CP-SAT), if any.
        status: solver status (``"OPTIMAL"``, ``"FEASIBLE"``), if the solver has one.

    Shapes:
        start_times: ``(num_jobs, width)``; -1 in the padding after a job's last operation.
    """

    instance: Instance
    start_times: npt.NDArray[np.int64]
    method: str = ""
    seconds: float = 0.0
    lower_bound: int | None = None
    status: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.start_times = np.asarray(self.start_times, dtype=np.int64)

    @property
    def end_times(self) -> npt.NDArray[np.int64]:
        """Completion of every operation; -1 in padding, like the start times."""
        ends = self.start_times + self.instance.durations
        return ends if self.instance.is_classical else np.where(self.instance.valid, ends, -1)

    @property
    def makespan(self) -> int:
        return int(self.end_times.max())

    def start_lists(self) -> list[list[int]]:
        """Start times per job, each list as long as the job's route (the JSON form)."""
        lengths = self.instance.lengths
        return [row[: lengths[job]] for job, row in enumerate(self.start_times.tolist())]

    def check(self) -> None:
        """Raise :class:`jssp.validation.InfeasibleScheduleError` if the schedule is infeasible."""
        check_schedule(self.instance, self.start_times)

    def machine_sequences(self) -> list[npt.NDArray[np.int64]]:
        """Jobs in processing order on each machine (ties by end time, then job and operation).

        A job that visits a machine twice appears twice in its list, in route order (the k-th
        occurrence is its k-th operation there), so the lists describe any schedule exactly. For
        classical instances every list holds each job once and ``np.array(...)`` gives the
        ``(num_machines, num_jobs)`` matrix.
        """
        instance = self.instance
        jobs, ops = np.nonzero(instance.valid)
        machines = instance.machines[jobs, ops]
        order = np.lexsort((ops, jobs, self.end_times[jobs, ops], self.start_times[jobs, ops], machines))
        bounds = np.searchsorted(machines[order], np.arange(instance.num_machines + 1))
        return [jobs[order[bounds[m] : bounds[m + 1]]] for m in range(instance.num_machines)]

    def _operation_rows(self) -> list[tuple[int, int, int, int, int, int]]:
        """``(job, op, machine, start, duration, end)`` of every operation, sorted by start, machine, job."""
        instance = self.instance
        jobs, ops = np.nonzero(instance.valid)
        columns = (
            jobs,
            ops,
            instance.machines[jobs, ops],
            self.start_times[jobs, ops],
            instance.durations[jobs, ops],
            self.start_times[jobs, ops] + instance.durations[jobs, ops],
        )
        order = np.lexsort((ops, jobs, columns[2], columns[3]))
        return list(zip(*(column[order].tolist() for column in columns), strict=True))

    def operations(self) -> list[dict[str, int]]:
        """One record per operation, sorted by start time, then machine, then job."""
        return [dict(zip(OPERATION_FIELDS, row, strict=True)) for row in self._operation_rows()]

    def to_dict(self, best_known: int | None = None, lower_bound: int | None = None) -> dict[str, Any]:
        """The ``jssp-schedule/1`` JSON object.

        Args:
            best_known: best known makespan of the instance, when it is a known benchmark.
            lower_bound: best lower bound known; defaults to the solver's own bound.
        """
        return self._document(self.operations(), best_known, lower_bound)

    def _document(self, operations: list[Any], best_known: int | None, lower_bound: int | None) -> dict[str, Any]:
        return {
            "format": SCHEDULE_FORMAT,
            "instance": {
                "name": self.instance.name,
                "num_jobs": self.instance.num_jobs,
                "num_machines": self.instance.num_machines,
            },
            "method": self.method,
            "makespan": self.makespan,
            "start_times": self.start_lists(),
            "operations": operations,
            "best_known": best_known,
            "lower_bound": lower_bound if lower_bound is not None else self.lower_bound,
            "seconds": round(float(self.seconds), 6),
            "status": self.status,
        }

    def write_json(self, path: str | Path, best_known: int | None = None, lower_bound: int | None = None) -> None:
        """Write :meth:`to_dict` as JSON: one line per top-level field, job row and operation."""
        operations = _Rendered(_OPERATION_JSON.format(*row) for row in self._operation_rows())
        write_atomically(Path(path), format_json(self._document(operations, best_known, lower_bound)))

    def write_csv(self, path: str | Path) -> None:
        """One row per operation: ``job,op,machine,start,duration,end`` (CSV's ``\\r\\n`` line ends)."""
        lines = [",".join(OPERATION_FIELDS), *(",".join(map(str, row)) for row in self._operation_rows())]
        write_atomically(Path(path), "\r\n".join(lines) + "\r\n")

    @classmethod
    def from_dict(cls, data: dict[str, Any], instance: Instance) -> Schedule:
        """Read back a ``jssp-schedule/1`` object for ``instance``; raises ValueError if it does not fit."""
        if data.get("format") != SCHEDULE_FORMAT:
            raise ValueError(f"not a {SCHEDULE_FORMAT} document (format={data.get('format')!r})")
        rows = data["start_times"]
        lengths = instance.lengths.tolist()
        if not isinstance(rows, list) or [len(row) if isinstance(row, list) else -1 for row in rows] != lengths:
            raise ValueError(f"start_times must hold one list per job with its {sum(lengths)} operations")
        starts = np.full(instance.machines.shape, -1, dtype=np.int64)
        for job, row in enumerate(rows):
            starts[job, : len(row)] = row
        return cls(
            instance,
            starts,
            method=str(data.get("method", "")),
            seconds=float(data.get("seconds", 0.0)),
            lower_bound=data.get("lower_bound"),
            status=data.get("status"),
        )


def format_json(document: dict[str, Any]) -> str:
    """JSON text of a schedule document, compact but line-oriented so diffs and eyes can follow it."""
    lines = []
    for key, value in document.items():
        if isinstance(value, list) and value:
            items = ",\n  ".join(value if isinstance(value, _Rendered) else (json.dumps(item) for item in value))
            lines.append(f" {json.dumps(key)}: [\n  {items}\n ]")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def schedule_from_sequences(
    instance: Instance, sequences: Sequence[npt.ArrayLike] | npt.NDArray[np.int64], method: str = ""
) -> Schedule:
    """Semi-active schedule (every operation as early as possible) for given machine orders.

    Args:
        sequences: jobs in processing order on each machine (see :meth:`Schedule.machine_sequences`):
            a ``(num_machines, num_jobs)`` matrix for classical instances, one list per machine in general.

    Raises:
        ValueError: if the orders do not list each machine's operations or contradict the job
            routes (the disjunctive graph has a cycle).
    """
    rows = [np.asarray(row, dtype=np.int64).reshape(-1) for row in sequences]
    num_jobs, num_machines = instance.num_jobs, instance.num_machines
    valid = instance.valid
    counts = [np.bincount(instance.machines[valid], minlength=num_machines)[m] for m in range(num_machines)]
    if len(rows) != num_machines or [len(row) for row in rows] != counts:
        got = (len(rows), len(rows[0])) if rows and all(len(row) == len(rows[0]) for row in rows) else len(rows)
        raise ValueError(f"sequences has shape {got}, expected one list per machine of its {sum(counts)} operations")
    for machine, row in enumerate(rows):
        if len(row) and (row.min() < 0 or row.max() >= num_jobs):
            raise ValueError(f"sequences of machine {machine} name a job outside 0..{num_jobs - 1}")
    starts = np.full(instance.machines.shape, -1, dtype=np.int64)
    lengths = instance.lengths
    job_next = np.zeros(num_jobs, dtype=np.int64)
    machine_next = np.zeros(num_machines, dtype=np.int64)
    job_ready = np.zeros(num_jobs, dtype=np.int64)
    machine_ready = np.zeros(num_machines, dtype=np.int64)
    scheduled = 0
    progress = True
    while progress:
        progress = False
        for machine in range(num_machines):
            row = rows[machine]
            while machine_next[machine] < len(row):
                job = int(row[machine_next[machine]])
                op = int(job_next[job])
                if op >= lengths[job] or instance.machines[job, op] != machine:
                    break
                start = max(job_ready[job], machine_ready[machine])
                starts[job, op] = start
                job_ready[job] = machine_ready[machine] = start + instance.durations[job, op]
                job_next[job] += 1
                machine_next[machine] += 1
                scheduled += 1
                progress = True
    if scheduled != instance.num_operations:
        raise ValueError("machine sequences contradict the job routes (cyclic disjunctive graph)")
    return Schedule(instance, starts, method=method)
