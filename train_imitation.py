"""Train the GNN dispatcher by imitating tabu-search schedules (behaviour cloning, then DAgger).

    python train_imitation.py --sizes 10x10 15x15 20x15 20x20 --instances 2000 --epochs 4 \
        --run-dir runs/imitation

The teacher solves every training instance once (tabu search, ``--teacher-iterations``, cached in
``--experts``, by default ``RUN_DIR/experts.npz``); each epoch then takes cross-entropy steps
towards the teacher's choice at every decision (see :mod:`agents.imitation`). From the second
epoch on, a ``--dagger`` share of the instances follows a sampled rollout of the current policy
instead of the teacher, labelled by the teacher's choice in the states the policy reaches.

Writes ``RUN_DIR/{config.json, validation.csv, validation_reference.json, best/, last/}``
(validation as in ``train.py``); ``--resume`` continues from ``last/``.
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

from agents.checkpoints import load_policy, new_policy, resolve_checkpoint
from agents.imitation import expert_labels, generate_experts
from agents.inference import resolve_device, sample_rollouts
from agents.self_labelling import LabelledInstance, self_labelling_loss
from agents.training import FineTuneMonitor, ValidationSet, parse_sizes


@dataclass(frozen=True)
class ImitationConfig:
    """Everything an imitation run depends on; saved as RUN_DIR/config.json and beside every checkpoint."""

    sizes: tuple[str, ...] = ("10x10", "15x15", "20x15", "20x20")
    """Training instance sizes (jobs x machines), drawn uniformly per instance."""
    instances: int = 2000
    """Training instances, each solved once by the teacher."""
    teacher_iterations: int = 30_000
    """Tabu-search iterations per training instance (from the fdd-mwkr schedule)."""
    experts: Path | None = None
    """Cache of the teacher's schedules (default RUN_DIR/experts.npz); reused and extended."""
    teacher_workers: int = 1
    """Processes solving the teacher's schedules in parallel (same result for any number)."""
    epochs: int = 4
    """Passes over the training instances."""
    dagger: float = 0.5
    """Share of instances that follow the policy's own sampled rollout, from the second epoch on."""
    dagger_temperature: float = 1.0
    """Softmax temperature of those rollouts (lower stays closer to the greedy trajectory)."""
    instances_per_update: int = 4
    """Instances whose labels make one gradient step."""
    learning_rate: float = 1e-3
    """Adam learning rate, decayed linearly to zero over the run."""
    init_checkpoint: str = ""
    """Start from this checkpoint (name or folder); empty for a fresh network."""
    scheme: str = "active"
    """Schedule-generation scheme of the policy (see agents.imitation for why active)."""
    width: int = 32
    """Embedding width of a fresh network."""
    num_layers: int = 2
    """Message-passing rounds of a fresh network."""
    seed: int = 0
    """Seed of the instance stream, the teacher, the network and the epoch order."""
    device: str = "auto"
    """Torch device: auto (GPU if present), cpu or cuda."""
    run_dir: Path = Path("runs/imitation")
    """Output folder."""
    resume: bool = False
    """Continue the run in run_dir from last/."""
    validation_instances: int = 20
    """Generated validation instances (fixed seed, sizes cycled from --sizes)."""
    validation_cpsat_seconds: float = 1.0
    """CP-SAT limit for the validation reference (0 to skip)."""
    eval_every: int = 200
    """Validate (and checkpoint) every this many training instances."""
    torch_threads: int = 1
    """Torch intra-op threads (see train.py)."""
    wandb: Literal["offline", "online", "disabled"] = "offline"
    """Weights & Biases mode; offline writes to RUN_DIR/wandb and needs no network."""
    progress: bool = True
    """Show progress bars."""


def main(cfg: ImitationConfig) -> Path:
    if not 0.0 <= cfg.dagger <= 1.0:
        raise ValueError("--dagger is a share between 0 and 1")
    # ------------------------------------------------------------------ seeding, run folder, policy
    torch.set_num_threads(cfg.torch_threads)
    torch.manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    sizes = parse_sizes(cfg.sizes)
    max_jobs, max_machines = max(size[0] for size in sizes), max(size[1] for size in sizes)
    last = cfg.run_dir / "last"
    resuming = cfg.resume and (last / "policy.pt").exists()
    architecture = {"width": cfg.width, "num_layers": cfg.num_layers}
    if cfg.init_checkpoint:
        base = json.loads((resolve_checkpoint(cfg.init_checkpoint) / "config.json").read_text())
        architecture = {"width": base["width"], "num_layers": base["num_layers"]}
    config: dict[str, Any] = {
        **dataclasses.asdict(cfg),
        **architecture,
        "run_dir": str(cfg.run_dir),
        "experts": str(cfg.experts or cfg.run_dir / "experts.npz"),
        "max_jobs": max_jobs,
        "max_machines": max_machines,
        "algorithm": "imitation",
        "device_used": str(device),
    }
    if resuming:
        policy = load_policy(last, device)
    elif cfg.init_checkpoint:
        policy = load_policy(cfg.init_checkpoint, device)
    else:
        policy = new_policy(cfg.width, cfg.num_layers, cfg.scheme, max_jobs, max_machines).to(device)
    (cfg.run_dir / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    optimizer = torch.optim.Adam(policy.parameters(), lr=cfg.learning_rate)
    done = 0
    if resuming:
        optimizer.load_state_dict(torch.load(last / "optimizer.pt", map_location=device, weights_only=True))
        done = int(json.loads((last / "config.json").read_text())["instances_done"])

    # ------------------------------------------------------------------ teacher and validation set
    experts = generate_experts(
        Path(config["experts"]),
        sizes,
        cfg.instances,
        cfg.teacher_iterations,
        cfg.seed,
        cfg.progress,
        cfg.teacher_workers,
    )
    validation = ValidationSet.build(
        sizes,
        cfg.validation_instances,
        seed=10_000 + cfg.seed,
        cpsat_seconds=cfg.validation_cpsat_seconds,
        cache=cfg.run_dir / "validation_reference.json",
    )
    monitor = FineTuneMonitor(
        cfg, config, validation, policy, optimizer, "jssp-imitation", ("loss", "followed_gap", "dagger_share")
    )
    if done == 0:
        monitor.validate(0, {})

    # ------------------------------------------------------------------ label, step, validate
    total = cfg.epochs * len(experts)
    policy.train()
    bar = tqdm(total=total, initial=done, unit="instance", disable=not cfg.progress, desc="imitation")
    batch: list[LabelledInstance] = []
    recent: dict[str, list[float]] = {"loss": [], "followed_gap": [], "dagger_share": []}
    while done < total:
        epoch, position = divmod(done, len(experts))
        # The epoch's order and each instance's coin depend only on (seed, epoch, position): resumable.
        order = np.random.default_rng([cfg.seed, epoch]).permutation(len(experts))
        expert = experts[int(order[position])]
        coin = np.random.default_rng([cfg.seed, epoch, position]).random()
        actions = None
        if epoch > 0 and coin < cfg.dagger:
            _, rollout = sample_rollouts(
                policy,
                expert.instance,
                1,
                cfg.dagger_temperature,
                seed=cfg.seed + done,
                scheme=cfg.scheme,
                include_greedy=False,
            )
            actions = rollout[0]
        labelled = expert_labels(expert, cfg.scheme, max_jobs, max_machines, actions)
        batch.append(labelled)
        recent["followed_gap"].append(100 * (labelled.best_makespan - expert.makespan) / expert.makespan)
        recent["dagger_share"].append(float(actions is not None))
        done += 1
        bar.update(1)
        if len(batch) == cfg.instances_per_update or done == total:
            for group in optimizer.param_groups:
                group["lr"] = cfg.learning_rate * (1 - (done - len(batch)) / total)
            optimizer.zero_grad()
            loss = self_labelling_loss(policy, batch, device)
            loss.backward()
            optimizer.step()
            recent["loss"].append(float(loss.item()))
            batch = []
        if done % cfg.eval_every == 0 or done == total:
            bar.set_postfix_str(monitor.validate(done, recent))
            recent = {key: [] for key in recent}
    bar.close()
    monitor.finish()
    return cfg.run_dir


if __name__ == "__main__":
    main(tyro.cli(ImitationConfig))
