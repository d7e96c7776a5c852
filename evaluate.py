"""Evaluate solving methods on benchmark instances and report optimality gaps.

    python evaluate.py --instances ta ft06 dmu:20x15 --methods mwkr,spt,cpsat --time-limit 10 --out DIR

writes ``DIR/results.csv`` (one row per solve), ``DIR/schedules/<instance>__<method>.json``,
``DIR/summary.md`` and ``DIR/config.json``, and prints the summary tables. Every schedule is
checked by the independent validator; the exit status is 1 if any solve failed or was
infeasible. Each row is appended to ``results.csv`` as its solve finishes, and ``--resume``
continues a killed evaluation. With no arguments it runs a small embedded default (a few
FT/LA/TA instances, every rule, CP-SAT, tabu search, the shipped ``gnn-default`` policy and the
hybrid, 3 s each).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import tyro

from jssp.dispatch import warm_up
from jssp.evaluation import (
    OutputFolderError,
    append_result,
    make_tasks,
    prepare_output,
    resolve_instances,
    run_tasks,
    summary_tables,
)
from jssp.files import write_atomically
from jssp.options import check_processes, solve_options_from
from jssp.rules import RULE_NAMES
from jssp.solvers import OptionError, ensure_methods, load_plugins


@dataclass(frozen=True)
class EvaluateConfig:
    """Which instances and methods to evaluate, and where to write the results."""

    instances: tuple[str, ...] = ("ft06", "la01-la05", "ta01-ta02")
    """Benchmark names (ta01), families (ta), size groups (ta:15x15), ranges (ta01-ta10), 'all', or files."""
    methods: str = ",".join((*RULE_NAMES, "cpsat", "tabu", "gnn", "hybrid"))
    """Comma-separated method names (rules, cpsat, tabu, and learned methods once registered)."""
    time_limit: float = 3.0
    """Seconds per solve for time-limited methods (cpsat, tabu, hybrid)."""
    workers: int = 1
    """Parallel solver processes (solves run at once)."""
    cpsat_workers: int = 2
    """CP-SAT search threads of one solve (cpsat, hybrid)."""
    seed: int = 0
    """Seed of randomised methods."""
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
    warm_up()
    load_plugins()
    from jssp.local_search import warm_up as warm_up_search  # tabu, hybrid and ls-<steps> search kernels

    warm_up_search()


def main(cfg: EvaluateConfig) -> int:
    # ------------------------------------------------------------------ instances and methods
    methods = [method.strip().lower() for method in cfg.methods.split(",") if method.strip()]
    ensure_methods(methods)
    instances = resolve_instances(cfg.instances)
    tasks = make_tasks(instances, methods)
    try:  # the checks and flag names of jssp solve (jssp.options)
        check_processes(cfg.workers)
        options = solve_options_from(cfg)
    except OptionError as error:
        print(f"evaluate.py: error: {error}", file=sys.stderr)
        return 2
    config = {**dataclasses.asdict(cfg), "out": str(cfg.out), "checkpoints": _checkpoint_hashes(methods, cfg)}
    try:
        done = prepare_output(cfg.out, config, cfg.resume)
    except OutputFolderError as error:
        print(f"evaluate.py: error: {error}", file=sys.stderr)
        return 2
    finished = {(row["instance"], row["method"]) for row in done}
    todo = [task for task in tasks if (task.instance.name, task.method) not in finished]
    print(
        f"{len(instances)} instances x {len(methods)} methods = {len(tasks)} solves"
        + (f" ({len(tasks) - len(todo)} already in results.csv)" if finished else "")
        + f" -> {cfg.out}",
        file=sys.stderr,
    )

    # ------------------------------------------------------------------ solve (each row appended as it finishes)
    began = time.perf_counter()
    schedules_dir = cfg.out / "schedules" if cfg.save_schedules else None
    results = cfg.out / "results.csv"
    new_rows = run_tasks(
        todo,
        options,
        schedules_dir,
        workers=cfg.workers,
        progress=cfg.progress,
        initializer=_worker_initializer,
        on_row=lambda row: append_result(results, row),
    )
    rows = done + new_rows

    # ------------------------------------------------------------------ report
    summary = summary_tables(rows)
    write_atomically(cfg.out / "summary.md", summary)
    print(summary)
    failures = [row for row in rows if not row["feasible"]]
    for row in failures:
        print(f"FAILED {row['instance']} {row['method']}: {row.get('error', 'infeasible')}", file=sys.stderr)
    print(f"{len(rows) - len(failures)}/{len(rows)} feasible in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    return 1 if failures else 0


def _checkpoint_hashes(methods: list[str], cfg: EvaluateConfig) -> dict[str, str]:
    """Content hashes of the checkpoints the learned methods among ``methods`` read (results cite weights)."""
    learned = {"gnn", "gnn-sample", "hybrid"}
    uses_construction = any(method in learned or method.startswith("ls-") for method in methods)
    if not uses_construction:
        return {}
    from agents.checkpoints import checkpoint_sha256  # torch loads only when a learned method runs

    hashes = {cfg.checkpoint: checkpoint_sha256(cfg.checkpoint)}
    if any(method.startswith("ls-") for method in methods):
        hashes[cfg.improvement_checkpoint] = checkpoint_sha256(cfg.improvement_checkpoint)
    return hashes


if __name__ == "__main__":
    sys.exit(main(tyro.cli(EvaluateConfig)))
