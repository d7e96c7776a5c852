"""Train the GNN dispatcher with MaskablePPO on random instances.

    python train.py --sizes 10x10 15x15 --total-timesteps 2000000 --seed 0 --device auto

Writes ``RUN_DIR/{config.json, validation.csv, progress.csv, best/, last/, last_model.zip}``;
``--resume RUN_DIR`` continues an interrupted run from ``last_model.zip``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import tyro
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import DummyVecEnv

from agents.inference import resolve_device
from agents.policy import JobShopPolicy
from agents.training import ValidationSet, make_env_factory, parse_sizes, run_ppo


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on; saved as RUN_DIR/config.json and beside every checkpoint."""

    sizes: tuple[str, ...] = ("10x10",)
    """Training instance sizes (jobs x machines), drawn uniformly per episode."""
    total_timesteps: int = 1_000_000
    """Environment steps (one dispatched operation each)."""
    seed: int = 0
    """Seed of environments, network initialisation and PPO."""
    device: str = "auto"
    """Torch device: auto (GPU if present), cpu or cuda."""
    run_dir: Path = Path("runs/train")
    """Output folder."""
    resume: bool = False
    """Continue the run in run_dir from its last_model.zip."""
    scheme: str = "non-delay"
    """Schedule-generation scheme the policy acts in (see jssp.dispatch)."""
    width: int = 32
    """Embedding width of the GNN."""
    num_layers: int = 2
    """Message-passing rounds."""
    n_envs: int = 8
    """Parallel environments (DummyVecEnv)."""
    n_steps: int = 128
    """Rollout length per environment between updates."""
    batch_size: int = 256
    """PPO minibatch size."""
    n_epochs: int = 4
    """PPO epochs per update."""
    learning_rate: float = 3e-4
    """Initial learning rate, decayed linearly to zero."""
    gamma: float = 1.0
    """Discount; the return telescopes to -(makespan - LB_0)/LB_0 with 1.0."""
    gae_lambda: float = 0.95
    """GAE lambda."""
    clip_range: float = 0.2
    """PPO clip range."""
    ent_coef: float = 0.01
    """Entropy bonus."""
    vf_coef: float = 0.5
    """Value loss weight."""
    validation_instances: int = 20
    """Generated validation instances (fixed seed, sizes cycled from --sizes)."""
    validation_cpsat_seconds: float = 1.0
    """CP-SAT limit for the validation reference (0 to skip)."""
    eval_freq: int = 20_000
    """Validate (and checkpoint) every this many steps."""
    torch_threads: int = 1
    """Torch intra-op threads. One is safest: these graphs are small, and two threads on a
    2-core machine that is also running anything else slowed a forward pass 140x (measured)."""
    wandb: Literal["offline", "online", "disabled"] = "offline"
    """Weights & Biases mode; offline writes to RUN_DIR/wandb and needs no network."""
    progress: bool = True
    """Show a progress bar."""


def main(cfg: TrainConfig) -> Path:
    # ------------------------------------------------------------------ seeding and run folder
    torch.set_num_threads(cfg.torch_threads)
    set_random_seed(cfg.seed)
    device = resolve_device(cfg.device)
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    sizes = parse_sizes(cfg.sizes)
    config = {
        **dataclasses.asdict(cfg),
        "run_dir": str(cfg.run_dir),
        "max_jobs": max(size[0] for size in sizes),
        "max_machines": max(size[1] for size in sizes),
        "device_used": str(device),
    }
    (cfg.run_dir / "config.json").write_text(json.dumps(config, indent=1) + "\n")

    # ------------------------------------------------------------------ environments and validation set
    vec_env = DummyVecEnv([make_env_factory(sizes, cfg.scheme)] * cfg.n_envs)
    vec_env.seed(cfg.seed)
    validation = ValidationSet.build(
        sizes,
        cfg.validation_instances,
        seed=10_000 + cfg.seed,
        cpsat_seconds=cfg.validation_cpsat_seconds,
        cache=cfg.run_dir / "validation_reference.json",
    )

    # ------------------------------------------------------------------ model (new or resumed) and learn
    run_ppo(JobShopPolicy, vec_env, validation, cfg, config, device, wandb_project="jssp")
    return cfg.run_dir


if __name__ == "__main__":
    main(tyro.cli(TrainConfig))
