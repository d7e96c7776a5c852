"""Steps per second of our construction environment against job-shop-lib's (issue goal: >= 10x).

    .venv/bin/python benchmarks/bench_env.py [--seconds 5] [--out results/bench_env.json]

Times, per instance, whole episodes of uniformly random legal actions (seeded, one untimed
warm-up episode first, which also compiles the numba kernels):

* with observations: our ``JobShopEnv`` (gymnasium ``reset``/``step``/``action_masks``, the Dict
  observation built every step) against job-shop-lib's ``SingleJobShopGraphEnv`` over its
  disjunctive graph and over its resource-task graph;
* without observations: our ``DispatchState`` against job-shop-lib's bare ``Dispatcher``.

job-shop-lib runs in its own venv, ``benchmarks/.venv-peer``, created here on first use: it pins
ortools 9.12 and protobuf 5, which conflict with ours, so it must never be installed into
``.venv``. Its side is ``peer_job_shop_lib.py``, run in a subprocess; both sides use that file's
:func:`time_episodes`. Writes the JSON to ``--out`` and the markdown table beside it (``.md``).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import platform
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import tyro
from report import machine_record, write_report

from jssp import benchmarks
from jssp.dispatch import DispatchState
from jssp.env import JobShopEnv
from jssp.instance import Instance

BENCHMARKS_DIR = Path(__file__).resolve().parent
PEER_SCRIPT = BENCHMARKS_DIR / "peer_job_shop_lib.py"
# job-shop-lib 1.7.x needs no torch (gymnasium, matplotlib, networkx, numpy, ortools 9.12, pandas,
# pyarrow, imageio, simanneal). Should a release pull torch in, install torch==2.13.0 into the
# peer venv first: that CPU build is on local disk here, an unpinned torch is a multi-GB CUDA download.
PEER_REQUIREMENT = "job-shop-lib==1.7.*"
GOAL_RATIO = 10.0
# (mode, our measurement, job-shop-lib measurement): one table row each.
COMPARISONS = (
    ("with observations: JobShopEnv vs SingleJobShopGraphEnv (disjunctive graph)", "env", "graph_env/disjunctive"),
    ("with observations: JobShopEnv vs SingleJobShopGraphEnv (resource-task graph)", "env", "graph_env/resource-task"),
    ("without observations: DispatchState vs Dispatcher", "dispatch_state", "dispatcher"),
)


@dataclass(frozen=True)
class BenchEnvConfig:
    """Instances, time budget and output of the environment speed benchmark."""

    seconds: float = 5.0
    """Wall-clock seconds of each measurement; whole episodes, at least one."""
    instances: tuple[str, ...] = ("ta01", "ta71")
    """Benchmark instance names (files in instances/)."""
    scheme: str = "active"
    """Our schedule-generation scheme (job-shop-lib uses its env's default filter, dominated operations)."""
    warmup_episodes: int = 1
    """Untimed episodes before each measurement (numba compilation on our side)."""
    seed: int = 0
    """Seed of the random legal actions."""
    peer: bool = True
    """Also time job-shop-lib (creates benchmarks/.venv-peer on first use)."""
    peer_graphs: tuple[str, ...] = ("disjunctive", "resource-task")
    """Graphs of job-shop-lib's SingleJobShopGraphEnv to time."""
    peer_venv: Path = BENCHMARKS_DIR / ".venv-peer"
    """Virtual environment holding job-shop-lib."""
    out: Path = Path("results/bench_env.json")
    """JSON result file; the markdown table goes beside it with the suffix .md."""


def load_peer_module() -> ModuleType:
    """``peer_job_shop_lib.py`` as a module (its top level imports only the standard library and numpy)."""
    spec = importlib.util.spec_from_file_location("peer_job_shop_lib", PEER_SCRIPT)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {PEER_SCRIPT}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------------- ours


def env_episodes(instance: Instance, scheme: str, seed: int) -> Callable[[], int]:
    """Episode runner for ``JobShopEnv``: gymnasium reset/step with random legal actions from ``action_masks``."""
    env = JobShopEnv(instance, scheme=scheme)
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)

    def run_episode() -> int:
        env.reset()
        steps, terminated = 0, False
        while not terminated:
            legal = np.flatnonzero(env.action_masks())
            _, _, terminated, _, _ = env.step(int(legal[rng.integers(legal.size)]))
            steps += 1
        return steps

    return run_episode


def state_episodes(instance: Instance, scheme: str, seed: int) -> Callable[[], int]:
    """Episode runner for the bare ``DispatchState``: no observation, no reward."""
    rng = np.random.default_rng(seed)

    def run_episode() -> int:
        state = DispatchState(instance, scheme)
        while not state.done:
            legal = np.flatnonzero(state.mask)
            state.step(int(legal[rng.integers(legal.size)]))
        return instance.num_operations

    return run_episode


def time_ours(cfg: BenchEnvConfig, time_episodes: Callable[..., dict[str, float]]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in cfg.instances:
        instance = benchmarks.load(name)
        observation, _ = JobShopEnv(instance, scheme=cfg.scheme).reset(seed=cfg.seed)
        measurements = {}
        for mode, make_episodes in (("env", env_episodes), ("dispatch_state", state_episodes)):
            print(f"ours {name} {mode} ...", file=sys.stderr, flush=True)
            run_episode = make_episodes(instance, cfg.scheme, cfg.seed)
            measurements[mode] = time_episodes(run_episode, cfg.seconds, cfg.warmup_episodes)
        results[name] = {
            "shape": [instance.num_jobs, instance.num_machines],
            "observation_shapes": {key: list(value.shape) for key, value in observation.items()},
            "measurements": measurements,
        }
    return results


# ---------------------------------------------------------------------------------------------- peer


def ensure_peer_venv(venv: Path) -> Path:
    """The peer venv's python, creating the venv and installing job-shop-lib if needed."""
    python = venv / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", "import job_shop_lib"], capture_output=True).returncode == 0:
        return python
    print(f"creating {venv} with {PEER_REQUIREMENT} ...", file=sys.stderr, flush=True)
    subprocess.run(["python3", "-m", "venv", "--clear", venv], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", PEER_REQUIREMENT], check=True)
    return python


def run_peer(cfg: BenchEnvConfig) -> dict[str, Any]:
    python = ensure_peer_venv(cfg.peer_venv)
    command = [
        python,
        PEER_SCRIPT,
        "--instances-dir",
        benchmarks.instances_dir(),
        "--instances",
        *cfg.instances,
        "--seconds",
        str(cfg.seconds),
        "--warmup-episodes",
        str(cfg.warmup_episodes),
        "--seed",
        str(cfg.seed),
        "--graphs",
        *cfg.peer_graphs,
    ]
    completed = subprocess.run([str(part) for part in command], check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(completed.stdout)


# ---------------------------------------------------------------------------------------------- report


def comparison_rows(ours: dict[str, Any], peer: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per (instance, mode): our steps/s, the peer's and their ratio (peer and ratio None without a peer)."""
    rows = []
    for name, our_result in ours.items():
        peer_measurements = peer["instances"][name]["measurements"] if peer else {}
        timed_ours: set[str] = set()
        for mode, our_key, peer_key in COMPARISONS:
            if peer_measurements and peer_key not in peer_measurements:
                continue  # a graph the peer run left out
            if not peer_measurements and our_key in timed_ours:
                continue
            timed_ours.add(our_key)
            ours_rate = our_result["measurements"][our_key]["steps_per_s"]
            peer_rate = peer_measurements[peer_key]["steps_per_s"] if peer_measurements else None
            rows.append(
                {
                    "instance": name,
                    "shape": "x".join(map(str, our_result["shape"])),
                    "mode": mode if peer_measurements else mode.split(" vs ")[0],
                    "ours_steps_per_s": ours_rate,
                    "peer_steps_per_s": peer_rate,
                    "ratio": ours_rate / peer_rate if peer_rate else None,
                }
            )
    return rows


def markdown_table(rows: list[dict[str, Any]], peer_version: str | None, cfg: BenchEnvConfig) -> str:
    lines = [
        f"Steps per second, random legal actions, whole episodes, ~{cfg.seconds:g} s per measurement, "
        f"single-threaded ({platform.processor() or platform.machine()}, Python {platform.python_version()}); "
        f"job-shop-lib {peer_version or 'not run'}; goal: ratio >= {GOAL_RATIO:g}.",
        "",
        "| instance | mode | ours steps/s | job-shop-lib steps/s | ratio | >= 10x |",
        "|---|---|---:|---:|---:|:---:|",
    ]
    for row in rows:
        peer_rate = f"{row['peer_steps_per_s']:,.0f}" if row["peer_steps_per_s"] else "-"
        ratio = f"{row['ratio']:,.1f}x" if row["ratio"] else "-"
        meets = ("yes" if row["ratio"] >= GOAL_RATIO else "no") if row["ratio"] else "-"
        lines.append(
            f"| {row['instance']} ({row['shape']}) | {row['mode']} | {row['ours_steps_per_s']:,.0f} "
            f"| {peer_rate} | {ratio} | {meets} |"
        )
    lines += [
        "",
        f"Ours: legal jobs from the {cfg.scheme} scheme; JobShopEnv's observation is 9 features per operation "
        "plus the precedence arcs and the machine arcs of the partial schedule (padded arrays).",
        "job-shop-lib: legal operations from filter_dominated_operations; SingleJobShopGraphEnv with every "
        "built-in feature observer (6 columns each for operations, machines and jobs), the edge_index of the "
        "remaining graph (the disjunctive graph keeps every undecided machine pair) and ResidualGraphUpdater.",
    ]
    return "\n".join(lines) + "\n"


def main(cfg: BenchEnvConfig) -> int:
    # ------------------------------------------------------------------ ours, in process
    time_episodes = load_peer_module().time_episodes
    ours = time_ours(cfg, time_episodes)

    # ------------------------------------------------------------------ job-shop-lib, in its own venv
    peer = run_peer(cfg) if cfg.peer else None

    # ------------------------------------------------------------------ report
    rows = comparison_rows(ours, peer)
    table = markdown_table(rows, peer["job_shop_lib_version"] if peer else None, cfg)
    result = {
        "config": {**dataclasses.asdict(cfg), "peer_venv": str(cfg.peer_venv), "out": str(cfg.out)},
        "machine": machine_record(),
        "goal_ratio": GOAL_RATIO,
        "rows": rows,
        "ours": ours,
        "peer": peer,
    }
    write_report(cfg.out, result, table)
    return 0


if __name__ == "__main__":
    sys.exit(main(tyro.cli(BenchEnvConfig)))
