"""Whole-process wall time of one MWKR solve: ``jssp solve FILE --method mwkr`` against job-shop-lib's.

    .venv/bin/python benchmarks/bench_startup.py [--instance instances/ta71.txt] [--runs 5]

Each side is a fresh process that reads the instance file, builds an MWKR dispatching schedule
and prints its makespan, so the time includes the interpreter, the imports and, on our side,
loading numba's cached kernels and recognising the benchmark:

* ours: the ``jssp`` command of this venv;
* job-shop-lib: ``peer_startup_job_shop_lib.py`` in the peer venv ``benchmarks/.venv-peer``,
  created by :func:`bench_env.ensure_peer_venv` on first use (job-shop-lib must never be
  installed into ``.venv``).

Each command runs once untimed (disk cache, numba's kernel cache), then ``runs`` times, the two
sides alternating so that both see the same machine load; the medians are compared. Writes the
JSON to ``--out`` and the markdown table beside it (``.md``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tyro
from bench_env import BENCHMARKS_DIR, ensure_peer_venv

from jssp.files import write_atomically

PEER_SCRIPT = BENCHMARKS_DIR / "peer_startup_job_shop_lib.py"


@dataclass(frozen=True)
class BenchStartupConfig:
    """Instance, repetitions and output of the start-up benchmark."""

    instance: Path = Path("instances/ta71.txt")
    """Instance file both sides solve (standard layout, which job-shop-lib reads)."""
    runs: int = 5
    """Timed runs of each command; the median is reported."""
    warmup_runs: int = 1
    """Untimed runs of each command first."""
    peer: bool = True
    """Also time job-shop-lib (creates benchmarks/.venv-peer on first use)."""
    peer_venv: Path = BENCHMARKS_DIR / ".venv-peer"
    """Virtual environment holding job-shop-lib."""
    out: Path = Path("results/bench_startup.json")
    """JSON result file; the markdown table goes beside it with the suffix .md."""


def run_once(command: list[str]) -> tuple[float, int]:
    """Wall seconds of one run of ``command`` and the makespan it printed."""
    began = time.perf_counter()
    completed = subprocess.run(command, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    match = re.search(r"^makespan\s+(\d+)$", completed.stdout, flags=re.MULTILINE)
    if match is None:
        raise RuntimeError(f"{command[0]} printed no makespan:\n{completed.stdout}")
    return seconds, int(match.group(1))


def time_commands(commands: dict[str, list[str]], runs: int, warmup_runs: int) -> dict[str, dict[str, Any]]:
    """Every command's run times (alternating between commands) and its makespan."""
    for command in commands.values():
        for _ in range(warmup_runs):
            run_once(command)
    seconds: dict[str, list[float]] = {name: [] for name in commands}
    makespans: dict[str, set[int]] = {name: set() for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            wall, makespan = run_once(command)
            seconds[name].append(wall)
            makespans[name].add(makespan)
    return {
        name: {
            "command": " ".join(os.path.relpath(part) if os.path.isabs(part) else part for part in commands[name]),
            "median_s": statistics.median(seconds[name]),
            "min_s": min(seconds[name]),
            "seconds": seconds[name],
            "makespan": sorted(makespans[name]),
        }
        for name in commands
    }


def markdown_table(result: dict[str, Any], cfg: BenchStartupConfig) -> str:
    sides, machine = result["sides"], result["machine"]
    load = ", ".join(f"{value:.2f}" for value in machine["load_average"])
    lines = [
        f"Whole-process wall time of one MWKR solve of `{cfg.instance}`: median of {cfg.runs} runs after "
        f"{cfg.warmup_runs} untimed, the two commands alternating ({machine['processor'] or platform.machine()}, "
        f"{machine['cpu_count']} cores, load average {load} before the runs, Python {machine['python']}; "
        f"job-shop-lib {result['peer_version'] or 'not run'}).",
        "",
        "| side | command | median s | min s | makespan |",
        "|---|---|---:|---:|---:|",
    ]
    for name, side in sides.items():
        makespan = ", ".join(str(value) for value in side["makespan"])
        lines.append(f"| {name} | `{side['command']}` | {side['median_s']:.3f} | {side['min_s']:.3f} | {makespan} |")
    if result["ratio"] is not None:
        lines += ["", f"job-shop-lib's median over ours: **{result['ratio']:.2f}x**."]
    return "\n".join(lines) + "\n"


def main(cfg: BenchStartupConfig) -> int:
    # ------------------------------------------------------------------ the two commands
    ours = Path(sys.executable).parent / "jssp"
    if not ours.exists():
        raise FileNotFoundError(f"{ours}: install the package into this venv first (make install)")
    commands = {"ours": [str(ours), "solve", str(cfg.instance), "--method", "mwkr"]}
    peer_version = None
    if cfg.peer:
        python = ensure_peer_venv(cfg.peer_venv)
        commands["job-shop-lib"] = [str(python), str(PEER_SCRIPT), str(cfg.instance)]
        version = subprocess.run(
            [python, "-c", "import importlib.metadata as m; print(m.version('job-shop-lib'))"],
            check=True,
            capture_output=True,
            text=True,
        )
        peer_version = version.stdout.strip()

    # ------------------------------------------------------------------ time them
    load_average = os.getloadavg()  # other work on the machine slows both sides
    sides = time_commands(commands, cfg.runs, cfg.warmup_runs)

    # ------------------------------------------------------------------ report
    ratio = sides["job-shop-lib"]["median_s"] / sides["ours"]["median_s"] if cfg.peer else None
    result = {
        "config": {
            **dataclasses.asdict(cfg),
            "instance": str(cfg.instance),
            "peer_venv": str(cfg.peer_venv),
            "out": str(cfg.out),
        },
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "load_average": load_average,
            "python": platform.python_version(),
        },
        "peer_version": peer_version,
        "sides": sides,
        "ratio": ratio,
    }
    table = markdown_table(result, cfg)
    write_atomically(cfg.out, json.dumps(result, indent=1) + "\n")
    write_atomically(cfg.out.with_suffix(".md"), table)
    print(table)
    print(f"wrote {cfg.out} and {cfg.out.with_suffix('.md')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(tyro.cli(BenchStartupConfig)))
