"""Solving the blocking job shop with shutdowns by method name, and its reference values.

Every schedule :func:`solve` returns has passed the independent validator against the calendar it
was made on.
"""

from __future__ import annotations

import csv
import functools
import time
from dataclasses import dataclass

from jssp import benchmarks
from jssp.blocking.calendar import Interruptions
from jssp.blocking.rules import dispatch
from jssp.blocking.schedule import BlockingSchedule
from jssp.instance import Instance
from jssp.rules import RULE_NAMES, RULES
from jssp.solvers import SolveOptions

BLOCKING_METHODS = (*RULE_NAMES, "cpsat")
"""Methods of the blocking problem: every dispatching rule, and CP-SAT at shutdown rate 0."""
BOUNDS_FILE = "blocking_bounds.csv"


@dataclass(frozen=True)
class BlockingBound:
    """Best makespan known for the deterministic swap-allowed blocking job shop (``instances/blocking_bounds.csv``)."""

    name: str
    best_known: int
    proven_optimal: bool
    source: str


# Demirkol's original names -> dmu01..dmu80, in the order of thomasWeise/jsspInstancesAndResults
# data-raw/instance-data/make_instance_data.R (see instances/README.md): per group, the file numbers k
# of rcmax/cscmax_<jobs>_<machines>_<k> that become the next five dmu numbers.
_DEMIRKOL_ORDER = {
    "rcmax_20_15": (4, 10, 5, 8, 1), "rcmax_20_20": (6, 4, 7, 8, 5), "rcmax_30_15": (9, 10, 5, 4, 1),
    "rcmax_30_20": (7, 10, 9, 8, 2), "rcmax_40_15": (5, 9, 10, 8, 2), "rcmax_40_20": (1, 3, 6, 2, 7),
    "rcmax_50_15": (3, 1, 2, 4, 5), "rcmax_50_20": (2, 7, 6, 9, 3), "cscmax_20_15": (10, 5, 8, 7, 1),
    "cscmax_20_20": (6, 4, 3, 2, 9), "cscmax_30_15": (2, 9, 10, 5, 6), "cscmax_30_20": (9, 7, 3, 6, 4),
    "cscmax_40_15": (3, 6, 8, 4, 7), "cscmax_40_20": (10, 6, 8, 5, 9), "cscmax_50_15": (8, 6, 10, 4, 3),
    "cscmax_50_20": (1, 4, 3, 7, 9),
}  # fmt: skip
_DEMIRKOL_NAMES = {
    f"demirkol_{group}_{k}": f"dmu{5 * index + position + 1:02d}"
    for index, (group, numbers) in enumerate(_DEMIRKOL_ORDER.items())
    for position, k in enumerate(numbers)
}


def _catalogue_name(name: str) -> str:
    """Our name of an instance of the reference file (``taillard_ta01`` -> ``ta01``, Demirkol's -> ``dmuNN``)."""
    return _DEMIRKOL_NAMES.get(name, name.removeprefix("taillard_"))


@functools.cache
def blocking_bounds() -> dict[str, BlockingBound]:
    """Reference values of the 242 classical benchmarks at shutdown rate 0, by our instance name.

    ``instances/blocking_bounds.csv`` is a verbatim copy of the published table, which names the
    Taillard and Demirkol instances as OptalCP's benchmarks do; they are renamed here.
    """
    with open(benchmarks.instances_dir() / BOUNDS_FILE, newline="") as stream:
        rows = list(csv.DictReader(stream))
    return {
        _catalogue_name(row["instance"]): BlockingBound(
            _catalogue_name(row["instance"]),
            int(row["best_known_swap_blocking"]),
            row["proven_optimal"] == "True",
            row["source"],
        )
        for row in rows
    }


def known_blocking_bound(instance: Instance) -> BlockingBound | None:
    """The reference value of ``instance`` when it is a catalogued benchmark (recognised by content)."""
    info = benchmarks.identify(instance)
    return blocking_bounds().get(info.name) if info else None


def solve(
    instance: Instance,
    method: str,
    interruptions: Interruptions | None = None,
    options: SolveOptions | None = None,
) -> BlockingSchedule:
    """Run one method on the blocking job shop with shutdowns; the schedule is validated.

    Args:
        method: one of :data:`BLOCKING_METHODS`.
        interruptions: shutdown settings (default none).
        options: ``seed`` seeds the ``random`` rule and CP-SAT; ``time_limit`` and ``cpsat_workers``
            apply to CP-SAT, which starts from the best deterministic rule's schedule.

    Raises:
        KeyError: for an unknown method.
        ValueError: for settings out of range, or ``cpsat`` with a shutdown rate above 0.
        jssp.blocking.validation.InfeasibleBlockingScheduleError: if the schedule is infeasible.
    """
    interruptions = interruptions or Interruptions()
    interruptions.check()
    options = options or SolveOptions()
    options.check()
    if method not in BLOCKING_METHODS:
        raise KeyError(f"unknown method {method!r} for the blocking problem; available: {', '.join(BLOCKING_METHODS)}")
    began = time.perf_counter()
    if method == "cpsat":
        if interruptions.rate > 0:
            raise ValueError("cpsat solves the blocking problem only without shutdowns (shutdown rate 0)")
        from jssp.blocking.cpsat import solve_blocking_cpsat  # OR-Tools loads only for this method

        hint = min((dispatch(instance, rule) for rule in RULES), key=lambda schedule: schedule.makespan)
        remaining = max(0.0, options.time_limit - (time.perf_counter() - began))
        schedule = solve_blocking_cpsat(
            instance, time_limit=remaining, num_workers=options.cpsat_workers, seed=options.seed, hint=hint
        )
        schedule.info["hint"] = {"method": hint.method, "makespan": hint.makespan}
        expected = None
    else:
        calendar = interruptions.calendar(instance)
        schedule = dispatch(instance, method, interruptions, seed=options.seed, calendar=calendar)
        expected = calendar.down_intervals(schedule.makespan)
    schedule.method = method
    schedule.seconds = time.perf_counter() - began
    schedule.check(expected_down_intervals=expected)
    return schedule
