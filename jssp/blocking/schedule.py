"""A blocking schedule with shutdowns: when each operation entered, was processed and left, and its JSON form."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from jssp.blocking.validation import IntervalLists, check_blocking_schedule, find_violations
from jssp.files import write_atomically
from jssp.instance import Instance
from jssp.schedule import format_json

SCHEDULE_FORMAT = "jssp-isbjssp-schedule/1"
_NO_INTERRUPTIONS = {"rate": 0.0, "downtime": None, "seed": None, "mode": "resume"}


@dataclass(eq=False)
class BlockingSchedule:
    """Per operation: when the job entered the machine, its processing segments, and when it left.

    Between the end of processing and ``leave`` the job is blocked (it holds the machine, waiting
    for the next one); between segments its machine is down.

    Attributes:
        instance: the instance scheduled.
        enter, leave: when job j's k-th operation entered and left its machine; -1 in padding.
        segments: processing segments, rows ``(job, op, start, end)`` sorted by job, op, start.
        down_intervals: per machine, the down intervals ``[start, end)`` that start up to the makespan.
        interruptions: the JSON record of the shutdown settings: ``rate``, ``downtime``, ``seed``, ``mode``.
        method, seconds, lower_bound, status, info: as in :class:`jssp.schedule.Schedule`.

    Shapes:
        enter, leave: ``(num_jobs, width)``; segments: ``(num_segments, 4)``;
        down_intervals[m]: ``(num_intervals, 2)``.
    """

    instance: Instance
    enter: npt.NDArray[np.int64]
    leave: npt.NDArray[np.int64]
    segments: npt.NDArray[np.int64]
    down_intervals: list[npt.NDArray[np.int64]]
    interruptions: dict[str, Any] = field(default_factory=lambda: dict(_NO_INTERRUPTIONS))
    method: str = ""
    seconds: float = 0.0
    lower_bound: int | None = None
    status: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.enter = np.asarray(self.enter, dtype=np.int64)
        self.leave = np.asarray(self.leave, dtype=np.int64)
        self.segments = np.asarray(self.segments, dtype=np.int64).reshape(-1, 4)
        self.down_intervals = [np.asarray(rows, dtype=np.int64).reshape(-1, 2) for rows in self.down_intervals]

    @property
    def makespan(self) -> int:
        return int(self.leave[self.instance.valid].max())

    @property
    def mode(self) -> str:
        return str(self.interruptions.get("mode", "resume"))

    @property
    def processing_end(self) -> npt.NDArray[np.int64]:
        """When each operation's processing ended (its enter for a zero-duration one); -1 in padding.

        ``leave - processing_end`` is the time the job spent blocked on the machine.
        """
        ends = np.where(self.instance.valid, self.enter, -1)
        jobs, ops = self.segments[:, 0], self.segments[:, 1]
        np.maximum.at(ends, (jobs, ops), self.segments[:, 3])
        return ends

    def find_violations(self, expected_down_intervals: IntervalLists | None = None) -> list[str]:
        """The rules of :mod:`jssp.blocking.validation` this schedule breaks."""
        return find_violations(
            self.instance, self.enter, self.leave, self.segments, self.down_intervals, self.mode,
            expected_down_intervals=expected_down_intervals,
        )  # fmt: skip

    def check(self, expected_down_intervals: IntervalLists | None = None) -> None:
        """Raise :class:`~jssp.blocking.validation.InfeasibleBlockingScheduleError` if the schedule is infeasible.

        Args:
            expected_down_intervals: the calendar the schedule was made on; when given, the
                schedule's down intervals must be exactly its intervals up to the makespan.
        """
        check_blocking_schedule(
            self.instance, self.enter, self.leave, self.segments, self.down_intervals, self.mode,
            expected_down_intervals=expected_down_intervals,
        )  # fmt: skip

    def operations(self) -> list[dict[str, Any]]:
        """One record per operation, sorted by enter time, then machine, job and operation."""
        instance = self.instance
        jobs, ops = np.nonzero(instance.valid)
        machines = instance.machines[jobs, ops]
        enter, leave = self.enter[jobs, ops], self.leave[jobs, ops]
        bounds = np.searchsorted(self.segments[:, 0] * instance.width + self.segments[:, 1],
                                 np.arange(instance.num_jobs * instance.width + 1))  # fmt: skip
        segment_lists = self.segments[:, 2:].tolist()
        nodes = (jobs * instance.width + ops).tolist()
        order = np.lexsort((ops, jobs, machines, enter)).tolist()
        columns = [column.tolist() for column in (jobs, ops, machines, enter, leave)]
        return [
            {
                "job": columns[0][index],
                "op": columns[1][index],
                "machine": columns[2][index],
                "enter": columns[3][index],
                "leave": columns[4][index],
                "segments": segment_lists[bounds[nodes[index]] : bounds[nodes[index] + 1]],
            }
            for index in order
        ]

    def to_dict(self) -> dict[str, Any]:
        """The ``jssp-isbjssp-schedule/1`` JSON object."""
        return {
            "format": SCHEDULE_FORMAT,
            "instance": {
                "name": self.instance.name,
                "num_jobs": self.instance.num_jobs,
                "num_machines": self.instance.num_machines,
            },
            "method": self.method,
            "makespan": self.makespan,
            "interruptions": dict(self.interruptions),
            "down_intervals": [rows.tolist() for rows in self.down_intervals],
            "operations": self.operations(),
            "seconds": round(float(self.seconds), 6),
            "info": json.loads(json.dumps(self.info, default=_plain)),
        }

    def write_json(self, path: str | Path) -> None:
        """Write :meth:`to_dict` as JSON, one line per top-level field, machine calendar and operation."""
        write_atomically(Path(path), format_json(self.to_dict()))

    @classmethod
    def from_dict(cls, data: dict[str, Any], instance: Instance) -> BlockingSchedule:
        """Read back a ``jssp-isbjssp-schedule/1`` object for ``instance``; ValueError if it does not fit."""
        if data.get("format") != SCHEDULE_FORMAT:
            raise ValueError(f"not a {SCHEDULE_FORMAT} document (format={data.get('format')!r})")
        enter = np.full(instance.machines.shape, -1, dtype=np.int64)
        leave = np.full(instance.machines.shape, -1, dtype=np.int64)
        segments: list[tuple[int, int, int, int]] = []
        records = data["operations"]
        if len(records) != instance.num_operations:
            raise ValueError(
                f"the document lists {len(records)} operations, the instance has {instance.num_operations}"
            )
        for record in records:
            job, op = int(record["job"]), int(record["op"])
            if not (0 <= job < instance.num_jobs and 0 <= op < instance.lengths[job]):
                raise ValueError(f"operation record names job {job} operation {op}, not in {instance.name}")
            enter[job, op], leave[job, op] = int(record["enter"]), int(record["leave"])
            segments.extend((job, op, int(start), int(end)) for start, end in record["segments"])
        rows = np.array(segments, dtype=np.int64).reshape(-1, 4)
        rows = rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))]
        return cls(
            instance, enter, leave, rows, [np.asarray(machine_rows) for machine_rows in data["down_intervals"]],
            interruptions=dict(data["interruptions"]), method=str(data.get("method", "")),
            seconds=float(data.get("seconds", 0.0)), info=dict(data.get("info", {})),
        )  # fmt: skip


def _plain(value: Any) -> Any:
    """JSON for the numpy scalars and arrays a method may leave in a schedule's ``info``; anything else as text."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    return str(value)
