"""Time per episode of the learned blocking-shop dispatcher, beside a compiled rule in the same run.

    .venv/bin/python benchmarks/bench_blocking_gnn.py [--checkpoint gnn-isbjssp] [--instances la36 ...]
        [--rates 0 0.01] [--seeds 10] [--out results/bench_blocking_gnn.json]

Per instance and rate, ``seeds`` greedy episodes of the policy (one calendar seed each; drawing the
calendar, building every observation and the forward passes are timed) after one untimed warm-up
episode, one at a time as ``jssp solve`` runs them (``lockstep``: the same episodes in one batch,
as an evaluation of several calendars could), and the same calendars with ``lor`` in the kernel.
It prints milliseconds per episode, questions per episode and the ratio to the rule. Every schedule
is checked by the independent validator against its calendar. Torch runs on one thread, on one core.

Writes the JSON to ``--out`` and the markdown table beside it (``.md``).
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import tyro
from report import machine_record, write_report

from agents.blocking.policy import load_blocking_policy, policy_lookahead, rollouts
from jssp import benchmarks
from jssp.blocking import BlockingState, Interruptions, warm_up
from jssp.instance import Instance


@dataclass(frozen=True)
class BenchBlockingGnnConfig:
    """Checkpoint, instances, shutdown rates, repetitions and output of the learned-dispatcher timing."""

    checkpoint: str = "gnn-isbjssp"
    """Blocking dispatcher checkpoint (shipped name or folder)."""
    instances: tuple[str, ...] = ("la36", "la37", "la38", "la39", "la40")
    """Benchmark instances timed (15x15 by default)."""
    rates: tuple[float, ...] = (0.0, 0.01)
    """Shutdown rates."""
    seeds: int = 10
    """Episodes per instance and rate, one calendar seed each."""
    target_ms: float = 100.0
    """Target milliseconds per greedy episode on 15x15."""
    out: Path = Path("results/bench_blocking_gnn.json")
    """JSON result file; the markdown table goes beside it with the suffix .md."""


def time_instance(policy: Any, instance: Instance, rate: float, cfg: BenchBlockingGnnConfig) -> dict[str, Any]:
    settings = [Interruptions(rate=rate, seed=seed) for seed in range(cfg.seeds)]
    lookahead = policy_lookahead(policy)
    rollouts(policy, instance, [settings[0].calendar(instance)], lookahead=lookahead)  # untimed warm-up

    began = time.perf_counter()
    states = [rollouts(policy, instance, [item.calendar(instance)], lookahead=lookahead)[0] for item in settings]
    single = time.perf_counter() - began
    began = time.perf_counter()
    rollouts(policy, instance, [item.calendar(instance) for item in settings], lookahead=lookahead)
    lockstep = time.perf_counter() - began
    began = time.perf_counter()
    rule_states = []
    for item in settings:
        state = BlockingState(instance, item.calendar(instance))
        state.run_rule("lor")
        rule_states.append(state)
    rule = time.perf_counter() - began
    for item, state in zip(settings, states, strict=True):
        state.schedule().check(expected_down_intervals=item.calendar(instance).down_intervals(state.now))
    ms = 1000.0 * single / cfg.seeds
    return {
        "instance": instance.name,
        "shape": instance.shape,
        "rate": rate,
        "ms_per_episode": ms,
        "lockstep_ms_per_episode": 1000.0 * lockstep / cfg.seeds,
        "lor_ms_per_episode": 1000.0 * rule / cfg.seeds,
        "questions_per_episode": statistics.fmean(state.num_decisions for state in states),
        "mean_makespan": statistics.fmean(state.now for state in states),
        "lor_mean_makespan": statistics.fmean(state.now for state in rule_states),
        "meets_target": ms <= cfg.target_ms,
    }


def markdown(rows: list[dict[str, Any]], cfg: BenchBlockingGnnConfig, core: int) -> str:
    lines = [
        f"Learned blocking dispatcher `{cfg.checkpoint}`, greedy (lookahead features included), {cfg.seeds} "
        "calendars per row (downtime = mean "
        f"processing time; drawing included), torch on one thread on cpu {core}; target {cfg.target_ms:g} ms per "
        "episode on 15x15. `lor` is the compiled rule on the same calendars, timed in the same run.",
        "",
        "| instance | rate | ms / episode | lockstep ms / episode | lor ms / episode | ratio to lor"
        " | questions / episode | mean makespan | lor mean makespan | <= target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['instance']} ({row['shape']}) | {row['rate']:g} | {row['ms_per_episode']:.1f} "
            f"| {row['lockstep_ms_per_episode']:.1f} | {row['lor_ms_per_episode']:.2f} "
            f"| {row['ms_per_episode'] / row['lor_ms_per_episode']:.0f}x | {row['questions_per_episode']:.1f} "
            f"| {row['mean_makespan']:.0f} | {row['lor_mean_makespan']:.0f} "
            f"| {'yes' if row['meets_target'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def main(cfg: BenchBlockingGnnConfig) -> int:
    allowed = os.sched_getaffinity(0)
    core = min(allowed)
    os.sched_setaffinity(0, {core})
    torch.set_num_threads(1)
    try:
        warm_up()
        policy = load_blocking_policy(cfg.checkpoint)
        rows = []
        for name in cfg.instances:
            instance = benchmarks.load(name)
            for rate in cfg.rates:
                print(f"{name} rate {rate:g} ...", file=sys.stderr, flush=True)
                rows.append(time_instance(policy, instance, rate, cfg))
    finally:
        os.sched_setaffinity(0, allowed)
    result = {"config": {**dataclasses.asdict(cfg), "out": str(cfg.out)}, "machine": machine_record(core), "rows": rows}
    write_report(cfg.out, result, markdown(rows, cfg, core))
    return 0


if __name__ == "__main__":
    sys.exit(main(tyro.cli(BenchBlockingGnnConfig)))
