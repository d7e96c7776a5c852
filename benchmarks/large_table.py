"""Mean gap to best known per size group of the very large instances, beside the published engines.

    .venv/bin/python benchmarks/large_table.py RESULTS_CSV --budget 60 [--out results/large-60s/table.md]

Reads an ``evaluate.py`` ``results.csv`` on ``tai`` instances and, for each method and size group,
prints our mean gap to the best-known makespan next to the gaps the published engines reached at the
same wall time on the same instances (``instances/large/bounds.csv``: OptalCP and CP Optimizer at 60,
300 and 1800 s with 4 workers on an AMD EPYC 9454P; at 600 s OptalCP, CP Optimizer and CP-SAT on 4
cores of an Intel i7-1185G7). Ours ran on this package's 2-core machine. An engine that found no
schedule on some instances is averaged over the others and the count is shown.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from pathlib import Path

from jssp import benchmarks
from jssp.evaluation import read_results_csv
from jssp.files import write_atomically

ENGINES = {
    60: ("optalcp_2026.2_60s", "cpo_22.1_60s"),
    300: ("optalcp_2026.2_300s", "cpo_22.1_300s"),
    600: ("optalcp_2026.4_600s", "cpo_22.1_600s", "cpsat_9.15_600s"),
    1800: ("optalcp_2026.2_1800s", "cpo_22.1_1800s"),
}


def _gap(makespan: int, best_known: int) -> float:
    return 100.0 * (makespan - best_known) / best_known


def _mean(values: list[float]) -> str:
    return f"{statistics.fmean(values):.2f}" if values else "-"


def table(rows: list[dict[str, object]], budget: int) -> str:
    """Markdown: one line per (method, size group)."""
    columns = ENGINES[budget]
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    ours: dict[tuple[str, str], list[float]] = defaultdict(list)
    infeasible: dict[tuple[str, str], int] = defaultdict(int)
    catalogue = benchmarks.catalogue()
    for row in rows:
        info = catalogue.get(str(row["instance"]))
        if info is None or info.family != benchmarks.LARGE_FAMILY:
            continue
        key = (str(row["method"]), info.shape)
        groups[key].append(info.name)
        if row["feasible"] and row["makespan"] is not None:
            ours[key].append(_gap(int(row["makespan"]), info.best_known))  # type: ignore[call-overload]
        else:
            infeasible[key] += 1
    header = ["method", "size", "instances", "ours mean gap %"]
    header += [f"{column} gap %" for column in columns]
    lines = ["| " + " | ".join(header) + " |", "| --- | --- | ---: | ---: |" + " ---: |" * len(columns)]
    order = {f"{jobs}x{machines}": index for index, (jobs, machines) in enumerate(_sizes())}
    for method, shape in sorted(groups, key=lambda key: (key[0], order.get(key[1], 99))):
        names = groups[(method, shape)]
        cells = [method, shape, str(len(names))]
        failed = infeasible[(method, shape)]
        cells.append(_mean(ours[(method, shape)]) + (f" ({failed} without schedule)" if failed else ""))
        for column in columns:
            gaps = [
                _gap(catalogue[name].published[column], catalogue[name].best_known)
                for name in names
                if column in catalogue[name].published
            ]
            missing = len(names) - len(gaps)
            cells.append(_mean(gaps) + (f" ({missing} without schedule)" if missing else ""))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _sizes() -> list[tuple[int, int]]:
    return [(jobs, machines) for jobs in (10, 100, 1000) for machines in (10, 100, 1000)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="results.csv of an evaluate.py run on tai instances")
    parser.add_argument("--budget", type=int, choices=sorted(ENGINES), required=True, help="seconds per solve")
    parser.add_argument("--out", type=Path, help="also write the table here")
    args = parser.parse_args(argv)
    text = table(read_results_csv(args.results), args.budget)
    print(text, end="")
    if args.out:
        write_atomically(args.out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
