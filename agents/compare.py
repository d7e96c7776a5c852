"""Compare dispatcher checkpoints by greedy makespan on generated instances (never on the benchmarks).

    .venv/bin/python -m agents.compare gnn-default runs/im-ft/best runs/ppo-ft/best \
        --sizes 20x20 30x15 30x20 50x15 50x20 --instances 25 --out results/compare.csv

Instances come from seeds 30000, 30001, ... (disjoint from the training streams and the
validation sets of ``train.py``), sizes cycled. Prints, per checkpoint, the mean greedy makespan
and the mean per-instance gap (%) to the first checkpoint; a choice between trained checkpoints
made here leaves the benchmark results an honest test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tyro

from agents.checkpoints import checkpoint_sha256, load_policy
from agents.inference import greedy_schedule, single_thread
from jssp.files import append_csv_row
from jssp.generators import parse_size, random_instance


@dataclass(frozen=True)
class CompareConfig:
    """Checkpoints to compare and the generated instances to compare them on."""

    checkpoints: tyro.conf.Positional[tuple[str, ...]]
    """Checkpoint names or folders; gaps are relative to the first."""
    sizes: tuple[str, ...] = ("20x20", "30x15", "30x20", "50x15", "50x20")
    """Instance sizes, cycled."""
    instances: int = 25
    """Generated instances (seeds 30000, 30001, ...)."""
    out: Path | None = None
    """CSV to append one row per checkpoint to."""


def main(cfg: CompareConfig) -> dict[str, float]:
    single_thread()
    sizes = [parse_size(size) for size in cfg.sizes]
    instances = [random_instance(*sizes[index % len(sizes)], seed=30_000 + index) for index in range(cfg.instances)]
    makespans: dict[str, np.ndarray] = {}
    for checkpoint in cfg.checkpoints:
        policy = load_policy(checkpoint)
        scheme = policy.metadata["inference"]["scheme"]
        makespans[checkpoint] = np.array([greedy_schedule(policy, instance, scheme).makespan for instance in instances])
    reference = makespans[cfg.checkpoints[0]]
    gaps: dict[str, float] = {}
    for checkpoint, values in makespans.items():
        gaps[checkpoint] = float(np.mean(100 * (values - reference) / reference))
        gap = gaps[checkpoint]
        print(f"{checkpoint}: mean makespan {values.mean():.1f}, {gap:+.2f} % against {cfg.checkpoints[0]}")
        if cfg.out is not None:
            row: dict[str, object] = {"checkpoint": checkpoint, "sha256": checkpoint_sha256(checkpoint)[:12]}
            row |= {"sizes": " ".join(cfg.sizes), "instances": cfg.instances}
            row |= {"mean_makespan": round(float(values.mean()), 2), "gap_to_first_pct": round(gap, 3)}
            append_csv_row(cfg.out, row)
    return gaps


if __name__ == "__main__":
    main(tyro.cli(CompareConfig))
