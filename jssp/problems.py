"""Problem variants: one registered :class:`Problem` per variant owns everything that differs between them.

A problem is the classical job shop (``jssp``, :mod:`jssp.classical`), the blocking job shop with
shutdowns (``isbjssp``, :mod:`jssp.blocking.problem`), or any variant a package registers. Its
:class:`Problem` object holds its name and description, its options (a frozen dataclass whose field
docstrings are the help text: ``jssp solve``, ``evaluate.py`` and the web form are generated from
it), how its instances are read, how its schedules are validated, written, reported and drawn, and
how ``evaluate.py`` turns its instances into tasks, rows and tables. Methods register into a
problem by name (:func:`jssp.solvers.register`). The front doors ask :func:`get_problem` and call
these hooks; none of them names a variant.

A variant registers itself with :func:`register_problem` when its module is imported. The
built-in ones are listed in :data:`BUILT_IN`; other packages add theirs through the
``jssp.problems`` entry-point group (each entry point is a module or a function that registers),
and a script or a test names modules to import in the environment variable ``JSSP_PROBLEMS``
(comma-separated; solver processes inherit it).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from jssp.files import ColumnTypes, flag, optional, write_atomically
from jssp.instance import Instance
from jssp.parsing import parse_instance, read_instance
from jssp.schedule import format_json

if TYPE_CHECKING:
    from jssp.evaluation import EvaluationPlan, EvaluationTasks, Runner
    from jssp.solvers import SolveOptions

BUILT_IN = {"jssp": "jssp.classical", "isbjssp": "jssp.blocking.problem"}
"""The variants shipped with the package, and the module that registers each: imported when the problem is first
asked for by name (a classical solve never loads the blocking package), or when all problems are listed."""
PROBLEMS_VARIABLE = "JSSP_PROBLEMS"
"""Environment variable naming more modules that register problems (comma-separated), imported with the others."""
DEFAULT_PROBLEM = "jssp"
"""The problem of a command that names none."""


RESULT_COLUMNS = (
    "instance",
    "family",
    "num_jobs",
    "num_machines",
    "method",
    "makespan",
    "best_known",
    "gap_pct",
    "seconds",
    "feasible",
)
"""Columns of a results.csv with one row per (instance, method) solve (the classical job shop's, and the default)."""
RESULT_TYPES: ColumnTypes = {
    "num_jobs": int,
    "num_machines": int,
    "makespan": optional(float),
    "best_known": optional(float),
    "gap_pct": optional(float),
    "seconds": optional(float),
    "feasible": flag,
}
"""The parsed columns of :data:`RESULT_COLUMNS`."""


@dataclass(frozen=True)
class NoOptions:
    """The options of a problem that has none of its own."""

    def check(self) -> None:
        """Nothing to check."""


@dataclass(frozen=True)
class Reference:
    """What is known of an instance before it is solved, for this problem.

    Attributes:
        best_known: the makespan gaps are taken to (None: not a catalogued benchmark).
        lower_bound: a proven lower bound of the makespan.
        benchmark: the benchmark the content is (in any layout, under any name), else None.
    """

    best_known: int | None
    lower_bound: int
    benchmark: str | None


class Problem:
    """One problem variant. Subclass it, set the class attributes, implement the hooks, and register an
    instance with :func:`register_problem`.

    Heavy modules (compiled kernels, OR-Tools, matplotlib) load inside the hooks that need them, so that
    listing the problems (every ``jssp`` command does) costs nothing.
    """

    name: str = ""
    """Lowercase name, the value of ``--problem``."""
    description: str = ""
    """One line: what the variant is."""
    options: type[Any] = NoOptions
    """Frozen dataclass of the problem's own options: one field per option, its docstring the help text, and a
    ``check()`` that raises :class:`jssp.solvers.OptionError` naming the first one out of range."""
    grid: type[Any] = NoOptions
    """Frozen dataclass of what ``evaluate.py`` sweeps for this problem (with ``check()``); a field whose metadata
    holds ``sweeps="OPTION"`` replaces that option's single value in ``evaluate.py`` by a list."""
    default_methods: tuple[str, ...] = ()
    """What ``evaluate.py`` runs when ``--methods`` is not given."""
    default_method: str = "mwkr"
    """What ``jssp solve`` and the web page run when no method is given."""
    schedule_format: str = ""
    """The ``format`` of the schedule's JSON document; the web server draws any registered format."""
    outputs: tuple[str, ...] = ("output", "gantt")
    """The ``jssp solve`` outputs offered: ``output`` (JSON), ``csv``, ``gantt`` (PNG)."""
    best_known_label: str = "best known"
    """What the best-known makespan of a :class:`Reference` is, as a label (the web page shows it)."""
    solve_errors: tuple[type[Exception], ...] = ()
    """Errors of a method that found no schedule because of the instance and options (a shop the shutdowns
    jam): ``jssp solve`` exits 1 with the message, the web server answers 422."""

    # ---------------------------------------------------------------- solving

    def load(self) -> None:
        """Register the problem's own methods (import their modules); called before its methods are looked up."""

    def warm_up(self, methods: Collection[str] | None = None) -> None:
        """Compile or load the kernels ``methods`` use (None: every method's) before any timed solve; solver
        processes call it once."""

    def check_instance(self, instance: Instance, options: SolveOptions) -> None:
        """Raise one of :attr:`solve_errors` when no method could schedule ``instance`` under ``options`` (refused
        in one line before any method runs); here every instance is accepted."""

    def validate(self, instance: Instance, schedule: Any, options: SolveOptions) -> None:
        """Raise if ``schedule`` is infeasible for ``instance`` under ``options``; every solve passes through it.
        Here the schedule's own ``check()`` (the job-shop validator for a :class:`~jssp.schedule.Schedule`): a
        problem whose options or instances add constraints checks them too."""
        schedule.check()

    # ---------------------------------------------------------------- instances

    def read_instance(self, path: Path, instance: str | None = None) -> Instance:
        """The instance in a file (``instance`` picks one of a collection); raises InstanceFormatError."""
        return read_instance(path, instance=instance)

    def parse_instance(
        self, data: bytes | str, name: str, source: str, instance: str | None, max_bytes: int
    ) -> Instance:
        """The instance in uploaded content (the web server's reader); raises InstanceFormatError."""
        return parse_instance(data, name=name, source=source, instance=instance, max_bytes=max_bytes)

    def reference(self, instance: Instance) -> Reference:
        """The best-known makespan, lower bound and benchmark name of ``instance`` for this problem; here the job
        shop's (``instances/bounds.json`` for a catalogued benchmark, else the trivial bound)."""
        from jssp import benchmarks

        best_known, lower_bound = benchmarks.known_bounds(instance)
        info = benchmarks.identify(instance)
        return Reference(best_known, lower_bound, info.name if info else None)

    # ---------------------------------------------------------------- schedules

    def report_lines(self, schedule: Any, options: SolveOptions, reference: Reference) -> list[str]:
        """What ``jssp solve`` prints under the instance line: method, makespan, bounds, gap, time."""
        from jssp.benchmarks import gap_percent

        lines = [
            f"method     {schedule.method}" + (f" ({schedule.status})" if schedule.status else ""),
            f"makespan   {schedule.makespan}",
            f"lower bd   {lower_bound(schedule, reference)}",
        ]
        if reference.best_known is not None:
            gap = gap_percent(schedule.makespan, reference.best_known)
            lines += [f"{self.best_known_label:<10} {reference.best_known}", f"gap        {gap:.2f} %"]
        return [*lines, f"time       {schedule.seconds:.3f} s"]

    def settings_line(self, schedule: Any, options: SolveOptions) -> str:
        """The problem's settings of a solve in a few words, for the web page (empty: nothing to say)."""
        return ""

    def document(self, schedule: Any, reference: Reference) -> dict[str, Any]:
        """The schedule's JSON document (with ``best_known`` and ``lower_bound``): what ``jssp solve --output``
        writes and the web server returns; here the schedule's ``to_dict()`` with the reference values."""
        return {
            **schedule.to_dict(),
            "best_known": reference.best_known,
            "lower_bound": lower_bound(schedule, reference),
        }

    def write_output(self, output: str, schedule: Any, path: Path, reference: Reference) -> None:
        """Write one of :attr:`outputs` of ``jssp solve`` to ``path``: here ``output``, the :meth:`document` as JSON,
        and ``gantt``, the :meth:`plot_gantt` chart; a problem that offers more (``csv``) writes them itself."""
        if output == "output":
            write_atomically(path, format_json(self.document(schedule, reference)))
        elif output == "gantt":
            self.plot_gantt(schedule, path, reference.best_known)
        else:
            raise ValueError(f"problem {self.name} writes no {output!r} output")

    def plot_gantt(self, schedule: Any, target: str | Path | BinaryIO, best_known: int | None) -> None:
        """Draw the schedule's Gantt chart as PNG into ``target``; here the chart of a
        :class:`~jssp.schedule.Schedule` (a problem with another schedule type draws its own)."""
        from jssp.gantt import plot_gantt  # matplotlib loads only when a chart is asked for

        plot_gantt(schedule, target, best_known=best_known)

    def schedule_from_document(self, document: dict[str, Any], max_operations: int) -> Any:
        """Rebuild and validate a schedule from its JSON document (:attr:`schedule_format`); only a problem that
        declares a format is asked.

        Raises:
            jssp.documents.DocumentTooLargeError: more operations than ``max_operations``.
            ValueError: anything inconsistent (the validator's errors included).
        """
        raise NotImplementedError(f"problem {self.name} rebuilds no schedule document")

    # ---------------------------------------------------------------- evaluation

    # Here one task and one row per (instance, method), gaps to :meth:`reference`, the tables of
    # :func:`jssp.evaluation.summary_tables`: the classical job shop's evaluation, which serves a variant that
    # has no grid of its own.

    result_columns: tuple[str, ...] = RESULT_COLUMNS
    """Columns of the problem's ``results.csv``."""
    result_types: ColumnTypes = RESULT_TYPES
    """Column -> parser of its cells (:func:`jssp.evaluation.read_results_csv`); a column not listed stays text."""

    def evaluation_tasks(self, plan: EvaluationPlan, done: Sequence[dict[str, Any]]) -> EvaluationTasks:
        """The tasks of an evaluation, without the solves already in ``done`` (rows of a resumed results.csv)."""
        from jssp.evaluation import EvaluationTasks, make_tasks

        finished = {self.result_key(row) for row in done}
        tasks = [
            task
            for task in make_tasks(plan.instances, plan.methods, self.name)
            if self.result_key({"instance": task.instance.name, "method": task.method}) not in finished
        ]
        return EvaluationTasks(tasks, len(tasks), f"{len(plan.instances)} instances x {len(plan.methods)} methods")

    def check_plan(self, plan: EvaluationPlan) -> None:
        """Raise :class:`~jssp.solvers.OptionError` for an evaluation the options and grid allow one by one but
        not together (before its output folder is touched)."""

    def task_runner(self) -> Runner:
        """The module-level function that solves one task into its rows (worker processes import it by name)."""
        from jssp.evaluation import run_one_task

        return run_one_task

    def result_key(self, row: dict[str, Any]) -> tuple[Any, ...]:
        """What identifies one solve among the rows (``--resume`` skips the keys already there)."""
        return (row["instance"], row["method"])

    def summary(self, rows: Sequence[dict[str, Any]], plan: EvaluationPlan) -> str:
        """The Markdown tables of ``summary.md``."""
        from jssp.evaluation import summary_tables

        return summary_tables(rows)

    def row_label(self, row: dict[str, Any]) -> str:
        """Where a row's solve ran, for a failure line (``ft06``, ``ft06 rate 0.01 seed 3``)."""
        return str(row["instance"])


_PROBLEMS: dict[str, Problem] = {}
_loaded = False


def lower_bound(schedule: Any, reference: Reference) -> int:
    """The best of the known lower bound and the solver's own (``schedule.lower_bound``, None when it has none)."""
    return max(reference.lower_bound, schedule.lower_bound or 0)


class UnknownProblemError(ValueError):
    """A problem name that no registered problem has."""


def register_problem(problem: Problem) -> None:
    """Make ``problem`` known by its name (a later registration under the same name replaces it)."""
    if not problem.name or problem.name != problem.name.lower():
        raise ValueError(f"problem names are lowercase, got {problem.name!r}")
    _PROBLEMS[problem.name] = problem


def _load_registrations() -> None:
    """Import the built-in variants and run the ``jssp.problems`` entry points, once."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in BUILT_IN.values():
        importlib.import_module(module)
    from importlib.metadata import entry_points  # scans installed packages: once per process

    for entry_point in entry_points(group="jssp.problems"):
        loaded = entry_point.load()
        if callable(loaded):
            loaded()
    for module in os.environ.get(PROBLEMS_VARIABLE, "").split(","):
        if module.strip():
            importlib.import_module(module.strip())


def problem_names() -> list[str]:
    """Every registered problem, the built-in ones first."""
    _load_registrations()
    return sorted(_PROBLEMS, key=lambda name: list(BUILT_IN).index(name) if name in BUILT_IN else len(BUILT_IN))


def find_problem(name: str) -> Problem | None:
    """The problem registered as ``name`` (a built-in one is imported then), or None."""
    if name not in _PROBLEMS:
        if name in BUILT_IN:
            importlib.import_module(BUILT_IN[name])
        else:
            _load_registrations()
    return _PROBLEMS.get(name)


def get_problem(name: str) -> Problem:
    """The problem registered as ``name``; :class:`UnknownProblemError` naming the known ones otherwise."""
    problem = find_problem(name)
    if problem is None:
        raise UnknownProblemError(f"unknown problem {name!r}; choose one of {', '.join(problem_names())}")
    return problem


def problem_for_format(schedule_format: str) -> Problem | None:
    """The problem whose schedule documents have this ``format``, or None."""
    return next((problem for problem in _all() if problem.schedule_format == schedule_format), None)


def _all() -> list[Problem]:
    _load_registrations()
    return list(_PROBLEMS.values())
