"""Registers the learned solving methods (``gnn``, ``gnn-sample``, ``hybrid``, ``ls-<steps>``) with :mod:`jssp.solvers`.

For the blocking job shop with shutdowns (``isbjssp``) it registers ``gnn`` (the greedy learned
dispatcher, online: it answers the simulator's questions as they come) and ``gnn-sample`` (best of
``samples`` sampled episodes; a planning method, so at shutdown rate 0 only).

Call :func:`register_learned_methods` once per process (``evaluate.py`` and ``jssp solve`` do);
policies are loaded lazily, once per (checkpoint, device).
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING

from agents.checkpoints import DEFAULT_CHECKPOINT, load_improvement_policy, load_policy
from agents.improvement.inference import improve
from agents.improvement.policy import ImprovementPolicy
from agents.inference import greedy_schedule, resolve_device, sampled_schedule, single_thread
from agents.policy import JobShopPolicy
from jssp.dispatch import warm_up
from jssp.instance import Instance
from jssp.schedule import Schedule
from jssp.solvers import SolveOptions, Solver, improve_hybrid, register, register_family

if TYPE_CHECKING:  # the blocking package loads on the first isbjssp solve only
    from jssp.blocking.schedule import BlockingSchedule

DEFAULT_BLOCKING_CHECKPOINT = "gnn-isbjssp"
"""The shipped dispatcher of ``isbjssp``, used where the options name the classical default."""


@functools.cache
def cached_policy(checkpoint: str, device: str) -> JobShopPolicy:
    single_thread()
    return load_policy(checkpoint, resolve_device(device))


def _scheme(policy: JobShopPolicy) -> str:
    return str(policy.metadata["inference"]["scheme"])


def solve_gnn(instance: Instance, options: SolveOptions) -> Schedule:
    policy = cached_policy(options.checkpoint, options.device)
    return greedy_schedule(policy, instance, _scheme(policy))


def solve_gnn_sample(instance: Instance, options: SolveOptions) -> Schedule:
    policy = cached_policy(options.checkpoint, options.device)
    temperature = options.temperature
    if temperature is None:
        temperature = float(policy.metadata["inference"].get("sample_temperature", 1.0))
    return sampled_schedule(policy, instance, options.samples, temperature, options.seed, scheme=_scheme(policy))


def solve_hybrid(instance: Instance, options: SolveOptions) -> Schedule:
    """Learned construction, then tabu search, then CP-SAT warm-started from the best schedule.

    All three stages share ``options.time_limit``: construction runs first (greedy, a few
    seconds at most on TA 100x20), then :func:`jssp.solvers.improve_hybrid` splits what is left
    between tabu search and CP-SAT.
    """
    began = time.perf_counter()
    start = solve_gnn(instance, options)
    start.method = "gnn"  # the name of its stage in info["stages"]
    return improve_hybrid(instance, start, options, began)


@functools.cache
def cached_improvement_policy(checkpoint: str, device: str) -> ImprovementPolicy:
    single_thread()
    return load_improvement_policy(checkpoint, resolve_device(device))


def learned_improvement(name: str) -> Solver:
    """``ls-<steps>``: the ``gnn`` schedule improved by ``steps`` greedy moves of the learned N5 policy
    (Zhang et al., ICLR 2024), keeping the best schedule found."""
    suffix = name.removeprefix("ls-")
    if not suffix.isdigit():
        raise ValueError(f"{suffix!r} is not a number of steps")
    steps = int(suffix)

    def solver(instance: Instance, options: SolveOptions) -> Schedule:
        start = solve_gnn(instance, options)
        policy = cached_improvement_policy(options.improvement_checkpoint, options.device)
        improved = improve(policy, instance, start, steps, seed=options.seed)
        improved.seconds += start.seconds  # the method's time includes its start
        return improved

    return solver


def checkpoint_for(problem: str, checkpoint: str) -> str:
    """The checkpoint a learned method of ``problem`` reads: the given one, or the problem's own default
    when the options hold the classical default (``gnn-default``)."""
    if problem == "isbjssp" and checkpoint == DEFAULT_CHECKPOINT:
        return DEFAULT_BLOCKING_CHECKPOINT
    return checkpoint


@functools.cache
def cached_blocking_policy(checkpoint: str, device: str) -> JobShopPolicy:
    from agents.blocking.policy import load_blocking_policy

    single_thread()
    return load_blocking_policy(checkpoint, resolve_device(device))


def _blocking_episodes(instance: Instance, options: SolveOptions, samples: int, sample: bool) -> BlockingSchedule:
    """The best of ``samples`` episodes of the learned dispatcher on the calendar drawn from the options,
    greedy or (``sample``) sampled at the options' temperature (default the checkpoint's)."""
    from agents.blocking.policy import policy_lookahead, policy_schedule
    from jssp.blocking import interruptions_of
    from jssp.blocking.rules import interruptions_record

    policy = cached_blocking_policy(checkpoint_for("isbjssp", options.checkpoint), options.device)
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


def solve_blocking_gnn(instance: Instance, options: SolveOptions) -> BlockingSchedule:
    """The greedy learned dispatcher on the calendar drawn from the options."""
    return _blocking_episodes(instance, options, 1, sample=False)


def solve_blocking_gnn_sample(instance: Instance, options: SolveOptions) -> BlockingSchedule:
    """Best of ``options.samples`` episodes sampled from the learned dispatcher, without shutdowns (it plans
    several episodes on one calendar; registered with that requirement)."""
    return _blocking_episodes(instance, options, options.samples, sample=True)


def _without_shutdowns(options: SolveOptions) -> str | None:
    """The blocking problem's requirement of planning methods (:func:`jssp.blocking.methods.without_shutdowns`),
    imported when first asked: the blocking package loads on the first isbjssp solve only."""
    from jssp.blocking.methods import without_shutdowns

    return without_shutdowns(options)


def register_learned_methods() -> None:
    """Add ``gnn``, ``gnn-sample``, ``hybrid`` and ``ls-<steps>`` to the registry (and ``gnn``, ``gnn-sample``
    for ``isbjssp``); load the dispatch kernels."""
    register("gnn", solve_gnn)
    register("gnn-sample", solve_gnn_sample)
    register("hybrid", solve_hybrid)
    register_family("ls-", learned_improvement, "steps")
    register("gnn", solve_blocking_gnn, problem="isbjssp")
    register("gnn-sample", solve_blocking_gnn_sample, problem="isbjssp", requires=_without_shutdowns)
    warm_up()
