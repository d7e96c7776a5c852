"""Evaluating methods on the blocking job shop with shutdowns over a grid of rates and seeds.

A task is one calendar, (instance, shutdown rate, seed), and the methods that run on it. The
calendar is drawn from those three and the downtime alone, never from what a method does, so
every method of a task meets the same shutdowns and results pair across methods by (instance,
rate, seed). Each solve goes through :func:`jssp.solvers.solve` with ``problem="isbjssp"``, which
validates its schedule against that calendar; a method registered for the problem by a plugin
(a learned dispatcher) is evaluated the same way. ``evaluate.py --problem isbjssp`` is the
command line; :mod:`jssp.blocking.report` makes the tables.
"""

from __future__ import annotations

import re
import traceback
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jssp import benchmarks
from jssp.blocking.options import PROBLEM, interruptions_of, on_calendar
from jssp.evaluation import read_results_csv
from jssp.files import ColumnTypes, flag, optional
from jssp.instance import Instance
from jssp.solvers import SolveOptions, get_solver, method_refusal, solve

RESULT_COLUMNS = (
    "instance",
    "family",
    "num_jobs",
    "num_machines",
    "rate",
    "downtime",
    "seed",
    "method",
    "makespan",
    "best_p0",
    "gap_pct",
    "shutdowns",
    "seconds",
    "feasible",
)
"""Columns of a blocking results.csv: ``best_p0`` is the instance's best makespan without shutdowns
(``instances/blocking_bounds.csv``), ``gap_pct`` the gap to it, ``shutdowns`` the down intervals that
started before the makespan, ``downtime`` the length of a shutdown on this instance."""

RESULT_TYPES: ColumnTypes = {
    "num_jobs": int,
    "num_machines": int,
    "rate": float,
    "downtime": optional(int),
    "seed": int,
    "makespan": optional(int),
    "best_p0": optional(int),
    "gap_pct": optional(float),
    "shutdowns": optional(int),
    "seconds": optional(float),
    "feasible": flag,
}
"""The parsed columns of a blocking results.csv (:data:`RESULT_COLUMNS`)."""

ResultKey = tuple[str, float, int, str]
"""(instance, rate, seed, method): one solve of a blocking evaluation."""


@dataclass(frozen=True)
class BlockingTask:
    """One calendar, (instance, rate, seed), and the methods to run on it."""

    instance: Instance
    rate: float
    seed: int
    methods: tuple[str, ...]
    family: str
    best_p0: int | None

    @property
    def method(self) -> str:
        """The methods, as the progress bar shows them."""
        return ",".join(self.methods)


def make_blocking_tasks(
    instances: Iterable[Instance],
    methods: Sequence[str],
    rates: Sequence[float],
    seeds: Sequence[int],
    done: Collection[ResultKey] = (),
    options: SolveOptions | None = None,
) -> tuple[list[BlockingTask], dict[str, str]]:
    """Every (instance, rate, seed) with the methods still to run there.

    A method runs only at the rates whose options suit it (:func:`jssp.solvers.method_refusal`: CP-SAT and
    gnn-sample declare that they solve without shutdowns only).

    Args:
        done: solves already in results.csv (a resumed evaluation); they are left out.
        options: the evaluation's options (their shutdown rate is each of ``rates`` in turn).

    Returns:
        The tasks, and per method left out at some rate a line saying where and why (``cpsat: 2 solves left
        out, at rates 0.01: it solves problem isbjssp only at shutdown rate 0 (no shutdowns)``).

    Raises:
        KeyError: for a method unknown to the blocking problem (before anything runs).
    """
    from jssp.blocking.methods import known_blocking_bound  # the methods register when the tasks are made

    for method in methods:
        get_solver(method, PROBLEM)
    base = options or SolveOptions()
    refusals = {
        (method, float(rate)): method_refusal(method, on_calendar(base, rate, base.seed))
        for method in methods
        for rate in rates
    }
    tasks: list[BlockingTask] = []
    skipped: Counter[str] = Counter()
    for instance in instances:
        info = benchmarks.identify(instance)
        bound = known_blocking_bound(instance)
        family = info.family if info else "custom"
        for rate in rates:
            for seed in seeds:
                todo = []
                for method in methods:
                    if refusals[(method, float(rate))] is not None:
                        skipped[method] += 1
                    elif (instance.name, float(rate), int(seed), method) not in done:
                        todo.append(method)
                if todo:
                    best = bound.best_known if bound else None
                    tasks.append(BlockingTask(instance, float(rate), int(seed), tuple(todo), family, best))
    notes = {}
    for method, count in skipped.items():
        refused = [rate for (name, rate), refusal in refusals.items() if name == method and refusal is not None]
        reason = refusals[(method, refused[0])]
        rates_text = ", ".join(f"{rate:g}" for rate in refused)
        notes[method] = f"{method}: {count} solves left out, at rates {rates_text}: it {reason}"
    return tasks, notes


def run_blocking_task(task: BlockingTask, options: SolveOptions, schedules_dir: Path | None) -> list[dict[str, Any]]:
    """Solve the task's calendar with each of its methods; one results.csv row per method.

    ``options`` gives everything but the problem, the rate and the seed, which come from the task
    (the seed draws the calendar and seeds randomised methods). A failure (an infeasible schedule,
    a jammed shop) gives a row with ``feasible=False`` and an ``error`` entry, not an exception.
    """
    instance = task.instance
    options = on_calendar(options, task.rate, task.seed)
    downtime = interruptions_of(options).resolved_downtime(instance)
    rows = []
    for method in task.methods:
        row: dict[str, Any] = {
            "instance": instance.name,
            "family": task.family,
            "num_jobs": instance.num_jobs,
            "num_machines": instance.num_machines,
            "rate": task.rate,
            "downtime": downtime,
            "seed": task.seed,
            "method": method,
            "makespan": None,
            "best_p0": task.best_p0,
            "gap_pct": None,
            "shutdowns": None,
            "seconds": None,
            "feasible": False,
        }
        try:
            schedule = solve(instance, method, options)
        except Exception as error:  # noqa: BLE001 - reported in the row and printed by the caller
            row["error"] = f"{type(error).__name__}: {error}"
            row["traceback"] = traceback.format_exc()
            rows.append(row)
            continue
        gap = benchmarks.gap_percent(schedule.makespan, task.best_p0)
        row.update(
            makespan=schedule.makespan,
            gap_pct=None if gap is None else round(gap, 3),
            shutdowns=sum(len(intervals) for intervals in schedule.down_intervals),
            seconds=round(schedule.seconds, 4),
            feasible=True,
        )
        if schedules_dir is not None:
            stem = "__".join(re.sub(r"[^A-Za-z0-9_.-]", "_", part) for part in (instance.name, method))
            schedule.write_json(schedules_dir / f"{stem}__p{task.rate:g}__s{task.seed}.json")
        rows.append(row)
    return rows


def read_blocking_results(path: Path) -> list[dict[str, Any]]:
    """Rows of a blocking results.csv with numbers parsed back (None for blanks); a row cut short is dropped."""
    return read_results_csv(path, RESULT_TYPES)


def result_key(row: dict[str, Any]) -> tuple[str, float, int, str]:
    """The (instance, rate, seed, method) of a results row: one solve of a blocking evaluation."""
    return (row["instance"], float(row["rate"]), int(row["seed"]), row["method"])
