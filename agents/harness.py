"""The training harness every algorithm of ``train.py`` runs in.

One :class:`RunSettings` (seed, device, run folder, resume, sizes, validation set and cadence,
threads, wandb, progress) is nested in every algorithm's config. :func:`start_run` does the run
preamble (threads, seeding, device, run folder, ``config.json``, resume checks) and
:class:`Monitor` the rest: periodic validation, ``validation.csv``, best/last checkpoints,
wandb, the progress bar and the resume state. :class:`SB3Monitor` adapts it to
stable-baselines3's callback interface for the PPO algorithms.

Nothing is lost on a kill. Checkpoint folders are swapped in atomically
(:func:`jssp.files.replace_folder`) and ``last/`` holds the resume state (progress, best
validation value, wall seconds, rows of every log at that moment); a resumed run cuts its logs
back to those rows and continues from there, so each log ends with the same rows as an
uninterrupted run, with no duplicates and no gaps.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import KVWriter, Logger
from stable_baselines3.common.utils import set_random_seed
from tqdm import tqdm

from agents.checkpoints import environment_record, save_checkpoint
from agents.inference import resolve_device
from agents.policy import JobShopPolicy
from jssp.files import (
    append_csv_row,
    csv_row_count,
    read_csv_rows,
    recover_folder,
    setting_differences,
    truncate_csv,
    write_atomically,
)
from jssp.generators import InstanceSampler, parse_size

STATE_FILE = "state.json"
VALIDATION_LOG = "validation.csv"
PROGRESS_LOG = "progress.csv"
RUN_LOGS = (VALIDATION_LOG, PROGRESS_LOG)
"""The CSV logs a run writes (``progress.csv``: SB3's per-rollout log of the PPO algorithms)."""
RESUMABLE_CHANGES = frozenset(
    {"resume", "progress", "wandb", "device", "torch_threads", "teacher_workers", "backend", "ray_address"}
)
"""Run settings a resumed run may change; any other difference from the saved config is refused,
except the fields an algorithm's config lists in its ``EXTENDABLE`` class attribute (a longer run)."""


@dataclass(frozen=True)
class RunSettings:
    """Settings every training algorithm shares (``train.py ALGORITHM --help`` lists them as run options)."""

    seed: int = 0
    """Seed of the instance stream, the network initialisation and the algorithm."""
    device: str = "auto"
    """Torch device: auto (GPU if present), cpu or cuda."""
    run_dir: Path = Path("runs/train")
    """Output folder: config.json, validation.csv, best/, last/ (and the algorithm's own logs)."""
    resume: bool = False
    """Continue the run in run_dir from its last complete checkpoint, appending to its logs."""
    sizes: tuple[str, ...] = ("10x10",)
    """Training instance sizes (jobs x machines), drawn uniformly per instance or episode."""
    general_fraction: float = 0.0
    """Share of training instances with general routes: 1..2*machines operations per job, skipping and
    revisiting machines (jssp.generators.random_general_instance); 0 draws classical instances only.
    Validation instances stay classical."""
    reentry: float = 0.2
    """Probability that an operation of a general route revisits a machine its job has used."""
    validation_sizes: tuple[str, ...] = ()
    """Validation instance sizes, cycled (default: the training sizes)."""
    validation_instances: int = 20
    """Generated validation instances."""
    validation_seed: int = 10_000
    """Seed of the first validation instance (the next ones count up); fixed, so that runs with
    different seeds are validated on the same instances."""
    eval_every: int = 20_000
    """Validate and checkpoint every this many units of progress (environment steps for ppo and
    improvement, training instances for imitation and self-labelling)."""
    torch_threads: int = 1
    """Torch intra-op threads. One is safest: the graphs are small and extra threads contend on a shared CPU."""
    wandb: Literal["offline", "online", "disabled"] = "offline"
    """Weights & Biases mode; offline writes to RUN_DIR/wandb and needs no network."""
    progress: bool = True
    """Show a progress bar."""


class Validation(Protocol):
    """Fixed instances the monitor scores the policy on; ``val_makespan`` (lower is better) picks ``best/``."""

    def evaluate(self, policy: JobShopPolicy, scheme: str) -> dict[str, float]: ...

    def describe(self, metrics: dict[str, float]) -> str: ...


class RunError(ValueError):
    """A run folder that cannot be used as asked (a run already there, another config, ...)."""


@dataclass
class RunContext:
    """What :func:`start_run` prepared: the device, sizes and, when resuming, the state to continue from."""

    settings: RunSettings
    algorithm: str
    config: dict[str, Any]
    device: torch.device
    sizes: list[tuple[int, int]]
    validation_sizes: list[tuple[int, int]]
    environment: dict[str, Any]
    state: dict[str, Any] | None
    """Resume state of ``last/`` (``progress``, ``best``, ``wall_seconds``, ``log_rows``); None for a new run."""

    @property
    def last(self) -> Path:
        return self.settings.run_dir / "last"

    @property
    def progress(self) -> int:
        return int(self.state["progress"]) if self.state else 0

    @property
    def max_jobs(self) -> int:
        return max(size[0] for size in self.sizes)

    @property
    def max_machines(self) -> int:
        return max(size[1] for size in self.sizes)

    @property
    def max_width(self) -> int:
        """Longest route the training instances can have (the node padding is ``max_jobs * max_width``)."""
        return 2 * self.max_machines if self.settings.general_fraction > 0 else self.max_machines

    def sampler(self) -> InstanceSampler:
        """The training instance stream's generator: the run's sizes, general routes in its share."""
        return InstanceSampler(self.sizes, general=self.settings.general_fraction, reentry=self.settings.reentry)


def parse_sizes(sizes: tuple[str, ...]) -> list[tuple[int, int]]:
    if not sizes:
        raise ValueError("give at least one size, e.g. --sizes 10x10")
    return [parse_size(size) for size in sizes]


def config_record(cfg: Any) -> dict[str, Any]:
    """A frozen config dataclass as JSON-ready data (paths as strings, nested dataclasses as dicts)."""
    return json.loads(json.dumps(dataclasses.asdict(cfg), default=str))


def flatten_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A saved config with its nested settings (``run``, ``ppo``, ...) lifted to the top level, as the
    command line shows them (their option names carry no prefix)."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            flat.update(flatten_config(value))
        else:
            flat[key] = value
    return flat


def start_run(cfg: Any, algorithm: str) -> RunContext:
    """The run preamble shared by every algorithm: checks, threads, seeding, device, folder, config.json.

    Args:
        cfg: the algorithm's frozen config, with its :class:`RunSettings` as ``cfg.run``.
        algorithm: the ``train.py`` subcommand (``ppo``, ``imitation``, ...), saved with the config.

    Raises:
        RunError: ``run_dir`` already holds a checkpoint and ``--resume`` was not given, or
            ``--resume`` was given for a run made with another algorithm or other settings.
    """
    settings: RunSettings = cfg.run
    hyperparameters = getattr(cfg, "ppo", None)
    if hyperparameters is not None:
        hyperparameters.check()
    device = resolve_device(settings.device)  # --device cuda without CUDA fails here, before any file is touched
    if settings.eval_every <= 0 or settings.validation_instances <= 0 or settings.torch_threads <= 0:
        raise ValueError("--eval-every, --validation-instances and --torch-threads must be positive")
    if not (0.0 <= settings.general_fraction <= 1.0 and 0.0 <= settings.reentry <= 1.0):
        raise ValueError("--general-fraction and --reentry are shares between 0 and 1")
    sizes = parse_sizes(settings.sizes)
    validation_sizes = parse_sizes(settings.validation_sizes) if settings.validation_sizes else sizes
    run_dir = settings.run_dir
    for name in ("last", "best"):
        recover_folder(run_dir / name)
    config = {"algorithm": algorithm, **config_record(cfg), "extendable": list(getattr(cfg, "EXTENDABLE", ()))}
    state = None
    last_state = run_dir / "last" / STATE_FILE
    if last_state.exists() and not settings.resume:
        raise RunError(
            f"{run_dir} already holds a run (last checkpoint at {json.loads(last_state.read_text())['progress']}); "
            "pass --resume to continue it or choose another --run-dir"
        )
    saved_config_path = run_dir / "config.json"
    if settings.resume and saved_config_path.exists():
        _check_resumable(json.loads(saved_config_path.read_text()), config, field_defaults(cfg), run_dir)
    if settings.resume and last_state.exists():
        state = json.loads(last_state.read_text())
        print(f"resuming {run_dir} from its last checkpoint at {state['progress']}", file=sys.stderr)
    elif settings.resume:
        print(f"{run_dir} has no complete checkpoint: starting from the beginning", file=sys.stderr)
    for log_name, rows in (state["log_rows"] if state else {}).items():
        truncate_csv(run_dir / log_name, rows)
    if state is None:  # a new run: logs of an earlier attempt that never reached a checkpoint go
        for log_name in RUN_LOGS:
            (run_dir / log_name).unlink(missing_ok=True)
    torch.set_num_threads(settings.torch_threads)
    set_random_seed(settings.seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(saved_config_path, json.dumps(config, indent=1) + "\n")
    environment = state["environment"] if state else environment_record(device)
    return RunContext(settings, algorithm, config, device, sizes, validation_sizes, environment, state)


def field_defaults(cfg: Any) -> dict[str, Any]:
    """The class defaults of every field of a config dataclass and of the dataclasses nested in it,
    flattened as :func:`flatten_config` and JSON-ready (what a run saved before a field existed behaved as)."""
    defaults: dict[str, Any] = {}
    for config_field in dataclasses.fields(cfg):
        value = getattr(cfg, config_field.name)
        if dataclasses.is_dataclass(value):
            defaults.update(field_defaults(value))
        elif config_field.default is not dataclasses.MISSING:
            defaults[config_field.name] = config_field.default
        elif config_field.default_factory is not dataclasses.MISSING:
            defaults[config_field.name] = config_field.default_factory()
    return json.loads(json.dumps(defaults, default=str))


def _check_resumable(saved: dict[str, Any], config: dict[str, Any], defaults: dict[str, Any], run_dir: Path) -> None:
    if saved.get("algorithm") != config["algorithm"]:
        raise RunError(f"{run_dir} holds a {saved.get('algorithm')} run, not {config['algorithm']}")
    allowed = {*RESUMABLE_CHANGES, *config["extendable"]}
    # A setting added after the run was saved is missing there: the run behaved as its default.
    saved_settings = {**defaults, **flatten_config(saved)}
    changed = setting_differences(saved_settings, flatten_config(config), allowed)
    if changed:
        raise RunError(
            f"--resume of {run_dir} with other settings than it was started with ({'; '.join(changed)}): "
            "resume with the same settings, or choose another --run-dir"
        )


class Monitor:
    """Validation, best/last checkpoints, ``validation.csv``, wandb, progress bar and resume state.

    Args:
        run: what :func:`start_run` returned.
        policy: the network being trained (saved in ``best/`` and ``last/``).
        validation: fixed instances scored at every :meth:`validate`.
        unit: name of the progress unit (``timesteps``, ``instances``), the first column of the log.
        planned: progress at which the run ends.
        architecture, inference, parent: sections of every checkpoint's metadata (see :mod:`agents.checkpoints`).
        logs: the algorithm's own CSV logs in the run folder (cut back with ``validation.csv`` on resume).
    """

    def __init__(
        self,
        run: RunContext,
        policy: JobShopPolicy,
        validation: Validation,
        unit: str,
        planned: int,
        architecture: dict[str, Any],
        inference: dict[str, Any],
        parent: dict[str, Any] | None = None,
        logs: tuple[str, ...] = (),
    ) -> None:
        self.run, self.policy, self.validation, self.unit, self.planned = run, policy, validation, unit, planned
        self.architecture, self.inference, self.parent = architecture, inference, parent
        self.logs = (VALIDATION_LOG, *logs)
        self.run_dir = run.settings.run_dir
        state = run.state or {}
        self.best = float(state.get("best", math.inf))
        self.began = time.perf_counter() - float(state.get("wall_seconds", 0.0))
        self.progress = run.progress
        self.bar = tqdm(
            total=planned, initial=self.progress, unit=unit, disable=not run.settings.progress, desc=run.algorithm
        )
        self.wandb_run: Any = None
        if run.settings.wandb != "disabled":
            import wandb

            run_id = state.get("wandb_id") or f"{run.algorithm}-{int(time.time())}"
            self.wandb_id = run_id
            self.wandb_run = wandb.init(
                project=f"jssp-{run.algorithm}",
                mode=run.settings.wandb,
                dir=str(self.run_dir),
                config=run.config,
                id=run_id,
                resume="allow",
            )

    @property
    def wall_seconds(self) -> float:
        return time.perf_counter() - self.began

    def advance(self, progress: int) -> None:
        """Move the progress bar to ``progress``."""
        self.progress = progress
        self.bar.update(progress - self.bar.n)

    def due(self, progress: int, last_validated: int) -> bool:
        return progress - last_validated >= self.run.settings.eval_every or progress >= self.planned

    def validate(
        self, progress: int, train_values: Mapping[str, float], resume_files: Mapping[str, bytes] | None = None
    ) -> dict[str, float]:
        """Score the policy, log a row, save ``best/`` (on a new best) and ``last/`` with ``resume_files``.

        ``last/`` is written last: it is the commit point a resumed run continues from.
        """
        self.advance(progress)
        scheme = self.inference.get("scheme", "")
        metrics = self.validation.evaluate(self.policy, scheme)
        row: dict[str, float | int | str] = {self.unit: progress, "wall_seconds": round(self.wall_seconds, 1)}
        row.update({key: round(value, 4) for key, value in metrics.items()})
        row.update({key: round(float(value), 6) for key, value in train_values.items()})
        append_csv_row(self.run_dir / VALIDATION_LOG, row)
        metadata = self._metadata(progress, metrics)
        if metrics["val_makespan"] < self.best:
            self.best = metrics["val_makespan"]
            save_checkpoint(self.policy, self.run_dir / "best", metadata)
        state = {
            "progress": progress,
            "best": self.best,
            "wall_seconds": round(self.wall_seconds, 1),
            "log_rows": {log: csv_row_count(self.run_dir / log) for log in self.logs},
            "environment": self.run.environment,
            "wandb_id": getattr(self, "wandb_id", None),
        }
        files = {**(resume_files or {}), STATE_FILE: (json.dumps(state, indent=1) + "\n").encode()}
        save_checkpoint(self.policy, self.run_dir / "last", metadata, files)
        if self.wandb_run is not None:
            self.wandb_run.log({**metrics, **train_values}, step=progress)
        self.bar.set_postfix_str(self.validation.describe(metrics))
        return metrics

    def _metadata(self, progress: int, metrics: dict[str, float]) -> dict[str, Any]:
        return {
            "architecture": self.architecture,
            "inference": self.inference,
            "training": {
                "algorithm": self.run.algorithm,
                "config": self.run.config,
                "parent": self.parent,
                **self.run.environment,
                "wall_seconds": round(self.wall_seconds, 1),
                "progress": {"unit": self.unit, "value": progress, "planned": self.planned},
                "validation": metrics,
                "validation_curve": read_csv_rows(self.run_dir / VALIDATION_LOG),
                "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            },
        }

    def finish(self) -> None:
        self.bar.close()
        if self.wandb_run is not None:
            self.wandb_run.finish()


def torch_state_bytes(state: Mapping[str, Any]) -> bytes:
    """An optimizer (or any torch) state as bytes, for :meth:`Monitor.validate`'s ``resume_files``."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def mean_values(recent: Mapping[str, list[float]]) -> dict[str, float]:
    """Running means of the training values logged since the last validation (empty lists dropped)."""
    return {key: float(np.mean(values)) for key, values in recent.items() if values}


class AppendingCSVOutput(KVWriter):
    """SB3 logger output that appends one flushed row per dump to a CSV (resumable, unlike SB3's own)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, Any], step: int = 0) -> None:
        row = {key: value for key, value in key_values.items() if isinstance(value, int | float | str)}
        append_csv_row(self.path, {key: row[key] for key in sorted(row)})

    def close(self) -> None:
        pass


class SB3Monitor(BaseCallback):
    """Thin adapter of :class:`Monitor` to stable-baselines3: validates every ``eval_every`` steps and
    stores the whole algorithm (``model.zip``: optimizer, counters) in ``last/`` for ``--resume``.

    Validation and checkpoints happen between PPO iterations (at the start of a rollout), where the
    saved algorithm has trained on every rollout it collected and the progress log holds the row of
    each of them, so a resumed run continues both without a gap. The training values of the last
    update before a checkpoint reach ``validation.csv``; in ``progress.csv`` they are blank in the
    first row of a resumed run (SB3 writes them with the following rollout's row, which a kill loses).
    """

    PROGRESS_LOG = PROGRESS_LOG

    def __init__(self, monitor: Monitor) -> None:
        super().__init__()
        self.monitor = monitor
        self.last_validated = monitor.progress

    @staticmethod
    def logger_for(run_dir: Path) -> Logger:
        return Logger(str(run_dir), [AppendingCSVOutput(run_dir / SB3Monitor.PROGRESS_LOG)])

    def _on_step(self) -> bool:
        self.monitor.advance(self.num_timesteps)
        return True

    def _on_rollout_start(self) -> None:
        if self.num_timesteps - self.last_validated >= self.monitor.run.settings.eval_every:
            self.validate()

    def _on_training_end(self) -> None:
        if self.num_timesteps > self.last_validated:
            self.validate()

    def validate(self) -> None:
        self.last_validated = self.num_timesteps
        train_values = {
            key.split("/", 1)[1]: float(value)
            for key, value in self.model.logger.name_to_value.items()
            if key.startswith("train/")
        }
        self.monitor.validate(self.num_timesteps, train_values, {"model.zip": algorithm_bytes(self.model)})


def algorithm_bytes(model: BaseAlgorithm) -> bytes:
    buffer = io.BytesIO()
    model.save(buffer)
    return buffer.getvalue()
