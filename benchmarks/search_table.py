"""The search table of docs/results.md: mean gap to the best known per TA and DMU group, for every column folder.

    .venv/bin/python benchmarks/search_table.py --out results/search-table.md --reference "tabu-pr 60 s" \\
        "tabu 10 s, 1 core=results/ta-dmu-tabu10" "tabu-pr 10 s=results/ta-dmu-tabu-pr10" \\
        "tabu-pr 60 s=results/ta-dmu-tabu-pr60" "tabu 60 s, 1 core=results/ta-dmu-sample-tabu60" \\
        "cpsat 60 s, 2 threads=results/ta-dmu-sample-cpsat60"

Each argument is ``LABEL=FOLDER`` of an ``evaluate.py`` run (its ``results.csv``, one method). Where a column holds
fewer instances of a group than the reference column (``--reference``, default the first), its cell adds in
brackets the reference's mean over the same instances and their count, so that a sample compares like with like.
The published engines' means at 600 s (4 cores; per-instance results from the public ScheduleOpt repositories, gaps
to today's best known) close the table.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from jssp.evaluation import read_results_csv
from jssp.files import write_atomically

GROUPS = (
    ("ta", ("15x15", "20x15", "20x20", "30x15", "30x20", "50x15", "50x20", "100x20")),
    ("dmu", ("20x15", "20x20", "30x15", "30x20", "40x15", "40x20", "50x15", "50x20")),
)
PUBLISHED_TA_600S = {
    "CP Optimizer 22.1, 600 s, 4 cores": (0.04, 1.01, 2.07, 1.48, 3.84, 0.00, 0.02, 0.00, 1.06, 3.96),
    "OptalCP 2026.4, 600 s, 4 cores": (0.00, 0.31, 0.66, 0.66, 1.99, 0.00, 0.09, 0.00, 0.46, 2.26),
}
"""Per TA group, then the TA mean and the DMU mean (which is all that was transcribed for DMU)."""


def read_gaps(folder: Path) -> dict[str, float]:
    """Gap % per instance of one evaluation folder."""
    return {row["instance"]: float(row["gap_pct"]) for row in read_results_csv(folder / "results.csv")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("columns", nargs="+", help="LABEL=FOLDER")
    parser.add_argument("--out", type=Path, help="also write the table here")
    parser.add_argument("--reference", help="the column whose means over a sample go in brackets (default: the first)")
    args = parser.parse_args()
    columns = [text.split("=", 1) for text in args.columns]
    gaps = {label: read_gaps(Path(folder)) for label, folder in columns}
    groups: dict[str, tuple[str, str]] = {}  # instance -> (family, size)
    for _, folder in columns:
        for row in read_results_csv(Path(folder) / "results.csv"):
            groups[row["instance"]] = (row["family"], f"{row['num_jobs']}x{row['num_machines']}")
    labels = [label for label, _ in columns]
    first = args.reference or labels[0]
    if first not in labels:
        parser.error(f"--reference must be one of the labels: {', '.join(labels)}")
    lines = ["| group | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for family, sizes in GROUPS:
        for size in (*sizes, "mean"):
            members = {name for name, (owner, shape) in groups.items() if owner == family and size in ("mean", shape)}
            cells = []
            for label in labels:
                chosen = [gaps[label][name] for name in members if name in gaps[label]]
                cell = f"{statistics.mean(chosen):.2f}" if chosen else ""
                reference = [gaps[first][name] for name in members if name in gaps[label] and name in gaps[first]]
                if chosen and label != first and len(chosen) < len(members & gaps[first].keys()) and reference:
                    cell += f" ({statistics.mean(reference):.2f}; {len(chosen)})"
                cells.append(cell)
            title = f"**{family} mean**" if size == "mean" else f"{family} {size}"
            lines.append(f"| {title} | " + " | ".join(cells) + " |")
    lines += ["", "| published, all instances | " + " | ".join(GROUPS[0][1]) + " | TA mean | DMU mean |"]
    lines.append("|---|" + "---|" * (len(GROUPS[0][1]) + 2))
    for engine, values in PUBLISHED_TA_600S.items():
        lines.append(f"| {engine} | " + " | ".join(f"{value:.2f}" for value in values) + " |")
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        write_atomically(args.out, table)


if __name__ == "__main__":
    main()
