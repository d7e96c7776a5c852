"""Training pieces for ``train_improvement.py``: environments and the validation set.

Validation improves a fixed start schedule (a dispatching rule's) of every fixed generated
instance for a fixed number of greedy policy steps, and compares the mean best makespan with
the start and with tabu search given the same number of iterations (computed once, at the
start of a run, and cached in the run folder).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.improvement_inference import improve
from agents.improvement_policy import ImprovementPolicy
from agents.policy import JobShopPolicy
from jssp.generators import InstanceSampler, random_instance
from jssp.improvement_env import ImprovementEnv
from jssp.instance import Instance
from jssp.local_search import tabu_search
from jssp.rules import dispatch
from jssp.schedule import Schedule


def make_improvement_env_factory(
    sizes: list[tuple[int, int]], episode_steps: int, tabu_tenure: int
) -> Callable[[], ImprovementEnv]:
    """A factory of training environments over uniform random instances of the given sizes."""
    max_jobs = max(size[0] for size in sizes)
    max_machines = max(size[1] for size in sizes)

    def factory() -> ImprovementEnv:
        return ImprovementEnv(
            InstanceSampler(sizes),
            max_jobs=max_jobs,
            max_machines=max_machines,
            episode_steps=episode_steps,
            tabu_tenure=tabu_tenure,
        )

    return factory


@dataclass
class ImprovementValidationSet:
    """Fixed instances and start schedules, with the start and tabu-search makespans as references."""

    instances: list[Instance]
    starts: list[Schedule]
    steps: int
    start_makespans: list[int]
    tabu: list[int]

    @classmethod
    def build(
        cls, sizes: list[tuple[int, int]], count: int, seed: int, steps: int, start_rule: str, cache: Path
    ) -> ImprovementValidationSet:
        specs = [(*sizes[index % len(sizes)], seed + index) for index in range(count)]
        if cache.exists():
            data = json.loads(cache.read_text())
            specs = [tuple(spec) for spec in data["specs"]]
        instances = [random_instance(j, m, seed=s) for j, m, s in specs]
        starts = [dispatch(instance, start_rule) for instance in instances]
        if cache.exists():
            return cls(instances, starts, data["steps"], data["start"], data["tabu"])
        tabu = [
            tabu_search(instance, start, time_limit=math.inf, max_iterations=steps).schedule.makespan
            for instance, start in zip(instances, starts, strict=True)
        ]
        start_makespans = [start.makespan for start in starts]
        document = {"specs": specs, "steps": steps, "start_rule": start_rule, "start": start_makespans, "tabu": tabu}
        cache.write_text(json.dumps(document) + "\n")
        return cls(instances, starts, steps, start_makespans, tabu)

    def evaluate(self, policy: JobShopPolicy, config: Mapping[str, Any]) -> dict[str, float]:
        """Mean best makespan after ``steps`` greedy moves, and mean gaps (%) to the start and to tabu search."""
        assert isinstance(policy, ImprovementPolicy)
        was_training = policy.training
        policy.eval()
        makespans = np.array(
            [
                improve(policy, instance, start, self.steps).makespan
                for instance, start in zip(self.instances, self.starts, strict=True)
            ]
        )
        policy.train(was_training)
        start = np.array(self.start_makespans)
        tabu = np.array(self.tabu)
        return {
            "val_makespan": float(makespans.mean()),
            "val_start_makespan": float(start.mean()),
            "val_tabu_makespan": float(tabu.mean()),
            "val_improvement": float(np.mean(100 * (start - makespans) / start)),
            "val_gap_to_tabu": float(np.mean(100 * (makespans - tabu) / tabu)),
        }

    def describe(self, metrics: dict[str, float]) -> str:
        return f"val {metrics['val_makespan']:.1f} ({metrics['val_gap_to_tabu']:+.2f}% vs tabu-{self.steps})"
