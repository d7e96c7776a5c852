"""Training pieces for ``train.py``: environments, validation, checkpoints, logs.

Validation runs the greedy policy on a fixed set of generated instances and compares its
mean makespan with the best dispatching rule per instance and with CP-SAT at a short limit
(both computed once, at the start of a run, and cached in the run folder).
"""

from __future__ import annotations

import csv
import json
import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import VecEnv
from tqdm import tqdm

from agents.checkpoints import save_policy
from agents.inference import greedy_schedule
from agents.policy import JobShopPolicy
from jssp.cpsat import solve_cpsat
from jssp.env import JobShopEnv
from jssp.generators import InstanceSampler, parse_size, random_instance
from jssp.instance import Instance
from jssp.rules import RULES, dispatch


def make_env_factory(sizes: list[tuple[int, int]], scheme: str) -> Callable[[], JobShopEnv]:
    """A factory of training environments drawing uniform random instances of the given sizes."""
    max_jobs = max(size[0] for size in sizes)
    max_machines = max(size[1] for size in sizes)

    def factory() -> JobShopEnv:
        return JobShopEnv(InstanceSampler(sizes), max_jobs=max_jobs, max_machines=max_machines, scheme=scheme)

    return factory


def parse_sizes(sizes: tuple[str, ...]) -> list[tuple[int, int]]:
    if not sizes:
        raise ValueError("give at least one training size, e.g. --sizes 10x10")
    return [parse_size(size) for size in sizes]


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
        best_rule = [min(dispatch(instance, rule).makespan for rule in RULES) for instance in instances]
        cpsat = [
            solve_cpsat(instance, time_limit=cpsat_seconds, num_workers=1).makespan if cpsat_seconds > 0 else -1
            for instance in instances
        ]
        cache.write_text(json.dumps({"specs": specs, "best_rule": best_rule, "cpsat": cpsat}) + "\n")
        return cls(instances, best_rule, cpsat)

    def evaluate(self, policy: JobShopPolicy, config: Mapping[str, Any]) -> dict[str, float]:
        """Mean greedy makespan (in the run's ``scheme``) and mean gaps (%) to the best rule and to CP-SAT."""
        was_training = policy.training
        policy.eval()
        scheme = config["scheme"]
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


class Validation(Protocol):
    """Fixed instances a :class:`TrainingMonitor` scores the policy on; ``val_makespan`` (lower is
    better) picks the best checkpoint."""

    def evaluate(self, policy: JobShopPolicy, config: Mapping[str, Any]) -> dict[str, float]: ...

    def describe(self, metrics: dict[str, float]) -> str: ...


class TrainingMonitor(BaseCallback):
    """Progress bar, periodic validation, best/last checkpoints, CSV log and wandb."""

    def __init__(
        self,
        validation: Validation,
        run_dir: Path,
        config: dict[str, Any],
        eval_freq: int,
        total_timesteps: int,
        wandb_run: Any = None,
        progress: bool = True,
    ) -> None:
        super().__init__()
        self.validation = validation
        self.run_dir = run_dir
        self.config = config
        self.eval_freq = eval_freq
        self.total_timesteps = total_timesteps
        self.wandb_run = wandb_run
        self.progress = progress
        self.log_path = run_dir / "validation.csv"
        self.best = math.inf
        if self.log_path.exists():
            with open(self.log_path, newline="") as stream:
                self.best = min((float(row["val_makespan"]) for row in csv.DictReader(stream)), default=math.inf)
        self.began = time.perf_counter()
        self.last_eval = 0
        self.bar: tqdm | None = None

    def _on_training_start(self) -> None:
        self.last_eval = self.num_timesteps
        self.bar = tqdm(
            total=self.total_timesteps,
            initial=self.num_timesteps,
            unit="step",
            disable=not self.progress,
            desc="training",
        )

    def _on_step(self) -> bool:
        if self.bar is not None:
            self.bar.update(self.num_timesteps - self.bar.n)
        if self.num_timesteps - self.last_eval >= self.eval_freq:
            self.validate()
        return True

    def _on_training_end(self) -> None:
        if self.num_timesteps > self.last_eval:
            self.validate()
        if self.bar is not None:
            self.bar.close()

    def validate(self) -> dict[str, float]:
        self.last_eval = self.num_timesteps
        policy = self.model.policy
        assert isinstance(policy, JobShopPolicy)
        metrics = self.validation.evaluate(policy, self.config)
        train_values = {
            key.split("/", 1)[1]: float(value)
            for key, value in self.model.logger.name_to_value.items()
            if key.startswith("train/")
        }
        row: dict[str, float | str] = {
            "timesteps": self.num_timesteps,
            "wall_seconds": round(time.perf_counter() - self.began, 1),
        }
        row.update({key: round(value, 4) for key, value in metrics.items()})
        for key in ("loss", "policy_gradient_loss", "value_loss", "entropy_loss", "approx_kl"):
            row[key] = round(train_values[key], 6) if key in train_values else ""
        append_csv_row(self.log_path, row)
        extra = {"timesteps": self.num_timesteps, **metrics}
        if metrics["val_makespan"] < self.best:
            self.best = metrics["val_makespan"]
            save_policy(policy, self.run_dir / "best", self.config, extra)
        save_policy(policy, self.run_dir / "last", self.config, extra)
        self.model.save(self.run_dir / "last_model.zip")  # optimizer and counters, for --resume
        if self.wandb_run is not None:
            self.wandb_run.log(
                {**metrics, **{f"train/{k}": v for k, v in train_values.items()}}, step=self.num_timesteps
            )
        if self.bar is not None:
            self.bar.set_postfix_str(self.validation.describe(metrics))
        return metrics


def append_csv_row(path: Path, row: Mapping[str, object]) -> None:
    """Append ``row`` to the CSV log at ``path``, writing the header first when the file is new."""
    new_file = not path.exists()
    with open(path, "a", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(row))
        if new_file:
            writer.writeheader()
        writer.writerow(row)


def run_ppo(
    policy_class: type[MaskableActorCriticPolicy],
    vec_env: VecEnv,
    validation: Any,
    cfg: Any,
    config: dict[str, Any],
    device: torch.device,
    wandb_project: str,
) -> MaskablePPO:
    """Create (or, with ``cfg.resume``, reload) a MaskablePPO model and train it to ``cfg.total_timesteps``.

    Shared by ``train.py`` and ``train_improvement.py``; ``cfg`` is either entry point's config
    (PPO settings, ``width``/``num_layers``, ``run_dir``, ``resume``, ``wandb``, ``eval_freq``,
    ``progress``) and ``validation`` anything with ``evaluate(policy, config)`` and ``describe()``.
    """
    last = cfg.run_dir / "last_model.zip"
    if cfg.resume and last.exists():
        model = MaskablePPO.load(last, env=vec_env, device=device)
        print(f"resumed {last} at {model.num_timesteps} steps", file=sys.stderr)
    else:
        learning_rate = cfg.learning_rate
        model = MaskablePPO(
            policy_class,
            vec_env,
            learning_rate=lambda progress_remaining: learning_rate * progress_remaining,
            n_steps=cfg.n_steps,
            batch_size=cfg.batch_size,
            n_epochs=cfg.n_epochs,
            gamma=cfg.gamma,
            gae_lambda=cfg.gae_lambda,
            clip_range=cfg.clip_range,
            ent_coef=cfg.ent_coef,
            vf_coef=cfg.vf_coef,
            policy_kwargs={"width": cfg.width, "num_layers": cfg.num_layers},
            seed=cfg.seed,
            device=device,
        )
    model.set_logger(configure(str(cfg.run_dir), ["csv"]))
    wandb_run = None
    if cfg.wandb != "disabled":
        import wandb

        wandb_run = wandb.init(
            project=wandb_project, mode=cfg.wandb, dir=str(cfg.run_dir), config=config, resume="allow"
        )
    monitor = TrainingMonitor(
        validation, cfg.run_dir, config, cfg.eval_freq, cfg.total_timesteps, wandb_run, progress=cfg.progress
    )
    remaining = cfg.total_timesteps - model.num_timesteps
    if remaining > 0:
        model.learn(remaining, callback=monitor, reset_num_timesteps=not cfg.resume)
    if wandb_run is not None:
        wandb_run.finish()
    return model


class FineTuneMonitor:
    """Validation, best/last checkpoints, CSV log and wandb of a supervised run (self-labelling, imitation).

    ``cfg`` is the run's config (``run_dir``, ``resume``, ``wandb``); every :meth:`validate` call
    writes one row of ``validation.csv`` with the running means of the ``logged`` training values,
    saves ``last/`` (weights, ``optimizer.pt``, ``instances_done``) and, on a new best validation
    makespan, ``best/``.
    """

    def __init__(
        self,
        cfg: Any,
        config: dict[str, Any],
        validation: ValidationSet,
        policy: JobShopPolicy,
        optimizer: torch.optim.Optimizer,
        wandb_project: str,
        logged: tuple[str, ...],
    ) -> None:
        self.cfg, self.config, self.validation = cfg, config, validation
        self.policy, self.optimizer, self.logged = policy, optimizer, logged
        self.log_path = cfg.run_dir / "validation.csv"
        self.best = float("inf")
        if self.log_path.exists() and cfg.resume:
            with open(self.log_path, newline="") as stream:
                self.best = min((float(row["val_makespan"]) for row in csv.DictReader(stream)), default=self.best)
        elif self.log_path.exists():
            self.log_path.unlink()
        self.began = time.perf_counter()
        self.wandb_run: Any = None
        if cfg.wandb != "disabled":
            import wandb

            self.wandb_run = wandb.init(
                project=wandb_project, mode=cfg.wandb, dir=str(cfg.run_dir), config=config, resume="allow"
            )

    def validate(self, done: int, recent: dict[str, list[float]]) -> str:
        metrics = self.validation.evaluate(self.policy, self.config)  # restores the training mode
        row: dict[str, float | int | str] = {
            "instances": done,
            "wall_seconds": round(time.perf_counter() - self.began, 1),
        }
        row.update({key: round(value, 4) for key, value in metrics.items()})
        for key in self.logged:
            row[key] = round(float(np.mean(recent[key])), 5) if recent.get(key) else ""
        append_csv_row(self.log_path, row)
        extra = {"instances_done": done, **metrics}
        if metrics["val_makespan"] < self.best:
            self.best = metrics["val_makespan"]
            save_policy(self.policy, self.cfg.run_dir / "best", self.config, extra)
        save_policy(self.policy, self.cfg.run_dir / "last", self.config, extra)
        torch.save(self.optimizer.state_dict(), self.cfg.run_dir / "last" / "optimizer.pt")
        if self.wandb_run is not None:
            self.wandb_run.log({**metrics, **{k: v for k, v in row.items() if k in self.logged}}, step=done)
        return self.validation.describe(metrics)

    def finish(self) -> None:
        if self.wandb_run is not None:
            self.wandb_run.finish()
