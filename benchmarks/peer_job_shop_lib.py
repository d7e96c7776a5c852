"""Steps per second of job-shop-lib's construction environment, the peer of ``bench_env.py``.

    benchmarks/.venv-peer/bin/python benchmarks/peer_job_shop_lib.py --instances ta01 ta71 --seconds 5

Runs only in the peer venv that ``bench_env.py`` creates (job-shop-lib 1.7 pins ortools 9.12 and
protobuf 5, which conflict with the project's). It times two things per instance, each as full
episodes of uniformly random legal actions:

* ``graph_env/<graph>``: ``SingleJobShopGraphEnv`` (gymnasium ``reset``/``step``, a Dict
  observation every step) over the disjunctive graph and over the resource-task graph, with
  every built-in feature observer, the env's default reward (``MakespanReward``), graph updater
  (``ResidualGraphUpdater``) and legal-action filter (``filter_dominated_operations``); the legal
  actions are the env's own list, ``info["available_operations_with_ids"]``;
* ``dispatcher``: the bare ``Dispatcher`` with the same filter, no observers: the schedule
  state alone.

Instances are read from the project's ``instances/`` files and checked against the copies that
job-shop-lib bundles. Prints one JSON object to stdout.

The module imports only the standard library and numpy at the top, and job-shop-lib inside the
functions that use it, so ``bench_env.py`` (project venv, where job-shop-lib must never be
installed) can reuse :func:`time_episodes` and measure both sides with the same loop.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

GRAPHS = ("disjunctive", "resource-task")


@dataclass(frozen=True)
class PeerConfig:
    """What to time and for how long."""

    instances_dir: Path
    """Folder of the standard-format instance files (``<name>.txt``)."""
    instances: tuple[str, ...] = ("ta01", "ta71")
    """Instance names."""
    seconds: float = 5.0
    """Wall-clock seconds of each measurement; whole episodes, at least one."""
    warmup_episodes: int = 1
    """Untimed episodes before each measurement."""
    seed: int = 0
    """Seed of the random legal actions."""
    graphs: tuple[str, ...] = GRAPHS
    """Graphs of SingleJobShopGraphEnv to time: disjunctive and/or resource-task."""


def time_episodes(run_episode: Callable[[], int], seconds: float, warmup_episodes: int) -> dict[str, float]:
    """Run whole episodes until ``seconds`` have passed (at least one); ``run_episode`` returns its steps.

    Resets are inside ``run_episode``, so they count towards the time as they do in training.
    """
    for _ in range(warmup_episodes):
        run_episode()
    steps = episodes = 0
    began = time.perf_counter()
    while episodes == 0 or time.perf_counter() - began < seconds:
        steps += run_episode()
        episodes += 1
    wall = time.perf_counter() - began
    return {"steps_per_s": steps / wall, "steps": steps, "episodes": episodes, "wall_s": wall}


def read_standard_instance(path: Path) -> tuple[list[list[int]], list[list[int]]]:
    """Machines and durations, each ``(num_jobs, num_machines)``, of a file in the standard format.

    The format: "num_jobs num_machines", then one line per job of "machine duration" pairs.
    """
    numbers = [int(token) for token in path.read_text().split()]
    num_jobs, num_machines = numbers[0], numbers[1]
    pairs = np.array(numbers[2 : 2 + 2 * num_jobs * num_machines]).reshape(num_jobs, num_machines, 2)
    return pairs[..., 0].tolist(), pairs[..., 1].tolist()


def load_instance(instances_dir: Path, name: str) -> tuple[Any, bool | None]:
    """The instance as a ``JobShopInstance``, and whether it equals job-shop-lib's bundled copy (None: none bundled)."""
    from job_shop_lib import JobShopInstance
    from job_shop_lib.benchmarking import load_benchmark_json

    machines, durations = read_standard_instance(instances_dir / f"{name}.txt")
    instance = JobShopInstance.from_matrices(duration_matrix=durations, machines_matrix=machines, name=name)
    bundled = load_benchmark_json().get(name)
    if bundled is None:
        return instance, None
    return instance, bundled["machines_matrix"] == machines and bundled["duration_matrix"] == durations


def graph_env_episodes(instance: Any, graph: str, seed: int) -> tuple[Callable[[], int], dict[str, Any]]:
    """An episode runner for ``SingleJobShopGraphEnv`` on ``graph``; also its observation's shapes and features."""
    from job_shop_lib.dispatching.feature_observers import FeatureObserverType
    from job_shop_lib.graphs import build_disjunctive_graph, build_resource_task_graph
    from job_shop_lib.reinforcement_learning import SingleJobShopGraphEnv

    build = build_disjunctive_graph if graph == "disjunctive" else build_resource_task_graph
    env = SingleJobShopGraphEnv(build(instance), feature_observer_configs=list(FeatureObserverType))
    observation, _ = env.reset(seed=seed)
    description = {
        "shapes": {key: list(np.shape(value)) for key, value in observation.items()},
        "feature_columns": {kind.value: names for kind, names in env.composite_observer.column_names.items()},
    }
    rng = np.random.default_rng(seed)

    def run_episode() -> int:
        _, info = env.reset()
        steps, terminated = 0, False
        while not terminated:
            actions = info["available_operations_with_ids"]
            _, machine_id, job_id = actions[rng.integers(len(actions))]
            _, _, terminated, _, info = env.step((job_id, machine_id))
            steps += 1
        return steps

    return run_episode, description


def dispatcher_episodes(instance: Any, seed: int) -> Callable[[], int]:
    """An episode runner for the bare ``Dispatcher`` (no observers), with the env's default filter."""
    from job_shop_lib.dispatching import Dispatcher, filter_dominated_operations

    dispatcher = Dispatcher(instance, ready_operations_filter=filter_dominated_operations)
    rng = np.random.default_rng(seed)

    def run_episode() -> int:
        dispatcher.reset()
        for _ in range(instance.num_operations):
            operations = dispatcher.available_operations()
            dispatcher.dispatch(operations[rng.integers(len(operations))])
        if not dispatcher.schedule.is_complete():
            raise RuntimeError("the dispatcher episode ended with unscheduled operations")
        return instance.num_operations

    return run_episode


def main(cfg: PeerConfig) -> dict[str, Any]:
    import job_shop_lib

    unknown = set(cfg.graphs) - set(GRAPHS)
    if unknown:
        raise ValueError(f"unknown graphs {sorted(unknown)}; choose from {', '.join(GRAPHS)}")
    instances: dict[str, Any] = {}
    for name in cfg.instances:
        instance, matches_bundled = load_instance(cfg.instances_dir, name)
        measurements: dict[str, dict[str, float]] = {}
        observations: dict[str, dict[str, Any]] = {}
        for graph in cfg.graphs:
            print(f"job-shop-lib {name} graph_env/{graph} ...", file=sys.stderr, flush=True)
            run_episode, observations[graph] = graph_env_episodes(instance, graph, cfg.seed)
            measurements[f"graph_env/{graph}"] = time_episodes(run_episode, cfg.seconds, cfg.warmup_episodes)
        print(f"job-shop-lib {name} dispatcher ...", file=sys.stderr, flush=True)
        run_episode = dispatcher_episodes(instance, cfg.seed)
        measurements["dispatcher"] = time_episodes(run_episode, cfg.seconds, cfg.warmup_episodes)
        instances[name] = {
            "shape": [instance.num_jobs, instance.num_machines],
            "matches_bundled_benchmark": matches_bundled,
            "observations": observations,
            "measurements": measurements,
        }
    return {
        "job_shop_lib_version": job_shop_lib.__version__,
        "python": platform.python_version(),
        "config": {**dataclasses.asdict(cfg), "instances_dir": str(cfg.instances_dir)},
        "instances": instances,
    }


def parse_args(argv: list[str] | None = None) -> PeerConfig:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances-dir", type=Path, required=True, help="folder of <name>.txt instance files")
    parser.add_argument("--instances", nargs="+", default=list(PeerConfig.instances), help="instance names")
    parser.add_argument("--seconds", type=float, default=PeerConfig.seconds, help="seconds per measurement")
    parser.add_argument("--warmup-episodes", type=int, default=PeerConfig.warmup_episodes, help="untimed episodes")
    parser.add_argument("--seed", type=int, default=PeerConfig.seed, help="seed of the random actions")
    parser.add_argument("--graphs", nargs="+", default=list(GRAPHS), choices=GRAPHS, help="graphs to time")
    args = parser.parse_args(argv)
    return PeerConfig(
        instances_dir=args.instances_dir,
        instances=tuple(args.instances),
        seconds=args.seconds,
        warmup_episodes=args.warmup_episodes,
        seed=args.seed,
        graphs=tuple(args.graphs),
    )


if __name__ == "__main__":
    print(json.dumps(main(parse_args()), indent=1))
