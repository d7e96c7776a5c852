"""Tables of a blocking evaluation: per shutdown rate, makespans, gaps to the rate-0 best, paired wins.

Rows are those of a blocking results.csv (:data:`jssp.blocking.evaluation.RESULT_COLUMNS`). Every
method present gets a row in every table, and the baselines (the dispatching rules) are the
columns of the paired comparisons: a learned dispatcher joins the tables by adding its rows. Runs
pair by (instance, seed) at one rate, i.e. by calendar, since every method of a calendar met the
same shutdowns.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jssp import benchmarks
from jssp.rules import RULE_NAMES

Row = dict[str, Any]
_FAMILY_ORDER = {family: index for index, family in enumerate(benchmarks.FAMILIES)}


@dataclass(frozen=True)
class MethodStats:
    """One method's results over a set of calendars."""

    method: str
    runs: int
    """Feasible solves."""
    failures: int
    """Solves that failed (infeasible, jammed, an error); they count in no mean."""
    mean: float | None
    """Mean makespan of the feasible solves."""
    std: float | None
    """Standard deviation of those makespans (n - 1 in the denominator; 0 for one run)."""
    gap_pct: float | None
    """Mean gap (%) to the instance's best makespan without shutdowns, over runs whose instance has one."""


@dataclass(frozen=True)
class Wins:
    """How often a method's makespan was strictly lower than (or equal to) a baseline's on the same calendar."""

    wins: int
    ties: int
    pairs: int
    """Calendars (instance, seed) on which both solved feasibly."""

    @property
    def win_share(self) -> float:
        return self.wins / self.pairs if self.pairs else math.nan

    @property
    def tie_share(self) -> float:
        return self.ties / self.pairs if self.pairs else math.nan


def select(rows: Iterable[Row], rate: float, family: str | None = None) -> list[Row]:
    """The rows of one rate (and one instance family, if given)."""
    return [row for row in rows if row["rate"] == rate and (family is None or row["family"] == family)]


def method_stats(rows: Sequence[Row], method: str) -> MethodStats:
    """Makespan mean and standard deviation, and mean gap, of ``method`` over ``rows``."""
    own = [row for row in rows if row["method"] == method]
    makespans = [float(row["makespan"]) for row in own if row["feasible"]]
    gaps = [
        100.0 * (row["makespan"] - row["best_p0"]) / row["best_p0"]
        for row in own
        if row["feasible"] and row.get("best_p0")
    ]
    mean = sum(makespans) / len(makespans) if makespans else None
    std = None
    if mean is not None:
        std = (
            math.sqrt(sum((value - mean) ** 2 for value in makespans) / (len(makespans) - 1))
            if len(makespans) > 1
            else 0.0
        )
    return MethodStats(
        method, len(makespans), len(own) - len(makespans), mean, std, sum(gaps) / len(gaps) if gaps else None
    )


def paired_wins(rows: Sequence[Row], method: str, baseline: str) -> Wins:
    """Wins and ties of ``method`` against ``baseline`` over the calendars (instance, seed) both solved."""
    makespans = _makespans(rows)
    return _wins(makespans.get(method, {}), makespans.get(baseline, {}))


def _makespans(rows: Iterable[Row]) -> dict[str, dict[tuple[str, int], float]]:
    """Per method, the makespan of each feasible solve by calendar (instance, seed)."""
    result: dict[str, dict[tuple[str, int], float]] = defaultdict(dict)
    for row in rows:
        if row["feasible"]:
            result[row["method"]][(row["instance"], int(row["seed"]))] = row["makespan"]
    return result


def _wins(method: dict[tuple[str, int], float], baseline: dict[tuple[str, int], float]) -> Wins:
    pairs = [(value, baseline[key]) for key, value in method.items() if key in baseline]
    return Wins(sum(a < b for a, b in pairs), sum(a == b for a, b in pairs), len(pairs))


def best_method(rows: Sequence[Row], among: Iterable[str]) -> str | None:
    """The method of ``among`` with the lowest mean makespan over ``rows`` (a method with failures only
    when every candidate has some); ties go to the earlier one."""
    stats = [method_stats(rows, method) for method in among]
    stats = [item for item in stats if item.mean is not None]
    complete = [item for item in stats if item.failures == 0] or stats
    return min(complete, key=lambda item: item.mean or 0.0).method if complete else None


def _availability(rows: Sequence[Row], rate: float) -> float:
    """Mean long-run availability ``1 / (1 + rate * downtime)`` over the instances of ``rows``."""
    downtimes = {row["instance"]: row["downtime"] for row in rows if row.get("downtime") is not None}
    if not downtimes:
        return 1.0
    return sum(1.0 / (1.0 + rate * downtime) for downtime in downtimes.values()) / len(downtimes)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _number(value: float | None, digits: int) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def group_table(rows: Sequence[Row], methods: Sequence[str], baselines: Sequence[str]) -> list[str]:
    """One markdown table: a row per method (runs, makespan mean ± std, mean gap), then its wins and ties
    (%) against each baseline; the lowest mean makespan is bold. Methods without rows here are left out."""
    present = {row["method"] for row in rows}
    methods = [method for method in methods if method in present]
    baselines = [method for method in baselines if method in present]
    stats = [method_stats(rows, method) for method in methods]
    best = best_method(rows, methods)
    makespans = _makespans(rows)
    header = "| method | runs | makespan mean ± std | gap % | " + " | ".join(f"vs {name}" for name in baselines) + " |"
    lines = [header, "|---|---:|---:|---:|" + "---:|" * len(baselines)]
    for item in stats:
        makespan = "–" if item.mean is None else f"{item.mean:.1f} ± {_number(item.std, 1)}"
        if item.method == best:
            makespan = f"**{makespan}**"
        cells = []
        for baseline in baselines:
            wins = _wins(makespans[item.method], makespans[baseline])
            same = baseline == item.method or not wins.pairs
            cells.append("–" if same else f"{100 * wins.win_share:.0f} / {100 * wins.tie_share:.0f}")
        runs = f"{item.runs}" + (f" ({item.failures} failed)" if item.failures else "")
        lines.append(
            f"| {item.method} | {runs} | {makespan} | {_number(item.gap_pct, 2)} | " + " | ".join(cells) + " |"
        )
    return lines


def headline_table(rows: Sequence[Row], methods: Sequence[str], baselines: Sequence[str]) -> list[str]:
    """Per rate: availability, every method's mean makespan (the best bold), the best baseline and its mean
    gap, and how often each other method beats that baseline (wins / ties, %)."""
    rates = sorted({row["rate"] for row in rows})
    others = [method for method in methods if method not in baselines]
    header = "| rate | availability | " + " | ".join(methods) + " | best rule | its gap %"
    header += "".join(f" | {method} vs best rule" for method in others) + " |"
    lines = [header, "|---:|---:|" + "---:|" * len(methods) + "---|---:|" + "---:|" * len(others)]
    for rate in rates:
        selected = select(rows, rate)
        best = best_method(selected, methods)
        best_baseline = best_method(selected, [method for method in baselines if method in methods])
        cells = []
        for method in methods:
            mean = method_stats(selected, method).mean
            text = _number(mean, 1)
            cells.append(f"**{text}**" if method == best else text)
        line = f"| {rate:g} | {100 * _availability(selected, rate):.1f} % | " + " | ".join(cells)
        if best_baseline is None:
            line += " | – | –" + " | –" * len(others) + " |"
        else:
            line += f" | {best_baseline} | {_number(method_stats(selected, best_baseline).gap_pct, 2)}"
            for method in others:
                wins = paired_wins(selected, method, best_baseline)
                line += " | –" if not wins.pairs else f" | {100 * wins.win_share:.0f} / {100 * wins.tie_share:.0f}"
            line += " |"
        lines.append(line)
    return lines


def summary_tables(rows: Sequence[Row], baselines: Sequence[str] = RULE_NAMES, notes: Sequence[str] = ()) -> str:
    """Markdown: the headline table over rates, then per rate one table over all instances and one per family.

    Args:
        rows: results rows (feasible or not).
        baselines: the methods others are compared with, pair by pair (those present are used).
        notes: lines printed under the title (the settings of the evaluation).
    """
    methods = list(dict.fromkeys(row["method"] for row in rows))
    compared = [method for method in baselines if method in methods]
    families = sorted({row["family"] for row in rows}, key=lambda family: (_FAMILY_ORDER.get(family, 99), family))
    lines = ["# Blocking job shop with shutdowns: evaluation", "", *notes]
    lines += [
        "",
        "Makespan: mean ± standard deviation over instances and seeds. Gap: mean % above the instance's best",
        "makespan without shutdowns (`instances/blocking_bounds.csv`). Wins / ties: % of the calendars",
        "(instance, seed) on which the row's method had a strictly lower / the same makespan as the column's.",
        "",
        "## Mean makespan per shutdown rate",
        "",
        *headline_table(rows, methods, compared),
    ]
    for rate in sorted({row["rate"] for row in rows}):
        selected = select(rows, rate)
        instances = len({row["instance"] for row in selected})
        lines += ["", f"## Shutdown rate {rate:g} (availability {100 * _availability(selected, rate):.1f} %)", ""]
        lines += [f"**All families** ({_count(instances, 'instance')})", "", *group_table(selected, methods, compared)]
        if len(families) > 1:
            for family in families:
                part = select(selected, rate, family)
                count = _count(len({row["instance"] for row in part}), "instance")
                lines += ["", f"**{family}** ({count})", "", *group_table(part, methods, compared)]
    return "\n".join(lines) + "\n"


def merged_summary(paths: Sequence[str | Path], rates: Sequence[float] | None = None) -> str:
    """The tables of several blocking ``results.csv`` files of the same calendars (same downtime and seeds),
    with the notes of each evaluation; a (instance, rate, seed, method) found twice is an error.

    Args:
        rates: keep only these shutdown rates (all by default).
    """
    from jssp.blocking.evaluation import read_blocking_results, result_key

    rows: list[Row] = []
    seen: dict[tuple[str, float, int, str], str] = {}
    notes = []
    for path in map(Path, paths):
        for row in read_blocking_results(path):
            if rates is not None and row["rate"] not in rates:
                continue
            key = result_key(row)
            if key in seen:
                raise ValueError(f"{path} and {seen[key]} both hold {key}")
            seen[key] = str(path)
            rows.append(row)
        summary = path.with_name("summary.md")
        settings = summary.read_text().splitlines()[2] if summary.exists() else ""
        notes += [f"- `{path}`: {settings}"]
    return summary_tables(rows, notes=["Merged from:", "", *notes, "", optimum_check(rows)])


def optimum_check(rows: Sequence[Row]) -> str:
    """A line on the rate-0 schedules of instances with a proven blocking optimum: how many there are, and how
    many are below it (none, unless a schedule or a reference value is wrong)."""
    from jssp.blocking.methods import blocking_bounds

    bounds = blocking_bounds()
    proven = [
        row
        for row in rows
        if row["rate"] == 0 and row["makespan"] is not None and row["instance"] in bounds
        and bounds[row["instance"]].proven_optimal
    ]  # fmt: skip
    below = [row for row in proven if row["makespan"] < bounds[row["instance"]].best_known]
    at = sum(row["makespan"] == bounds[row["instance"]].best_known for row in proven)
    instances = len({row["instance"] for row in proven})
    return (
        f"Rate 0: {len(proven)} schedules of the {instances} instances with a proven optimum; {len(below)} below it, "
        f"{at} at it."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m jssp.blocking.report RESULTS.csv ... [--rates P ...] [--out summary.md]``: merged tables."""
    import argparse
    import sys

    from jssp.files import write_atomically

    parser = argparse.ArgumentParser(prog="python -m jssp.blocking.report", description=main.__doc__)
    parser.add_argument("results", nargs="+", help="results.csv files of evaluate.py --problem isbjssp")
    parser.add_argument("--rates", nargs="+", type=float, help="keep only these shutdown rates")
    parser.add_argument("--out", type=Path, help="write the markdown here (default: print it)")
    args = parser.parse_args(argv)
    try:
        text = merged_summary(args.results, args.rates)
    except (OSError, ValueError, KeyError) as error:
        print(f"python -m jssp.blocking.report: error: {error}", file=sys.stderr)
        return 2
    if args.out:
        write_atomically(args.out, text)
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
