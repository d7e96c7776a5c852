"""The job-shop instance: which machine each operation needs and for how long."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

# Largest instance accepted anywhere (parsers, generators, the web form): far above every
# classical benchmark (ta71-ta80 have 2,000 operations; Da Col & Teppan's largest 1,000,000) but small enough that a
# malformed header cannot make us allocate gigabytes.
MAX_JOBS = 10_000
MAX_MACHINES = 1_000
MAX_OPERATIONS = 1_000_000  # cells of the (num_jobs, width) arrays, padding included
MAX_DURATION = 10**9


class InstanceError(ValueError):
    """An instance whose numbers do not describe a job shop this package can solve."""


# Machine (and duration 0) of the padding cells after a job's last operation; start times of
# padding cells are -1 as well. Numba and numpy index -1 as the last element without error, so
# code that reads padding by mistake gives wrong numbers rather than a crash: mask with
# ``Instance.valid`` (or iterate ``op < lengths[job]``) wherever routes may be partial.
PAD = -1


@dataclass(frozen=True, eq=False)
class Instance:
    """A job-shop instance: each job's route of (machine, duration) operations.

    Routes are general: a job may have any number of operations (at least one), skip machines
    and visit a machine more than once (re-entrant flows). The classical case, where every job
    visits every machine exactly once, is the common one and costs nothing extra: its arrays
    have no padding and :attr:`is_classical` is true.

    Attributes:
        machines: machine of the k-th operation of job j, 0-based; :data:`PAD` after the job's last one.
        durations: processing time of the k-th operation of job j (non-negative); 0 in padding.
        name: free-form label; benchmark files use their file stem (``ta01``).
        num_machines: number of machines; defaults to the largest machine used plus one (a
            machine no job visits may exist when given explicitly).

    Shapes:
        machines, durations: ``(num_jobs, width)``, row j is job j's route in order, padded on the
        right; ``width`` is the longest route (``num_machines`` for classical instances).
        lengths: ``(num_jobs,)`` operations per job.

    Node ids used by the graph code are ``job * width + op``; padding cells are never nodes.
    """

    machines: npt.NDArray[np.int64]
    durations: npt.NDArray[np.int64]
    name: str = "instance"
    num_machines: int = -1
    _cache: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        machines = np.ascontiguousarray(self.machines, dtype=np.int64)
        durations = np.ascontiguousarray(self.durations, dtype=np.int64)
        if machines.ndim != 2 or machines.shape != durations.shape:
            raise InstanceError(
                f"machines {machines.shape} and durations {durations.shape} "
                "must be two matrices of the same shape (num_jobs, longest route)"
            )
        machines.setflags(write=False)
        durations.setflags(write=False)
        object.__setattr__(self, "machines", machines)
        object.__setattr__(self, "durations", durations)
        if self.num_machines < 0:
            object.__setattr__(self, "num_machines", int(machines.max()) + 1 if machines.size else 0)
        object.__setattr__(self, "num_machines", int(self.num_machines))
        self.check()

    def __setstate__(self, state: dict[str, object]) -> None:
        """Unpickled arrays come back writeable; freeze them again. Besides keeping the instance
        immutable, this keeps the arrays' numba type (read-only) the one the kernels were warmed up
        for, so a worker process that receives an instance does not compile every kernel again."""
        self.__dict__.update(state)
        for value in (self.machines, self.durations, *self._cache.values()):
            if isinstance(value, np.ndarray):
                value.setflags(write=False)

    @classmethod
    def from_routes(
        cls,
        routes: Sequence[Sequence[tuple[int, int]]],
        name: str = "instance",
        num_machines: int = -1,
    ) -> Instance:
        """Build from one list of ``(machine, duration)`` pairs per job."""
        width = max((len(route) for route in routes), default=0)
        machines = np.full((len(routes), width), PAD, dtype=np.int64)
        durations = np.zeros((len(routes), width), dtype=np.int64)
        for job, route in enumerate(routes):
            if len(route):
                pairs = np.asarray(route, dtype=np.int64).reshape(-1, 2)
                machines[job, : len(pairs)] = pairs[:, 0]
                durations[job, : len(pairs)] = pairs[:, 1]
        return cls(machines, durations, name=name, num_machines=num_machines)

    @property
    def num_jobs(self) -> int:
        return int(self.machines.shape[0])

    @property
    def width(self) -> int:
        """Length of the longest route: the second dimension of the arrays."""
        return int(self.machines.shape[1])

    @property
    def lengths(self) -> npt.NDArray[np.int64]:
        """Number of operations of each job, shape ``(num_jobs,)`` (read-only)."""
        if "lengths" not in self._cache:
            lengths = (self.machines != PAD).sum(axis=1).astype(np.int64)
            lengths.setflags(write=False)
            self._cache["lengths"] = lengths
        return self._cache["lengths"]  # type: ignore[return-value]

    @property
    def twins(self) -> npt.NDArray[np.int64]:
        """For each job, the first job with the same route (machines and durations), itself if none comes
        before it; shape ``(num_jobs,)`` (read-only). Jobs of one product in a real shop are twins."""
        if "twins" not in self._cache:
            rows = np.concatenate([self.machines, self.durations], axis=1)
            _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
            twins = first[inverse.reshape(-1)].astype(np.int64)
            twins.setflags(write=False)
            self._cache["twins"] = twins
        return self._cache["twins"]  # type: ignore[return-value]

    @property
    def valid(self) -> npt.NDArray[np.bool_]:
        """True on real operations, False on padding; shape ``(num_jobs, width)``."""
        return self.machines != PAD

    @property
    def num_operations(self) -> int:
        return int(self.lengths.sum())

    @property
    def is_classical(self) -> bool:
        """Every job visits every machine exactly once (no padding, no skipped or repeated machine)."""
        if "classical" not in self._cache:
            classical = self.width == self.num_machines and bool(
                np.all(np.sort(self.machines, axis=1) == np.arange(self.num_machines))
            )
            self._cache["classical"] = classical
        return bool(self._cache["classical"])

    @property
    def shape(self) -> str:
        """Size group label used by the benchmark tables, ``"15x15"`` (jobs x machines)."""
        return f"{self.num_jobs}x{self.num_machines}"

    def route(self, job: int) -> list[tuple[int, int]]:
        """Job ``job``'s ``(machine, duration)`` pairs in order."""
        length = int(self.lengths[job])
        return list(zip(self.machines[job, :length].tolist(), self.durations[job, :length].tolist(), strict=True))

    def machine_loads(self) -> npt.NDArray[np.int64]:
        """Total processing time asked of each machine, shape ``(num_machines,)``."""
        valid = self.valid
        return np.bincount(self.machines[valid], weights=self.durations[valid], minlength=self.num_machines).astype(
            np.int64
        )

    def check(self) -> None:
        """Raise :class:`InstanceError` with a one-line reason if the arrays are not a job shop."""
        num_jobs, width = self.machines.shape
        num_machines = self.num_machines
        if num_jobs < 1 or num_machines < 1 or width < 1:
            raise InstanceError(
                f"an instance needs at least one job, one machine and one operation, got {num_jobs} jobs "
                f"and {num_machines} machines"
            )
        if num_jobs > MAX_JOBS or num_machines > MAX_MACHINES or num_jobs * width > MAX_OPERATIONS:
            raise InstanceError(
                f"{num_jobs} jobs x {width} operations on {num_machines} machines is larger than supported "
                f"({MAX_JOBS} jobs, {MAX_MACHINES} machines, {MAX_OPERATIONS} operation cells)"
            )
        if self.durations.min() < 0:
            job, op = np.argwhere(self.durations < 0)[0]
            raise InstanceError(f"job {job} operation {op} has negative duration {self.durations[job, op]}")
        if self.durations.max() > MAX_DURATION:
            job, op = np.argwhere(self.durations > MAX_DURATION)[0]
            raise InstanceError(f"job {job} operation {op} has duration {self.durations[job, op]} > {MAX_DURATION}")
        outside = (self.machines < PAD) | (self.machines >= num_machines)
        if outside.any():
            job, op = np.argwhere(outside)[0]
            raise InstanceError(
                f"job {job} operation {op} uses machine {self.machines[job, op]}, outside 0..{num_machines - 1}"
            )
        padding = self.machines == PAD
        if padding.any():
            # Padding must be a suffix of each row, carry duration 0, and leave every job an operation.
            gaps = padding[:, :-1] & ~padding[:, 1:]
            if gaps.any():
                job, op = np.argwhere(gaps)[0]
                raise InstanceError(f"job {job} has a gap in its route at operation {op}")
            if (self.durations[padding] != 0).any():
                job, op = np.argwhere(padding & (self.durations != 0))[0]
                raise InstanceError(f"job {job} has a duration at operation {op} but no machine")
            if padding[:, 0].any():
                job = int(np.argmax(padding[:, 0]))
                raise InstanceError(f"job {job} has no operations; every job needs at least one")

    def fingerprint(self) -> str:
        """SHA-256 of the shape, routes and durations; equal for equal instances whatever their name."""
        if "fingerprint" not in self._cache:
            digest = hashlib.sha256()  # little-endian bytes: the same on every machine (instances/fingerprints.json)
            for array in (np.array(self.machines.shape), self.machines, self.durations):
                digest.update(np.asarray(array, dtype="<i8").tobytes())
            if self.num_machines != self.width:  # classical instances keep their historical fingerprint
                digest.update(np.asarray([self.num_machines], dtype="<i8").tobytes())
            self._cache["fingerprint"] = digest.hexdigest()
        return str(self._cache["fingerprint"])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Instance):
            return NotImplemented
        return (
            self.num_machines == other.num_machines
            and np.array_equal(self.machines, other.machines)
            and np.array_equal(self.durations, other.durations)
        )

    def __hash__(self) -> int:
        return hash(self.fingerprint())

    def renamed(self, name: str) -> Instance:
        return Instance(self.machines, self.durations, name=name, num_machines=self.num_machines)

    def trivial_lower_bound(self) -> int:
        """max(longest job, most loaded machine): a bound every feasible makespan respects."""
        job_lengths = self.durations.sum(axis=1)
        return int(max(job_lengths.max(), self.machine_loads().max()))
