"""Fine-tune a trained dispatcher by self-labelling (SLJ, Corsini et al. 2024): imitate its own best of K samples.

    python train_self_labelling.py --init-checkpoint gnn-ppo --sizes 10x10 15x15 20x15 20x20 \
        --instances 2000 --num-samples 64 --run-dir runs/gnn-sl

Writes ``RUN_DIR/{config.json, validation.csv, validation_reference.json, best/, last/}``; the
validation set and its references are those of ``train.py`` for the same sizes and seed, and
``--resume`` continues an interrupted run from ``last/`` (weights, optimizer, instance count).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import tyro
from tqdm import tqdm

from agents.checkpoints import load_policy, resolve_checkpoint
from agents.inference import resolve_device
from agents.self_labelling import LabelledInstance, label_instance, self_labelling_loss
from agents.training import FineTuneMonitor, ValidationSet, parse_sizes
from jssp.generators import InstanceSampler


@dataclass(frozen=True)
class SelfLabellingConfig:
    """Everything a self-labelling run depends on; saved as RUN_DIR/config.json and beside every checkpoint."""

    init_checkpoint: str = "gnn-ppo"
    """Checkpoint (name or folder) to fine-tune; its architecture and scheme are kept."""
    sizes: tuple[str, ...] = ("10x10", "15x15", "20x15", "20x20")
    """Training instance sizes (jobs x machines), drawn uniformly per instance."""
    instances: int = 2000
    """Training instances (one label each)."""
    num_samples: int = 64
    """Schedules sampled per instance; the best is the label."""
    instances_per_update: int = 4
    """Instances whose labels make one gradient step."""
    learning_rate: float = 1e-4
    """Adam learning rate (constant)."""
    seed: int = 0
    """Seed of the instance stream and of the sampling."""
    device: str = "auto"
    """Torch device: auto (GPU if present), cpu or cuda."""
    run_dir: Path = Path("runs/self-labelling")
    """Output folder."""
    resume: bool = False
    """Continue the run in run_dir from last/."""
    validation_instances: int = 20
    """Generated validation instances (fixed seed, sizes cycled from --sizes)."""
    validation_cpsat_seconds: float = 1.0
    """CP-SAT limit for the validation reference (0 to skip)."""
    eval_every: int = 100
    """Validate (and checkpoint) every this many training instances."""
    torch_threads: int = 1
    """Torch intra-op threads (see train.py: one is safest on a small shared machine); decoding holds
    numpy's BLAS to one thread itself."""
    wandb: Literal["offline", "online", "disabled"] = "offline"
    """Weights & Biases mode; offline writes to RUN_DIR/wandb and needs no network."""
    progress: bool = True
    """Show a progress bar."""


def main(cfg: SelfLabellingConfig) -> Path:
    # ------------------------------------------------------------------ seeding, run folder, policy
    torch.set_num_threads(cfg.torch_threads)
    torch.manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    sizes = parse_sizes(cfg.sizes)
    last = cfg.run_dir / "last"
    start_from = last if cfg.resume and (last / "policy.pt").exists() else resolve_checkpoint(cfg.init_checkpoint)
    policy = load_policy(start_from, device)
    base = json.loads((resolve_checkpoint(cfg.init_checkpoint) / "config.json").read_text())
    config: dict[str, Any] = {
        # Architecture, padding and scheme come from the fine-tuned checkpoint (load_policy reads them).
        **{key: base[key] for key in ("scheme", "width", "num_layers", "max_jobs", "max_machines")},
        "base_sizes": base.get("sizes"),
        "base_timesteps": base.get("timesteps"),
        **dataclasses.asdict(cfg),
        "run_dir": str(cfg.run_dir),
        "algorithm": "self-labelling",
        "device_used": str(device),
    }
    (cfg.run_dir / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    optimizer = torch.optim.Adam(policy.parameters(), lr=cfg.learning_rate)
    done = 0
    if start_from == last:
        optimizer.load_state_dict(torch.load(last / "optimizer.pt", map_location=device, weights_only=True))
        done = int(json.loads((last / "config.json").read_text())["instances_done"])

    # ------------------------------------------------------------------ instance stream and validation set
    sampler = InstanceSampler(sizes)
    rng = np.random.default_rng(cfg.seed)
    for _ in range(done):  # replay the stream so a resumed run sees the instances it would have seen
        sampler.sample(rng)
    max_jobs, max_machines = max(size[0] for size in sizes), max(size[1] for size in sizes)
    validation = ValidationSet.build(
        sizes,
        cfg.validation_instances,
        seed=10_000 + cfg.seed,
        cpsat_seconds=cfg.validation_cpsat_seconds,
        cache=cfg.run_dir / "validation_reference.json",
    )
    monitor = FineTuneMonitor(cfg, config, validation, policy, optimizer, "jssp-self-labelling", ("loss", "label_gain"))
    if done == 0:
        monitor.validate(0, {})

    # ------------------------------------------------------------------ label, step, validate
    policy.train()
    bar = tqdm(total=cfg.instances, initial=done, unit="instance", disable=not cfg.progress, desc="self-labelling")
    batch: list[LabelledInstance] = []
    recent: dict[str, list[float]] = {"loss": [], "label_gain": []}
    while done < cfg.instances:
        instance = sampler.sample(rng)
        labelled = label_instance(
            policy, instance, cfg.num_samples, cfg.seed + done, config["scheme"], max_jobs, max_machines
        )
        batch.append(labelled)
        recent["label_gain"].append(100 * (labelled.mean_makespan - labelled.best_makespan) / labelled.mean_makespan)
        done += 1
        bar.update(1)
        if len(batch) == cfg.instances_per_update or done == cfg.instances:
            optimizer.zero_grad()
            loss = self_labelling_loss(policy, batch, device)
            loss.backward()
            optimizer.step()
            recent["loss"].append(float(loss.item()))
            batch = []
        if done % cfg.eval_every == 0 or done == cfg.instances:
            bar.set_postfix_str(monitor.validate(done, recent))
            recent = {key: [] for key in recent}
    bar.close()
    monitor.finish()
    return cfg.run_dir


if __name__ == "__main__":
    main(tyro.cli(SelfLabellingConfig))
