"""Registers the learned solving methods (``gnn``, ``gnn-sample``, ``hybrid``, ``ls-<steps>``) with :mod:`jssp.solvers`.

Call :func:`register_learned_methods` once per process (``evaluate.py`` and ``jssp solve`` do);
policies are loaded lazily, once per (checkpoint, device).
"""

from __future__ import annotations

import functools
import time

from agents.checkpoints import load_improvement_policy, load_policy
from agents.improvement_inference import improve
from agents.improvement_policy import ImprovementPolicy
from agents.inference import greedy_schedule, resolve_device, sampled_schedule, single_thread
from agents.policy import JobShopPolicy
from jssp.cpsat import solve_cpsat
from jssp.dispatch import warm_up
from jssp.instance import Instance
from jssp.local_search import tabu_search
from jssp.schedule import Schedule
from jssp.solvers import SolveOptions, Solver, register, register_family


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


HYBRID_TABU_SHARE = 0.3
"""Share of the time left after construction that ``hybrid`` gives tabu search; CP-SAT gets the rest."""


def solve_hybrid(instance: Instance, options: SolveOptions) -> Schedule:
    """Learned construction, then tabu search, then CP-SAT warm-started from the best schedule.

    All three stages share ``options.time_limit``: construction runs first (greedy, a few
    seconds at most on TA 100x20), tabu search gets ``HYBRID_TABU_SHARE`` of what is left,
    CP-SAT the remainder minus a small margin. CP-SAT never returns worse than its hint.
    """
    began = time.perf_counter()
    start = solve_gnn(instance, options)
    remaining = options.time_limit - (time.perf_counter() - began)
    improved = start
    lower_bound = instance.trivial_lower_bound()
    if remaining > 0:
        improved = tabu_search(
            instance, start, time_limit=HYBRID_TABU_SHARE * remaining, seed=options.seed, lower_bound=lower_bound
        ).schedule
    final = improved
    remaining = options.time_limit - (time.perf_counter() - began) - 0.2
    if remaining > 0.05 and improved.makespan > lower_bound:  # at the bound the schedule is optimal
        final = solve_cpsat(
            instance, time_limit=remaining, num_workers=options.cpsat_workers, seed=options.seed, hint=improved
        )
    final.info["stages"] = {"gnn": start.makespan, "tabu": improved.makespan, "cpsat": final.makespan}
    final.seconds = time.perf_counter() - began
    return final


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


def register_learned_methods() -> None:
    """Add ``gnn``, ``gnn-sample``, ``hybrid`` and ``ls-<steps>`` to the registry; load the dispatch kernels."""
    register("gnn", solve_gnn)
    register("gnn-sample", solve_gnn_sample)
    register("hybrid", solve_hybrid)
    register_family("ls-", learned_improvement, "steps")
    warm_up()
