"""Dispatcher training pieces: environments over random instances and the validation set.

Validation runs the greedy policy on a fixed set of generated instances and compares its
mean makespan with the best dispatching rule per instance and with CP-SAT at a short limit
(both computed once, at the start of a run, and cached in the run folder).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path

import numpy as np

from agents.harness import RunContext
from agents.inference import greedy_schedule
from agents.policy import JobShopPolicy
from jssp.cpsat import solve_cpsat
from jssp.env import JobShopEnv
from jssp.files import write_atomically
from jssp.generators import InstanceSampler, random_instance
from jssp.instance import Instance
from jssp.rules import RULES, dispatch


def make_env_factory(sampler: InstanceSampler, scheme: str) -> Callable[[], JobShopEnv]:
    """A factory of training environments drawing from ``sampler`` (e.g. :meth:`RunContext.sampler`),
    padded to its largest size (and to routes of ``2 * num_machines`` operations when it draws general ones)."""

    def factory() -> JobShopEnv:
        return JobShopEnv(sampler, scheme=scheme)

    return factory


@dataclass
class ValidationSet:
    """Fixed instances with reference makespans (best rule per instance, short CP-SAT)."""

    instances: list[Instance]
    best_rule: list[int]
    cpsat: list[int]

    @classmethod
    def build(
        cls, sizes: list[tuple[int, int]], count: int, seed: int, cpsat_seconds: float, cache: Path
    ) -> ValidationSet:
        if cache.exists():
            data = json.loads(cache.read_text())
            instances = [random_instance(j, m, seed=s) for j, m, s in data["specs"]]
            return cls(instances, data["best_rule"], data["cpsat"])
        specs = [(*sizes[index % len(sizes)], seed + index) for index in range(count)]
        instances = [random_instance(j, m, seed=s) for j, m, s in specs]
        by_makespan = attrgetter("makespan")
        best_schedules = [min((dispatch(instance, rule) for rule in RULES), key=by_makespan) for instance in instances]
        best_rule = [schedule.makespan for schedule in best_schedules]
        # hinted with the best rule's schedule, so a loaded machine that spends the limit building the model still
        # gets a reference (the hint) instead of an error
        cpsat = [
            solve_cpsat(instance, time_limit=cpsat_seconds, num_workers=1, hint=start).makespan
            if cpsat_seconds > 0
            else -1
            for instance, start in zip(instances, best_schedules, strict=True)
        ]
        write_atomically(cache, json.dumps({"specs": specs, "best_rule": best_rule, "cpsat": cpsat}) + "\n")
        return cls(instances, best_rule, cpsat)

    @classmethod
    def for_run(cls, run: RunContext, cpsat_seconds: float) -> ValidationSet:
        """The validation set of a training run (its validation sizes, count and seed; cached in its folder)."""
        return cls.build(
            run.validation_sizes,
            run.settings.validation_instances,
            seed=run.settings.validation_seed,
            cpsat_seconds=cpsat_seconds,
            cache=run.settings.run_dir / "validation_reference.json",
        )

    def evaluate(self, policy: JobShopPolicy, scheme: str) -> dict[str, float]:
        """Mean greedy makespan in ``scheme`` and mean gaps (%) to the best rule and to CP-SAT."""
        was_training = policy.training
        policy.eval()
        makespans = np.array([greedy_schedule(policy, instance, scheme).makespan for instance in self.instances])
        policy.train(was_training)
        rule = np.array(self.best_rule)
        metrics = {
            "val_makespan": float(makespans.mean()),
            "val_gap_to_best_rule": float(np.mean(100 * (makespans - rule) / rule)),
        }
        if min(self.cpsat) > 0:
            cpsat = np.array(self.cpsat)
            metrics["val_gap_to_cpsat"] = float(np.mean(100 * (makespans - cpsat) / cpsat))
        return metrics

    def describe(self, metrics: dict[str, float]) -> str:
        return f"val {metrics['val_makespan']:.1f} ({metrics['val_gap_to_best_rule']:+.1f}% vs best rule)"
