"""Schedules read back from their JSON documents (the web server draws any schedule a client sends).

The helpers here turn a document's operation records into an instance and a table of times; each
problem's :meth:`~jssp.problems.Problem.schedule_from_document` builds its schedule from them and
validates it, so nothing is drawn that the validator has not passed.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import numpy.typing as npt

from jssp.instance import MAX_OPERATIONS, PAD, Instance
from jssp.schedule import SCHEDULE_FORMAT, Schedule

_OPERATION_KEYS = ("job", "op", "machine", "start", "duration")


class DocumentTooLargeError(ValueError):
    """A schedule document with more operations than the reader allows (the web server answers 413)."""


def safe_name(name: str) -> str:
    """A label made of word characters, dots, dashes and plus signs, at most 80 characters."""
    return re.sub(r"[^\w.+-]", "_", name.strip())[:80]


def schedule_from_document(document: Any, max_operations: int) -> Schedule:
    """Rebuild instance and schedule from a ``jssp-schedule/1`` document's operations and validate it.

    Routes are general: each job's operations must be numbered ``0 .. k-1`` (any ``k >= 1``), each once.

    Raises:
        DocumentTooLargeError: more operations than ``max_operations``.
        ValueError: anything inconsistent (InstanceError and InfeasibleScheduleError included).
    """
    if not isinstance(document, dict) or document.get("format") != SCHEDULE_FORMAT:
        raise ValueError(f"not a {SCHEDULE_FORMAT} document")
    # table: (num_operations, 5) job, op, machine, start, duration of each record
    header, table = operation_table(document, _OPERATION_KEYS, max_operations)
    instance, starts = instance_from_table(header, table)
    method = document.get("method")
    schedule = Schedule(instance, starts, method=safe_name(method) if isinstance(method, str) else "")
    schedule.check()
    return schedule


def operation_table(
    document: dict[str, Any], keys: tuple[str, ...], max_operations: int
) -> tuple[tuple[str, int, int], npt.NDArray[np.int64]]:
    """The instance header (name, jobs, machines) and one row of ``keys`` values per operation record.

    Shapes:
        table: ``(num_operations, len(keys))``; the first three keys are job, op and machine.
    """
    header, operations = document.get("instance"), document.get("operations")
    if not isinstance(header, dict) or not isinstance(operations, list):
        raise ValueError("needs the fields 'instance' and 'operations'")
    if not all(is_int(header.get(key)) and header[key] > 0 for key in ("num_jobs", "num_machines")):
        raise ValueError("instance.num_jobs and instance.num_machines must be positive integers")
    num_jobs, num_machines = int(header["num_jobs"]), int(header["num_machines"])
    if len(operations) > max_operations:
        raise DocumentTooLargeError(
            f"schedule: {len(operations)} operations, more than the {max_operations} this server draws"
        )
    if len(operations) < num_jobs:
        raise ValueError(f"{len(operations)} operations for {num_jobs} jobs; every job has at least one")
    table = np.zeros((len(operations), len(keys)), dtype=np.int64)
    for index, record in enumerate(operations):
        values = [as_count(record.get(key)) if isinstance(record, dict) else None for key in keys]
        counts = [value for value in values if value is not None]
        if len(counts) < len(values):
            raise ValueError(f"operations[{index}] needs non-negative integers {', '.join(keys)}")
        if counts[0] >= num_jobs:
            raise ValueError(f"operations[{index}]: job {counts[0]} is outside 0..{num_jobs - 1}")
        table[index, : len(counts)] = counts
    name = header.get("name")
    label = safe_name(name) if isinstance(name, str) else "schedule"
    return (label, num_jobs, num_machines), table


def instance_from_table(
    header: tuple[str, int, int], table: npt.NDArray[np.int64]
) -> tuple[Instance, npt.NDArray[np.int64]]:
    """The instance of an operation table (columns job, op, machine, a time, duration) and that time per cell.

    Shapes:
        times: ``(num_jobs, width)``, -1 in padding.
    """
    name, num_jobs, num_machines = header
    jobs, ops = table[:, 0], table[:, 1]
    lengths = np.bincount(jobs, minlength=num_jobs)
    if (lengths == 0).any():
        raise ValueError(f"job {int(np.argmin(lengths))} has no operations")
    width = int(lengths.max())
    if num_jobs * width > MAX_OPERATIONS:
        raise ValueError(f"{num_jobs} jobs x {width} operations is larger than supported ({MAX_OPERATIONS} cells)")
    # Operation numbers of job j must be 0 .. lengths[j] - 1, each once.
    cells = jobs * width + ops
    first = np.unique(cells, return_index=True)[1]
    wrong = np.flatnonzero(ops >= lengths[jobs])
    if wrong.size == 0 and first.size < len(table):
        wrong = np.setdiff1d(np.arange(len(table)), first)
    if wrong.size:
        index = int(wrong[0])
        raise ValueError(
            f"operations[{index}]: job {jobs[index]} operation {ops[index]} is out of range or given twice"
        )
    # machines, durations, times: (num_jobs, width), padded after each job's last operation
    machines = np.full((num_jobs, width), PAD, dtype=np.int64)
    durations = np.zeros((num_jobs, width), dtype=np.int64)
    times = np.full((num_jobs, width), -1, dtype=np.int64)
    machines[jobs, ops], times[jobs, ops], durations[jobs, ops] = table[:, 2], table[:, 3], table[:, 4]
    return Instance(machines, durations, name=name, num_machines=num_machines), times


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def as_count(value: Any) -> int | None:
    """``value`` if it is an integer in ``0 .. 2**62 - 1`` (no overflow in int64 sums), else None."""
    return value if is_int(value) and 0 <= value < 2**62 else None
