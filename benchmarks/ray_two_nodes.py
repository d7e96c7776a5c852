"""A real two-node Ray cluster on one host: evaluate on it, check the results, measure the overhead per task.

    .venv/bin/python benchmarks/ray_two_nodes.py [--port 6390] [--out results/ray-two-nodes.json]

Starts a Ray head (``ray start --head``) and a second node that joins it (``ray start --address``),
one CPU each, as separate processes of this machine; then:

1. runs ``evaluate.py --backend ray --ray-address 127.0.0.1:PORT`` on a classical and a blocking grid,
   and the same with the local backend (two processes), and checks that every solve is there
   exactly once, feasible, with its schedule file, and with the same makespan as the local run
   (every method of the grids is deterministic);
2. checks that the cluster has two nodes and that tasks ran on both;
3. times ``run_tasks`` on many short solves (a rule on a small instance) on the cluster and on the
   local backend with two processes, and reports the overhead per task;

and stops both nodes (``ray stop``), also on failure. Token authentication is on (``RAY_AUTH_MODE=token``,
the token in ``~/.ray/auth_token``, generated if missing), as on a real cluster. Writes the JSON to
``--out`` and the markdown beside it (``.md``).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tyro
from report import machine_record, write_report

from jssp import benchmarks
from jssp.evaluation import make_tasks, run_tasks
from jssp.executors import LocalExecutor, RayExecutor
from jssp.files import read_csv_rows
from jssp.solvers import SolveOptions

REPOSITORY = Path(__file__).resolve().parent.parent
RAY = str(Path(sys.executable).with_name("ray"))


@dataclass(frozen=True)
class RayTwoNodesConfig:
    """Port of the head node, size of the overhead probe, and output."""

    port: int = 6390
    """Port of the head node (GCS)."""
    probe_tasks: int = 400
    """Short solves timed for the overhead per task."""
    out: Path = Path("results/ray-two-nodes.json")
    """JSON result file; the markdown goes beside it with the suffix .md."""


GRIDS = {
    "classical": ["--instances", "ft06", "la01-la10", "--methods", "spt,mwkr,lor,fdd-mwkr"],
    "blocking": [
        "--problem", "isbjssp", "--instances", "ft06", "la01-la05", "--shutdown-rates", "0", "0.005", "0.01",
        "--seeds", "4", "--methods", "spt,lor,random,lookahead-lor",
    ],
}  # fmt: skip


def _environment() -> dict[str, str]:
    return {**os.environ, "RAY_AUTH_MODE": "token", "RAY_USAGE_STATS_ENABLED": "0"}


def _ray(*arguments: str) -> None:
    subprocess.run([RAY, *arguments], env=_environment(), check=True, capture_output=True, text=True, timeout=180)


def _evaluate(grid: list[str], out: Path, backend: list[str]) -> tuple[float, list[dict[str, str]]]:
    command = [sys.executable, "evaluate.py", *grid, "--out", str(out), "--no-progress", *backend]
    began = time.perf_counter()
    done = subprocess.run(command, cwd=REPOSITORY, env=_environment(), capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, read_csv_rows(out / "results.csv")


def _key(row: dict[str, str]) -> tuple[str, ...]:
    return (row["instance"], row.get("rate", ""), row.get("seed", ""), row["method"])


def _compare(name: str, grid: list[str], work: Path, address: str) -> dict[str, Any]:
    ray_seconds, ray_rows = _evaluate(grid, work / f"{name}-ray", ["--backend", "ray", "--ray-address", address])
    local_seconds, local_rows = _evaluate(grid, work / f"{name}-local", ["--workers", "2"])
    keys = [_key(row) for row in ray_rows]
    schedules = len(list((work / f"{name}-ray" / "schedules").glob("*.json")))
    same = {_key(row): row["makespan"] for row in ray_rows} == {_key(row): row["makespan"] for row in local_rows}
    return {
        "grid": name,
        "rows": len(ray_rows),
        "unique_rows": len(set(keys)),
        "local_rows": len(local_rows),
        "feasible": sum(row["feasible"] == "True" for row in ray_rows),
        "schedule_files": schedules,
        "same_makespans_as_local": same,
        "ray_seconds": ray_seconds,
        "local_seconds": local_seconds,
        "ok": len(set(keys)) == len(keys) == len(local_rows) == schedules and same,
    }


def _nodes_used(address: str) -> dict[str, Any]:
    import ray

    ray.init(address=address, log_to_driver=False)
    try:

        @ray.remote(num_cpus=1)
        def node_of(_: int) -> str:
            time.sleep(0.3)
            return str(ray.get_runtime_context().get_node_id())

        used = set(ray.get([node_of.remote(index) for index in range(8)]))
        alive = [node for node in ray.nodes() if node["Alive"]]
        return {"alive_nodes": len(alive), "cpus": ray.cluster_resources().get("CPU"), "nodes_used": len(used)}
    finally:
        ray.shutdown()


def _overhead(address: str, count: int) -> dict[str, Any]:
    instance = benchmarks.load("ft06")
    tasks = make_tasks([instance], ["spt"]) * count
    options = SolveOptions()
    timings = {}
    for name, factory in (
        ("local (2 processes)", lambda: LocalExecutor(2)),
        ("ray (2 nodes)", lambda: RayExecutor(address)),
    ):
        executor = factory()
        try:
            run_tasks(tasks[:4], options, progress=False, executor=executor)  # workers started and warmed up
            began = time.perf_counter()
            rows = run_tasks(tasks, options, progress=False, executor=executor)
            timings[name] = time.perf_counter() - began
            assert len(rows) == count
        finally:
            executor.close()
    solve_ms = 1000 * float(sum(row["seconds"] for row in rows)) / count
    local_ms, ray_ms = (1000 * timings[name] / count for name in timings)
    return {"tasks": count, "solve_ms": solve_ms, "local_ms_per_task": local_ms, "ray_ms_per_task": ray_ms}


def markdown(result: dict[str, Any]) -> str:
    nodes, probe = result["nodes"], result["overhead"]
    lines = [
        f"Two Ray nodes on one host (`ray start --head --num-cpus 1`, `ray start --address ... --num-cpus 1`): "
        f"{nodes['alive_nodes']} nodes alive, {nodes['cpus']:g} CPUs, tasks ran on {nodes['nodes_used']} nodes.",
        "",
        "| grid | solves | unique | feasible | schedule files | same makespans as local | ray s"
        " | local s (2 processes) |",
        "|---|---:|---:|---:|---:|:---:|---:|---:|",
    ]
    for row in result["grids"]:
        lines.append(
            f"| {row['grid']} | {row['rows']} | {row['unique_rows']} | {row['feasible']} | {row['schedule_files']} "
            f"| {'yes' if row['same_makespans_as_local'] else 'NO'} | {row['ray_seconds']:.1f} "
            f"| {row['local_seconds']:.1f} |"
        )
    lines += [
        "",
        f"Overhead per task ({probe['tasks']} solves of `spt` on ft06, {probe['solve_ms']:.2f} ms each, workers "
        f"warmed up): local backend {probe['local_ms_per_task']:.2f} ms per task, Ray {probe['ray_ms_per_task']:.2f} "
        f"ms per task, so {probe['ray_ms_per_task'] - probe['local_ms_per_task']:+.2f} ms per task on Ray.",
        "",
        "`ray s` and `local s` are whole `evaluate.py` processes (imports, warm-up, joining the cluster or starting "
        f"processes, and writing included). Load average when the script started: {result['load_average']}.",
    ]
    return "\n".join(lines) + "\n"


def main(cfg: RayTwoNodesConfig) -> int:
    address = f"127.0.0.1:{cfg.port}"
    load_average = [round(value, 2) for value in os.getloadavg()]
    os.environ.update({"RAY_AUTH_MODE": "token", "RAY_USAGE_STATS_ENABLED": "0"})  # for this process's drivers
    subprocess.run([RAY, "get-auth-token", "--generate"], env=_environment(), check=True, capture_output=True)
    _ray("start", "--head", "--num-cpus", "1", "--port", str(cfg.port), "--include-dashboard", "false",
         "--disable-usage-stats")  # fmt: skip
    try:
        _ray("start", "--address", address, "--num-cpus", "1")
        nodes = _nodes_used(address)
        with tempfile.TemporaryDirectory() as folder:
            grids = [_compare(name, grid, Path(folder), address) for name, grid in GRIDS.items()]
        overhead = _overhead(address, cfg.probe_tasks)
    finally:
        _ray("stop")
    result = {
        "config": {**dataclasses.asdict(cfg), "out": str(cfg.out)},
        "machine": machine_record(),
        "load_average": load_average,
        "nodes": nodes,
        "grids": grids,
        "overhead": overhead,
    }
    write_report(cfg.out, result, markdown(result))
    ok = nodes["alive_nodes"] == 2 and nodes["nodes_used"] == 2 and all(row["ok"] for row in grids)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(tyro.cli(RayTwoNodesConfig)))
