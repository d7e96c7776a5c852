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

evaluates the blocking job shop with machine shutdowns (:mod:`jssp.blocking`) instead: every
method on the same calendar per (instance, rate, seed), each schedule validated against it; rows
per (instance, rate, seed, method); tables per rate of makespans, gaps to the best value without
shutdowns and paired wins against each rule (:mod:`jssp.blocking.report`). CP-SAT runs at rate 0 only.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import tyro

from jssp.dispatch import warm_up
from jssp.evaluation import (
    RESULT_COLUMNS,
    OutputFolderError,
    append_results,
    make_tasks,
    prepare_output,
    read_results_csv,
    resolve_instances,
    run_one_task,
    run_tasks,
    summary_tables,
)
from jssp.executors import BackendError, make_executor
from jssp.files import write_atomically
from jssp.options import check_processes, solve_options_from
from jssp.rules import RULE_NAMES
from jssp.solvers import PROBLEMS, OptionError, SolveOptions, ensure_methods, get_solver, load_plugins, needs_plugins

DEFAULT_METHODS = {"jssp": (*RULE_NAMES, "cpsat", "tabu", "gnn", "hybrid"), "isbjssp": RULE_NAMES}
"""Methods evaluated when ``--methods`` is not given, per problem."""


@dataclass(frozen=True)
class EvaluateConfig:
    """Which instances and methods to evaluate, and where to write the results."""

    instances: tuple[str, ...] = ("ft06", "la01-la05", "ta01-ta02")
    """Benchmark names (ta01), families (ta), size groups (ta:15x15), ranges (ta01-ta10), 'all', or files."""
    methods: str | None = None
    """Comma-separated method names (rules, cpsat, tabu, and learned methods once registered); default: every
    rule, cpsat, tabu, gnn and hybrid for jssp, every rule for isbjssp."""
    problem: str = "jssp"
    """jssp: the classical job shop; isbjssp: blocking (no buffers) with swaps and machine shutdowns."""
    shutdown_rates: tuple[float, ...] = (0.0,)
    """isbjssp: shutdown rates (chance per unit of up time that a machine stops); every one is evaluated."""
    seeds: int = 1
    """isbjssp: shutdown calendars per (instance, rate), drawn with seeds --seed .. --seed + seeds - 1."""
    downtime: int | None = None
    """isbjssp: length of a shutdown (default: the instance's mean processing time)."""
    interruption_mode: str = "resume"
    """isbjssp: an interrupted operation resumes where it stopped, or restarts."""
    time_limit: float = 3.0
    """Seconds per solve for time-limited methods (cpsat, tabu, hybrid)."""
    workers: int = 1
    """Parallel solver processes (solves run at once) of the local backend."""
    backend: Literal["local", "ray"] = "local"
    """Where solves run: local processes (--workers), or Ray tasks, each asking for the CPUs it uses
    (pip install '.[ray]'; docs/cluster.md)."""
    ray_address: str = ""
    """--backend ray: the cluster to join (auto: the one this machine is part of; HOST:PORT: its head);
    empty starts a Ray on this machine for this run."""
    cpsat_workers: int = 2
    """CP-SAT search threads of one solve (cpsat, hybrid)."""
    seed: int = 0
    """Seed of randomised methods (isbjssp: the first calendar's seed, which seeds them too)."""
    device: str = "auto"
    """Torch device of learned methods: auto (GPU if present), cpu or cuda."""
    checkpoint: str = "gnn-default"
    """Learned methods: shipped checkpoint name or folder."""
    improvement_checkpoint: str = "ls-default"
    """Learned improvement methods (ls-<steps>): move-policy checkpoint name or folder."""
    samples: int = 128
    """gnn-sample: sampled rollouts of one solve."""
    temperature: float | None = None
    """gnn-sample: softmax temperature (default: the checkpoint's tuned sample_temperature, else 1.0)."""
    scheme: str = "non-delay"
    """Schedule-generation scheme of the dispatching rules: non-delay, active or append."""
    out: Path = Path("runs/evaluate")
    """Output folder."""
    save_schedules: bool = True
    """Write one schedule JSON per solve."""
    progress: bool = True
    """Show a progress bar."""
    resume: bool = False
    """Continue the evaluation in --out: skip the solves already in its results.csv (same settings only)."""


def _worker_initializer() -> None:
    """Set a solver process up: the compiled kernels load before any timed solve."""
    warm_up()
    from jssp.local_search import warm_up as warm_up_search  # tabu, hybrid and ls-<steps> search kernels

    warm_up_search()


def _learned_worker_initializer() -> None:
    """:func:`_worker_initializer`, and the learned methods registered (torch loads: only when a run has one)."""
    _worker_initializer()
    load_plugins()


_PROBLEM_DEFAULTS = {"problem": "jssp", "shutdown_rates": (0.0,), "seeds": 1, "interruption_mode": "resume"}
"""Settings added with the blocking problem, as every evaluation made before them had them (resumable)."""


def _check_problem_settings(cfg: EvaluateConfig) -> list[int]:
    """Raise OptionError for a setting of the wrong problem or out of range; returns the calendar seeds."""
    if cfg.problem not in PROBLEMS:
        raise OptionError("problem", f"must be one of {', '.join(PROBLEMS)}, got {cfg.problem!r}")
    if cfg.problem != "isbjssp":
        for name in ("shutdown_rates", "seeds"):
            if getattr(cfg, name) != _PROBLEM_DEFAULTS[name]:
                raise OptionError(name, "applies to --problem isbjssp only")
        return [cfg.seed]
    if not cfg.shutdown_rates:
        raise OptionError("shutdown_rates", "needs at least one rate")
    for rate in cfg.shutdown_rates:  # the checks of --shutdown-rate
        SolveOptions(problem="isbjssp", shutdown_rate=rate).check()
    if cfg.seeds < 1:
        raise OptionError("seeds", f"must be at least 1, got {cfg.seeds}")
    seeds = list(range(cfg.seed, cfg.seed + cfg.seeds))
    SolveOptions(seed=seeds[-1]).check()
    return seeds


def main(cfg: EvaluateConfig) -> int:
    # ------------------------------------------------------------------ settings, instances and methods
    try:  # the checks and flag names of jssp solve (jssp.options)
        check_processes(cfg.workers)
        seeds = _check_problem_settings(cfg)
        options = solve_options_from(cfg)
    except OptionError as error:
        print(f"evaluate.py: error: {error}", file=sys.stderr)
        return 2
    methods_text = cfg.methods if cfg.methods is not None else ",".join(DEFAULT_METHODS[cfg.problem])
    # a method named twice is solved once
    methods = list(dict.fromkeys(method.strip().lower() for method in methods_text.split(",") if method.strip()))
    with_plugins = needs_plugins(methods, cfg.problem)
    ensure_methods(methods, cfg.problem)
    try:
        for method in methods:
            get_solver(method, cfg.problem)
        instances = resolve_instances(cfg.instances)  # a malformed file gives FILE:LINE: reason
        checkpoints = _checkpoint_hashes(methods, cfg)  # a missing checkpoint or device, before any solve
    except (KeyError, ValueError, OSError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"evaluate.py: error: {message}", file=sys.stderr)
        return 2
    blocking = cfg.problem == "isbjssp"
    if blocking:  # the blocking kernels load only for this problem
        from jssp.blocking import evaluation as blocking_evaluation
        from jssp.blocking import report as blocking_report
        from jssp.blocking import warm_up as warm_up_blocking

    config = {**dataclasses.asdict(cfg), "methods": methods_text, "out": str(cfg.out)}
    config["checkpoints"] = checkpoints
    read_rows = blocking_evaluation.read_blocking_results if blocking else read_results_csv
    try:
        done = prepare_output(cfg.out, config, cfg.resume, read_rows=read_rows, defaults=_PROBLEM_DEFAULTS)
    except OutputFolderError as error:
        print(f"evaluate.py: error: {error}", file=sys.stderr)
        return 2

    # ------------------------------------------------------------------ tasks (the solves not in results.csv yet)
    tasks: list[Any]
    if blocking:
        warm_up_blocking()
        finished = {blocking_evaluation.result_key(row) for row in done}
        tasks, skipped = blocking_evaluation.make_blocking_tasks(
            instances, methods, cfg.shutdown_rates, seeds, done=finished, options=options
        )
        for line in skipped.values():
            print(line, file=sys.stderr)
        grid = f"{len(instances)} instances x {len(cfg.shutdown_rates)} rates x {len(seeds)} seeds x {len(methods)}"
        todo = sum(len(task.methods) for task in tasks)
    else:
        done_pairs = {(row["instance"], row["method"]) for row in done}
        tasks = [task for task in make_tasks(instances, methods) if (task.instance.name, task.method) not in done_pairs]
        grid = f"{len(instances)} instances x {len(methods)}"
        todo = len(tasks)
    already = f" ({len(done)} already in results.csv)" if done else ""
    print(f"{grid} methods = {len(done) + todo} solves{already} -> {cfg.out}", file=sys.stderr)

    # ------------------------------------------------------------------ solve (rows appended as each task finishes)
    began = time.perf_counter()
    schedules_dir = cfg.out / "schedules" if cfg.save_schedules else None
    results = cfg.out / "results.csv"
    columns = blocking_evaluation.RESULT_COLUMNS if blocking else RESULT_COLUMNS
    try:
        initializer = _learned_worker_initializer if with_plugins else _worker_initializer
        executor = make_executor(cfg.backend, cfg.workers, initializer, cfg.ray_address)
    except BackendError as error:  # Ray is not installed, or its cluster cannot be reached
        print(f"evaluate.py: error: {error}", file=sys.stderr)
        return 2
    try:
        new_rows = run_tasks(
            tasks,
            options,
            schedules_dir,
            progress=cfg.progress,
            on_rows=lambda rows: append_results(results, rows, columns),
            runner=blocking_evaluation.run_blocking_task if blocking else run_one_task,
            executor=executor,
        )
    finally:
        executor.close()
    rows = done + new_rows

    # ------------------------------------------------------------------ report
    if blocking:
        summary = blocking_report.summary_tables(rows, notes=_blocking_notes(cfg, len(instances), seeds, methods))
    else:
        summary = summary_tables(rows)
    write_atomically(cfg.out / "summary.md", summary)
    print(summary)
    failures = [row for row in rows if not row["feasible"]]
    for row in failures:
        where = f" rate {row['rate']:g} seed {row['seed']}" if blocking else ""
        print(f"FAILED {row['instance']}{where} {row['method']}: {row.get('error', 'infeasible')}", file=sys.stderr)
    print(f"{len(rows) - len(failures)}/{len(rows)} feasible in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    return 1 if failures else 0


def _blocking_notes(cfg: EvaluateConfig, num_instances: int, seeds: list[int], methods: list[str]) -> list[str]:
    """The settings line under the title of a blocking summary."""
    downtime = "the instance's mean processing time" if cfg.downtime is None else str(cfg.downtime)
    rates = ", ".join(f"{rate:g}" for rate in cfg.shutdown_rates)
    line = (
        f"{num_instances} instances ({' '.join(cfg.instances)}), shutdown rates {rates}, {len(seeds)} calendars "
        f"per (instance, rate) (seeds {seeds[0]}..{seeds[-1]}), downtime {downtime}, {cfg.interruption_mode} "
        "after a shutdown"
    )
    searches = [method for method in methods if method.startswith("cpsat")]
    if searches:
        line += f"; {', '.join(searches)}: {cfg.time_limit:g} s with {cfg.cpsat_workers} threads"
        line += " (cpsat at rate 0 only)" if "cpsat" in searches else ""
    if "gnn-sample" in methods:
        line += f"; gnn-sample: best of {cfg.samples} sampled episodes, at rate 0 only"
    return [line + "."]


def _checkpoint_hashes(methods: list[str], cfg: EvaluateConfig) -> dict[str, str]:
    """Content hashes of the checkpoints the learned methods among ``methods`` read (results cite weights)."""
    learned = {"gnn", "gnn-sample", "hybrid"}
    uses_construction = any(method in learned or method.startswith("ls-") for method in methods)
    if not uses_construction:
        return {}
    from agents.checkpoints import checkpoint_sha256  # torch loads only when a learned method runs
    from agents.inference import resolve_device
    from agents.methods import checkpoint_for

    resolve_device(cfg.device)  # ValueError, e.g. --device cuda on a machine without CUDA
    checkpoint = checkpoint_for(cfg.problem, cfg.checkpoint)
    hashes = {checkpoint: checkpoint_sha256(checkpoint)}
    if any(method.startswith("ls-") for method in methods):
        hashes[cfg.improvement_checkpoint] = checkpoint_sha256(cfg.improvement_checkpoint)
    return hashes


if __name__ == "__main__":
    sys.exit(main(tyro.cli(EvaluateConfig)))
