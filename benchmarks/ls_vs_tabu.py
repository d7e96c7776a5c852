"""Learned improvement (``ls-<steps>``) against tabu search with as many iterations, from the same start.

    .venv/bin/python benchmarks/ls_vs_tabu.py --instances ta01-ta10 --steps 500 --out results/ls-vs-tabu

Both searches start from the greedy ``gnn`` schedule of each instance and move through the N5
neighbourhood: the learned policy applies one move per step chosen by one network call; tabu
search (``jssp.local_search.tabu_search``) evaluates every N5 move per iteration and applies the
best admissible one. Writes ``OUT/results.csv`` (one row per instance), ``OUT/summary.md`` and
``OUT/config.json``; gaps are to the best known makespans of ``instances/bounds.json``.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tyro

from agents.improvement.inference import improve
from agents.methods import cached_improvement_policy, cached_policy, solve_gnn
from jssp import benchmarks
from jssp.local_search import tabu_search
from jssp.solvers import SolveOptions


@dataclass(frozen=True)
class LsVsTabuConfig:
    """What to compare."""

    instances: tuple[str, ...] = ("ta01-ta10",)
    """Benchmark selectors (see jssp.benchmarks.select)."""
    steps: int = 500
    """Moves of the learned policy and iterations of tabu search."""
    checkpoint: str = "gnn-default"
    """Construction checkpoint of the start schedule."""
    improvement_checkpoint: str = "ls-default"
    """Move policy checkpoint."""
    seed: int = 0
    """Seed of tabu search."""
    out: Path = Path("results/ls-vs-tabu")
    """Output folder."""


def main(cfg: LsVsTabuConfig) -> list[dict[str, object]]:
    options = SolveOptions(
        checkpoint=cfg.checkpoint, improvement_checkpoint=cfg.improvement_checkpoint, device="cpu", seed=cfg.seed
    )
    cached_policy(options.checkpoint, options.device)
    policy = cached_improvement_policy(options.improvement_checkpoint, options.device)
    rows: list[dict[str, object]] = []
    for name in benchmarks.select_many(list(cfg.instances)):
        instance = benchmarks.load(name)
        best_known, _ = benchmarks.known_bounds(instance)
        began = time.perf_counter()
        start = solve_gnn(instance, options)
        gnn_seconds = time.perf_counter() - began
        began = time.perf_counter()
        learned = improve(policy, instance, start, cfg.steps)
        ls_seconds = time.perf_counter() - began
        began = time.perf_counter()
        tabu = tabu_search(instance, start, time_limit=math.inf, max_iterations=cfg.steps, seed=cfg.seed).schedule
        tabu_seconds = time.perf_counter() - began
        for schedule in (start, learned, tabu):
            schedule.check()
        row: dict[str, object] = {"instance": name, "best_known": best_known}
        for label, schedule, seconds in (
            ("gnn", start, gnn_seconds),
            ("ls", learned, ls_seconds),
            ("tabu", tabu, tabu_seconds),
        ):
            row[f"{label}_makespan"] = schedule.makespan
            row[f"{label}_gap_pct"] = round(benchmarks.gap_percent(schedule.makespan, best_known) or math.nan, 3)
            row[f"{label}_seconds"] = round(seconds, 3)
        rows.append(row)
        print(row, flush=True)

    cfg.out.mkdir(parents=True, exist_ok=True)
    with open(cfg.out / "results.csv", "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        f"Start: greedy gnn ({cfg.checkpoint}); {cfg.steps} steps each; CPU, 1 torch thread "
        f"({platform.machine()}, Python {platform.python_version()}); time of ls and tabu excludes the start.",
        "",
        "| method | mean gap % | mean seconds / instance |",
        "|---|---:|---:|",
    ]
    for label, title in (("gnn", "gnn (start)"), ("ls", f"ls-{cfg.steps}"), ("tabu", f"tabu {cfg.steps} iterations")):
        mean_gap = np.mean([float(str(row[f"{label}_gap_pct"])) for row in rows])
        mean_seconds = np.mean([float(str(row[f"{label}_seconds"])) for row in rows])
        lines.append(f"| {title} | {mean_gap:.2f} | {mean_seconds:.2f} |")
    (cfg.out / "summary.md").write_text("\n".join(lines) + "\n")
    (cfg.out / "config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=1, default=str) + "\n")
    print("\n".join(lines))
    return rows


if __name__ == "__main__":
    main(tyro.cli(LsVsTabuConfig))
