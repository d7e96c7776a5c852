"""Online methods of the blocking job shop on generated general-route shops of growing size: time and makespan.

    .venv/bin/python benchmarks/bench_blocking_scale.py [--sizes 25x10 50x10 100x10 200x10 400x20 800x50]
        [--rates 0 0.002] [--out results/bench_blocking_scale.json]

Each shop is ``random_general_instance(jobs, machines, seed=1)`` (partial and re-entrant routes, durations
1-99). Every method solves it through :func:`jssp.solvers.solve` (so every schedule passes the validator
against its calendar, seed 0) once per rate: ``lor``, ``lookahead-lor`` with its default limits (exact up to
:data:`jssp.blocking.lookahead.EXACT_OPERATIONS` operations, bounded beyond) and, up to ``learned_up_to``
jobs, the greedy learned dispatcher ``gnn``; up to ``exact_up_to`` jobs also the exact lookahead on the larger
shops, to show what bounding costs in makespan. Wall seconds include
everything but the process start; a solve that ends without a schedule (a jammed shop) is reported as such.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tyro
from report import machine_record, write_report

from jssp.blocking import Interruptions, JammedError, warm_up
from jssp.blocking.lookahead import EXACT, EXACT_OPERATIONS, lookahead_schedule
from jssp.generators import parse_size, random_general_instance
from jssp.solvers import SolveOptions, ensure_methods, solve


@dataclass(frozen=True)
class ScaleConfig:
    """Which shops, rates and methods."""

    sizes: tuple[str, ...] = ("25x10", "50x10", "100x10", "200x10", "400x20", "800x50")
    """Shops as jobs x machines."""
    rates: tuple[float, ...] = (0.0, 0.002)
    """Shutdown rates (downtime: the mean processing time)."""
    max_jobs_with_shutdowns: int = 200
    """Shops above this many jobs are solved at rate 0 only (at low availability large shops jam; see the notes)."""
    exact_up_to: int = 100
    """Also run the exact lookahead on bounded shops up to this many jobs."""
    learned_up_to: int = 400
    """Also run the learned dispatcher ``gnn`` (shipped ``gnn-isbjssp``, greedy, CPU) up to this many jobs; 0: never."""
    out: Path = Path("results/bench_blocking_scale.json")
    """JSON output; the markdown table goes beside it."""


def _timed(run: Any) -> tuple[float, int | None, str]:
    began = time.perf_counter()
    try:
        makespan: int | None = run().makespan
        status = "ok"
    except JammedError:
        makespan, status = None, "jammed"
    return time.perf_counter() - began, makespan, status


def main(cfg: ScaleConfig) -> dict[str, Any]:
    warm_up()
    if cfg.learned_up_to > 0:
        ensure_methods(["gnn"], "isbjssp")  # the agents plugin (torch)
    rows: list[dict[str, Any]] = []
    for size in cfg.sizes:
        jobs, machines = parse_size(size)
        instance = random_general_instance(jobs, machines, seed=1)
        for rate in cfg.rates:
            if rate > 0 and jobs > cfg.max_jobs_with_shutdowns:
                continue
            options = SolveOptions.of("isbjssp", shutdown_rate=rate, seed=0)
            runs = {
                "lor": functools.partial(solve, instance, "lor", options),
                "lookahead-lor": functools.partial(solve, instance, "lookahead-lor", options),
            }
            if jobs <= cfg.learned_up_to:
                learned = dataclasses.replace(options, device="cpu")
                runs["gnn"] = functools.partial(solve, instance, "gnn", learned)
            if instance.num_operations > EXACT_OPERATIONS and jobs <= cfg.exact_up_to:
                interruptions = Interruptions(rate=rate, seed=0)
                runs["lookahead-lor exact"] = functools.partial(
                    lookahead_schedule, instance, interruptions, limits=EXACT
                )
            for method, run in runs.items():
                seconds, makespan, status = _timed(run)
                row = {"size": size, "operations": instance.num_operations, "rate": rate, "method": method}
                rows.append({**row, "seconds": round(seconds, 3), "makespan": makespan, "status": status})
                print(rows[-1], file=sys.stderr, flush=True)
    lines = [
        "Generated general-route shops (`random_general_instance(jobs, machines, seed=1)`), calendar seed 0, one solve "
        "each; wall seconds without process start.",
        "",
        "| shop | operations | rate | method | seconds | makespan |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for row in rows:
        makespan = row["makespan"] if row["status"] == "ok" else row["status"]
        lines.append(
            f"| {row['size']} | {row['operations']} | {row['rate']:g} | {row['method']} | {row['seconds']:.2f} | "
            f"{makespan} |"
        )
    result = {"machine": machine_record(), "config": {**vars(cfg), "out": str(cfg.out)}, "rows": rows}
    write_report(cfg.out, result, "\n".join(lines) + "\n")
    return result


if __name__ == "__main__":
    main(tyro.cli(ScaleConfig))
