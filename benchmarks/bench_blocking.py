"""Speed of the blocking job-shop simulator with shutdowns, and CP-SAT on the rate-0 problem.

    .venv/bin/python benchmarks/bench_blocking.py [--instances la40 ta41 ta71] [--rate 0.01] [--seeds 10]
        [--out results/bench_blocking.json]

Simulator: per instance and rule, ``seeds`` whole episodes, each on a fresh calendar (seed 0, 1,
...; drawing it is timed, as an evaluation pays for it), after one untimed warm-up episode. It
reports operations dispatched per second (every operation entering a machine is a dispatching
decision, whether the simulator took it alone or asked), questions per second (choices among
several candidates, answered by the rule), and milliseconds per episode. The same is timed with
a Python policy (the first candidate) through :class:`BlockingState`, the path a learned policy
takes. Every schedule is checked by the independent validator against its calendar. The process
is pinned to one core.

CP-SAT: the rate-0 blocking model on ``cpsat_instances`` (default ft06 and la01, proven optima 63
and 793), warm-started from the best rule, with the time to prove optimality.

Writes the JSON to ``--out`` and the markdown tables beside it (``.md``).
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

from jssp import benchmarks
from jssp.blocking import BlockingState, Interruptions, blocking_bounds, solve, warm_up
from jssp.instance import Instance
from jssp.solvers import SolveOptions


@dataclass(frozen=True)
class BenchBlockingConfig:
    """Instances, shutdown settings, repetitions and output of the blocking simulator benchmark."""

    instances: tuple[str, ...] = ("la40", "ta41", "ta71")
    """Benchmark instances timed (files in instances/)."""
    rate: float = 0.01
    """Shutdown rate per machine per unit of up time."""
    seeds: int = 10
    """Episodes per instance and rule, one calendar seed each."""
    rules: tuple[str, ...] = ("mwkr", "fdd-mwkr", "spt")
    """Rules compiled into the kernel that are timed."""
    cpsat_instances: tuple[str, ...] = ("ft06", "la01")
    """Instances solved by CP-SAT at rate 0 (empty: skip)."""
    cpsat_time_limit: float = 120.0
    """CP-SAT time limit per instance, seconds."""
    cpsat_workers: int = 2
    """CP-SAT search threads."""
    core: int | None = None
    """CPU core the simulator timings are pinned to; default: the lowest one the process may run on."""
    target: float = 50_000.0
    """Target operations dispatched per second with a rule."""
    out: Path = Path("results/bench_blocking.json")
    """JSON result file; the markdown tables go beside it with the suffix .md."""


def time_episodes(instance: Instance, rule: str | None, cfg: BenchBlockingConfig) -> dict[str, Any]:
    """``cfg.seeds`` episodes of ``rule`` in the kernel, or of a first-candidate Python policy (``None``)."""

    def episode(seed: int) -> BlockingState:
        interruptions = Interruptions(rate=cfg.rate, seed=seed)
        state = BlockingState(instance, interruptions.calendar(instance))
        if rule is None:
            while not state.done:
                state.step(int(state.candidates()[0]))
        else:
            state.run_rule(rule)
        return state

    episode(cfg.seeds)  # untimed warm-up
    moves = questions = 0
    makespans = []
    began = time.perf_counter()
    states = []
    for seed in range(cfg.seeds):
        state = episode(seed)
        moves += state.num_moves
        questions += state.num_decisions
        makespans.append(state.now)
        states.append(state)
    seconds = time.perf_counter() - began
    for seed, state in enumerate(states):
        calendar = Interruptions(rate=cfg.rate, seed=seed).calendar(instance)
        state.schedule().check(expected_down_intervals=calendar.down_intervals(state.now))
    return {
        "instance": instance.name,
        "shape": instance.shape,
        "policy": rule or "python first-candidate",
        "ms_per_episode": 1000.0 * seconds / cfg.seeds,
        "operations_per_second": moves / seconds,
        "questions_per_second": questions / seconds,
        "questions_per_episode": questions / cfg.seeds,
        "mean_makespan": statistics.fmean(makespans),
        "meets_target": rule is None or moves / seconds >= cfg.target,
    }


def markdown(rows: list[dict[str, Any]], cpsat_rows: list[dict[str, Any]], cfg: BenchBlockingConfig, core: int) -> str:
    lines = [
        f"Blocking job-shop simulator, shutdown rate {cfg.rate:g}, downtime = mean processing time, "
        f"{cfg.seeds} calendars per row (drawing included), one core (cpu {core}, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}); "
        f"target {cfg.target:,.0f} operations dispatched per second with a rule.",
        "",
        "| instance | policy | ms / episode | operations / s | questions / s | questions / episode | mean makespan |"
        " >= target |",
        "|---|---|---:|---:|---:|---:|---:|:---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['instance']} ({row['shape']}) | {row['policy']} | {row['ms_per_episode']:.2f} "
            f"| {row['operations_per_second']:,.0f} | {row['questions_per_second']:,.0f} "
            f"| {row['questions_per_episode']:.1f} | {row['mean_makespan']:.0f} "
            f"| {'yes' if row['meets_target'] else 'no'} |"
        )
    if cpsat_rows:
        lines += [
            "",
            f"CP-SAT on the blocking problem at rate 0 ({cfg.cpsat_workers} workers, limit {cfg.cpsat_time_limit:g} s,"
            " warm start from the best rule; machine shared with other jobs).",
            "",
            "| instance | makespan | status | lower bound | reference (proven) | seconds | hint |",
            "|---|---:|---|---:|---:|---:|---|",
        ]
        for row in cpsat_rows:
            lines.append(
                f"| {row['instance']} | {row['makespan']} | {row['status']} | {row['lower_bound']} "
                f"| {row['reference']} ({'yes' if row['proven'] else 'no'}) | {row['seconds']:.1f} "
                f"| {row['hint']['method']} {row['hint']['makespan']} |"
            )
    return "\n".join(lines) + "\n"


def main(cfg: BenchBlockingConfig) -> int:
    # ------------------------------------------------------------------ simulator, one core
    allowed = os.sched_getaffinity(0)
    core = min(allowed) if cfg.core is None else cfg.core
    os.sched_setaffinity(0, {core})
    try:
        warm_up()
        rows = []
        for name in cfg.instances:
            instance = benchmarks.load(name)
            for rule in (*cfg.rules, None):
                print(f"{name} {rule or 'python policy'} ...", file=sys.stderr, flush=True)
                rows.append(time_episodes(instance, rule, cfg))
    finally:
        os.sched_setaffinity(0, allowed)

    # ------------------------------------------------------------------ CP-SAT at rate 0
    cpsat_rows = []
    options = SolveOptions(time_limit=cfg.cpsat_time_limit, cpsat_workers=cfg.cpsat_workers)
    for name in cfg.cpsat_instances:
        print(f"{name} cpsat ...", file=sys.stderr, flush=True)
        schedule = solve(benchmarks.load(name), "cpsat", options=options)
        reference = blocking_bounds()[name]
        cpsat_rows.append(
            {
                "instance": name,
                "makespan": schedule.makespan,
                "status": schedule.status,
                "lower_bound": schedule.lower_bound,
                "reference": reference.best_known,
                "proven": reference.proven_optimal,
                "seconds": schedule.seconds,
                "hint": schedule.info["hint"],
            }
        )

    # ------------------------------------------------------------------ report
    table = markdown(rows, cpsat_rows, cfg, core)
    result = {
        "config": {**dataclasses.asdict(cfg), "out": str(cfg.out)},
        "machine": machine_record(core),
        "simulator": rows,
        "cpsat": cpsat_rows,
    }
    write_report(cfg.out, result, table)
    return 0


if __name__ == "__main__":
    sys.exit(main(tyro.cli(BenchBlockingConfig)))
