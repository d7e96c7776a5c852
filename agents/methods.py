"""Registers the learned solving methods (``gnn``, ``gnn-sample``) with :mod:`jssp.solvers`.

Call :func:`register_learned_methods` once per process (``evaluate.py`` and ``jssp solve`` do);
policies are loaded lazily, once per (checkpoint, device).
"""

from __future__ import annotations

import functools

import torch

from agents.checkpoints import load_policy
from agents.inference import greedy_schedule, resolve_device, sampled_schedule
from agents.policy import JobShopPolicy
from jssp.dispatch import warm_up
from jssp.instance import Instance
from jssp.schedule import Schedule
from jssp.solvers import SolveOptions, register


@functools.cache
def cached_policy(checkpoint: str, device: str) -> JobShopPolicy:
    # One intra-op thread: per-step graphs are small, and extra threads fight with parallel workers.
    torch.set_num_threads(1)
    return load_policy(checkpoint, resolve_device(device))


def _scheme(policy: JobShopPolicy) -> str:
    return str(policy.config["scheme"])


def solve_gnn(instance: Instance, options: SolveOptions) -> Schedule:
    policy = cached_policy(options.checkpoint, options.device)
    return greedy_schedule(policy, instance, _scheme(policy))


def solve_gnn_sample(instance: Instance, options: SolveOptions) -> Schedule:
    policy = cached_policy(options.checkpoint, options.device)
    return sampled_schedule(
        policy, instance, options.num_samples, options.temperature, options.seed, scheme=_scheme(policy)
    )


def register_learned_methods() -> None:
    """Add ``gnn`` and ``gnn-sample`` to the method registry and load the dispatch kernels."""
    register("gnn", solve_gnn)
    register("gnn-sample", solve_gnn_sample)
    warm_up()
