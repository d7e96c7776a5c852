"""Admission control on the benchmark grid of the blocking problem: a limit of a share of the machines against
always filling every free machine, per rate, same calendars (every jammed run counted).

    python benchmarks/bench_blocking_admission_grid.py --methods lor lookahead-lor --shares 1 0.75 0.5 \
        --rates 0 0.005 0.01 --seeds 2 --out results/bench_blocking_admission_grid.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from report import machine_record, write_report

from jssp import benchmarks
from jssp.blocking import Interruptions
from jssp.blocking.errors import JammedError
from jssp.blocking.lookahead import lookahead_schedule
from jssp.blocking.rules import dispatch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", nargs="+", default=["la", "ft", "orb", "abz"])
    parser.add_argument("--methods", nargs="+", default=["lor", "lookahead-lor"])
    parser.add_argument("--shares", nargs="+", type=float, default=[1.0, 0.75, 0.5])
    parser.add_argument("--rates", nargs="+", type=float, default=[0.0, 0.005, 0.01])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("results/bench_blocking_admission_grid.json"))
    args = parser.parse_args()

    names = benchmarks.select_many(args.instances)
    records = []
    for method in args.methods:
        for rate in args.rates:
            makespans: dict[float | None, list[float]] = {share: [] for share in [None, *args.shares]}
            for name in names:
                instance = benchmarks.load(name)
                for seed in range(args.seeds):
                    interruptions = Interruptions(rate=rate, seed=seed)
                    for share, values in makespans.items():
                        limit = None if share is None else max(1, int(share * instance.num_machines))
                        try:
                            if method == "lookahead-lor":
                                schedule = lookahead_schedule(instance, interruptions, wip_limit=limit)
                            else:
                                schedule = dispatch(instance, method, interruptions, wip_limit=limit)
                            values.append(schedule.makespan)
                        except JammedError:
                            values.append(np.nan)
            base = np.array(makespans[None])
            for share, values in makespans.items():
                array = np.array(values)
                records.append({
                    "method": method, "rate": rate, "share": share, "mean_makespan": float(np.nanmean(array)),
                    "better": int((array < base).sum()), "worse": int((array > base).sum()),
                    "jammed": int(np.isnan(array).sum()), "runs": len(array),
                })  # fmt: skip
                print(records[-1], flush=True)
    lines = [
        f"{' '.join(args.instances)} ({len(names)} instances) x {args.seeds} calendars per rate; limit = the share "
        "times the machines (at least 1); better/worse: runs against the same calendar without a limit.",
        "",
        "| method | rate | wip limit | mean makespan | better | worse | jammed |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for record in records:
        share = "none" if record["share"] is None else f"{record['share']:g} x machines"
        lines.append(
            f"| {record['method']} | {record['rate']:g} | {share} | {record['mean_makespan']:.1f} | "
            f"{record['better']} | {record['worse']} | {record['jammed']} |"
        )
    write_report(args.out, {"machine": machine_record(), "records": records}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
