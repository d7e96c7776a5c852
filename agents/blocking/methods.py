"""The learned methods of the blocking job shop with shutdowns (``isbjssp``), registered into that problem.

``gnn`` is the greedy learned dispatcher, online: it answers the simulator's questions as they come;
``gnn-sample`` is the best of ``samples`` sampled episodes, a planning method, so it declares that it
solves only without shutdowns; ``gnn-replan`` re-plans at every shutdown and repair with episodes of the
dispatcher on the calendar known then (:mod:`agents.blocking.replan`), online. All read the shipped
``gnn-isbjssp`` checkpoint unless the options name another. :func:`register_blocking_methods` is an entry
point of the ``jssp.methods`` group.
"""

from __future__ import annotations

import functools

from agents.blocking.policy import load_blocking_policy, policy_lookahead, policy_schedule
from agents.blocking.replan import TEMPERATURE, policy_replan_schedule
from agents.inference import resolve_device, single_thread
from agents.methods import checkpoint_named
from agents.policy import JobShopPolicy
from jssp.blocking.methods import without_admission_control, without_shutdowns
from jssp.blocking.options import PROBLEM, interruptions_of
from jssp.blocking.rules import interruptions_record
from jssp.blocking.schedule import BlockingSchedule
from jssp.instance import Instance
from jssp.solvers import SolveOptions, every, register

CHECKPOINTS = {"checkpoint": "gnn-isbjssp"}
"""The shipped dispatcher of the problem, read unless the options name another checkpoint."""


@functools.cache
def cached_blocking_policy(checkpoint: str, device: str) -> JobShopPolicy:
    single_thread()
    return load_blocking_policy(checkpoint, resolve_device(device))


def _episodes(instance: Instance, options: SolveOptions, samples: int, sample: bool) -> BlockingSchedule:
    """The best of ``samples`` episodes of the learned dispatcher on the calendar drawn from the options,
    greedy or (``sample``) sampled at the options' temperature (default the checkpoint's)."""
    policy = cached_blocking_policy(checkpoint_named(options.checkpoint), options.device)
    temperature = 0.0
    if sample:
        tuned = float(policy.metadata["inference"].get("sample_temperature", 1.0))
        temperature = tuned if options.temperature is None else options.temperature
    interruptions = interruptions_of(options)
    return policy_schedule(
        policy,
        instance,
        [interruptions.calendar(instance) for _ in range(samples)],
        interruptions.mode,
        temperature,
        options.seed,
        interruptions=interruptions_record(instance, interruptions),
        lookahead=policy_lookahead(policy),
    )


def solve_gnn(instance: Instance, options: SolveOptions) -> BlockingSchedule:
    """The greedy learned dispatcher on the calendar drawn from the options."""
    return _episodes(instance, options, 1, sample=False)


def solve_gnn_sample(instance: Instance, options: SolveOptions) -> BlockingSchedule:
    """Best of ``options.samples`` episodes sampled from the learned dispatcher, without shutdowns (it plans
    several episodes on one calendar; registered with that requirement)."""
    return _episodes(instance, options, options.samples, sample=True)


def solve_gnn_replan(instance: Instance, options: SolveOptions) -> BlockingSchedule:
    """Re-planning with the learned dispatcher's episodes, ``options.event_budget`` seconds per event, on the
    calendar drawn from the options; sampled at ``options.temperature`` (default :data:`TEMPERATURE`)."""
    policy = cached_blocking_policy(checkpoint_named(options.checkpoint), options.device)
    temperature = TEMPERATURE if options.temperature is None else options.temperature
    return policy_replan_schedule(
        policy, instance, interruptions_of(options), None, options.event_budget, options.time_limit, temperature,
        options.seed,
    )  # fmt: skip


def register_blocking_methods() -> None:
    """Add ``gnn``, ``gnn-sample`` and ``gnn-replan`` to the ``isbjssp`` problem."""
    register("gnn", solve_gnn, problem=PROBLEM, requires=without_admission_control, checkpoints=CHECKPOINTS)
    register(
        "gnn-replan", solve_gnn_replan, problem=PROBLEM, requires=without_admission_control, checkpoints=CHECKPOINTS
    )
    register(
        "gnn-sample",
        solve_gnn_sample,
        problem=PROBLEM,
        requires=every(without_shutdowns, without_admission_control),
        checkpoints=CHECKPOINTS,
    )
