"""Whole-process time and peak memory of greedy ``gnn`` on very large instances.

    JSSP_LARGE_INSTANCES=FOLDER .venv/bin/python benchmarks/bench_gnn_scale.py [--instances ...] [--repeats 1]

Each run is a fresh ``jssp solve FILE --method gnn`` process (:func:`bench_scale.run_case`): interpreter,
imports, reading the gzip file, loading the checkpoint, decoding, validating. From 5,000 operations
on, greedy decoding keeps embeddings up to date step by step and holds the graph embedding between
exact passes (:mod:`agents.incremental`); the gap column says what that costs against the best
known makespan. Targets of the large-instance issue: 100x100 in at most 5 s, 1000x100 completing
(aim at most 60 s). The machine and its load are printed with the table, since both move the times.

A second table measures what holding the graph embedding costs where the exact decoder is
affordable: the shipped policy decodes every TA and DMU instance (at most 2,000 operations, decoded
exactly by ``gnn``) once exactly and once forced through the incremental decoder per ``--refresh``.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tyro
from bench_scale import Case, run_case

from agents.checkpoints import load_policy
from agents.inference import GRAPH_REFRESH, greedy_schedule, single_thread
from jssp import benchmarks
from jssp.files import write_atomically

TARGETS = {"tai_100_100_1": "<= 5 s", "tai_1000_100_1": "aim <= 60 s"}


@dataclass(frozen=True)
class GnnScaleConfig:
    """Instances, repeats and the output file."""

    instances: tuple[str, ...] = ("tai_100_100_1", "tai_1000_100_1")
    """Da Col & Teppan instances to solve (``jssp.benchmarks`` names)."""
    repeats: int = 1
    """Fresh processes per instance."""
    out: Path = Path("results/gnn-scale.txt")
    """Where the tables are written."""
    refresh: tuple[float, ...] = (GRAPH_REFRESH,)
    """Refresh shares of the incremental decoder compared with exact decoding on TA and DMU (none: skip)."""
    checkpoint: str = "gnn-default"
    """Policy of the TA and DMU comparison."""


def refresh_effect(checkpoint: str, refreshes: tuple[float, ...]) -> list[str]:
    """Mean gaps to the best known makespans of exact and incremental greedy decoding on TA and DMU."""
    single_thread()
    policy = load_policy(checkpoint)
    scheme = str(policy.metadata["inference"]["scheme"])
    names = benchmarks.select_many(["ta", "dmu"])
    instances = [benchmarks.load(name) for name in names]
    best = np.array([benchmarks.known_bounds(instance)[0] for instance in instances], dtype=float)
    taillard = np.array([name.startswith("ta") for name in names])
    lines = [
        f"{checkpoint} ({scheme}) on TA (80) and DMU (80): exact decoding and the incremental decoder forced on",
        "",
        "| decoding | TA gap % | DMU gap % | same makespan as exact | mean change vs exact % |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    exact = None
    for refresh in (None, *refreshes):
        makespans = np.array([greedy_schedule(policy, instance, scheme, refresh).makespan for instance in instances])
        exact = makespans if exact is None else exact
        gap = 100 * (makespans - best) / best
        label = "exact" if refresh is None else f"incremental, refresh {refresh:g}"
        same = f"{int((makespans == exact).sum())}/{len(names)}"
        change = 100 * float(np.mean((makespans - exact) / exact))
        lines.append(f"| {label} | {gap[taillard].mean():.2f} | {gap[~taillard].mean():.2f} | {same} | {change:+.2f} |")
        print(lines[-1], flush=True)
    return lines


def main(cfg: GnnScaleConfig) -> int:
    load_before = os.getloadavg()[0]
    lines = [
        "| instance | operations | run | wall s | peak MB | makespan | best known | gap % | target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    catalogue = benchmarks.catalogue()
    for name in cfg.instances:
        info = catalogue[name]
        for repeat in range(cfg.repeats):
            row = run_case(Case("gnn", name, "gnn", target=TARGETS.get(name, "")))
            if "skipped" in row:
                lines.append(f"| {name} | | | | | | | | skipped: {row['skipped']} |")
                break
            makespan = row["makespan"] if row["exit_status"] == 0 else f"exit {row['exit_status']}: {row['error']}"
            gap = f"{100 * (row['makespan'] - info.best_known) / info.best_known:.1f}" if row["makespan"] else ""
            cells = [name, info.num_jobs * info.num_machines, repeat + 1, row["wall_s"], row["peak_mb"], makespan]
            lines.append("| " + " | ".join(str(cell) for cell in [*cells, info.best_known, gap, row["target"]]) + " |")
            print(lines[-1], flush=True)
    if cfg.refresh:
        lines += ["", *refresh_effect(cfg.checkpoint, cfg.refresh)]
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    header = (
        f"`python benchmarks/bench_gnn_scale.py {' '.join(sys.argv[1:])}` on {machine}, "
        f"load average {load_before:.2f} before and {os.getloadavg()[0]:.2f} after (a shared machine)\n\n"
    )
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(cfg.out, header + "\n".join(lines) + "\n")
    print(header + "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(tyro.cli(GnnScaleConfig)))
