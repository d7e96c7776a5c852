"""Copy a run's best checkpoint into ``agents/checkpoints/<name>/`` with a model card.

    .venv/bin/python -m agents.ship runs/gnn-v1 gnn-ppo       # a train.py (PPO) run
    .venv/bin/python -m agents.ship runs/ls-v1 ls-default    # a train_improvement.py run
    .venv/bin/python -m agents.ship runs/gnn-sl gnn-sl       # a train_self_labelling.py run
    .venv/bin/python -m agents.ship runs/im-bc gnn-default   # a train_imitation.py run

The card is written from the run's own files (config, validation log, SB3 progress log), so every
number in it was measured by that run.
"""

from __future__ import annotations

import csv
import json
import platform
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from agents.checkpoints import CHECKPOINTS_DIR, load_improvement_policy, load_policy


def _run_record(
    run_dir: Path, loader: Callable[[Path], torch.nn.Module]
) -> tuple[dict[str, Any], list[dict[str, str]], int, float]:
    """A run's best-checkpoint config, validation log, parameter count and wall seconds."""
    config = json.loads((run_dir / "best" / "config.json").read_text())
    with open(run_dir / "validation.csv", newline="") as stream:
        validation = list(csv.DictReader(stream))
    parameters = sum(parameter.numel() for parameter in loader(run_dir / "best").parameters())
    wall = float(validation[-1]["wall_seconds"]) if validation else float("nan")
    return config, validation, parameters, wall


_VALIDATION_GAPS = ("val_makespan", "val_gap_to_best_rule", "val_gap_to_cpsat")
"""Columns of a dispatcher's validation log (greedy makespan, gaps to the best rule and to CP-SAT)."""


def _with_curve(lines: list[str], validation: list[dict[str, str]], columns: tuple[str, ...]) -> str:
    """The card's lines followed by one table row per validation, ``columns`` of the log in order."""
    rows = ["| " + " | ".join(row.get(column, "") for column in columns) + " |" for row in validation]
    return "\n".join([*lines, *rows]) + "\n"


def model_card(run_dir: Path, name: str) -> str:
    config, validation, parameters, wall = _run_record(run_dir, load_policy)
    best_steps = config.get("timesteps")
    lines = [
        f"# Model card: `{name}`",
        "",
        "Greedy GNN dispatcher (relational GIN-style encoder over the unscheduled operations of the disjunctive graph,",
        "one logit per job), trained with sb3-contrib MaskablePPO on uniform random Taillard-style instances.",
        "",
        "| field | value |",
        "|---|---|",
        f"| training sizes | {', '.join(config['sizes'])} (drawn uniformly per episode) |",
        f"| scheme | {config['scheme']} |",
        f"| steps trained | {validation[-1]['timesteps'] if validation else '?'} "
        f"(of {config['total_timesteps']} planned) |",
        f"| checkpoint kept | best validation makespan, at {best_steps} steps |",
        f"| wall time | {wall / 3600:.2f} h on a 2-core x86_64 CPU machine ({platform.python_version()}, torch "
        f"{torch.__version__}, {config['torch_threads']} torch thread; another job shared the machine) |",
        f"| parameters | {parameters:,} |",
        f"| architecture | width {config['width']}, {config['num_layers']} message-passing layers |",
        f"| PPO | lr {config['learning_rate']} linear to 0, n_envs {config['n_envs']}, n_steps {config['n_steps']}, "
        f"batch {config['batch_size']}, epochs {config['n_epochs']}, gamma {config['gamma']}, "
        f"gae_lambda {config['gae_lambda']}, clip {config['clip_range']}, ent_coef {config['ent_coef']} |",
        f"| seed | {config['seed']} |",
        "",
        "Command:",
        "",
        "```bash",
        ".venv/bin/python train.py --sizes "
        + " ".join(config["sizes"])
        + f" --total-timesteps {config['total_timesteps']} --seed {config['seed']}"
        + f" --learning-rate {config['learning_rate']} --eval-freq {config['eval_freq']} --run-dir {config['run_dir']}",
        "```",
        "",
        f"Validation curve ({config['validation_instances']} fixed generated instances, greedy decoding; gaps are mean",
        "per-instance % above the best of the nine deterministic rules and above CP-SAT with a 1 s limit):",
        "",
        "| steps | wall s | mean makespan | gap to best rule % | gap to CP-SAT 1 s % |",
        "|---:|---:|---:|---:|---:|",
    ]
    return _with_curve(lines, validation, ("timesteps", "wall_seconds", *_VALIDATION_GAPS))


def improvement_model_card(run_dir: Path, name: str) -> str:
    """Card of a ``train_improvement.py`` run (N5 move policy, validated against tabu search)."""
    config, validation, parameters, wall = _run_record(run_dir, load_improvement_policy)
    steps = config["validation_steps"]
    lines = [
        f"# Model card: `{name}`",
        "",
        "Improvement-mode move policy (Zhang et al., ICLR 2024, L2S): from a complete schedule, the relational",
        "GIN-style encoder of `agents.encoder` embeds every operation of the disjunctive graph with the current",
        "machine orders; each N5 move is scored from its two operations' embeddings and the graph embedding; the env",
        "keeps the best schedule. Trained with sb3-contrib MaskablePPO on uniform random Taillard-style instances,",
        f"from random dispatching-rule schedules; episodes of {config['episode_steps']} moves; swapping a pair back is",
        f"masked for {config['tabu_tenure']} steps (training and inference).",
        "",
        "| field | value |",
        "|---|---|",
        f"| training sizes | {', '.join(config['sizes'])} (drawn uniformly per episode) |",
        f"| steps trained | {validation[-1]['timesteps'] if validation else '?'} "
        f"(of {config['total_timesteps']} planned) |",
        f"| checkpoint kept | best validation makespan, at {config.get('timesteps')} steps |",
        f"| wall time | {wall / 60:.1f} min on a 2-core x86_64 CPU machine ({platform.python_version()}, torch "
        f"{torch.__version__}, {config['torch_threads']} torch thread; another training run used the other core) |",
        f"| parameters | {parameters:,} |",
        f"| architecture | width {config['width']}, {config['num_layers']} message-passing layers |",
        f"| PPO | lr {config['learning_rate']} linear to 0, n_envs {config['n_envs']}, n_steps {config['n_steps']}, "
        f"batch {config['batch_size']}, epochs {config['n_epochs']}, gamma {config['gamma']}, "
        f"gae_lambda {config['gae_lambda']}, clip {config['clip_range']}, ent_coef {config['ent_coef']} |",
        f"| seed | {config['seed']} |",
        "",
        "Command:",
        "",
        "```bash",
        ".venv/bin/python train_improvement.py --sizes "
        + " ".join(config["sizes"])
        + f" --total-timesteps {config['total_timesteps']} --seed {config['seed']}"
        + f" --eval-freq {config['eval_freq']} --run-dir {config['run_dir']} --device {config['device']}",
        "```",
        "",
        f"Validation curve ({config['validation_instances']} fixed generated instances, start = "
        f"{config['validation_start_rule']} (non-delay), {steps} greedy moves; tabu search = `jssp.local_search."
        f"tabu_search` with {steps} iterations from the same start; gap = mean per-instance %):",
        "",
        f"| steps | wall s | start makespan | tabu-{steps} makespan | ls-{steps} makespan | improvement over start % "
        f"| gap to tabu-{steps} % |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    columns = ("val_start_makespan", "val_tabu_makespan", "val_makespan", "val_improvement", "val_gap_to_tabu")
    return _with_curve(lines, validation, ("timesteps", "wall_seconds", *columns))


def self_labelling_model_card(run_dir: Path, name: str) -> str:
    """Card of a ``train_self_labelling.py`` run (a dispatcher fine-tuned on its own best samples)."""
    config, validation, parameters, wall = _run_record(run_dir, load_policy)
    lines = [
        f"# Model card: `{name}`",
        "",
        f"Greedy GNN dispatcher: `{config['init_checkpoint']}` (MaskablePPO, {config.get('base_timesteps')} steps on",
        f"{', '.join(config.get('base_sizes') or [])}) fine-tuned by self-labelling (Corsini et al. 2024, SLJ):",
        f"for each random instance the policy samples {config['num_samples']} schedules and takes a cross-entropy",
        "step towards the decisions of the best one. Same architecture and scheme as the base checkpoint.",
        "",
        "| field | value |",
        "|---|---|",
        f"| fine-tuning sizes | {', '.join(config['sizes'])} (drawn uniformly per instance) |",
        f"| scheme | {config['scheme']} |",
        f"| instances labelled | {validation[-1]['instances'] if validation else '?'} "
        f"(of {config['instances']} planned) |",
        f"| checkpoint kept | best validation makespan, after {config.get('instances_done')} instances |",
        f"| wall time | {wall / 3600:.2f} h of fine-tuning on a 2-core x86_64 CPU machine "
        f"({platform.python_version()}, torch {torch.__version__}, {config['torch_threads']} thread; "
        "other jobs used the other core) |",
        f"| parameters | {parameters:,} |",
        f"| architecture | width {config['width']}, {config['num_layers']} message-passing layers |",
        f"| optimiser | Adam, lr {config['learning_rate']} constant, "
        f"{config['instances_per_update']} instances per step |",
        f"| seed | {config['seed']} |",
        "",
        "Command:",
        "",
        "```bash",
        f".venv/bin/python train_self_labelling.py --init-checkpoint {config['init_checkpoint']} --sizes "
        + " ".join(config["sizes"])
        + f" --instances {config['instances']} --num-samples {config['num_samples']}"
        + f" --learning-rate {config['learning_rate']} --eval-every {config['eval_every']}"
        + f" --run-dir {config['run_dir']}",
        "```",
        "",
        f"Validation curve ({config['validation_instances']} fixed generated instances, greedy decoding; gaps are mean",
        "per-instance % above the best of the nine deterministic rules and above CP-SAT with a 1 s limit; label gain =",
        "how much shorter the best sample was than the mean sample, %):",
        "",
        "| instances | wall s | mean makespan | gap to best rule % | gap to CP-SAT 1 s % | loss | label gain % |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    return _with_curve(lines, validation, ("instances", "wall_seconds", *_VALIDATION_GAPS, "loss", "label_gain"))


def imitation_model_card(run_dir: Path, name: str) -> str:
    """Card of a ``train_imitation.py`` run (a dispatcher trained to imitate tabu-search schedules)."""
    config, validation, parameters, wall = _run_record(run_dir, load_policy)
    start = f"`{config['init_checkpoint']}`" if config["init_checkpoint"] else "a freshly initialised network"
    lines = [
        f"# Model card: `{name}`",
        "",
        "Greedy GNN dispatcher (relational GIN-style encoder over the unscheduled operations of the disjunctive graph,",
        f"one logit per job), trained from {start} by imitation of tabu-search schedules (`agents/imitation.py`):",
        f"each of {config['instances']} uniform random Taillard-style instances is solved once by tabu search",
        f"({config['teacher_iterations']} iterations from fdd-mwkr); the policy takes cross-entropy steps towards the",
        "teacher's choice at every decision of the Giffler-Thompson (active) scheme, along the teacher's own",
        (
            f"trajectory, and from the second epoch on, for a {config['dagger']} share of instances, along its own"
            f" rollouts sampled at temperature {config.get('dagger_temperature', 1.0)} (DAgger)."
            if config["dagger"] > 0
            else "trajectory (behaviour cloning, no DAgger)."
        ),
        "",
        "| field | value |",
        "|---|---|",
        f"| training sizes | {', '.join(config['sizes'])} (drawn uniformly per instance) |",
        f"| scheme | {config['scheme']} |",
        f"| instances seen | {validation[-1]['instances'] if validation else '?'} "
        f"({config['epochs']} epochs of {config['instances']}) |",
        f"| checkpoint kept | best validation makespan, after {config.get('instances_done')} instances |",
        f"| wall time | {wall / 3600:.2f} h of training on a 2-core x86_64 CPU machine "
        f"({platform.python_version()}, torch {torch.__version__}, {config['torch_threads']} thread; "
        "other jobs used the other core), after the teacher's schedules (see README) |",
        f"| parameters | {parameters:,} |",
        f"| architecture | width {config['width']}, {config['num_layers']} message-passing layers |",
        f"| optimiser | Adam, lr {config['learning_rate']} linear to 0, "
        f"{config['instances_per_update']} instances per step |",
        f"| seed | {config['seed']} |",
        "",
        "Command:",
        "",
        "```bash",
        ".venv/bin/python train_imitation.py --sizes "
        + " ".join(config["sizes"])
        + f" --instances {config['instances']} --teacher-iterations {config['teacher_iterations']}"
        + f" --epochs {config['epochs']} --dagger {config['dagger']}"
        + f" --dagger-temperature {config.get('dagger_temperature', 1.0)} --learning-rate {config['learning_rate']}"
        + f" --validation-instances {config['validation_instances']} --eval-every {config['eval_every']}"
        + f" --run-dir {config['run_dir']}",
        "```",
        "",
        f"Validation curve ({config['validation_instances']} fixed generated instances, greedy decoding; gaps are mean",
        "per-instance % above the best of the nine deterministic rules and above CP-SAT with a 1 s limit; followed gap",
        "= how much longer the schedules of the followed trajectories were than the teacher's, %; DAgger share = share",
        "of instances that followed the policy's own rollout):",
        "",
        "| instances | wall s | mean makespan | gap to best rule % | gap to CP-SAT 1 s % | loss | followed gap % "
        "| DAgger share |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    columns = ("instances", "wall_seconds", *_VALIDATION_GAPS, "loss", "followed_gap", "dagger_share")
    return _with_curve(lines, validation, columns)


def ship(run_dir: Path, name: str) -> Path:
    destination = CHECKPOINTS_DIR / name
    destination.mkdir(parents=True, exist_ok=True)
    for file_name in ("policy.pt", "config.json"):
        shutil.copy2(run_dir / "best" / file_name, destination / file_name)
    shutil.copy2(run_dir / "validation.csv", destination / "validation.csv")
    config = json.loads((run_dir / "config.json").read_text())
    if config.get("algorithm") == "self-labelling":
        card = self_labelling_model_card
    elif config.get("algorithm") == "imitation":
        card = imitation_model_card
    elif "episode_steps" in config:  # a train_improvement.py run
        card = improvement_model_card
    else:
        card = model_card
    (destination / "MODEL_CARD.md").write_text(card(run_dir, name))
    return destination


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m agents.ship RUN_DIR NAME")
    print(ship(Path(sys.argv[1]), sys.argv[2]))
