"""Gridlock under shutdowns, and what admission control (``--wip-limit``) does about it.

    .venv/bin/python benchmarks/bench_blocking_admission.py [--jobs 50] [--machines 20] [--shops 10]
        [--downtime 200] [--rates 0 0.002 0.005] [--methods lor lookahead-lor gnn] [--checkpoint FOLDER]
        [--out results/bench_blocking_admission.json]

Each shop is ``random_general_instance(jobs, machines, seed=k)`` for k = 0 .. shops - 1 (durations 1-99, so a
downtime of 200 is a long repair), solved on calendar seed k at each rate by ``lor`` and ``lookahead-lor``,
each without a limit (every free machine filled, the published rules) and with a limit of half and a quarter
of the machines. Every schedule passes the validator against its calendar (:func:`jssp.solvers.solve`). The
table gives the mean makespan, its ratio to the same method's mean at rate 0 without a limit times the
availability (1.0 would be a shop slowed exactly by its downtime), and the runs that jammed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tyro
from report import machine_record, write_report

from jssp.blocking import JammedError, availability, warm_up
from jssp.generators import random_general_instance
from jssp.solvers import SolveOptions, ensure_methods, method_refusal, solve


@dataclass(frozen=True)
class AdmissionConfig:
    """Which shops, rates and limits."""

    jobs: int = 50
    """Jobs of each generated shop."""
    machines: int = 20
    """Machines of each generated shop; the limits tried are half and a quarter of them."""
    shops: int = 10
    """Generated shops (and calendars) per rate."""
    downtime: int = 200
    """Length of a shutdown."""
    rates: tuple[float, ...] = (0.0, 0.002, 0.005)
    """Shutdown rates."""
    methods: tuple[str, ...] = ("lor", "lookahead-lor")
    """Online methods of the blocking problem; those that refuse admission control (``gnn``) run without a limit
    only."""
    checkpoint: str | None = None
    """Checkpoint of the learned methods (default: the shipped one); e.g. a dispatcher trained with --hold."""
    out: Path = Path("results/bench_blocking_admission.json")
    """JSON output; the markdown table goes beside it."""


def accepts_limit(method: str, limit: int) -> bool:
    """Whether ``method`` implements admission control (``gnn`` and the planners refuse a limit)."""
    return method_refusal(method, SolveOptions.of("isbjssp", wip_limit=limit)) is None


def main(cfg: AdmissionConfig) -> dict[str, Any]:
    warm_up()
    ensure_methods(cfg.methods, "isbjssp")
    limits = [None, cfg.machines // 2, cfg.machines // 4]
    shops = [random_general_instance(cfg.jobs, cfg.machines, seed=seed) for seed in range(cfg.shops)]
    rows: list[dict[str, Any]] = []
    for rate in cfg.rates:
        for method in cfg.methods:
            for limit in limits:
                if limit is not None and not accepts_limit(method, limit):
                    continue
                makespans, jams = [], 0
                for seed, shop in enumerate(shops):
                    options = SolveOptions.of(
                        "isbjssp", shutdown_rate=rate, downtime=cfg.downtime, seed=seed, wip_limit=limit,
                        checkpoint=cfg.checkpoint,
                    )  # fmt: skip
                    try:
                        makespans.append(solve(shop, method, options).makespan)
                    except JammedError:
                        jams += 1
                mean = sum(makespans) / len(makespans) if makespans else None
                rows.append({"rate": rate, "method": method, "wip_limit": limit, "mean": mean, "jammed": jams})
                print(rows[-1], file=sys.stderr, flush=True)
    base = {row["method"]: row["mean"] for row in rows if row["rate"] == 0 and row["wip_limit"] is None}
    lines = [
        f"{cfg.shops} generated general-route shops of {cfg.jobs} jobs x {cfg.machines} machines, downtime "
        f"{cfg.downtime} (durations 1-99), calendar seed = shop seed. Ratio: mean makespan x availability / the "
        "method's mean at rate 0 without a limit."
        + ("" if cfg.checkpoint is None else f" Learned methods: checkpoint `{cfg.checkpoint}`."),
        "",
        "| rate | availability | method | wip limit | mean makespan | ratio | jammed |",
        "|---:|---:|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        share = availability(row["rate"], cfg.downtime)
        ratio = "–" if row["mean"] is None else f"{row['mean'] * share / base[row['method']]:.2f}"
        mean = "–" if row["mean"] is None else f"{row['mean']:.0f}"
        limit = "none" if row["wip_limit"] is None else str(row["wip_limit"])
        lines.append(
            f"| {row['rate']:g} | {share:.0%} | {row['method']} | {limit} | {mean} | {ratio} | {row['jammed']} |"
        )
    result = {"machine": machine_record(), "config": {**vars(cfg), "out": str(cfg.out)}, "rows": rows}
    write_report(cfg.out, result, "\n".join(lines) + "\n")
    return result


if __name__ == "__main__":
    main(tyro.cli(AdmissionConfig))
