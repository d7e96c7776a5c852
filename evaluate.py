"""Evaluate solving methods on benchmark instances and report optimality gaps.

    python evaluate.py --instances ta ft06 dmu:20x15 --methods mwkr,spt,cpsat --time-limit 10 --out DIR

writes ``DIR/results.csv`` (one row per solve), ``DIR/schedules/<instance>__<method>.json``,
``DIR/summary.md`` and ``DIR/config.json``, and prints the summary tables. Every schedule is
checked by the independent validator; the exit status is 1 if any solve failed or was
infeasible. Each row is appended to ``results.csv`` as its solve finishes, and ``--resume``
continues a killed evaluation. With no arguments it runs a small embedded default (a few
FT/LA/TA instances, every rule, CP-SAT, tabu search, the shipped ``gnn-default`` policy and the
hybrid, 3 s each).

    python evaluate.py --problem isbjssp --instances la ft orb abz --shutdown-rates 0 0.001 0.01 --seeds 30 \
        --methods fifo,spt,mwkr --out DIR

evaluates another registered problem variant (:mod:`jssp.problems`) instead: here the blocking job
shop with machine shutdowns, every method on the same calendar per (instance, rate, seed). The
problem's own flags (``--shutdown-rates``, ``--seeds``, ``--downtime`` ...) are generated from its
options and grid dataclasses; its tasks, ``results.csv`` columns and summary tables are its own.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import tyro

from jssp.evaluation import (
    EvaluationPlan,
    OutputFolderError,
    append_results,
    prepare_output,
    read_results_csv,
    resolve_instances,
    run_tasks,
)
from jssp.executors import BackendError, make_executor
from jssp.files import write_atomically
from jssp.options import METHOD_OPTION_NAMES, OptionField, check_processes, option_fields, solve_options_from
from jssp.problems import DEFAULT_PROBLEM, Problem, get_problem, problem_names
from jssp.solvers import (
    OptionError,
    SolveOptions,
    available_cores,
    ensure_methods,
    get_solver,
    load_plugins,
    method_checkpoints,
    needs_plugins,
)


@dataclass(frozen=True)
class EvaluationSettings:
    """Which instances and methods to evaluate, and where to write the results."""

    instances: tuple[str, ...] = ("ft06", "la01-la05", "ta01-ta02")
    """Benchmark names (ta01), families (ta), size groups (ta:15x15), ranges (ta01-ta10), 'all', files, or folders
    (every file in one)."""
    methods: str | None = None
    """Comma-separated method names (rules, cpsat, tabu, and learned methods once registered); default: the
    problem's (for jssp every rule, cpsat, tabu, gnn and hybrid)."""
    problem: str = DEFAULT_PROBLEM
    """The problem variant evaluated, one of the registered problems (jssp solve --help lists them)."""
    workers: int = 1
    """Parallel solver processes (solves run at once) of the local backend."""
    backend: Literal["local", "ray"] = "local"
    """Where solves run: local processes (--workers), or Ray tasks, each asking for the CPUs it uses
    (pip install '.[ray]'; docs/cluster.md)."""
    ray_address: str = ""
    """--backend ray: the cluster to join (auto: the one this machine is part of; HOST:PORT: its head);
    empty starts a Ray on this machine for this run."""
    out: Path = Path("runs/evaluate")
    """Output folder."""
    save_schedules: bool = True
    """Write one schedule JSON per solve."""
    progress: bool = True
    """Show a progress bar."""
    resume: bool = False
    """Continue the evaluation in --out: skip the solves already in its results.csv (same settings only)."""


_EVALUATION_DEFAULTS = {"time_limit": 3.0}
"""Method options whose default here differs from ``jssp solve``'s (a benchmark grid is many solves)."""


def _problem_fields(problem: Problem) -> list[OptionField]:
    """A problem's flags in evaluate.py: its options, less those its grid sweeps, then its grid."""
    grid = list(option_fields(problem.grid))
    swept = {field.metadata.get("sweeps") for field in dataclasses.fields(problem.grid)}
    return [field for field in option_fields(problem.options) if field.name not in swept] + grid


def _annotation(field: OptionField, owner: str = "") -> Any:
    """The field's type for tyro, its docstring as help (tyro adds the default), prefixed with its problem's name."""
    kind: Any = Literal[field.choices] if field.choices else field.kind
    kind = tuple[kind, ...] if field.many else kind  # type: ignore[valid-type]
    kind = kind | None if field.optional else kind
    return Annotated[kind, tyro.conf.arg(help=f"{owner}: {field.help}" if owner else field.help)]


def config_class() -> type:
    """:class:`EvaluationSettings` with one field per method option (:class:`SolveOptions`) and per field of
    every registered problem's options and grid: the flags of ``evaluate.py``, generated (:data:`EvaluateConfig` is
    made so when this module is imported; a problem registered later needs a class made after it)."""
    fields: dict[str, tuple[str, Any, Any]] = {}
    method_fields = [(field, "") for field in option_fields(SolveOptions) if field.name in METHOD_OPTION_NAMES]
    problem_fields = [(field, name) for name in problem_names() for field in _problem_fields(get_problem(name))]
    for field, owner in method_fields + problem_fields:
        default = _EVALUATION_DEFAULTS.get(field.name, field.default)
        fields.setdefault(field.name, (field.name, _annotation(field, owner), dataclasses.field(default=default)))
    names = tuple(problem_names())  # --problem offers the registered problems (tyro refuses another)
    problem_help = " ".join(field.help for field in option_fields(EvaluationSettings) if field.name == "problem")
    problem = Annotated[Literal[names], tyro.conf.arg(help=problem_help)]  # type: ignore[valid-type]
    fields["problem"] = ("problem", problem, dataclasses.field(default=DEFAULT_PROBLEM))
    config = dataclasses.make_dataclass(
        "EvaluateConfig", list(fields.values()), bases=(EvaluationSettings,), frozen=True
    )
    config.__doc__ = EvaluationSettings.__doc__
    config.__module__ = __name__  # pickled by reference, as a class written here would be
    return config


EvaluateConfig: Any = config_class()


@dataclass(frozen=True)
class WorkerSetup:
    """Sets a solver process up: the problem's module registered, its kernels loaded before any timed solve, and
    the plugins (learned methods: torch) only when the run has one of their methods."""

    problem: str
    module: str
    """The module that registers the problem (a worker imports it, so that a variant defined anywhere runs)."""
    methods: tuple[str, ...]
    plugins: bool

    def __call__(self) -> None:
        importlib.import_module(self.module)
        get_problem(self.problem).warm_up(self.methods)
        if self.plugins:
            load_plugins()


def _grid_of(cfg: Any, problem: Problem) -> Any:
    """The problem's checked grid from the config; OptionError for another problem's setting changed."""
    own = {field.name for field in _problem_fields(problem)}
    for name in problem_names():
        other = get_problem(name)
        for field in _problem_fields(other):
            if field.name not in own and getattr(cfg, field.name) != field.default:
                raise OptionError(field.name, f"applies to --problem {other.name} only")
    grid = problem.grid(**{field.name: getattr(cfg, field.name) for field in option_fields(problem.grid)})
    grid.check()
    return grid


def _config_defaults() -> dict[str, Any]:
    """Every problem setting at its default: what a saved config that predates the setting had (resumable)."""
    defaults: dict[str, Any] = {"problem": DEFAULT_PROBLEM}
    for name in problem_names():
        defaults.update({field.name: field.default for field in _problem_fields(get_problem(name))})
    return defaults


def main(cfg: Any) -> int:
    # ------------------------------------------------------------------ settings, instances and methods
    try:  # the checks and flag names of jssp solve (jssp.options)
        check_processes(cfg.workers)
        options = solve_options_from({name: getattr(cfg, name) for name in dataclasses.asdict(cfg)})
        if options.search_workers is None:  # one solve's share of the cores (a Ray task asks for one)
            share = 1 if cfg.backend == "ray" else max(1, available_cores() // cfg.workers)
            options = dataclasses.replace(options, search_workers=share)
        problem = get_problem(options.problem)
        grid = _grid_of(cfg, problem)
    except OptionError as error:
        print(f"evaluate.py: error: {error}", file=sys.stderr)
        return 2
    methods_text = cfg.methods if cfg.methods is not None else ",".join(problem.default_methods)
    # a method named twice is solved once
    methods = list(dict.fromkeys(method.strip().lower() for method in methods_text.split(",") if method.strip()))
    with_plugins = needs_plugins(methods, problem.name)
    ensure_methods(methods, problem.name)
    try:
        for method in methods:
            get_solver(method, problem.name)
        instances = resolve_instances(cfg.instances, problem.read_instance)  # a malformed file gives FILE:LINE
        checkpoints = _checkpoint_hashes(methods, options)  # a missing checkpoint or device, before any solve
        plan = EvaluationPlan(tuple(cfg.instances), instances, methods, options, grid)
        problem.check_plan(plan)
    except (KeyError, ValueError, OSError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"evaluate.py: error: {message}", file=sys.stderr)
        return 2

    config = {**dataclasses.asdict(cfg), "methods": methods_text, "out": str(cfg.out)}
    config["checkpoints"] = checkpoints
    read_rows = functools.partial(read_results_csv, types=problem.result_types)
    try:
        done = prepare_output(cfg.out, config, cfg.resume, read_rows=read_rows, defaults=_config_defaults())
    except OutputFolderError as error:
        print(f"evaluate.py: error: {error}", file=sys.stderr)
        return 2

    # ------------------------------------------------------------------ tasks (the solves not in results.csv yet)
    problem.warm_up(methods)
    planned = problem.evaluation_tasks(plan, done)
    for line in planned.notes:
        print(line, file=sys.stderr)
    already = f" ({len(done)} already in results.csv)" if done else ""
    print(f"{planned.grid} = {len(done) + planned.solves} solves{already} -> {cfg.out}", file=sys.stderr)

    # ------------------------------------------------------------------ solve (rows appended as each task finishes)
    began = time.perf_counter()
    schedules_dir = cfg.out / "schedules" if cfg.save_schedules else None
    results = cfg.out / "results.csv"
    try:
        setup = WorkerSetup(problem.name, type(problem).__module__, tuple(methods), with_plugins)
        executor = make_executor(cfg.backend, cfg.workers, setup, cfg.ray_address)
    except BackendError as error:  # Ray is not installed, or its cluster cannot be reached
        print(f"evaluate.py: error: {error}", file=sys.stderr)
        return 2
    try:
        new_rows = run_tasks(
            planned.tasks,
            options,
            schedules_dir,
            progress=cfg.progress,
            on_rows=lambda rows: append_results(results, rows, problem.result_columns),
            runner=problem.task_runner(),
            executor=executor,
        )
    finally:
        executor.close()
    rows = done + new_rows

    # ------------------------------------------------------------------ report
    summary = problem.summary(rows, plan)
    write_atomically(cfg.out / "summary.md", summary)
    print(summary)
    failures = [row for row in rows if not row["feasible"]]
    for row in failures:
        print(f"FAILED {problem.row_label(row)} {row['method']}: {row.get('error', 'infeasible')}", file=sys.stderr)
    print(f"{len(rows) - len(failures)}/{len(rows)} feasible in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    return 1 if failures else 0


def _checkpoint_hashes(methods: list[str], options: SolveOptions) -> dict[str, str]:
    """Content hashes of the checkpoints the methods read (their registered defaults, or the options'), so that
    results cite the weights that made them."""
    names = sorted({name for method in methods for name in method_checkpoints(method, options).values()})
    if not names:
        return {}
    from agents.checkpoints import checkpoint_sha256  # torch loads only when a learned method runs
    from agents.inference import resolve_device

    resolve_device(options.device)  # ValueError, e.g. --device cuda on a machine without CUDA
    return {name: checkpoint_sha256(name) for name in names}


if __name__ == "__main__":
    sys.exit(main(tyro.cli(EvaluateConfig)))
