"""The online frontier of the blocking job shop with shutdowns: one table from committed evaluation folders.

For each shutdown rate and each method: mean makespan, mean gap to the best makespan known without shutdowns,
paired wins/ties/losses against ``lookahead-lor`` on the same calendars, and the mean seconds per solve, over the
(instance, calendar) cells that every listed method solved. The folders were made by ``evaluate.py --problem
isbjssp`` (each records its command in ``config.json``); the calendar of a cell depends only on (instance, rate,
downtime, calendar seed), so rows from different folders pair exactly.

    python benchmarks/blocking_frontier.py --instances la01-la20 --seeds 0 \
        --folder lor=results/isbjssp-rules --folder lookahead-lor=results/isbjssp-lookahead \
        --folder "reschedule 1 s=results/isbjssp-reschedule-1s:reschedule" ... --out results/blocking_frontier.md
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from pathlib import Path

import numpy as np

from jssp import benchmarks
from jssp.blocking.evaluation import read_blocking_results
from jssp.files import write_atomically

REFERENCE = "lookahead-lor"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--instances", nargs="+", default=["la01-la20"], help="benchmark selectors, or instance files (their stems)"
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="calendar seeds to include")
    parser.add_argument(
        "--folder",
        action="append",
        required=True,
        help="LABEL=FOLDER[+FOLDER...][:METHOD] (METHOD defaults to LABEL; the rows of several folders are "
        "merged); one per row of the table, in order",
    )
    parser.add_argument("--out", type=Path, default=Path("results/blocking_frontier.md"))
    args = parser.parse_args()

    names = {Path(item).stem if item.endswith(".txt") else name for item in args.instances
             for name in ([item] if item.endswith(".txt") else benchmarks.select_many([item]))}  # fmt: skip
    rows: dict[str, dict[tuple[str, float, int], dict]] = {}
    for entry in args.folder:
        label, _, source = entry.partition("=")
        folders, _, method = source.partition(":")
        method = method or label
        cells = {}
        for folder in folders.split("+"):
            for row in read_blocking_results(Path(folder) / "results.csv"):
                if row["method"] == method and row["instance"] in names and row["seed"] in args.seeds:
                    cells[(row["instance"], row["rate"], row["seed"])] = row
        if not cells:
            raise SystemExit(f"{folders}: no rows of method {method} on the chosen instances and seeds")
        rows[label] = cells
    if REFERENCE not in rows:
        raise SystemExit(f"give the reference {REFERENCE} as one of the folders")
    write_atomically(args.out, frontier_table(rows, args))
    print(args.out.read_text())


def frontier_table(rows: dict[str, dict[tuple[str, float, int], dict]], args: argparse.Namespace) -> str:
    rates = sorted({rate for cells in rows.values() for (_, rate, _) in cells})
    command = " ".join(["python benchmarks/blocking_frontier.py", *map(shlex.quote, sys.argv[1:])])
    lines = [
        f"`{command}`",
        "",
        f"Instances {' '.join(Path(item).stem for item in args.instances)}, calendar seeds "
        f"{' '.join(map(str, args.seeds))}; per rate, the cells every method below solved at that rate (a method "
        "missing at a rate is left out there).",
        "",
        "| rate | method | cells | mean makespan | mean gap % | vs lookahead-lor (win/tie/loss) | mean s per solve |",
        "|---:|---|---:|---:|---:|---|---:|",
    ]
    for rate in rates:
        present = {label: cells for label, cells in rows.items() if any(key[1] == rate for key in cells)}
        common = set.intersection(*({key for key in cells if key[1] == rate} for cells in present.values()))
        if not common:
            continue
        keys = sorted(common)
        reference = np.array([present[REFERENCE][key]["makespan"] for key in keys], dtype=float)
        for label, cells in present.items():
            makespans = np.array([cells[key]["makespan"] for key in keys], dtype=float)
            gaps = [cells[key]["gap_pct"] for key in keys if cells[key]["gap_pct"] is not None]
            seconds = [cells[key]["seconds"] for key in keys if cells[key]["seconds"] is not None]
            wins = int((makespans < reference).sum())
            ties = int((makespans == reference).sum())
            versus = "—" if label == REFERENCE else f"{wins}/{ties}/{len(keys) - wins - ties}"
            gap = f"{np.mean(gaps):.1f}" if gaps else "—"
            lines.append(
                f"| {rate:g} | {label} | {len(keys)} | {makespans.mean():.1f} | {gap} | {versus} | "
                f"{_seconds(seconds)} |"
            )
    return "\n".join(lines) + "\n"


def _seconds(values: list[float]) -> str:
    if not values:
        return "—"
    mean = float(np.mean(values))
    return f"{mean:.3g}" if mean >= 0.001 or math.isclose(mean, 0) else f"{mean:.1e}"


if __name__ == "__main__":
    main()
