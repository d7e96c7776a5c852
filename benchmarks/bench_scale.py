"""Whole-process time and peak memory of ``jssp solve`` with a rule on very large instances, against the targets.

    .venv/bin/python benchmarks/bench_scale.py [--out results/scale]

Each case is a fresh ``jssp solve FILE --method M`` process on one of Da Col & Teppan's instances
(``tai_J_M_K``; the 1000x1000 ones need ``$JSSP_LARGE_INSTANCES``, see ``jssp.benchmarks``). The wall
time covers everything a user waits for: interpreter, imports, reading the gzip file, recognising
the benchmark, solving, validating and writing the schedule JSON. Peak memory is the child's
maximum resident set size as the OS reports it (``wait4``). Time-limited methods report their
overrun: wall time minus the limit.

Cases: mwkr on 1000x1000 (target <= 5 s, <= 1.5 GB), with and without writing the JSON, and on
1000x100. :func:`run_case` is shared with ``bench_gnn_scale.py`` (greedy ``gnn``); the search methods
have their own script, ``bench_scale_search.py``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tyro

from jssp import benchmarks
from jssp.files import write_atomically

JSSP = Path(sys.executable).with_name("jssp")


@dataclass(frozen=True)
class ScaleConfig:
    """Which cases to run and where to write the table."""

    out: Path = Path("results/scale")
    """Folder of scale.json and scale.md."""


@dataclass(frozen=True)
class Case:
    group: str
    instance: str
    method: str
    time_limit: float | None = None
    target: str = ""
    write_json: bool = False


CASES = (
    Case("rules", "tai_1000_1000_1", "mwkr", target="<= 5 s, <= 1.5 GB"),
    Case("rules", "tai_1000_1000_1", "mwkr", target="(with --output)", write_json=True),
    Case("rules", "tai_1000_100_1", "mwkr"),
)


def run_case(case: Case) -> dict[str, Any]:
    """One fresh ``jssp solve`` process: wall seconds, peak RSS (MB), makespan, exit status."""
    row: dict[str, Any] = {**dataclasses.asdict(case)}
    try:
        path = benchmarks.instance_path(case.instance)
    except benchmarks.InstanceNotAvailableError:
        return {**row, "skipped": f"set {benchmarks.LARGE_DIR_VARIABLE} to a folder holding {case.instance}"}
    with tempfile.TemporaryDirectory() as folder:
        command = [str(JSSP), "solve", str(path), "--method", case.method]
        if case.time_limit is not None:
            command += ["--time-limit", str(case.time_limit)]
        if case.write_json:
            command += ["--output", str(Path(folder) / "schedule.json")]
        began = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output = process.stdout.read() if process.stdout else ""
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - began
    makespan = re.search(r"^makespan\s+(\d+)", output, re.MULTILINE)
    row.update(
        wall_s=round(wall, 2),
        peak_mb=round(usage.ru_maxrss / 1024),
        makespan=int(makespan.group(1)) if makespan else None,
        exit_status=os.waitstatus_to_exitcode(status),
        overrun_s=None if case.time_limit is None else round(wall - case.time_limit, 2),
    )
    if row["exit_status"] != 0:
        row["error"] = output.strip().splitlines()[-1] if output.strip() else ""
    return row


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| instance | method | limit s | wall s | overrun s | peak MB | makespan | target |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        method = row["method"] + (" --output" if row["write_json"] else "")
        if "skipped" in row:
            lines.append(f"| {row['instance']} | {method} | | | | | | skipped: {row['skipped']} |")
            continue
        values = [row["time_limit"] or "", row["wall_s"], "" if row["overrun_s"] is None else row["overrun_s"]]
        makespan = row["makespan"] if row["exit_status"] == 0 else f"exit {row['exit_status']}: {row.get('error', '')}"
        cells = [row["instance"], method, *values, row["peak_mb"], makespan, row["target"]]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def main(cfg: ScaleConfig) -> int:
    rows = []
    for case in CASES:
        row = run_case(case)
        rows.append(row)
        print(json.dumps(row), flush=True)
    load = os.getloadavg()
    document = {
        "command": "python benchmarks/bench_scale.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {load[0]:.2f}",
        "rows": rows,
    }
    cfg.out.mkdir(parents=True, exist_ok=True)
    write_atomically(cfg.out / "scale.json", json.dumps(document, indent=1) + "\n")
    header = f"`{document['command']}` on {document['machine']}\n\n"
    write_atomically(cfg.out / "scale.md", header + markdown(rows))
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(tyro.cli(ScaleConfig)))
