"""The blocking job shop with swaps and machine shutdowns (``isbjssp``) as a registered problem.

Its options (:class:`ShutdownOptions`: rate, downtime, what a shutdown does to an operation) and its
evaluation grid (:class:`ShutdownGrid`: rates and calendars per instance) are declared here once;
``jssp solve``, ``evaluate.py`` and the web form are generated from them. The methods load with
:mod:`jssp.blocking.methods`, the schedules are :class:`~jssp.blocking.schedule.BlockingSchedule`
(``jssp-isbjssp-schedule/1``), validated against the calendar drawn from the options.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from jssp import benchmarks
from jssp.blocking.calendar import availability
from jssp.blocking.errors import DEFAULT_PATIENCE, JammedError
from jssp.blocking.evaluation import RESULT_COLUMNS, RESULT_TYPES, make_blocking_tasks, result_key, run_blocking_task
from jssp.blocking.options import PROBLEM, ShutdownGrid, ShutdownOptions, interruptions_of
from jssp.blocking.schedule import SCHEDULE_FORMAT, BlockingSchedule
from jssp.documents import as_count, instance_from_table, operation_table, safe_name
from jssp.evaluation import EvaluationPlan, EvaluationTasks, Runner
from jssp.instance import Instance
from jssp.problems import Problem, Reference, lower_bound, register_problem
from jssp.rules import RULE_NAMES
from jssp.solvers import MAX_SEED, OptionError

if TYPE_CHECKING:
    from jssp.solvers import SolveOptions


class BlockingProblem(Problem):
    """Blocking (no buffers) with swaps and random machine shutdowns (Wong et al. 2023)."""

    name = PROBLEM
    description = "blocking (no buffers) with swaps and machine shutdowns"
    options = ShutdownOptions
    grid = ShutdownGrid
    default_methods = RULE_NAMES
    schedule_format = SCHEDULE_FORMAT
    outputs = ("output", "gantt")
    best_known_label = "best without shutdowns"
    solve_errors = (JammedError,)
    result_columns = RESULT_COLUMNS
    result_types = RESULT_TYPES

    def load(self) -> None:
        import jssp.blocking.methods  # noqa: F401 - registers the methods

    def warm_up(self, methods: Collection[str] | None = None) -> None:
        from jssp.blocking import warm_up
        from jssp.dispatch import warm_up as warm_up_rules

        warm_up_rules()
        warm_up()

    def check_instance(self, instance: Instance, options: SolveOptions) -> None:
        """In ``restart`` mode an operation completes only inside one up period at least as long as it. When such a
        period is rarer than the simulator's patience allows (one in :data:`DEFAULT_PATIENCE` / 2 periods: each try
        costs a shutdown and a repair), the run is refused before it starts with :class:`JammedError`. Below that
        a run may still jam by bad luck; far below it, it finishes."""
        shutdowns: ShutdownOptions = options.problem_options
        if shutdowns.interruption_mode != "restart" or shutdowns.shutdown_rate == 0 or not instance.num_operations:
            return
        longest = int(instance.durations.max())
        # An up period lasts a geometric number of units: it is at least `longest` long with (1 - rate)^(longest - 1).
        rarity = -(longest - 1) * math.log10(1.0 - shutdowns.shutdown_rate)  # log10 of periods per long enough one
        if rarity > math.log10(DEFAULT_PATIENCE / 2):
            once_in = f"{10**rarity:,.0f}" if rarity < 9 else f"10^{rarity:.0f}"
            raise JammedError(
                f"{instance.name}: an operation of duration {longest} restarts after every shutdown, and at shutdown "
                f"rate {shutdowns.shutdown_rate:g} an up period that long comes once in about {once_in}: the shop "
                "would jam; use --interruption-mode resume or a lower --shutdown-rate"
            )

    def validate(self, instance: Instance, schedule: Any, options: SolveOptions) -> None:
        from jssp.blocking.methods import check_on_calendar

        check_on_calendar(instance, schedule, options)

    def reference(self, instance: Instance) -> Reference:
        """A job-shop lower bound holds with blocking and shutdowns too, and so does a proven optimum without
        shutdowns; gaps are taken to the best makespan known without shutdowns."""
        from jssp.blocking.methods import known_blocking_bound

        _, lower = benchmarks.known_bounds(instance)
        bound = known_blocking_bound(instance)
        if bound is not None and bound.proven_optimal:
            lower = max(lower, bound.best_known)
        info = benchmarks.identify(instance)
        return Reference(bound.best_known if bound else None, lower, info.name if info else None)

    def report_lines(self, schedule: BlockingSchedule, options: SolveOptions, reference: Reference) -> list[str]:
        interruptions = interruptions_of(options)
        downtime = interruptions.resolved_downtime(schedule.instance)
        rate, mode = interruptions.rate, interruptions.mode
        lines = [
            f"problem    isbjssp: blocking with swaps, shutdown rate {rate:g}, downtime {downtime}, {mode}, "
            f"seed {options.seed} (availability {availability(rate, downtime):.1%})",
            f"method     {schedule.method}" + (f" ({schedule.status})" if schedule.status else ""),
            f"makespan   {schedule.makespan}",
            f"shutdowns  {sum(len(rows) for rows in schedule.down_intervals)} start before the makespan",
            f"lower bd   {lower_bound(schedule, reference)}",
        ]
        if reference.best_known is not None:
            gap = benchmarks.gap_percent(schedule.makespan, reference.best_known)
            lines += [
                f"best p=0   {reference.best_known} (without shutdowns{self._proven(reference)})",
                f"gap        {gap:.2f} % to the best without shutdowns",
            ]
        if "plans" in schedule.info:  # a re-planning method
            info = schedule.info
            plans = f"plans      {info['plans']}, {info['plan_seconds_mean']:.3f} s each on average"
            if info["events_without_plan"]:
                plans += (
                    f"; the last one followed through {info['events_without_plan']} more events (--time-limit reached)"
                )
            lines.append(plans)
        return [*lines, f"time       {schedule.seconds:.3f} s"]

    @staticmethod
    def _proven(reference: Reference) -> str:
        return ", proven optimal" if reference.lower_bound == reference.best_known else ""

    def settings_line(self, schedule: BlockingSchedule, options: SolveOptions) -> str:
        interruptions = interruptions_of(options)
        downtime = interruptions.resolved_downtime(schedule.instance)
        count = sum(len(rows) for rows in schedule.down_intervals)
        return (
            f"blocking with swaps, shutdown rate {interruptions.rate:g}, downtime {downtime}, seed {options.seed}, "
            f"{interruptions.mode} · {count} shutdown{'' if count == 1 else 's'} before the makespan"
        )

    def document(self, schedule: BlockingSchedule, reference: Reference) -> dict[str, Any]:
        document = schedule.to_dict()
        document["best_known"] = reference.best_known
        document["lower_bound"] = lower_bound(schedule, reference)
        return document

    def plot_gantt(self, schedule: BlockingSchedule, target: str | Path | BinaryIO, best_known: int | None) -> None:
        from jssp.blocking.gantt import plot_blocking_gantt  # matplotlib loads only when a chart is asked for

        plot_blocking_gantt(schedule, target, best_known=best_known)

    def schedule_from_document(self, document: dict[str, Any], max_operations: int) -> BlockingSchedule:
        return schedule_from_document(document, max_operations)

    # ---------------------------------------------------------------- evaluation

    def evaluation_tasks(self, plan: EvaluationPlan, done: Sequence[dict[str, Any]]) -> EvaluationTasks:
        grid: ShutdownGrid = plan.grid
        seeds = _seeds(plan)
        finished = {result_key(row) for row in done}
        tasks, skipped = make_blocking_tasks(
            plan.instances, plan.methods, grid.shutdown_rates, seeds, done=finished, options=plan.options
        )
        text = f"{len(plan.instances)} instances x {len(grid.shutdown_rates)} rates x {len(seeds)} seeds x "
        text += f"{len(plan.methods)} methods"
        return EvaluationTasks(tasks, sum(len(task.methods) for task in tasks), text, list(skipped.values()))

    def check_plan(self, plan: EvaluationPlan) -> None:
        last = plan.options.seed + plan.grid.seeds - 1
        if last > MAX_SEED:
            raise OptionError("seeds", f"takes calendar seeds up to {last}, more than {MAX_SEED}")

    def task_runner(self) -> Runner:
        return run_blocking_task

    def result_key(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return result_key(row)

    def summary(self, rows: Sequence[dict[str, Any]], plan: EvaluationPlan) -> str:
        from jssp.blocking import report

        return report.summary_tables(rows, notes=_notes(plan))

    def row_label(self, row: dict[str, Any]) -> str:
        return f"{row['instance']} rate {row['rate']:g} seed {row['seed']}"


def _seeds(plan: EvaluationPlan) -> list[int]:
    """The calendar seeds of an evaluation: ``--seed`` and the ``--seeds - 1`` after it."""
    return list(range(plan.options.seed, plan.options.seed + plan.grid.seeds))


def _notes(plan: EvaluationPlan) -> list[str]:
    """The settings line under the title of a blocking summary."""
    shutdowns: ShutdownOptions = plan.options.problem_options
    options, seeds, methods = plan.options, _seeds(plan), plan.methods
    downtime = "the instance's mean processing time" if shutdowns.downtime is None else str(shutdowns.downtime)
    rates = ", ".join(f"{rate:g}" for rate in plan.grid.shutdown_rates)
    line = (
        f"{len(plan.instances)} instances ({' '.join(plan.selectors)}), shutdown rates {rates}, {len(seeds)} calendars "
        f"per (instance, rate) (seeds {seeds[0]}..{seeds[-1]}), downtime {downtime}, {shutdowns.interruption_mode} "
        "after a shutdown"
    )
    searches = [method for method in methods if method.startswith("cpsat")]
    if searches:
        line += f"; {', '.join(searches)}: {options.time_limit:g} s with {options.cpsat_workers} threads"
        line += " (cpsat at rate 0 only)" if "cpsat" in searches else ""
    if "gnn-sample" in methods:
        line += f"; gnn-sample: best of {options.samples} sampled episodes, at rate 0 only"
    return [line + "."]


_OPERATION_KEYS = ("job", "op", "machine", "enter", "leave")  # the duration replaces leave in the table


def schedule_from_document(document: dict[str, Any], max_operations: int) -> BlockingSchedule:
    """Rebuild instance and schedule from a ``jssp-isbjssp-schedule/1`` document and validate it.

    Each operation's duration is the total length of its processing segments. The validator of
    :mod:`jssp.blocking.validation` checks every rule against the document's own down intervals
    (the calendar the schedule was made on is not known here).

    Raises:
        DocumentTooLargeError: more operations than ``max_operations``.
        ValueError, InstanceError: anything inconsistent (the blocking validator's error included).
    """
    # table: (num_operations, 5) job, op, machine, enter, duration (total of the segments) of each record
    header, table = operation_table(document, _OPERATION_KEYS, max_operations)
    operations = document["operations"]
    for index, record in enumerate(operations):
        segments = record.get("segments")
        if not isinstance(segments, list) or not all(
            isinstance(segment, list) and len(segment) == 2 and all(as_count(value) is not None for value in segment)
            for segment in segments
        ):
            raise ValueError(f"operations[{index}].segments must be a list of [start, end] non-negative integers")
        table[index, 4] = sum(end - start for start, end in segments)
    if (table[:, 4] < 0).any():
        raise ValueError(f"operations[{int(np.argmax(table[:, 4] < 0))}]: a segment ends before it starts")
    instance, _ = instance_from_table(header, table)
    down_intervals, interruptions = document.get("down_intervals"), document.get("interruptions")
    if not isinstance(down_intervals, list) or len(down_intervals) != instance.num_machines:
        raise ValueError(f"down_intervals must list the intervals of each of the {instance.num_machines} machines")
    if not all(
        isinstance(machine, list)
        and all(
            isinstance(row, list) and len(row) == 2 and all(as_count(v) is not None for v in row) for row in machine
        )
        for machine in down_intervals
    ):
        raise ValueError("down_intervals must hold [start, end] pairs of non-negative integers")
    if not isinstance(interruptions, dict) or interruptions.get("mode", "resume") not in ("resume", "restart"):
        raise ValueError("interruptions must be an object whose mode is resume or restart")
    try:
        schedule = BlockingSchedule.from_dict(document, instance)
    except (KeyError, TypeError) as error:
        raise ValueError(f"malformed field {error}") from None
    method = document.get("method")
    schedule.method = safe_name(method) if isinstance(method, str) else ""
    schedule.check()
    return schedule


register_problem(BlockingProblem())
