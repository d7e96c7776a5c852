"""Checkpoints: a folder with the weights (``policy.pt``) and what is known of them (``checkpoint.json``).

``checkpoint.json`` has three sections, written when the weights are saved:

* ``architecture``: what rebuilds the network (policy kind, width, layers, padding sizes);
* ``training``: the algorithm, the full run config, the parent checkpoint (name and content hash)
  when fine-tuned, the git commit, hardware, Python and torch versions, wall time and progress,
  and the validation curve up to this checkpoint, all captured by the training process itself;
* ``inference``: how to decode (scheme, tuned sample temperature, tabu tenure of move policies).

Model cards (:mod:`agents.ship`) are rendered from this file alone. Shipped checkpoints live in
``agents/checkpoints/<name>/`` and load by name; every results folder records the content hash
of the weights it used (:func:`checkpoint_sha256`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, TypeVar

import gymnasium as gym
import torch

from agents.improvement.policy import ImprovementPolicy
from agents.policy import JobShopPolicy
from jssp.env import dispatcher_spaces
from jssp.files import replace_folder, write_atomically

CHECKPOINTS_DIR = Path(__file__).resolve().parent / "checkpoints"
DEFAULT_CHECKPOINT = "gnn-default"
DEFAULT_IMPROVEMENT_CHECKPOINT = "ls-default"
FORMAT = "jssp-checkpoint/1"
METADATA_FILE = "checkpoint.json"
WEIGHTS_FILE = "policy.pt"
PolicyType = TypeVar("PolicyType", bound=JobShopPolicy)


def architecture_of(
    policy: JobShopPolicy, max_jobs: int, max_machines: int, max_width: int | None = None
) -> dict[str, Any]:
    """The ``architecture`` section of a policy (padding sizes are those of its training spaces;
    ``max_width``, the routes' padding, is recorded where it differs from ``max_machines``)."""
    architecture: dict[str, Any] = {
        "policy": policy.kind,
        "width": policy.width,
        "num_layers": policy.num_layers,
        "max_jobs": max_jobs,
        "max_machines": max_machines,
    }
    if max_width is not None and max_width != max_machines:
        architecture["max_width"] = max_width
    return architecture


def save_checkpoint(
    policy: JobShopPolicy,
    folder: Path,
    metadata: dict[str, Any],
    extra_files: dict[str, bytes] | None = None,
) -> None:
    """Write weights, metadata and ``extra_files`` (optimizer state, ...) as one atomic folder swap."""
    weights = io.BytesIO()
    torch.save({key: value.detach().cpu() for key, value in policy.state_dict().items()}, weights)
    document = {"format": FORMAT, **metadata}

    def write(temporary: Path) -> None:
        (temporary / WEIGHTS_FILE).write_bytes(weights.getvalue())
        (temporary / METADATA_FILE).write_text(json.dumps(document, indent=1, default=str) + "\n")
        for name, data in (extra_files or {}).items():
            (temporary / name).write_bytes(data)

    replace_folder(folder, write)


def resolve_checkpoint(name_or_path: str | Path) -> Path:
    """A shipped checkpoint name (``gnn-default``) or a folder path."""
    path = Path(name_or_path)
    if (path / WEIGHTS_FILE).exists():
        return path
    shipped = CHECKPOINTS_DIR / str(name_or_path)
    if (shipped / WEIGHTS_FILE).exists():
        return shipped
    available = sorted(p.name for p in CHECKPOINTS_DIR.glob("*") if (p / WEIGHTS_FILE).exists())
    raise FileNotFoundError(f"no checkpoint {name_or_path!r}; shipped: {', '.join(available) or 'none'}")


def read_metadata(name_or_path: str | Path) -> dict[str, Any]:
    """The ``checkpoint.json`` of a checkpoint; ValueError naming the folder if it is missing or of
    another format."""
    folder = resolve_checkpoint(name_or_path)
    path = folder / METADATA_FILE
    if not path.exists():
        raise ValueError(f"{folder} has no {METADATA_FILE}: not a checkpoint of this package's format {FORMAT}")
    metadata: dict[str, Any] = json.loads(path.read_text())
    if metadata.get("format") != FORMAT:
        raise ValueError(f"{path}: format {metadata.get('format')!r}, expected {FORMAT!r}")
    return metadata


def update_inference(name_or_path: str | Path, **settings: Any) -> Path:
    """Set inference settings (e.g. a tuned ``sample_temperature``) of a saved checkpoint in place."""
    folder = resolve_checkpoint(name_or_path)
    metadata = read_metadata(folder)
    metadata["inference"] = {**metadata.get("inference", {}), **settings}
    write_atomically(folder / METADATA_FILE, json.dumps(metadata, indent=1, default=str) + "\n")
    return folder / METADATA_FILE


def checkpoint_sha256(name_or_path: str | Path) -> str:
    """Content hash of a checkpoint's weights file: what a results folder records of the weights it used."""
    return hashlib.sha256((resolve_checkpoint(name_or_path) / WEIGHTS_FILE).read_bytes()).hexdigest()


def checkpoint_identity(name_or_path: str | Path) -> dict[str, str]:
    """Name as given, folder and content hash: how results and fine-tuned checkpoints cite a checkpoint."""
    return {
        "name": str(name_or_path),
        "folder": str(resolve_checkpoint(name_or_path)),
        "sha256": checkpoint_sha256(name_or_path),
    }


def lineage(name_or_path: str | Path) -> list[dict[str, Any]]:
    """The training runs that made a checkpoint, oldest first: each run's algorithm, config, progress and wall time.

    A fine-tuned checkpoint's ``training.parent`` carries its parent's lineage, so the list reaches back to the first
    run; a checkpoint made before lineages were recorded contributes its own run only.
    """
    training = read_metadata(name_or_path)["training"]
    parent = training.get("parent") or {}
    own = {key: training.get(key) for key in ("algorithm", "config", "progress", "wall_seconds", "git_commit")}
    return [*parent.get("lineage", []), own]


def load_checkpoint(
    name_or_path: str | Path, policy_class: type[PolicyType], device: str | torch.device = "cpu"
) -> PolicyType:
    """Rebuild the policy a checkpoint holds on ``device``, in evaluation mode: the one loader of every kind.

    The spaces come from the padding its ``architecture`` records (``policy_class.spaces_for``), so no
    environment or instance is built to learn them.

    Raises:
        ValueError: if the checkpoint holds another kind of policy than ``policy_class``.
    """
    metadata = read_metadata(name_or_path)
    observation_space, action_space = policy_class.spaces_for(metadata["architecture"])
    return rebuild_policy(policy_class, observation_space, action_space, name_or_path, metadata, device)


def load_policy(name_or_path: str | Path = DEFAULT_CHECKPOINT, device: str | torch.device = "cpu") -> JobShopPolicy:
    """Rebuild a saved dispatcher on ``device``, in evaluation mode."""
    return load_checkpoint(name_or_path, JobShopPolicy, device)


def new_policy(
    width: int, num_layers: int, scheme: str, max_jobs: int, max_machines: int, max_width: int | None = None
) -> JobShopPolicy:
    """A freshly initialised dispatcher (trained outside SB3, e.g. by imitation)."""
    del scheme  # the spaces do not depend on it
    observation_space, action_space = dispatcher_spaces(max_jobs, max_machines, max_width or max_machines)
    return JobShopPolicy(observation_space, action_space, lambda _: 0.0, width=width, num_layers=num_layers)


def load_improvement_policy(
    name_or_path: str | Path = DEFAULT_IMPROVEMENT_CHECKPOINT, device: str | torch.device = "cpu"
) -> ImprovementPolicy:
    """Rebuild a saved improvement (N5 move) policy on ``device``, in evaluation mode."""
    return load_checkpoint(name_or_path, ImprovementPolicy, device)


class _NoOptimizer:
    """Stands in for the optimizer stable-baselines3 builds with every policy.

    A loaded checkpoint's policy infers or seeds a trainer that builds its own optimizer, and
    constructing a torch optimizer imports ``torch._dynamo``: most of a second of every ``jssp solve``.
    """

    def __init__(self, params: Any, lr: float) -> None:
        del params, lr


def rebuild_policy(
    policy_class: type[PolicyType],
    observation_space: gym.Space[Any],
    action_space: gym.Space[Any],
    name_or_path: str | Path,
    metadata: dict[str, Any],
    device: str | torch.device,
) -> PolicyType:
    """The policy of a checkpoint, built for the given spaces with the saved architecture and weights.

    Raises:
        ValueError: if the checkpoint holds another kind of policy (``architecture.policy``).
    """
    architecture = metadata["architecture"]
    if architecture["policy"] != policy_class.kind:
        raise ValueError(
            f"checkpoint {name_or_path!r} holds a {architecture['policy']} policy, not a {policy_class.kind}"
        )
    policy = policy_class(
        observation_space,
        action_space,
        lambda _: 0.0,
        width=architecture["width"],
        num_layers=architecture["num_layers"],
        optimizer_class=_NoOptimizer,
    )
    state = torch.load(resolve_checkpoint(name_or_path) / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    policy.load_state_dict(state)
    policy.metadata = metadata
    return policy.to(torch.device(device)).eval()


def environment_record(device: torch.device) -> dict[str, Any]:
    """Git commit, hardware and software of the running process: captured when training starts."""
    repository = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repository, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=repository,
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.strip()
        )
    except (OSError, subprocess.SubprocessError):
        commit, dirty = None, None
    cpu_model = platform.processor() or None
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "git_commit": commit,
        "git_dirty": dirty,
        "hardware": {
            "machine": platform.machine(),
            "cpu": cpu_model,
            "cpu_count": os.cpu_count(),
            "load_average_at_start": [round(value, 2) for value in os.getloadavg()]
            if hasattr(os, "getloadavg")
            else None,
            "device": str(device),
            "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        },
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "platform": platform.platform(),
    }
