"""Train the N5 move policy of the improvement mode (Zhang et al., ICLR 2024, L2S) with MaskablePPO.

    python train_improvement.py --sizes 10x10 --total-timesteps 500000 --seed 0 --run-dir runs/ls

Every episode starts from a dispatching rule's schedule of a random instance and applies
``--episode-steps`` moves. Writes ``RUN_DIR/{config.json, validation.csv, progress.csv, best/,
last/, last_model.zip}``; ``--resume`` continues an interrupted run from ``last_model.zip``.
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

from agents.improvement_policy import ImprovementPolicy
from agents.improvement_training import ImprovementValidationSet, make_improvement_env_factory
from agents.inference import resolve_device
from agents.training import parse_sizes, run_ppo


@dataclass(frozen=True)
class ImprovementTrainConfig:
    """Everything an improvement training run depends on; saved as RUN_DIR/config.json and beside every checkpoint."""

    sizes: tuple[str, ...] = ("10x10",)
    """Training instance sizes (jobs x machines), drawn uniformly per episode."""
    total_timesteps: int = 500_000
    """Environment steps (one N5 move each)."""
    seed: int = 0
    """Seed of environments, network initialisation and PPO."""
    device: str = "auto"
    """Torch device: auto (GPU if present), cpu or cuda."""
    run_dir: Path = Path("runs/ls")
    """Output folder."""
    resume: bool = False
    """Continue the run in run_dir from its last_model.zip."""
    episode_steps: int = 64
    """Moves per training episode (then the episode is truncated)."""
    tabu_tenure: int = 8
    """Steps during which swapping a pair back is masked, in training and at inference (0: off)."""
    width: int = 32
    """Embedding width of the GNN."""
    num_layers: int = 3
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
    gamma: float = 0.99
    """Discount of the best-makespan improvements."""
    gae_lambda: float = 0.95
    """GAE lambda."""
    clip_range: float = 0.2
    """PPO clip range."""
    ent_coef: float = 0.01
    """Entropy bonus."""
    vf_coef: float = 0.5
    """Value loss weight."""
    validation_instances: int = 10
    """Generated validation instances (fixed seed, sizes cycled from --sizes)."""
    validation_steps: int = 100
    """Greedy moves per validation instance; tabu search gets as many iterations."""
    validation_start_rule: str = "mwkr"
    """Dispatching rule (non-delay) that builds the validation start schedules."""
    eval_freq: int = 20_000
    """Validate (and checkpoint) every this many steps."""
    torch_threads: int = 1
    """Torch intra-op threads (one: these graphs are small)."""
    wandb: Literal["offline", "online", "disabled"] = "offline"
    """Weights & Biases mode; offline writes to RUN_DIR/wandb and needs no network."""
    progress: bool = True
    """Show a progress bar."""


def main(cfg: ImprovementTrainConfig) -> Path:
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
    vec_env = DummyVecEnv([make_improvement_env_factory(sizes, cfg.episode_steps, cfg.tabu_tenure)] * cfg.n_envs)
    vec_env.seed(cfg.seed)
    validation = ImprovementValidationSet.build(
        sizes,
        cfg.validation_instances,
        seed=10_000 + cfg.seed,
        steps=cfg.validation_steps,
        start_rule=cfg.validation_start_rule,
        cache=cfg.run_dir / "validation_reference.json",
    )

    # ------------------------------------------------------------------ model (new or resumed) and learn
    run_ppo(ImprovementPolicy, vec_env, validation, cfg, config, device, wandb_project="jssp-ls")
    return cfg.run_dir


if __name__ == "__main__":
    main(tyro.cli(ImprovementTrainConfig))
