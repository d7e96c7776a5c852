"""Search methods on large instances: whole-process wall time, peak memory, iterations per second.

    JSSP_LARGE_INSTANCES=DIR .venv/bin/python benchmarks/bench_scale_search.py [--time-limit 30]

Every solve is a fresh process (this script run as ``child``) that reads one instance file, solves
it with :func:`jssp.solvers.solve` (or, for ``cpsat-hint``, CP-SAT warm-started from the
``fdd-mwkr`` schedule; for ``hybrid-stages``, :func:`jssp.solvers.improve_hybrid` from ``mwkr``),
validates the schedule and prints one JSON line. The parent measures the child's wall time from
start to exit (interpreter, imports, kernel loading, reading the file and validation included)
and its peak resident memory (``os.wait4``). Instances default to Da Col & Teppan's
``tai_100_100_1``, ``tai_1000_100_1`` and ``tai_1000_1000_1`` (1,000,000 operations), found through the
benchmark catalogue (``instances/large``; the 1000x1000 files in ``$JSSP_LARGE_INSTANCES``); a path works
too. CP-SAT runs on the instances of up to ``--cpsat-max-operations`` operations.
The table goes to stdout and ``--out``.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tyro

from jssp import benchmarks
from jssp.files import write_atomically

DEFAULT_INSTANCES = ("tai_100_100_1", "tai_1000_100_1", "tai_1000_1000_1")
METHODS = ("tabu", "hybrid-stages", "cpsat", "cpsat-hint")


@dataclass(frozen=True)
class BenchScaleSearchConfig:
    """Instances, methods, limits and output of the scale benchmark."""

    instances: tuple[str, ...] = DEFAULT_INSTANCES
    """Benchmark names (``tai_100_100_1``) or instance file paths."""
    methods: tuple[str, ...] = METHODS
    """Methods to run: tabu, hybrid-stages, cpsat, cpsat-hint."""
    time_limit: float = 30.0
    """Time limit of every solve, seconds."""
    cpsat_max_operations: int = 100_000
    """CP-SAT (cpsat, cpsat-hint) runs only on instances up to this many operations."""
    cpsat_workers: int = 2
    """CP-SAT search threads."""
    out: Path = Path("results/scale-search.txt")
    """Where the table is written (besides stdout)."""


def instance_path(name: str) -> Path:
    """A path as given, or the file of a catalogued benchmark (see :func:`jssp.benchmarks.instance_path`)."""
    return Path(name) if Path(name).is_file() else benchmarks.instance_path(name)


def solve_file(method: str, path: Path, time_limit: float, cpsat_workers: int) -> dict[str, Any]:
    """Read ``path`` and solve it with ``method`` in this process; what a child prints."""
    from jssp.cpsat import CpSatError, solve_cpsat
    from jssp.parsing import read_instance
    from jssp.rules import dispatch
    from jssp.solvers import SolveOptions, improve_hybrid, solve

    began = time.perf_counter()
    instance = read_instance(path)
    read_seconds = time.perf_counter() - began
    options = SolveOptions(time_limit=time_limit, cpsat_workers=cpsat_workers)
    row: dict[str, Any] = {"operations": instance.num_operations, "read_s": round(read_seconds, 2)}
    try:
        if method == "cpsat-hint":
            hint = dispatch(instance, "fdd-mwkr")
            schedule = solve_cpsat(instance, time_limit=time_limit, num_workers=cpsat_workers, hint=hint)
            schedule.check()
            row["start"] = hint.makespan
        elif method == "hybrid-stages":
            started = time.perf_counter()
            schedule = improve_hybrid(instance, dispatch(instance, "mwkr"), options, started)
            schedule.check()
        else:
            schedule = solve(instance, method, options)  # validates
    except CpSatError as error:
        return {**row, "error": str(error)}
    row |= {"solve_s": round(schedule.seconds, 2), "makespan": schedule.makespan, "status": schedule.status}
    for key in ("iterations", "model_seconds", "stages"):
        if key in schedule.info:
            row[key] = schedule.info[key]
    return row


def run_child(method: str, path: Path, cfg: BenchScaleSearchConfig) -> dict[str, Any]:
    """One solve in a fresh process: its JSON line plus wall time and peak resident memory."""
    command = [sys.executable, __file__, "child", method, str(path), str(cfg.time_limit), str(cfg.cpsat_workers)]
    began = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - began
    process.returncode = os.waitstatus_to_exitcode(status)
    lines = output.strip().splitlines()
    row = json.loads(lines[-1]) if process.returncode == 0 and lines else {"error": f"exit {process.returncode}"}
    return {
        "method": method,
        "instance": path.name.split(".")[0],
        "wall_s": round(wall, 2),
        "peak_mib": usage.ru_maxrss // 1024,
        **row,
    }


def table(rows: list[dict[str, Any]], cfg: BenchScaleSearchConfig, load_average: tuple[float, ...]) -> str:
    load = ", ".join(f"{value:.2f}" for value in load_average)
    lines = [
        f"Search methods on large instances, time limit {cfg.time_limit:g} s, one fresh process per solve",
        f"({platform.processor() or platform.machine()}, {os.cpu_count()} cores shared with other jobs, load average "
        f"{load} before the runs, Python {platform.python_version()}; CP-SAT {cfg.cpsat_workers} threads).",
        "wall: whole process (start-up, reading the file, solving, validating); solve: the method's own time;",
        "over: wall - time limit; it/s: tabu iterations per second of solve time; model: CP-SAT model build, s.",
        "",
        f"{'instance':<16} {'ops':>9} {'method':<14} {'wall s':>7} {'over s':>7} {'solve s':>7} {'read s':>6} "
        f"{'peak MiB':>8} {'makespan':>9} {'iters':>7} {'it/s':>7} {'model':>6}  note",
    ]
    for row in rows:
        iterations = row.get("iterations")
        rate = f"{iterations / row['solve_s']:.1f}" if iterations is not None and row.get("solve_s") else "-"
        model = f"{row['model_seconds']:.2f}" if row.get("model_seconds") is not None else "-"
        note = row.get("error") or row.get("status") or ""
        if "stages" in row:
            note = f"stages {row['stages']}"
        elif "start" in row:
            note = f"{note} from {row['start']}"
        lines.append(
            f"{row['instance']:<16} {row.get('operations', '-'):>9} {row['method']:<14} {row['wall_s']:>7.2f} "
            f"{row['wall_s'] - cfg.time_limit:>7.2f} {row.get('solve_s', '-'):>7} {row.get('read_s', '-'):>6} "
            f"{row['peak_mib']:>8} {row.get('makespan', '-'):>9} {iterations if iterations is not None else '-':>7} "
            f"{rate:>7} {model:>6}  {note}"
        )
    return "\n".join(lines) + "\n"


def main(cfg: BenchScaleSearchConfig) -> int:
    # ------------------------------------------------------------------ instances and runs
    paths = [instance_path(name) for name in cfg.instances]
    load_average = os.getloadavg()
    rows = []
    for path in paths:
        for method in cfg.methods:
            if method.startswith("cpsat") and _operations(path) > cfg.cpsat_max_operations:
                continue
            rows.append(run_child(method, path, cfg))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)

    # ------------------------------------------------------------------ report
    text = table(rows, cfg, load_average)
    print(text, end="")
    write_atomically(cfg.out, text)
    return 0


def _operations(path: Path) -> int:
    """Operations of a ``tai_J_M_K`` file from its name, else by reading it."""
    parts = path.name.split(".")[0].split("_")
    if len(parts) == 4 and parts[0] == "tai":
        return int(parts[1]) * int(parts[2])
    from jssp.parsing import read_instance

    return read_instance(path).num_operations


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        _, _, child_method, child_path, child_limit, child_workers = sys.argv
        result = solve_file(child_method, Path(child_path), float(child_limit), int(child_workers))
        print(json.dumps(result))
        raise SystemExit(0)
    raise SystemExit(main(tyro.cli(BenchScaleSearchConfig)))
