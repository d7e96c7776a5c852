"""Milliseconds per greedy schedule of every dispatching rule on one core (target: 50 ms on ta71, 100x20).

    .venv/bin/python benchmarks/bench_rules.py [--instance ta71] [--repeats 20] [--out results/bench_rules.json]

Pins the process to one CPU core, dispatches each rule once untimed (numba compilation, caches),
then times ``jssp.rules.dispatch`` ``repeats`` times per rule and reports the median (with min and
max). Every timed schedule's makespan must equal the warm-up's (the rules are deterministic, and
``random`` is seeded) and the warm-up schedule is checked by the independent validator.
Writes the JSON to ``--out`` and the markdown table beside it (``.md``).
"""

from __future__ import annotations

import dataclasses
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tyro
from report import machine_record, write_report

from jssp import benchmarks, rules
from jssp.instance import Instance


@dataclass(frozen=True)
class BenchRulesConfig:
    """Instance, repetitions and output of the dispatching-rule speed benchmark."""

    instance: str = "ta71"
    """Benchmark instance name (files in instances/)."""
    repeats: int = 20
    """Timed schedules per rule; the median is reported."""
    scheme: str = "non-delay"
    """Schedule-generation scheme: non-delay (the rules' default), active or append."""
    seed: int = 0
    """Seed of the random rule."""
    core: int | None = None
    """CPU core to pin the process to; default: the lowest one it may run on."""
    target_ms: float = 50.0
    """Target milliseconds per schedule."""
    out: Path = Path("results/bench_rules.json")
    """JSON result file; the markdown table goes beside it with the suffix .md."""


def time_rule(instance: Instance, rule: str, cfg: BenchRulesConfig) -> dict[str, Any]:
    """Warm up once, then time ``cfg.repeats`` schedules of ``rule``; milliseconds and the makespan."""
    warmup = rules.dispatch(instance, rule, scheme=cfg.scheme, seed=cfg.seed)
    warmup.check()
    milliseconds = []
    for _ in range(cfg.repeats):
        began = time.perf_counter()
        schedule = rules.dispatch(instance, rule, scheme=cfg.scheme, seed=cfg.seed)
        milliseconds.append((time.perf_counter() - began) * 1000.0)
        if schedule.makespan != warmup.makespan:
            raise RuntimeError(f"{rule}: makespan {schedule.makespan} differs from the warm-up's {warmup.makespan}")
    median = statistics.median(milliseconds)
    return {
        "rule": rule,
        "median_ms": median,
        "min_ms": min(milliseconds),
        "max_ms": max(milliseconds),
        "makespan": warmup.makespan,
        "meets_target": median <= cfg.target_ms,
    }


def markdown_table(rows: list[dict[str, Any]], cfg: BenchRulesConfig, shape: str, core: int) -> str:
    lines = [
        f"Greedy construction on {cfg.instance} ({shape}), {cfg.scheme} scheme, one core (cpu {core}, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}); "
        f"median of {cfg.repeats} after a warm-up; target {cfg.target_ms:g} ms.",
        "",
        "| rule | median ms | min ms | max ms | makespan | <= target |",
        "|---|---:|---:|---:|---:|:---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['rule']} | {row['median_ms']:.1f} | {row['min_ms']:.1f} | {row['max_ms']:.1f} "
            f"| {row['makespan']} | {'yes' if row['meets_target'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def main(cfg: BenchRulesConfig) -> int:
    # ------------------------------------------------------------------ one core
    allowed = os.sched_getaffinity(0)
    core = min(allowed) if cfg.core is None else cfg.core
    os.sched_setaffinity(0, {core})
    try:
        # -------------------------------------------------------------- time every rule
        instance = benchmarks.load(cfg.instance)
        rows = []
        for rule in rules.RULE_NAMES:
            print(f"{cfg.instance} {rule} ...", file=sys.stderr, flush=True)
            rows.append(time_rule(instance, rule, cfg))
    finally:
        os.sched_setaffinity(0, allowed)

    # ------------------------------------------------------------------ report
    shape = f"{instance.num_jobs}x{instance.num_machines}"
    table = markdown_table(rows, cfg, shape, core)
    result = {
        "config": {**dataclasses.asdict(cfg), "out": str(cfg.out)},
        "machine": machine_record(core),
        "shape": shape,
        "rows": rows,
    }
    write_report(cfg.out, result, table)
    return 0


if __name__ == "__main__":
    sys.exit(main(tyro.cli(BenchRulesConfig)))
