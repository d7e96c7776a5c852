"""PPO for the N5 move policy of the improvement mode (``train.py improvement``; Zhang et al., ICLR 2024, L2S).

Every episode starts from a dispatching rule's schedule of a random instance and applies
``--episode-steps`` moves.

Validation improves a fixed start schedule (a dispatching rule's) of every fixed generated
instance for a fixed number of greedy policy steps, and compares the mean best makespan with
the start and with tabu search given the same number of iterations (computed once, at the
start of a run, and cached in the run folder).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, ClassVar

import numpy as np
import tyro
from stable_baselines3.common.vec_env import DummyVecEnv

from agents.checkpoints import architecture_of
from agents.harness import RunContext, RunSettings, start_run
from agents.improvement.inference import improve
from agents.improvement.policy import ImprovementPolicy
from agents.policy import JobShopPolicy
from agents.ppo import PPOHyperparameters, build_model, run_ppo
from jssp.files import write_atomically
from jssp.generators import InstanceSampler, random_instance
from jssp.improvement_env import ImprovementEnv
from jssp.instance import Instance
from jssp.local_search import tabu_search
from jssp.rules import dispatch
from jssp.schedule import Schedule


def make_improvement_env_factory(
    sampler: InstanceSampler, episode_steps: int, tabu_tenure: int
) -> Callable[[], ImprovementEnv]:
    """A factory of training environments drawing from ``sampler`` (e.g. :meth:`RunContext.sampler`),
    padded to its largest size."""

    def factory() -> ImprovementEnv:
        return ImprovementEnv(sampler, episode_steps=episode_steps, tabu_tenure=tabu_tenure)

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
        write_atomically(cache, json.dumps(document) + "\n")
        return cls(instances, starts, steps, start_makespans, tabu)

    def evaluate(self, policy: JobShopPolicy, scheme: str) -> dict[str, float]:
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


@dataclass(frozen=True)
class ImprovementConfig:
    """Train the N5 move policy of the improvement mode (L2S) with MaskablePPO."""

    EXTENDABLE: ClassVar[tuple[str, ...]] = ("total_timesteps",)
    """Fields a resumed run may raise (to train longer)."""

    run: Annotated[RunSettings, tyro.conf.OmitArgPrefixes] = RunSettings(
        run_dir=Path("runs/ls"), validation_instances=10
    )
    ppo: Annotated[PPOHyperparameters, tyro.conf.OmitArgPrefixes] = field(
        default_factory=lambda: PPOHyperparameters(gamma=0.99)
    )
    total_timesteps: int = 500_000
    """Environment steps (one N5 move each), counted from the start of the run."""
    episode_steps: int = 64
    """Moves per training episode (then the episode is truncated)."""
    tabu_tenure: int = 8
    """Steps during which swapping a pair back is masked, in training and at inference (0: off)."""
    width: int = 32
    """Embedding width of the GNN."""
    num_layers: int = 3
    """Message-passing rounds."""
    validation_steps: int = 100
    """Greedy moves per validation instance; tabu search gets as many iterations."""
    validation_start_rule: str = "mwkr"
    """Dispatching rule (non-delay) that builds the validation start schedules."""


def main(cfg: ImprovementConfig) -> RunContext:
    # ------------------------------------------------------------------ preamble
    run = start_run(cfg, "improvement")
    if cfg.total_timesteps <= 0 or cfg.episode_steps <= 0:
        raise ValueError("--total-timesteps and --episode-steps must be positive")

    # ------------------------------------------------------------------ environments and validation set
    factory = make_improvement_env_factory(run.sampler(), cfg.episode_steps, cfg.tabu_tenure)
    vec_env = DummyVecEnv([factory] * cfg.ppo.n_envs)
    vec_env.seed(run.settings.seed)
    validation = ImprovementValidationSet.build(
        run.validation_sizes,
        run.settings.validation_instances,
        seed=run.settings.validation_seed,
        steps=cfg.validation_steps,
        start_rule=cfg.validation_start_rule,
        cache=run.settings.run_dir / "validation_reference.json",
    )

    # ------------------------------------------------------------------ model (new or resumed) and learn
    model = build_model(run, ImprovementPolicy, vec_env, cfg.ppo, width=cfg.width, num_layers=cfg.num_layers)
    policy = model.policy
    assert isinstance(policy, ImprovementPolicy)
    architecture = architecture_of(policy, run.max_jobs, run.max_machines, run.max_width)
    inference = {"tabu_tenure": cfg.tabu_tenure, "episode_steps": cfg.episode_steps}
    run_ppo(run, model, validation, cfg.total_timesteps, architecture, inference)
    return run
