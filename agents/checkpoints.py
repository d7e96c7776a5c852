"""Saving and loading trained policies: a folder with ``policy.pt`` and ``config.json``.

Shipped checkpoints live in ``agents/checkpoints/<name>/`` and load by name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

import gymnasium as gym
import torch

from agents.improvement_policy import ImprovementPolicy
from agents.policy import JobShopPolicy
from jssp.env import JobShopEnv
from jssp.generators import random_instance
from jssp.improvement_env import ImprovementEnv

CHECKPOINTS_DIR = Path(__file__).resolve().parent / "checkpoints"
DEFAULT_CHECKPOINT = "gnn-default"
DEFAULT_IMPROVEMENT_CHECKPOINT = "ls-default"
PolicyType = TypeVar("PolicyType", bound=JobShopPolicy)


def save_policy(
    policy: JobShopPolicy, folder: Path, config: dict[str, Any], extra: dict[str, Any] | None = None
) -> None:
    """Write the policy weights and everything needed to rebuild it (architecture, padding, scheme)."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({key: value.detach().cpu() for key, value in policy.state_dict().items()}, folder / "policy.pt")
    (folder / "config.json").write_text(json.dumps({**config, **(extra or {})}, indent=1, default=str) + "\n")


def resolve_checkpoint(name_or_path: str | Path) -> Path:
    """A shipped checkpoint name (``gnn-default``) or a folder path."""
    path = Path(name_or_path)
    if (path / "policy.pt").exists():
        return path
    shipped = CHECKPOINTS_DIR / str(name_or_path)
    if (shipped / "policy.pt").exists():
        return shipped
    available = sorted(p.name for p in CHECKPOINTS_DIR.glob("*") if (p / "policy.pt").exists())
    raise FileNotFoundError(f"no checkpoint {name_or_path!r}; shipped: {', '.join(available) or 'none'}")


def load_policy(name_or_path: str | Path = DEFAULT_CHECKPOINT, device: str | torch.device = "cpu") -> JobShopPolicy:
    """Rebuild a saved policy on ``device``, in evaluation mode."""
    folder = resolve_checkpoint(name_or_path)
    config = json.loads((folder / "config.json").read_text())
    env = JobShopEnv(random_instance(config["max_jobs"], config["max_machines"], seed=0), scheme=config["scheme"])
    return _rebuild(JobShopPolicy, env, folder, config, device)


def new_policy(width: int, num_layers: int, scheme: str, max_jobs: int, max_machines: int) -> JobShopPolicy:
    """A freshly initialised dispatcher (trained outside SB3, e.g. by imitation)."""
    env = JobShopEnv(random_instance(max_jobs, max_machines, seed=0), scheme=scheme)
    return JobShopPolicy(env.observation_space, env.action_space, lambda _: 0.0, width=width, num_layers=num_layers)


def load_improvement_policy(
    name_or_path: str | Path = DEFAULT_IMPROVEMENT_CHECKPOINT, device: str | torch.device = "cpu"
) -> ImprovementPolicy:
    """Rebuild a saved improvement (N5 move) policy on ``device``, in evaluation mode."""
    folder = resolve_checkpoint(name_or_path)
    config = json.loads((folder / "config.json").read_text())
    env = ImprovementEnv(random_instance(config["max_jobs"], config["max_machines"], seed=0))
    return _rebuild(ImprovementPolicy, env, folder, config, device)


def _rebuild(
    policy_class: type[PolicyType],
    env: gym.Env[Any, Any],
    folder: Path,
    config: dict[str, Any],
    device: str | torch.device,
) -> PolicyType:
    """The policy of ``folder``, built for ``env``'s spaces with the saved architecture and weights."""
    policy = policy_class(
        env.observation_space, env.action_space, lambda _: 0.0, width=config["width"], num_layers=config["num_layers"]
    )
    state = torch.load(folder / "policy.pt", map_location="cpu", weights_only=True)
    policy.load_state_dict(state)
    policy.config = config
    return policy.to(torch.device(device)).eval()
