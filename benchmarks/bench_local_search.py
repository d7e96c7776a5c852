"""Local-search throughput: N5 moves scored and applied per second inside tabu search.

    .venv/bin/python benchmarks/bench_local_search.py [--seconds 5] [--out results/bench_local_search.json]

Both scoring modes of ``jssp.local_search.tabu_search`` run in the same process from the same
start: the default scores every move in O(1) from heads and tails (Taillard's estimate) and
evaluates only the applied move exactly; ``exact`` recomputes the longest path for every move.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from pathlib import Path

import tyro

from jssp import benchmarks
from jssp.local_search import tabu_search
from jssp.rules import dispatch


@dataclass(frozen=True)
class BenchLocalSearchConfig:
    """What to time."""

    instances: tuple[str, ...] = ("ta01", "ta71")
    """Instances (tabu search from the fdd-mwkr schedule)."""
    seconds: float = 5.0
    """Search time per instance."""
    out: Path = Path("results/bench_local_search.json")
    """JSON output; the markdown table goes beside it (.md)."""


def main(cfg: BenchLocalSearchConfig) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    warm = benchmarks.load("ft06")
    tabu_search(warm, dispatch(warm, "mwkr"), time_limit=0.2)  # compile the kernel
    for name in cfg.instances:
        instance = benchmarks.load(name)
        initial = dispatch(instance, "fdd-mwkr")
        for exact in (False, True):
            result = tabu_search(instance, initial, time_limit=cfg.seconds, seed=0, exact=exact)
            seconds = result.schedule.seconds
            rows.append(
                {
                    "instance": f"{name} ({instance.shape})",
                    "scoring": "exact" if exact else "estimate",
                    "seconds": round(seconds, 2),
                    "moves_evaluated_per_s": round(result.moves_evaluated / seconds),
                    "moves_applied_per_s": round(result.iterations / seconds),
                    "start_makespan": initial.makespan,
                    "final_makespan": result.schedule.makespan,
                    "best_known": benchmarks.catalogue()[name].best_known,
                }
            )
            print(rows[-1], flush=True)
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    cfg.out.write_text(json.dumps({"machine": platform.machine(), "rows": rows}, indent=1) + "\n")
    lines = [
        f"Tabu search (N5) from the fdd-mwkr schedule, {cfg.seconds:g} s per instance and scoring mode, one core.",
        "",
        "| instance | move scoring | moves scored/s | moves applied/s | start | after | best known |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['instance']} | {r['scoring']} | {r['moves_evaluated_per_s']:,} | {r['moves_applied_per_s']:,} "
        f"| {r['start_makespan']} "
        f"| {r['final_makespan']} | {r['best_known']} |"
        for r in rows
    ]
    cfg.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return rows


if __name__ == "__main__":
    main(tyro.cli(BenchLocalSearchConfig))
