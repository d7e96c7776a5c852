"""Registers the learned solving methods of the classical job shop (``gnn``, ``gnn-sample``, ``hybrid``,
``ls-<steps>``) with :mod:`jssp.solvers`, each with the checkpoints it reads by default.

:func:`register_learned_methods` is an entry point of the ``jssp.methods`` group (``evaluate.py``,
``jssp solve`` and the web server run it when a learned method is asked for); a problem variant's
learned methods register from its own sub-package the same way. Policies are loaded lazily, once
per (checkpoint, device).
"""

from __future__ import annotations

import functools
import time

from agents.checkpoints import (
    DEFAULT_CHECKPOINT,
    DEFAULT_IMPROVEMENT_CHECKPOINT,
    load_improvement_policy,
    load_policy,
)
from agents.improvement.inference import improve
from agents.improvement.policy import ImprovementPolicy
from agents.inference import greedy_schedule, resolve_device, sampled_schedule, single_thread
from agents.policy import JobShopPolicy
from jssp.dispatch import warm_up
from jssp.instance import Instance
from jssp.schedule import Schedule
from jssp.solvers import SolveOptions, Solver, improve_hybrid, register, register_family

CHECKPOINTS = {"checkpoint": DEFAULT_CHECKPOINT}
"""The checkpoint the construction methods read unless the options name one."""
IMPROVEMENT_CHECKPOINTS = {**CHECKPOINTS, "improvement_checkpoint": DEFAULT_IMPROVEMENT_CHECKPOINT}
"""What ``ls-<steps>`` reads: the construction policy of its start, and the move policy."""


def checkpoint_named(checkpoint: str | None) -> str:
    """The checkpoint option of a solve; :func:`jssp.solvers.solve` fills it with the method's registered default."""
    if checkpoint is None:
        raise ValueError("no checkpoint given: call jssp.solvers.solve, which fills in the method's default")
    return checkpoint


@functools.cache
def cached_policy(checkpoint: str, device: str) -> JobShopPolicy:
    single_thread()
    return load_policy(checkpoint, resolve_device(device))


def _scheme(policy: JobShopPolicy) -> str:
    return str(policy.metadata["inference"]["scheme"])


def solve_gnn(instance: Instance, options: SolveOptions) -> Schedule:
    policy = cached_policy(checkpoint_named(options.checkpoint), options.device)
    return greedy_schedule(policy, instance, _scheme(policy))


def solve_gnn_sample(instance: Instance, options: SolveOptions) -> Schedule:
    policy = cached_policy(checkpoint_named(options.checkpoint), options.device)
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
        policy = cached_improvement_policy(checkpoint_named(options.improvement_checkpoint), options.device)
        improved = improve(policy, instance, start, steps, seed=options.seed)
        improved.seconds += start.seconds  # the method's time includes its start
        return improved

    return solver


def register_learned_methods() -> None:
    """Add ``gnn``, ``gnn-sample``, ``hybrid`` and ``ls-<steps>`` to the registry; load the dispatch kernels."""
    register("gnn", solve_gnn, checkpoints=CHECKPOINTS)
    register("gnn-sample", solve_gnn_sample, checkpoints=CHECKPOINTS)
    register("hybrid", solve_hybrid, checkpoints=CHECKPOINTS)
    register_family("ls-", learned_improvement, "steps", checkpoints=IMPROVEMENT_CHECKPOINTS)
    warm_up()
