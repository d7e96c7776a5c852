"""Benchmark evaluation: run methods on instances, validate, record gaps, summarise.

``evaluate.py`` is the command line over this module; tests call it in-process. The running of
tasks in processes, the appending of rows as they finish and the resuming of an output folder
serve every problem; what a task, a row and a table are is the problem's
(:class:`jssp.problems.Problem`: the classical job shop's are here, :func:`make_tasks`,
:func:`run_one_task` and :func:`summary_tables`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from jssp import benchmarks
from jssp.dispatch import warm_up
from jssp.files import (
    ColumnTypes,
    append_csv_rows,
    read_csv_rows,
    setting_differences,
    truncate_csv,
    write_atomically,
)
from jssp.instance import Instance
from jssp.parsing import file_stem, read_instance
from jssp.problems import DEFAULT_PROBLEM, RESULT_COLUMNS, RESULT_TYPES, Reference, get_problem
from jssp.solvers import SolveOptions, get_solver, solve

if TYPE_CHECKING:  # processes, and the progress bar, load when tasks run
    from jssp.executors import Executor


@dataclass(frozen=True)
class EvaluationPlan:
    """What an evaluation runs, as a problem's evaluation hooks read it."""

    selectors: tuple[str, ...]
    """The instance selectors as given (``ta01-ta10``, files)."""
    instances: list[Instance]
    methods: list[str]
    options: SolveOptions
    """The method options and the problem's options (a swept option holds its default)."""
    grid: Any
    """The problem's evaluation grid (``Problem.grid``), checked."""


@dataclass(frozen=True)
class EvaluationTasks:
    """A problem's tasks for an evaluation, and how to announce them."""

    tasks: list[Any]
    """What the problem's runner solves; each has an ``instance`` and a ``method`` (the progress bar shows them)."""
    solves: int
    """Solves the tasks hold (a task may run several methods)."""
    grid: str
    """The grid, as ``6 instances x 2 rates x 3 seeds x 4 methods``."""
    notes: list[str] = dataclasses.field(default_factory=list)
    """Lines to print before solving (solves left out, and why)."""


@dataclass(frozen=True)
class Task:
    """One (instance, method) solve."""

    instance: Instance
    method: str
    family: str
    best_known: int | None
    lower_bound: int


def resolve_instances(selectors: Sequence[str], read: Callable[[Path], Instance] = read_instance) -> list[Instance]:
    """Instances for benchmark selectors (``ta``, ``ta:15x15``, ``ft06``, ``ta01-ta10``, ``tai``), file paths (read
    by ``read``: a problem's own reader, :meth:`jssp.problems.Problem.read_instance`) or folders (every file in
    one, in name order, hidden files left out).

    A ``tai`` file that is not shipped (1000x1000) is skipped with a warning when a family or size
    selector names it, and is an error when named alone. A benchmark or file named twice is
    solved once; two different files that give the same instance name are both solved, each
    renamed to its path (``a/x.txt`` -> ``a/x``) so that results and schedule files stay apart.

    Raises:
        KeyError: a selector that is neither a file, a folder with files nor a benchmark selector.
        InstanceFormatError: a file that cannot be read or parsed (``FILE:LINE: reason``).
    """
    found: dict[object, tuple[Instance, str | None]] = {}  # source -> (instance, file it came from)
    for selector in selectors:
        path = Path(selector)
        if path.is_dir():
            files = sorted(item for item in path.iterdir() if item.is_file() and not item.name.startswith("."))
            if not files:
                raise KeyError(f"instance folder {selector!r} holds no files")
            for item in files:
                found.setdefault(("file", os.path.realpath(item)), (read(item), str(item)))
            continue
        if path.exists():  # files, FIFOs and devices (bounded reads) alike
            found.setdefault(("file", os.path.realpath(path)), (read(path), selector))
            continue
        if _looks_like_a_path(selector):
            raise KeyError(f"instance file {selector!r} does not exist")
        names = benchmarks.select(selector)
        for name in names:
            if ("benchmark", name) in found:
                continue
            try:
                found[("benchmark", name)] = (benchmarks.load(name), None)
            except benchmarks.InstanceNotAvailableError as error:
                if len(names) == 1:
                    raise
                print(f"skipping {name}: {error}", file=sys.stderr)
    distinct: dict[tuple[str, str], tuple[Instance, str | None]] = {}  # the same content under one name: once
    for instance, file in found.values():
        distinct.setdefault((instance.name, instance.fingerprint()), (instance, file))
    counts = Counter(name for name, _ in distinct)
    instances = []
    for instance, file in distinct.values():
        if counts[instance.name] > 1 and file is not None:
            renamed = str(PurePath(file).with_name(file_stem(file)))
            print(f"{file}: several instances are named {instance.name}; this one is {renamed}", file=sys.stderr)
            instance = dataclasses.replace(instance, name=renamed)
        instances.append(instance)
    return instances


_FILE_SUFFIXES = frozenset({".txt", ".json", ".gz", ".jss", ".dat", ".data", ".fjs"})


def _looks_like_a_path(selector: str) -> bool:
    """A selector with a folder or a file extension, which no benchmark selector has."""
    return "/" in selector or os.sep in selector or PurePath(selector).suffix.lower() in _FILE_SUFFIXES


def make_tasks(instances: Iterable[Instance], methods: Sequence[str], problem: str = DEFAULT_PROBLEM) -> list[Task]:
    """Every (instance, method) pair, with the problem's reference values; raises KeyError early for a method
    unknown to ``problem``."""
    for method in methods:
        get_solver(method, problem)
    tasks: list[Task] = []
    for instance in instances:
        info = benchmarks.identify(instance)
        reference = get_problem(problem).reference(instance)
        family = info.family if info else "custom"
        tasks.extend(Task(instance, method, family, reference.best_known, reference.lower_bound) for method in methods)
    return tasks


def _file_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def run_task(task: Task, options: SolveOptions, schedules_dir: Path | None) -> dict[str, Any]:
    """Solve, validate and (optionally) write the schedule JSON; returns the results.csv row.

    A solver failure or an infeasible schedule gives a row with ``feasible=False`` and an
    ``error`` entry instead of an exception, so one bad solve does not lose a long run.
    """
    instance = task.instance
    row: dict[str, Any] = {
        "instance": instance.name,
        "family": task.family,
        "num_jobs": instance.num_jobs,
        "num_machines": instance.num_machines,
        "method": task.method,
        "makespan": None,
        "best_known": task.best_known,
        "gap_pct": None,
        "seconds": None,
        "feasible": False,
    }
    try:
        schedule = solve(instance, task.method, options)
    except Exception as error:  # noqa: BLE001 - reported in the row and printed by the caller
        row["error"] = f"{type(error).__name__}: {error}"
        row["traceback"] = traceback.format_exc()
        return row
    if schedule.info.get("interrupted"):  # Ctrl-C cut the search short: no row, so that --resume solves it again
        raise KeyboardInterrupt
    gap = benchmarks.gap_percent(schedule.makespan, task.best_known)
    row.update(
        makespan=schedule.makespan,
        gap_pct=None if gap is None else round(gap, 3),
        seconds=round(schedule.seconds, 4),
        feasible=True,
    )
    if schedules_dir is not None:  # the problem's schedule document (jssp solve --output)
        path = schedules_dir / f"{_file_stem(instance.name)}__{_file_stem(task.method)}.json"
        reference = Reference(task.best_known, task.lower_bound, None)
        get_problem(options.problem).write_output("output", schedule, path, reference)
    return row


def run_one_task(task: Task, options: SolveOptions, schedules_dir: Path | None) -> list[dict[str, Any]]:
    """:func:`run_task` as a list of rows, the shape :func:`run_tasks` expects of a runner."""
    return [run_task(task, options, schedules_dir)]


Runner = Callable[[Any, SolveOptions, Path | None], list[dict[str, Any]]]
"""Solves one task and returns its results.csv rows (module-level, so that worker processes can run it)."""


def task_cpus(task: Any, options: SolveOptions) -> int:
    """CPUs one task uses: the CP-SAT threads when one of its methods runs CP-SAT (``cpsat*``, ``hybrid``), the search
    processes for ``tabu-pr``, else one."""
    methods = getattr(task, "methods", None) or (task.method,)
    uses_cpsat = any(method.startswith("cpsat") or method == "hybrid" for method in methods)
    cpus = max(options.cpsat_workers, 1) if uses_cpsat else 1
    return max(cpus, options.search_workers or 1) if "tabu-pr" in methods else cpus


def run_tasks(
    tasks: Sequence[Any],
    options: SolveOptions,
    schedules_dir: Path | None = None,
    workers: int = 1,
    progress: bool = True,
    initializer: Callable[[], None] | None = None,
    on_rows: Callable[[list[dict[str, Any]]], None] | None = None,
    runner: Runner = run_one_task,
    executor: Executor | None = None,
) -> list[dict[str, Any]]:
    """Run every task, in ``workers`` processes when more than one, or on ``executor``; rows come back in task
    order.

    Args:
        tasks: what ``runner`` solves; each has an ``instance`` and a ``method`` (shown by the progress bar).
        initializer: called once in each worker process (e.g. to register learned methods).
        on_rows: called in this process with each task's rows as soon as it finishes (e.g. to append
            them to ``results.csv``, so that a killed evaluation keeps every finished solve).
        runner: solves one task (default: one classical solve, :func:`run_task`).
        executor: where the tasks run (:mod:`jssp.executors`; default a :class:`~jssp.executors.LocalExecutor`
            of ``workers`` processes set up by ``initializer``); each task asks it for :func:`task_cpus`.
    """
    if schedules_dir is not None:
        schedules_dir.mkdir(parents=True, exist_ok=True)
    warm_up()
    from tqdm import tqdm

    from jssp.executors import LocalExecutor

    if executor is None:
        executor = LocalExecutor(workers, initializer or warm_up)
    rows: list[list[dict[str, Any]]] = [[] for _ in tasks]
    bar = tqdm(total=len(tasks), desc="solving", unit="task", disable=not progress, dynamic_ncols=True)
    cpus = [task_cpus(task, options) for task in tasks]
    for index, task_rows in executor.run(runner, tasks, (options, schedules_dir), cpus):
        rows[index] = task_rows
        if on_rows is not None:
            on_rows(task_rows)
        bar.set_postfix_str(f"{tasks[index].instance.name} {tasks[index].method} done", refresh=False)
        bar.update()
    bar.close()
    return [row for task_rows in rows for row in task_rows]


def append_results(path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str] = RESULT_COLUMNS) -> None:
    """Append rows to a results.csv with one flushed write (a kill keeps every finished solve)."""
    append_csv_rows(
        path, [{column: "" if row.get(column) is None else row[column] for column in columns} for row in rows]
    )


RESUME_INDEPENDENT = frozenset(
    {"resume", "progress", "workers", "backend", "ray_address", "checkpoint", "improvement_checkpoint"}
)
"""Evaluation settings that change no result, and may differ when a folder's evaluation is resumed: the checkpoint
options are compared through ``checkpoints``, the names and hashes of the weights the methods read."""


class OutputFolderError(ValueError):
    """An output folder that cannot be used as asked: a file, unwritable, someone else's files, or made with
    other settings when resumed."""


EVALUATION_KEYS = frozenset({"instances", "methods", "time_limit", "out"})
"""Keys every ``config.json`` that ``evaluate.py`` has written holds: how an output folder is recognised as one."""
_SCHEDULE_FILE = re.compile(r"\.?[A-Za-z0-9_.-]+__[A-Za-z0-9_.-]+\.json(\.tmp-\d+)?")
"""Names of the schedule files :func:`run_task` writes (and of their temporary files, should a kill leave one)."""


def prepare_output(
    out: Path,
    config: dict[str, Any],
    resume: bool,
    read_rows: Callable[[Path], list[dict[str, Any]]] | None = None,
    defaults: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Make ``out`` ready for an evaluation with ``config``; returns the rows already done there.

    With ``resume``, the rows of ``out/results.csv`` are kept (and their solves skipped) if the
    folder was made with the same settings, else :class:`OutputFolderError` says which differ.
    Without it, the results of an earlier evaluation in ``out`` are removed first, so the folder
    never mixes two evaluations. Only files an evaluation writes are ever removed: a folder that
    is not empty and holds no evaluation (no ``config.json`` of ``evaluate.py``) is refused.

    Args:
        read_rows: parses the results.csv (default :func:`read_results_csv`, the classical columns).
        defaults: settings a saved config may lack because it predates them, with the value they
            had then (so that an older folder can still be resumed).

    Raises:
        OutputFolderError: ``out`` is a file, cannot be written, holds other files, or (resumed) was made
            with other settings.
    """
    config = json.loads(json.dumps(config, default=str))  # as it reads back (tuples as lists, paths as text)
    config_path = out / "config.json"
    results = out / "results.csv"
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"--out {out} is a file; give a folder")
    saved = _saved_evaluation(config_path)
    if saved is None and out.is_dir() and any(out.iterdir()):
        raise OutputFolderError(
            f"--out {out} is not empty and holds no evaluation (no config.json written by evaluate.py): "
            "choose a new or empty folder"
        )
    if resume and saved is not None:
        saved = {**json.loads(json.dumps(defaults or {})), **saved}
        differences = setting_differences(saved, config, set(RESUME_INDEPENDENT))
        if differences:
            raise OutputFolderError(
                f"{out} holds an evaluation made with other settings ({'; '.join(differences)}): "
                "resume it with the same settings, or choose another --out"
            )
        done = (read_rows or read_results_csv)(results) if results.exists() else []
    else:
        if saved is not None:
            if results.exists() or (out / "schedules").exists():
                print(f"replacing the earlier evaluation in {out} (use --resume to continue it)", file=sys.stderr)
            _remove_evaluation(out)
        done = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_atomically(config_path, json.dumps(config, indent=1) + "\n")
        truncate_csv(results, len(done))  # drops a row cut short by a kill
    except OSError as error:
        raise OutputFolderError(f"--out {out}: cannot write there ({error.strerror or error})") from None
    return done


def _saved_evaluation(config_path: Path) -> dict[str, Any] | None:
    """The settings in an evaluation's ``config.json``; None when there is none, or it is not one of ours."""
    try:
        saved = json.loads(config_path.read_text())
    except (OSError, ValueError):
        return None
    return saved if isinstance(saved, dict) and saved.keys() >= EVALUATION_KEYS else None


def _remove_evaluation(out: Path) -> None:
    """Remove what an evaluation wrote in ``out`` (results, summary, schedule files), and nothing else."""
    for path in (out / "results.csv", out / "summary.md"):
        path.unlink(missing_ok=True)
    schedules = out / "schedules"
    if not schedules.is_dir():
        return
    for path in schedules.iterdir():
        if path.is_file() and _SCHEDULE_FILE.fullmatch(path.name):
            path.unlink()
    if not any(schedules.iterdir()):
        schedules.rmdir()


def read_results_csv(path: Path, types: ColumnTypes | None = None) -> list[dict[str, Any]]:
    """Rows of a results.csv with the columns of ``types`` (default :data:`RESULT_TYPES`) parsed back; a row
    cut short by a kill is dropped."""
    types = RESULT_TYPES if types is None else types
    return [{**raw, **{column: parse(raw[column]) for column, parse in types.items()}} for raw in read_csv_rows(path)]


_FAMILY_ORDER = {family: index for index, family in enumerate(benchmarks.FAMILIES)}


def summary_tables(rows: Sequence[dict[str, Any]]) -> str:
    """Markdown: mean gap (%) and mean seconds per size group (family and jobs x machines) and method."""
    methods = list(dict.fromkeys(row["method"] for row in rows))
    groups: dict[tuple[str, int, int], dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        groups[(row["family"], row["num_jobs"], row["num_machines"])][row["method"]].append(row)
    order = sorted(groups, key=lambda key: (_FAMILY_ORDER.get(key[0], 99), key[0], key[1], key[2]))

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    def cell(value: float | None, digits: int) -> str:
        return "–" if value is None else f"{value:.{digits}f}"

    def table(title: str, field: str, digits: int) -> list[str]:
        lines = [f"**{title}**", "", "| group | n | " + " | ".join(methods) + " |", "|---|---|" + "---|" * len(methods)]
        family_values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        previous_family = None

        def family_row(family: str) -> str:
            count = len(family_values[family][methods[0]]) if methods else 0
            values = [cell(mean(family_values[family][method]), digits) for method in methods]
            return f"| **{family} mean** | {count} | " + " | ".join(values) + " |"

        groups_per_family = Counter(key[0] for key in order)
        for family, jobs, machines in order:
            if previous_family is not None and family != previous_family and groups_per_family[previous_family] > 1:
                lines.append(family_row(previous_family))
            previous_family = family
            by_method = groups[(family, jobs, machines)]
            values = []
            count = 0
            for method in methods:
                numbers = [
                    row[field] for row in by_method.get(method, []) if row[field] is not None and row["feasible"]
                ]
                family_values[family][method].extend(numbers)
                count = max(count, len(by_method.get(method, [])))
                values.append(cell(mean(numbers), digits))
            lines.append(f"| {family} {jobs}x{machines} | {count} | " + " | ".join(values) + " |")
        if previous_family is not None and groups_per_family[previous_family] > 1:
            lines.append(family_row(previous_family))
        return lines

    gap = table("Mean gap to best known (%)", "gap_pct", 1)
    seconds = table("Mean time per instance (s)", "seconds", 3)
    return "\n".join(gap + [""] + seconds) + "\n"
