"""The classical job shop (``jssp``) as a registered :class:`~jssp.problems.Problem`.

Its methods (the dispatching rules, ``cpsat``, ``tabu``) are registered by :mod:`jssp.solvers`,
the learned ones by the ``agents`` plugin; its schedules are :class:`~jssp.schedule.Schedule`
(``jssp-schedule/1`` JSON, CSV, Gantt chart), checked by :mod:`jssp.validation`; its evaluation
tasks, rows and tables are those of :mod:`jssp.evaluation`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from jssp import benchmarks
from jssp.evaluation import (
    RESULT_COLUMNS,
    RESULT_TYPES,
    EvaluationPlan,
    EvaluationTasks,
    Runner,
    make_tasks,
    run_one_task,
    summary_tables,
)
from jssp.instance import Instance
from jssp.problems import DEFAULT_PROBLEM, Problem, Reference, register_problem
from jssp.rules import RULE_NAMES
from jssp.schedule import SCHEDULE_FORMAT, Schedule

if TYPE_CHECKING:
    from jssp.solvers import SolveOptions


SEARCHES = ("tabu", "hybrid")
"""Methods that run the local-search kernels (with ``ls-<steps>``): :meth:`JobShop.warm_up` loads them for these."""


class JobShop(Problem):
    """The classical job shop: machines process one operation at a time, jobs wait in unlimited buffers."""

    name = DEFAULT_PROBLEM
    description = "the classical job shop (default)"
    default_methods = (*RULE_NAMES, "cpsat", "tabu", "gnn", "hybrid")
    schedule_format = SCHEDULE_FORMAT
    outputs = ("output", "csv", "gantt")

    def warm_up(self, methods: Collection[str] | None = None) -> None:
        from jssp.dispatch import warm_up  # the rules' kernels, which every method's start uses

        warm_up()
        if methods is None or any(method in SEARCHES or method.startswith("ls-") for method in methods):
            from jssp.local_search import warm_up as warm_up_search

            warm_up_search()

    def validate(self, instance: Instance, schedule: Any, options: SolveOptions) -> None:
        schedule.check()

    def reference(self, instance: Instance) -> Reference:
        best_known, lower_bound = benchmarks.known_bounds(instance)
        info = benchmarks.identify(instance)
        return Reference(best_known, lower_bound, info.name if info else None)

    def report_lines(self, schedule: Schedule, options: SolveOptions, reference: Reference) -> list[str]:
        lines = [
            f"method     {schedule.method}" + (f" ({schedule.status})" if schedule.status else ""),
            f"makespan   {schedule.makespan}",
            f"lower bd   {_lower_bound(schedule, reference)}",
        ]
        if reference.best_known is not None:
            gap = benchmarks.gap_percent(schedule.makespan, reference.best_known)
            lines += [f"best known {reference.best_known}", f"gap        {gap:.2f} %"]
        return [*lines, f"time       {schedule.seconds:.3f} s"]

    def document(self, schedule: Schedule, reference: Reference) -> dict[str, Any]:
        return schedule.to_dict(best_known=reference.best_known, lower_bound=_lower_bound(schedule, reference))

    def write_output(self, output: str, schedule: Schedule, path: Path, reference: Reference) -> None:
        if output == "output":
            schedule.write_json(path, reference.best_known, _lower_bound(schedule, reference))
        elif output == "csv":
            schedule.write_csv(path)
        else:
            super().write_output(output, schedule, path, reference)

    def plot_gantt(self, schedule: Schedule, target: str | Path | BinaryIO, best_known: int | None) -> None:
        from jssp.gantt import plot_gantt  # matplotlib loads only when a chart is asked for

        plot_gantt(schedule, target, best_known=best_known)

    def schedule_from_document(self, document: dict[str, Any], max_operations: int) -> Schedule:
        from jssp.documents import schedule_from_document

        return schedule_from_document(document, max_operations)

    # ---------------------------------------------------------------- evaluation

    result_columns = RESULT_COLUMNS
    result_types = RESULT_TYPES

    def evaluation_tasks(self, plan: EvaluationPlan, done: Sequence[dict[str, Any]]) -> EvaluationTasks:
        finished = {self.result_key(row) for row in done}
        tasks = [
            task
            for task in make_tasks(plan.instances, plan.methods, self.name)
            if (task.instance.name, task.method) not in finished
        ]
        return EvaluationTasks(tasks, len(tasks), f"{len(plan.instances)} instances x {len(plan.methods)} methods")

    def task_runner(self) -> Runner:
        return run_one_task

    def result_key(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return (row["instance"], row["method"])

    def summary(self, rows: Sequence[dict[str, Any]], plan: EvaluationPlan) -> str:
        return summary_tables(rows)


def _lower_bound(schedule: Schedule, reference: Reference) -> int:
    """The best of the known bound and the solver's own."""
    return max(reference.lower_bound, schedule.lower_bound or 0)


register_problem(JobShop())
