"""The methods of the blocking job shop with shutdowns, and its reference values.

Importing this module registers the methods into the ``isbjssp`` problem (:mod:`jssp.blocking.problem`
loads it on the problem's first use); :func:`check_on_calendar` is the problem's validator.
:func:`solve` is :func:`jssp.solvers.solve` with the shutdowns given as :class:`Interruptions`.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import time
from dataclasses import dataclass

from jssp import benchmarks, solvers
from jssp.blocking.calendar import Calendar, Interruptions
from jssp.blocking.options import PROBLEM, ShutdownOptions, interruptions_of
from jssp.blocking.rules import dispatch
from jssp.blocking.schedule import BlockingSchedule
from jssp.blocking.validation import InfeasibleBlockingScheduleError
from jssp.instance import Instance
from jssp.rules import RULE_NAMES, RULES
from jssp.solvers import SolveOptions, Solver, every, register

BLOCKING_METHODS = (*RULE_NAMES, "lookahead-lor", "reschedule", "right-shift", "cpsat", "cpsat-clairvoyant")
"""Methods of the blocking problem: every dispatching rule, the one-step lookahead over ``lor`` continuations on
the calendar known so far (:mod:`jssp.blocking.lookahead`, online), event-driven re-planning with CP-SAT and its
classic, a plan made at time 0 followed to the end (:mod:`jssp.blocking.replan`, online), CP-SAT at shutdown rate
0, and the clairvoyant reference (CP-SAT that knows the calendar in advance, :mod:`jssp.blocking.clairvoyant`; not
an online method)."""


def without_shutdowns(options: SolveOptions) -> str | None:
    """The requirement (:data:`jssp.solvers.Requirement`) of the methods that plan a whole schedule in advance
    on one calendar, and so solve the blocking problem only without shutdowns: CP-SAT, and the best of
    several sampled episodes of the learned dispatcher (registered by ``agents``)."""
    rate = options.problem_options.shutdown_rate
    return None if rate == 0 else f"solves problem {PROBLEM} only at shutdown rate 0 (no shutdowns)"


def without_admission_control(options: SolveOptions) -> str | None:
    """The requirement of the methods that do not implement admission control (``--wip-limit``): the planners, and
    the learned dispatcher, which was not trained with it."""
    limit = options.problem_options.wip_limit
    return (
        None if limit is None else f"does not implement admission control (--wip-limit {limit}) for problem {PROBLEM}"
    )


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
    """:func:`jssp.solvers.solve` of ``method`` on the blocking problem with the shutdowns of ``interruptions``
    (its seed draws the calendar and seeds randomised methods); the schedule is validated against that calendar.

    Args:
        method: a method of the problem (:data:`BLOCKING_METHODS`, or one a plugin registered).
        interruptions: shutdown settings (default none).
        options: the method options (time limit, CP-SAT threads); their seed is replaced by the calendar's.

    Raises:
        KeyError: for an unknown method.
        ValueError: for settings out of range, or a method the settings do not suit (``cpsat`` with shutdowns).
        jssp.blocking.validation.InfeasibleBlockingScheduleError: if the schedule is infeasible.
    """
    interruptions = interruptions or Interruptions()
    interruptions.check()
    if isinstance(interruptions.downtime, tuple):
        raise ValueError("a downtime range is not an option of the problem; give one downtime")
    shutdowns = ShutdownOptions(interruptions.rate, interruptions.downtime, interruptions.mode)
    options = dataclasses.replace(
        options or SolveOptions(), problem=PROBLEM, problem_options=shutdowns, seed=interruptions.seed
    )
    schedule: BlockingSchedule = solvers.solve(instance, method, options)
    return schedule


def _make_schedule(
    instance: Instance, method: str, interruptions: Interruptions, options: SolveOptions, calendar: Calendar
) -> BlockingSchedule:
    """The schedule of ``method``, not yet validated."""
    wip_limit = options.problem_options.wip_limit
    if method == "cpsat":
        from jssp.blocking.cpsat import solve_blocking_cpsat  # OR-Tools loads only for this method

        began = time.perf_counter()
        hint = min((dispatch(instance, rule) for rule in RULES), key=lambda schedule: schedule.makespan)
        remaining = max(0.0, options.time_limit - (time.perf_counter() - began))
        schedule = solve_blocking_cpsat(
            instance, time_limit=remaining, num_workers=options.cpsat_workers, seed=options.seed, hint=hint
        )
        schedule.info["hint"] = {"method": hint.method, "makespan": hint.makespan}
        return schedule
    if method == "cpsat-clairvoyant":
        from jssp.blocking.clairvoyant import solve_clairvoyant  # OR-Tools loads only for this method

        return solve_clairvoyant(
            instance, interruptions, options.time_limit, options.cpsat_workers, options.seed, calendar=calendar
        )
    if method in ("reschedule", "right-shift"):
        from jssp.blocking.replan import replan_schedule

        return replan_schedule(
            instance, interruptions, calendar, options.event_budget, options.cpsat_workers, options.seed,
            every_event=method == "reschedule", time_limit=options.time_limit,
        )  # fmt: skip
    if method == "lookahead-lor":
        from jssp.blocking.lookahead import lookahead_schedule

        return lookahead_schedule(instance, interruptions, calendar, rule="lor", wip_limit=wip_limit)
    return dispatch(instance, method, interruptions, seed=options.seed, calendar=calendar, wip_limit=wip_limit)


# ---------------------------------------------------------------- the method registry (jssp.solvers)


def check_on_calendar(instance: Instance, schedule: BlockingSchedule, options: SolveOptions) -> None:
    """Validator of the ``isbjssp`` problem: ``schedule`` must schedule ``instance`` feasibly on the calendar
    drawn from ``options`` (its down intervals exactly the calendar's up to the makespan) in its mode.

    Raises:
        InfeasibleBlockingScheduleError: naming the first rule broken.
    """
    interruptions = interruptions_of(options)
    if schedule.instance != instance:
        raise InfeasibleBlockingScheduleError(f"the schedule is for {schedule.instance.name}, not {instance.name}")
    if interruptions.rate > 0 and schedule.mode != interruptions.mode:
        raise InfeasibleBlockingScheduleError(
            f"the schedule was made in {schedule.mode} mode, the shutdowns ask for {interruptions.mode}"
        )
    calendar = interruptions.calendar(instance)
    schedule.check(expected_down_intervals=calendar.down_intervals(schedule.makespan))


def _registry_solver(method: str) -> Solver:
    def solver(instance: Instance, options: SolveOptions) -> BlockingSchedule:
        interruptions = interruptions_of(options)
        return _make_schedule(instance, method, interruptions, options, interruptions.calendar(instance))

    return solver


_REQUIREMENTS = {
    "cpsat": every(without_shutdowns, without_admission_control),
    "cpsat-clairvoyant": without_admission_control,
    "reschedule": without_admission_control,
    "right-shift": without_admission_control,
}
"""What the blocking methods need of the options (the others solve under any)."""

for _method in BLOCKING_METHODS:
    register(_method, _registry_solver(_method), problem=PROBLEM, requires=_REQUIREMENTS.get(_method))
