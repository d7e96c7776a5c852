"""Whether two evaluations of the same settings found the same makespans (e.g. the local and the Ray backend).

    .venv/bin/python benchmarks/same_results.py results/isbjssp-rules/results.csv results/isbjssp-rules-ray/results.csv

Rows are matched by (instance, rate, seed, method) for blocking results and (instance, method) for
classical ones. Prints the rows of each file, the solves found in both, those found in one only or
twice, and how many makespans differ (listing the first ten); exits 1 unless both hold the same solves
once each with the same makespans.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from jssp.files import read_csv_rows


def _key(row: dict[str, str]) -> tuple[str, ...]:
    return (row["instance"], row.get("rate", ""), row.get("seed", ""), row["method"])


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    first, second = (read_csv_rows(Path(path)) for path in argv)
    counts = [Counter(_key(row) for row in rows) for rows in (first, second)]
    twice = sum(count > 1 for counter in counts for count in counter.values())
    makespans = [{_key(row): row["makespan"] for row in rows} for rows in (first, second)]
    common = makespans[0].keys() & makespans[1].keys()
    only = len(makespans[0].keys() ^ makespans[1].keys())
    different = sorted(key for key in common if makespans[0][key] != makespans[1][key])
    print(f"{argv[0]}: {len(first)} rows; {argv[1]}: {len(second)} rows")
    print(f"in both: {len(common)}; in one only: {only}; found twice in a file: {twice}")
    print(f"different makespans: {len(different)}")
    for key in different[:10]:
        print(f"  {key}: {makespans[0][key]} vs {makespans[1][key]}")
    return 0 if not (different or only or twice) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
