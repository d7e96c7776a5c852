"""The job-shop instance: which machine each operation needs and for how long."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

# Largest instance accepted anywhere (parsers, generators, the web form): far above every
# published benchmark (the largest, ta71-ta80, has 2,000 operations) but small enough that a
# malformed header cannot make us allocate gigabytes.
MAX_JOBS = 10_000
MAX_MACHINES = 1_000
MAX_OPERATIONS = 1_000_000
MAX_DURATION = 10**9


class InstanceError(ValueError):
    """An instance whose numbers do not describe a job shop this package can solve."""


@dataclass(frozen=True, eq=False)
class Instance:
    """A classical job-shop instance: every job visits every machine exactly once.

    Attributes:
        machines: machine of the k-th operation of job j, 0-based.
        durations: processing time of the k-th operation of job j (non-negative).
        name: free-form label; benchmark files use their file stem (``ta01``).

    Shapes:
        machines, durations: ``(num_jobs, num_machines)``; row j is job j's route in order.

    Recirculation (a job visiting a machine twice) and partial routes are rejected by
    :meth:`check`, because the environment, CP-SAT model and rules assume one operation per
    job and machine.
    """

    machines: npt.NDArray[np.int64]
    durations: npt.NDArray[np.int64]
    name: str = "instance"
    _fingerprint: list[str] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        machines = np.ascontiguousarray(self.machines, dtype=np.int64)
        durations = np.ascontiguousarray(self.durations, dtype=np.int64)
        machines.setflags(write=False)
        durations.setflags(write=False)
        object.__setattr__(self, "machines", machines)
        object.__setattr__(self, "durations", durations)
        self.check()

    @property
    def num_jobs(self) -> int:
        return int(self.machines.shape[0])

    @property
    def num_machines(self) -> int:
        return int(self.machines.shape[1])

    @property
    def num_operations(self) -> int:
        return self.num_jobs * self.num_machines

    @property
    def shape(self) -> str:
        """Size group label used by the benchmark tables, ``"15x15"`` (jobs x machines)."""
        return f"{self.num_jobs}x{self.num_machines}"

    def check(self) -> None:
        """Raise :class:`InstanceError` with a one-line reason if the arrays are not a job shop."""
        if self.machines.ndim != 2 or self.machines.shape != self.durations.shape:
            raise InstanceError(
                f"machines {self.machines.shape} and durations {self.durations.shape} "
                "must be two matrices of the same shape (num_jobs, num_machines)"
            )
        num_jobs, num_machines = self.machines.shape
        if num_jobs < 1 or num_machines < 1:
            raise InstanceError(f"an instance needs at least one job and one machine, got {num_jobs}x{num_machines}")
        if num_jobs > MAX_JOBS or num_machines > MAX_MACHINES or num_jobs * num_machines > MAX_OPERATIONS:
            raise InstanceError(
                f"{num_jobs}x{num_machines} is larger than supported "
                f"({MAX_JOBS} jobs, {MAX_MACHINES} machines, {MAX_OPERATIONS} operations)"
            )
        if self.durations.min() < 0:
            job, op = np.argwhere(self.durations < 0)[0]
            raise InstanceError(f"job {job} operation {op} has negative duration {self.durations[job, op]}")
        if self.durations.max() > MAX_DURATION:
            job, op = np.argwhere(self.durations > MAX_DURATION)[0]
            raise InstanceError(f"job {job} operation {op} has duration {self.durations[job, op]} > {MAX_DURATION}")
        expected = np.arange(num_machines)
        for job in range(num_jobs):
            route = self.machines[job]
            if route.min() < 0 or route.max() >= num_machines:
                op = int(np.argmax((route < 0) | (route >= num_machines)))
                raise InstanceError(f"job {job} operation {op} uses machine {route[op]}, outside 0..{num_machines - 1}")
            if not np.array_equal(np.sort(route), expected):
                counts = np.bincount(route, minlength=num_machines)
                machine = int(np.argmax(counts != 1))
                raise InstanceError(
                    f"job {job} visits machine {machine} {counts[machine]} times; every job must visit "
                    "every machine exactly once (recirculation and partial routes are not supported)"
                )

    def fingerprint(self) -> str:
        """SHA-256 of the shape, routes and durations; equal for equal instances whatever their name."""
        if not self._fingerprint:
            digest = hashlib.sha256()  # little-endian bytes: the same on every machine (instances/fingerprints.json)
            for array in (np.array(self.machines.shape), self.machines, self.durations):
                digest.update(np.asarray(array, dtype="<i8").tobytes())
            self._fingerprint.append(digest.hexdigest())
        return self._fingerprint[0]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Instance):
            return NotImplemented
        return np.array_equal(self.machines, other.machines) and np.array_equal(self.durations, other.durations)

    def __hash__(self) -> int:
        return hash(self.fingerprint())

    def renamed(self, name: str) -> Instance:
        return Instance(self.machines, self.durations, name=name)

    def trivial_lower_bound(self) -> int:
        """max(longest job, most loaded machine): a bound every feasible makespan respects."""
        job_lengths = self.durations.sum(axis=1)
        machine_loads = np.bincount(self.machines.ravel(), weights=self.durations.ravel(), minlength=self.num_machines)
        return int(max(job_lengths.max(), machine_loads.max()))
