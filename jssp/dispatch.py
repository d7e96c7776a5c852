"""Schedule generation: the state of a partial schedule and the step that extends it.

A construction episode dispatches one operation per step: the action is a job, and the job's
next unscheduled operation is appended to its machine at the earliest time both the job and
the machine are free (``start = max(job_ready, machine_ready)``). Which jobs may be chosen is
set by the schedule-generation *scheme*:

* ``"active"`` (default), Giffler & Thompson (1960): find the unscheduled candidate with the
  earliest possible completion C* (ties: lowest job index) and its machine M*; the legal jobs
  are those whose next operation is on M* and could start before C*. Every schedule built
  this way is active (no operation can be moved earlier without delaying another), and an
  optimal schedule is always reachable.
* ``"non-delay"``: the legal jobs are those whose next operation could start at the earliest
  possible start time of any candidate. Non-delay schedules need not contain an optimum.
* ``"append"``: every unfinished job is legal (semi-active schedules; the policy has to learn
  not to leave machines idle).

State lives in a few numpy arrays (see :class:`DispatchState`); the step and the legal-job
mask run in one numba kernel, with a plain-Python twin (``*_reference``) used by the tests.

This module, like the validator (:mod:`jssp.validation`), CP-SAT (:mod:`jssp.cpsat`) and local
search (:mod:`jssp.local_search`), assumes the classical job shop: a machine frees itself when
its operation ends, and a schedule is one start time per operation. Blocking (no buffers: a job
holds its machine until its next one is free, with swaps of cycles) and machine shutdowns change
all of them, not just the step that places an operation, so that variant is a package of its
own, :mod:`jssp.blocking`, with its own event-driven simulator, schedule (enter, processing
segments, leave), validator, rules and CP-SAT model.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from jssp.instance import Instance

SCHEMES = ("active", "non-delay", "append")
_SCHEME_IDS = {name: index for index, name in enumerate(SCHEMES)}


@numba.njit(cache=True)
def _legal_mask(
    machines: np.ndarray,
    durations: np.ndarray,
    lengths: np.ndarray,
    job_next_op: np.ndarray,
    job_ready: np.ndarray,
    machine_ready: np.ndarray,
    scheme: int,
    mask: np.ndarray,
) -> int:
    """Fill ``mask`` with the legal jobs; returns how many are legal."""
    num_jobs = machines.shape[0]
    best_job = -1
    best_key = np.iinfo(np.int64).max
    for job in range(num_jobs):
        mask[job] = False
        op = job_next_op[job]
        if op >= lengths[job]:
            continue
        start = max(job_ready[job], machine_ready[machines[job, op]])
        if scheme == 0:
            key = start + durations[job, op]
        elif scheme == 1:
            key = start
        else:
            key = 0
        if key < best_key:
            best_key = key
            best_job = job
    if best_job < 0:
        return 0
    count = 0
    best_machine = machines[best_job, job_next_op[best_job]]
    for job in range(num_jobs):
        op = job_next_op[job]
        if op >= lengths[job]:
            continue
        if scheme == 2 or job == best_job:
            legal = True
        else:
            start = max(job_ready[job], machine_ready[machines[job, op]])
            legal = (machines[job, op] == best_machine and start < best_key) if scheme == 0 else start == best_key
        if legal:
            mask[job] = True
            count += 1
    return count


@numba.njit(cache=True)
def _dispatch(
    machines: np.ndarray,
    durations: np.ndarray,
    lengths: np.ndarray,
    job_next_op: np.ndarray,
    job_ready: np.ndarray,
    machine_ready: np.ndarray,
    machine_last_job: np.ndarray,
    start_times: np.ndarray,
    arcs: np.ndarray,
    job: int,
) -> int:
    """Append job's next operation to its machine; returns the start time (-1 if the job is done)."""
    width = machines.shape[1]
    op = job_next_op[job]
    if op >= lengths[job]:
        return -1
    machine = machines[job, op]
    start = max(job_ready[job], machine_ready[machine])
    end = start + durations[job, op]
    start_times[job, op] = start
    job_ready[job] = end
    machine_ready[machine] = end
    job_next_op[job] = op + 1
    previous = machine_last_job[machine]
    if previous >= 0:
        # Machine arc: previous operation on this machine -> this operation (node = job * width + op).
        count = arcs[0, 0]
        arcs[1, count] = previous
        arcs[2, count] = job * width + op
        arcs[0, 0] = count + 1
    machine_last_job[machine] = job * width + op
    return start


@numba.njit(cache=True)
def _step(
    machines: np.ndarray,
    durations: np.ndarray,
    lengths: np.ndarray,
    job_next_op: np.ndarray,
    job_ready: np.ndarray,
    machine_ready: np.ndarray,
    machine_last_job: np.ndarray,
    start_times: np.ndarray,
    arcs: np.ndarray,
    scheme: int,
    mask: np.ndarray,
    job: int,
) -> int:
    """One call per environment step: dispatch, then refresh the mask; returns the number of legal jobs."""
    _dispatch(
        machines, durations, lengths, job_next_op, job_ready, machine_ready, machine_last_job, start_times, arcs, job
    )
    return _legal_mask(machines, durations, lengths, job_next_op, job_ready, machine_ready, scheme, mask)


def legal_mask_reference(
    instance: Instance,
    job_next_op: npt.NDArray[np.int64],
    job_ready: npt.NDArray[np.int64],
    machine_ready: npt.NDArray[np.int64],
    scheme: str,
) -> npt.NDArray[np.bool_]:
    """Plain numpy twin of the compiled mask, for tests."""
    unfinished = job_next_op < instance.lengths
    mask = np.zeros(instance.num_jobs, dtype=bool)
    if not unfinished.any():
        return mask
    jobs = np.flatnonzero(unfinished)
    ops = job_next_op[jobs]
    op_machines = instance.machines[jobs, ops]
    starts = np.maximum(job_ready[jobs], machine_ready[op_machines])
    if scheme == "append":
        mask[jobs] = True
    elif scheme == "non-delay":
        mask[jobs[starts == starts.min()]] = True
    else:
        ends = starts + instance.durations[jobs, ops]
        best = int(np.argmin(ends))
        legal = (op_machines == op_machines[best]) & (starts < ends[best])
        legal[best] = True
        mask[jobs[legal]] = True
    return mask


class DispatchState:
    """A partial schedule under construction: the direct array API (no gymnasium, no copies).

    Attributes:
        instance: the instance being scheduled.
        scheme: schedule-generation scheme, one of :data:`SCHEMES`.
        job_next_op: index of each job's next unscheduled operation (``instance.lengths[job]`` when done).
        job_ready: completion time of each job's last scheduled operation.
        machine_ready: completion time of each machine's last scheduled operation.
        machine_last_op: node id (``job * width + op``) of the last operation on each machine, -1 if none.
        start_times: start of every scheduled operation, -1 where unscheduled (and in padding).
        mask: legal jobs for the next step.
        job_remaining_work: total duration of each job's unscheduled operations.
        machine_remaining_work: total duration of each machine's unscheduled operations.

    Shapes:
        job_next_op, job_ready, job_remaining_work, mask: ``(num_jobs,)``;
        machine_ready, machine_last_op, machine_remaining_work: ``(num_machines,)``;
        start_times: ``(num_jobs, width)``;
        machine_arcs: ``(2, num_machine_arcs)`` node ids of consecutive operations on a machine.
    """

    def __init__(self, instance: Instance, scheme: str = "active") -> None:
        if scheme not in _SCHEME_IDS:
            raise ValueError(f"unknown scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
        self.instance = instance
        self.scheme = scheme
        self._scheme_id = _SCHEME_IDS[scheme]
        self._machines = instance.machines
        self._durations = instance.durations
        self._lengths = instance.lengths
        num_jobs, num_machines = instance.num_jobs, instance.num_machines
        self.job_next_op = np.zeros(num_jobs, dtype=np.int64)
        self.job_ready = np.zeros(num_jobs, dtype=np.int64)
        self.machine_ready = np.zeros(num_machines, dtype=np.int64)
        self.machine_last_op = np.full(num_machines, -1, dtype=np.int64)
        self.start_times = np.full((num_jobs, instance.width), -1, dtype=np.int64)
        # _arcs[0, 0] = number of machine arcs; rows 1 and 2 hold their source and target nodes.
        self._arcs = np.zeros((3, max(instance.num_operations, 1)), dtype=np.int64)
        self.job_remaining_work = instance.durations.sum(axis=1)
        self.machine_remaining_work = instance.machine_loads()
        self.num_scheduled = 0
        self.mask = np.zeros(num_jobs, dtype=np.bool_)
        self.num_legal = _legal_mask(
            self._machines,
            self._durations,
            self._lengths,
            self.job_next_op,
            self.job_ready,
            self.machine_ready,
            self._scheme_id,
            self.mask,
        )

    @property
    def done(self) -> bool:
        return self.num_scheduled == self.instance.num_operations

    @property
    def machine_arcs(self) -> npt.NDArray[np.int64]:
        return self._arcs[1:, : self._arcs[0, 0]]

    @property
    def makespan(self) -> int:
        """Latest completion time of the operations scheduled so far."""
        return int(self.machine_ready.max())

    def lower_bound(self) -> int:
        """Bound on the final makespan of any completion of this partial schedule.

        Every unscheduled operation of a job follows its last scheduled one, and (operations
        are appended, never inserted) every unscheduled operation of a machine follows the
        machine's last one, so max(job_ready + job_remaining_work, machine_ready +
        machine_remaining_work) bounds the makespan. It equals the makespan once done.
        """
        return int(
            max(
                (self.job_ready + self.job_remaining_work).max(),
                (self.machine_ready + self.machine_remaining_work).max(),
            )
        )

    def step(self, job: int) -> int:
        """Dispatch ``job``'s next operation; returns its start time.

        Raises:
            ValueError: if ``job`` is not legal under the scheme.
        """
        if not 0 <= job < self.instance.num_jobs or not self.mask[job]:
            raise ValueError(f"job {job} is not a legal action (legal: {np.flatnonzero(self.mask).tolist()})")
        op = int(self.job_next_op[job])
        duration = self._durations[job, op]
        self.job_remaining_work[job] -= duration
        self.machine_remaining_work[self._machines[job, op]] -= duration
        self.num_legal = _step(
            self._machines,
            self._durations,
            self._lengths,
            self.job_next_op,
            self.job_ready,
            self.machine_ready,
            self.machine_last_op,
            self.start_times,
            self._arcs,
            self._scheme_id,
            self.mask,
            job,
        )
        self.num_scheduled += 1
        return int(self.start_times[job, op])


def warm_up() -> None:
    """Load (or compile) the kernels now, so the first timed solve does not pay for it."""
    instance = Instance(np.array([[0, 1], [1, 0]]), np.array([[1, 2], [2, 1]]), name="warm-up")
    for scheme in SCHEMES:
        state = DispatchState(instance, scheme)
        while not state.done:
            state.step(int(np.flatnonzero(state.mask)[0]))
