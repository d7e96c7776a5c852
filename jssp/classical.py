"""The classical job shop (``jssp``) as a registered :class:`~jssp.problems.Problem`.

Its methods (the dispatching rules, ``cpsat``, ``tabu``) are registered by :mod:`jssp.solvers`,
the learned ones by the ``agents`` plugin; its schedules are :class:`~jssp.schedule.Schedule`
(``jssp-schedule/1`` JSON, CSV, Gantt chart), checked by :mod:`jssp.validation`. Most of what it
does is what :class:`~jssp.problems.Problem` does by default (the validator, the reference values,
the report, the chart, one row per (instance, method) in :mod:`jssp.evaluation`); it adds its CSV,
its compact JSON, its document reader and its search kernels.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from jssp.problems import DEFAULT_PROBLEM, Problem, Reference, lower_bound, register_problem
from jssp.rules import RULE_NAMES
from jssp.schedule import SCHEDULE_FORMAT, Schedule

SEARCHES = ("tabu", "tabu-pr", "hybrid")
"""Methods that run the local-search kernels (with ``ls-<steps>``): :meth:`JobShop.warm_up` loads them for these."""


class JobShop(Problem):
    """The classical job shop: machines process one operation at a time, jobs wait in unlimited buffers."""

    name = DEFAULT_PROBLEM
    description = "the classical job shop (default)"
    default_methods = (*RULE_NAMES, "cpsat", "tabu", "tabu-pr", "gnn", "hybrid")
    default_method = "tabu-pr"  # the best schedule within the default time limit (docs/results.md)
    schedule_format = SCHEDULE_FORMAT
    outputs = ("output", "csv", "gantt")

    def warm_up(self, methods: Collection[str] | None = None) -> None:
        from jssp.dispatch import warm_up  # the rules' kernels, which every method's start uses

        warm_up()
        if methods is None or any(method in SEARCHES or method.startswith("ls-") for method in methods):
            from jssp.local_search.elite import warm_up as warm_up_search

            warm_up_search()

    def write_output(self, output: str, schedule: Schedule, path: Path, reference: Reference) -> None:
        if output == "output":  # the document, one line per operation
            schedule.write_json(path, reference.best_known, lower_bound(schedule, reference))
        elif output == "csv":
            schedule.write_csv(path)
        else:
            super().write_output(output, schedule, path, reference)

    def schedule_from_document(self, document: dict[str, Any], max_operations: int) -> Schedule:
        from jssp.documents import schedule_from_document

        return schedule_from_document(document, max_operations)


register_problem(JobShop())
