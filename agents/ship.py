"""Ship a run's best checkpoint as ``agents/checkpoints/<name>/`` and render model cards.

    .venv/bin/python -m agents.ship runs/im gnn-default      # copy RUN_DIR/best, write MODEL_CARD.md
    .venv/bin/python -m agents.ship --card gnn-ppo           # re-render the card of a shipped checkpoint

The card is rendered from the checkpoint's ``checkpoint.json`` alone (see
:mod:`agents.checkpoints`): every figure in it was recorded by the training process.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import torch

from agents.checkpoints import CHECKPOINTS_DIR, METADATA_FILE, WEIGHTS_FILE, read_metadata, resolve_checkpoint
from agents.harness import flatten_config
from jssp.files import read_csv_rows, write_atomically

DESCRIPTIONS = {
    "ppo": "trained with sb3-contrib MaskablePPO on uniform random Taillard-style instances",
    "ppo-lockstep": "trained with PPO on rollouts advanced in lockstep, several per instance with a shared per-instance"
    " baseline (`agents/lockstep_ppo.py`), on uniform random Taillard-style instances",
    "imitation": "trained by imitation of tabu-search schedules (`agents/imitation.py`): the label of every decision of"
    " the Giffler-Thompson (active) scheme is the teacher's choice",
    "self-labelling": "fine-tuned by self-labelling (Corsini et al. 2024): cross-entropy steps towards the decisions of"
    " its own best sampled schedule of each random instance",
    "improvement": "an improvement-mode N5 move policy (Zhang et al. 2024, L2S) trained with sb3-contrib MaskablePPO",
    "ppo-isbjssp": "for the blocking job shop with shutdowns (isbjssp), trained with sb3-contrib MaskablePPO on uniform"
    " random instances whose size and shutdown rate are drawn per episode (`agents/blocking/ppo.py`)",
}


def ship(run_dir: Path, name: str) -> Path:
    """Copy ``run_dir/best`` to the shipped checkpoints with the whole run's validation curve, and write its card."""
    destination = CHECKPOINTS_DIR / name
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy2(run_dir / "best" / WEIGHTS_FILE, destination / WEIGHTS_FILE)
    metadata = json.loads((run_dir / "best" / METADATA_FILE).read_text())
    metadata["training"]["validation_curve"] = read_csv_rows(run_dir / "validation.csv")
    write_atomically(destination / METADATA_FILE, json.dumps(metadata, indent=1) + "\n")
    write_atomically(destination / "MODEL_CARD.md", model_card(destination, name))
    return destination


def _parameters(folder: Path) -> int:
    state = torch.load(folder / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    return sum(int(tensor.numel()) for tensor in state.values())


def training_command(training: dict[str, Any]) -> str | None:
    """The ``train.py`` command of a run, from its saved config (None for configs of older entry points)."""
    from agents.algorithms import ALGORITHMS  # imports every trainer: only when a command is rendered

    config = dict(training["config"])
    algorithm = config.pop("algorithm", training["algorithm"])
    if algorithm not in ALGORITHMS or "run" not in config:
        return None
    defaults = flatten_config(json.loads(json.dumps(dataclasses.asdict(ALGORITHMS[algorithm][0]()), default=str)))
    parts = [f".venv/bin/python train.py {algorithm}"]
    for key, value in flatten_config(config).items():
        if key in ("resume", "progress") or defaults.get(key) == value:
            continue
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            parts.append(flag if value else f"--no-{key.replace('_', '-')}")
        elif isinstance(value, list):
            parts.append(f"{flag} {' '.join(str(item) for item in value)}")
        else:
            parts.append(f"{flag} {value}")
    return " ".join(parts)


def model_card(name_or_path: str | Path, name: str) -> str:
    """Markdown model card of a checkpoint, from its ``checkpoint.json`` (and its weights' parameter count)."""
    folder = resolve_checkpoint(name_or_path)
    metadata = read_metadata(folder)
    architecture, inference, training = metadata["architecture"], metadata["inference"], metadata["training"]
    config = flatten_config(training["config"])
    progress = training["progress"]
    parent = training.get("parent")
    hardware = training.get("hardware")
    lines = [
        f"# Model card: `{name}`",
        "",
        f"GNN {architecture['policy']} policy {DESCRIPTIONS.get(training['algorithm'], training['algorithm'])}"
        + (f", starting from `{parent['name']}` (weights sha256 `{parent['sha256'][:12]}`)." if parent else "."),
        "",
        "| field | value |",
        "|---|---|",
        f"| algorithm | {training['algorithm']} |",
        f"| training sizes | {', '.join(config.get('sizes', []))} |",
        f"| inference | {', '.join(f'{key} {value}' for key, value in inference.items())} |",
        f"| progress at this checkpoint | {progress['value']} {progress['unit']} of {progress['planned']} planned |",
        f"| wall time to this checkpoint | {training['wall_seconds'] / 3600:.2f} h |",
        "| hardware | "
        + (
            f"{hardware['cpu']} ({hardware['cpu_count']} CPUs, {hardware['machine']}), device {hardware['device']}"
            f"{', GPU ' + hardware['gpu'] if hardware.get('gpu') else ''}; load average at start "
            f"{hardware.get('load_average_at_start')}"
            if hardware
            else "not recorded"
        )
        + " |",
        f"| software | Python {training.get('python') or 'not recorded'}, "
        f"torch {training.get('torch') or 'not recorded'} |",
        f"| git commit | {training.get('git_commit') or 'not recorded'}"
        + (" (with uncommitted changes)" if training.get("git_dirty") else "")
        + " |",
        f"| parameters | {_parameters(folder):,} |",
        f"| architecture | width {architecture['width']}, {architecture['num_layers']} message-passing layers |",
        "| validation at this checkpoint | "
        + ", ".join(f"{key} {value:.4g}" for key, value in training["validation"].items())
        + " |",
    ]
    if training.get("provenance"):
        lines += ["", f"Provenance: {training['provenance']}."]
    ancestors = (parent or {}).get("lineage", [])
    if ancestors:
        lines += ["", "Lineage (the runs that made the starting policy, oldest first; then this run):", ""]
        for index, ancestor in enumerate(ancestors, 1):
            ancestor_progress = ancestor.get("progress") or {}
            lines.append(
                f"{index}. `{ancestor.get('algorithm')}`, {ancestor_progress.get('value', '?')} "
                f"{ancestor_progress.get('unit', '')}, {(ancestor.get('wall_seconds') or 0) / 3600:.2f} h: "
                f"`{(training_command(ancestor) if ancestor.get('config') else None) or 'command not recorded'}`"
            )
    command = training_command(training)
    lines += ["", "Settings:", "", "| setting | value |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in config.items()]
    if command:
        lines += ["", "Command:", "", "```bash", command, "```"]
    curve = training.get("validation_curve") or []
    if curve:
        columns = list(curve[0])
        lines += [
            "",
            f"Validation curve ({config.get('validation_instances', '?')} fixed generated instances; `val_makespan`"
            " is the mean greedy makespan, gaps are mean per-instance %):",
            "",
            "| " + " | ".join(columns) + " |",
            "|" + "---:|" * len(columns),
        ]
        lines += ["| " + " | ".join(str(row.get(column, "")) for column in columns) + " |" for row in curve]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--card":
        card_folder = resolve_checkpoint(sys.argv[2])
        write_atomically(card_folder / "MODEL_CARD.md", model_card(card_folder, sys.argv[2]))
        print(card_folder / "MODEL_CARD.md")
    elif len(sys.argv) == 3:
        print(ship(Path(sys.argv[1]), sys.argv[2]))
    else:
        sys.exit("usage: python -m agents.ship RUN_DIR NAME | python -m agents.ship --card NAME")
