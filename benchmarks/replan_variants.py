"""What the re-planning choices are worth: ``reschedule`` with the makespan alone or with the jobs' ends second, and
warm-started from ``lor`` alone or from the plan followed so far and every rule, against ``lookahead-lor`` and
``right-shift``, on the same calendars.

    python benchmarks/replan_variants.py --instances la01 la02 la03 la06 la16 --seeds 0 1 2 --rate 0.005 \
        --event-budget 0.2 --out results/replan_variants.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from report import machine_record, write_report

from jssp import benchmarks
from jssp.blocking import Interruptions
from jssp.blocking.lookahead import lookahead_schedule
from jssp.blocking.replan import replan_schedule

VARIANTS = {
    "makespan alone, lor start": {"early_ends": False, "warm_starts": ("lor",)},
    "ends second, lor start": {"early_ends": True, "warm_starts": ("lor",)},
    "ends second, plan or rules start (reschedule)": {"early_ends": True, "warm_starts": None},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", nargs="+", default=["la01", "la02", "la03", "la06", "la16"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--rate", type=float, default=0.005)
    parser.add_argument("--event-budget", type=float, default=0.2)
    parser.add_argument("--out", type=Path, default=Path("results/replan_variants.json"))
    args = parser.parse_args()

    makespans: dict[str, list[int]] = {name: [] for name in ["lookahead-lor", *VARIANTS, "right-shift"]}
    for name in args.instances:
        instance = benchmarks.load(name)
        for seed in args.seeds:
            interruptions = Interruptions(rate=args.rate, seed=seed)
            makespans["lookahead-lor"].append(lookahead_schedule(instance, interruptions).makespan)
            for variant, settings in VARIANTS.items():
                schedule = replan_schedule(instance, interruptions, event_budget=args.event_budget, **settings)
                makespans[variant].append(schedule.makespan)
            shift = replan_schedule(instance, interruptions, event_budget=args.event_budget, every_event=False)
            makespans["right-shift"].append(shift.makespan)
            print(name, seed, {key: values[-1] for key, values in makespans.items()}, flush=True)
    reference = np.array(makespans["lookahead-lor"])
    lines = [
        f"{' '.join(args.instances)}, calendar seeds {' '.join(map(str, args.seeds))}, rate {args.rate:g}, "
        f"{args.event_budget:g} s per plan",
        "",
        "| method | mean makespan | wins/ties/losses vs lookahead-lor |",
        "|---|---:|---|",
    ]
    for key, values in makespans.items():
        array = np.array(values)
        record = "—" if key == "lookahead-lor" else (
            f"{(array < reference).sum()}/{(array == reference).sum()}/{(array > reference).sum()}"
        )  # fmt: skip
        lines.append(f"| {key} | {array.mean():.1f} | {record} |")
    write_report(args.out, {"machine": machine_record(), "args": vars(args) | {"out": str(args.out)},
                            "makespans": makespans}, "\n".join(lines) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
