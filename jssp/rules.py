"""Priority dispatching rules, acting through the same dispatch state as the learned policy.

Each rule scores the jobs from the state arrays (lower score = dispatched first) and picks
the legal job with the lowest score; ties go to the lowest job index, so every rule except
``random`` is deterministic.

Rules default to the ``non-delay`` scheme: the rule chooses among the operations that can
start at the earliest possible start time. That reproduces the published greedy-rule numbers
(SelfLabelingJobShop's, in ``shared/ANCHORS.md``) on TA 15x15: MWKR 19.2 % (published 19.1)
and SPT 25.9 % (26.1). Under the Giffler-Thompson ``active`` scheme the same rules are worse
(MWKR 26.9 %, SPT 58.4 %), because the conflict set of one machine often holds a single
operation and the rule's preference across machines is lost.

Rules (remaining = not yet scheduled, including the job's next operation):

* ``spt`` / ``lpt``: shortest / longest duration of the next operation;
* ``mwkr`` / ``lwkr``: most / least remaining work of the job;
* ``mor`` / ``lor``: most / fewest remaining operations of the job;
* ``mopnr``: most remaining operations, ties broken by most remaining work;
* ``fifo``: the job that has waited longest (earliest completion of its previous operation);
* ``fdd-mwkr``: smallest flow due date / remaining work, where the flow due date is the
  job's processing time up to and including the next operation (Sels et al. 2012);
* ``random``: uniform over the legal jobs (seeded).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from jssp.dispatch import DispatchState
from jssp.instance import Instance
from jssp.schedule import Schedule

Scores = npt.NDArray[np.int64] | npt.NDArray[np.float64]


def _next_durations(state: DispatchState) -> npt.NDArray[np.int64]:
    ops = np.minimum(state.job_next_op, state.instance.num_machines - 1)
    return state.instance.durations[np.arange(state.instance.num_jobs), ops]


def _remaining_ops(state: DispatchState) -> npt.NDArray[np.int64]:
    return state.instance.num_machines - state.job_next_op


def _mopnr(state: DispatchState) -> Scores:
    # Lexicographic (ops remaining, work remaining), both "most first", in one integer key.
    scale = int(state.instance.durations.sum()) + 1
    return -(_remaining_ops(state) * scale + state.job_remaining_work)


def _fdd_mwkr(state: DispatchState) -> Scores:
    total = state.instance.durations.sum(axis=1)
    flow_due_date = total - state.job_remaining_work + _next_durations(state)
    return flow_due_date / np.maximum(state.job_remaining_work, 1)


RULES: dict[str, Callable[[DispatchState], Scores]] = {
    "spt": _next_durations,
    "lpt": lambda state: -_next_durations(state),
    "mwkr": lambda state: -state.job_remaining_work,
    "lwkr": lambda state: state.job_remaining_work,
    "mor": lambda state: -_remaining_ops(state),
    "lor": _remaining_ops,
    "mopnr": _mopnr,
    "fifo": lambda state: state.job_ready,
    "fdd-mwkr": _fdd_mwkr,
}
RULE_NAMES = (*RULES, "random")


def choose(state: DispatchState, rule: str, rng: np.random.Generator | None = None) -> int:
    """The job ``rule`` dispatches next from ``state``."""
    legal = np.flatnonzero(state.mask)
    if rule == "random":
        if rng is None:
            raise ValueError("the random rule needs a numpy Generator")
        return int(legal[rng.integers(len(legal))])
    scores = RULES[rule](state)
    return int(legal[np.argmin(scores[legal])])


def dispatch(instance: Instance, rule: str, scheme: str = "non-delay", seed: int = 0) -> Schedule:
    """Build a complete schedule with one rule.

    Args:
        instance: the instance to schedule.
        rule: one of :data:`RULE_NAMES`.
        scheme: schedule-generation scheme (see :mod:`jssp.dispatch`).
        seed: seed of the ``random`` rule; the other rules are deterministic and do not use it.
    """
    if rule not in RULE_NAMES:
        raise ValueError(f"unknown rule {rule!r}; choose one of {', '.join(RULE_NAMES)}")
    began = time.perf_counter()
    rng = np.random.default_rng(seed) if rule == "random" else None
    state = DispatchState(instance, scheme)
    while not state.done:
        state.step(choose(state, rule, rng))
    return Schedule(instance, state.start_times.copy(), method=rule, seconds=time.perf_counter() - began)
