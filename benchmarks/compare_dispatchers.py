"""Two learned dispatchers on held-out generated instances: greedy, and best of K samples, paired per instance.

    .venv/bin/python benchmarks/compare_dispatchers.py gnn-default runs/ppo-ls-ft/best \
        --out results/dispatchers-heldout/ft-vs-default.md

The instances are drawn here (Taillard-style, ``--per-size`` of each ``--sizes`` shape, seeds from ``--seed``
on: 40,000 by default, apart from the training draws and the validation sets of ``train.py``, which start at
10,000), so neither checkpoint chose a setting on them. Each checkpoint decodes in its own scheme; sampling uses
its tuned temperature (``inference.sample_temperature``, 1.0 if it has none), the same seed for both, and keeps
the greedy rollout among the K. Prints and writes a table: mean makespan per size of each, the mean of B's
makespan relative to A's, and B's wins, ties and losses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import tyro

from agents.checkpoints import load_policy, read_metadata
from agents.inference import greedy_schedule, sampled_schedule
from jssp.generators import parse_size, random_instance
from jssp.instance import Instance


@dataclass(frozen=True)
class CompareConfig:
    """Which checkpoints, on which instances."""

    first: Annotated[str, tyro.conf.Positional]
    """Checkpoint A (shipped name or folder): the reference."""
    second: Annotated[str, tyro.conf.Positional]
    """Checkpoint B (shipped name or folder): its wins are counted."""
    sizes: tuple[str, ...] = ("15x15", "20x15", "20x20", "30x15", "30x20")
    """Shapes of the held-out instances, JOBSxMACHINES."""
    per_size: int = 20
    """Instances of each shape."""
    seed: int = 40_000
    """Seed of the first instance (the next ones count up)."""
    samples: int = 128
    """Rollouts of the sampled decoding (0: greedy only)."""
    out: Path | None = None
    """Markdown file for the table (also printed)."""


def held_out(sizes: tuple[str, ...], per_size: int, seed: int) -> list[tuple[str, Instance]]:
    """(size, instance) pairs, ``per_size`` of each shape, seeds counting up from ``seed``."""
    drawn = []
    for size in sizes:
        num_jobs, num_machines = parse_size(size)
        for _ in range(per_size):
            drawn.append((size, random_instance(num_jobs, num_machines, seed + len(drawn))))
    return drawn


def makespans(checkpoint: str, instances: list[tuple[str, Instance]], samples: int) -> dict[str, list[int]]:
    """Greedy (and, with ``samples``, best-of-K) makespan of every instance under ``checkpoint``."""
    policy = load_policy(checkpoint)
    inference = read_metadata(checkpoint).get("inference", {})
    scheme = inference.get("scheme", "non-delay")
    temperature = float(inference.get("sample_temperature") or 1.0)
    results: dict[str, list[int]] = {"greedy": [], "sampled": []}
    for _, instance in instances:
        results["greedy"].append(greedy_schedule(policy, instance, scheme).makespan)
        if samples:
            sampled = sampled_schedule(policy, instance, samples, temperature, seed=0, scheme=scheme)
            results["sampled"].append(sampled.makespan)
    return results


def table(
    cfg: CompareConfig, instances: list[tuple[str, Instance]], a: dict[str, list[int]], b: dict[str, list[int]]
) -> str:
    lines = [
        f"A = `{cfg.first}`, B = `{cfg.second}`; {cfg.per_size} instances per size, seeds {cfg.seed} on.",
        "",
        "| decoding | size | A mean makespan | B mean makespan | B vs A % | B wins / ties / losses |",
        "|---|---|---:|---:|---:|---|",
    ]
    sizes = np.array([size for size, _ in instances])
    for decoding in ("greedy", "sampled") if cfg.samples else ("greedy",):
        first, second = np.array(a[decoding], dtype=float), np.array(b[decoding], dtype=float)
        for size in [*cfg.sizes, "all"]:
            rows = sizes == size if size != "all" else np.ones(len(sizes), dtype=bool)
            x, y = first[rows], second[rows]
            name = f"best of {cfg.samples}" if decoding == "sampled" else "greedy"
            label = f"**{size}**" if size == "all" else size
            lines.append(
                f"| {name} | {label} | {x.mean():.1f} | {y.mean():.1f} | {100 * np.mean(y / x - 1):+.2f} "
                f"| {int((y < x).sum())} / {int((y == x).sum())} / {int((y > x).sum())} |"
            )
    return "\n".join(lines) + "\n"


def main(cfg: CompareConfig) -> None:
    torch.set_num_threads(1)
    instances = held_out(cfg.sizes, cfg.per_size, cfg.seed)
    first = makespans(cfg.first, instances, cfg.samples)
    second = makespans(cfg.second, instances, cfg.samples)
    text = table(cfg, instances, first, second)
    print(text)
    if cfg.out is not None:
        cfg.out.parent.mkdir(parents=True, exist_ok=True)
        cfg.out.write_text(text)


if __name__ == "__main__":
    main(tyro.cli(CompareConfig))
