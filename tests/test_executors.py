"""Executors: the local process pool and Ray (a local Ray of two CPUs), their results and their faults."""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from evaluate import EvaluateConfig
from evaluate import main as evaluate_main
from jssp import benchmarks
from jssp.evaluation import make_tasks, run_one_task, run_tasks, task_cpus
from jssp.executors import RAY_INSTALL_HINT, BackendError, LocalExecutor, RayExecutor, make_executor
from jssp.files import read_csv_rows
from jssp.solvers import SolveOptions

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install '.[ray]'")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One local Ray of two CPUs for the module; executors created meanwhile join it and leave it running."""
    # Ray's workers cannot import this test module: its helpers travel by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@dataclasses.dataclass(frozen=True)
class Item:
    instance: object
    value: int


def _describe(item: Item, offset: int) -> tuple[str, int]:
    return str(getattr(item.instance, "name", item.instance)), item.value + offset


def _die_once(item: Item, marker_dir: str) -> int:
    """Kills its own worker process the first time it meets item 2 (a worker dying mid-task)."""
    marker = Path(marker_dir) / f"attempt-{item.value}"
    if item.value == 2 and not marker.exists():
        marker.write_text("killed")
        os.kill(os.getpid(), signal.SIGKILL)
    return item.value * 10


def _evaluate(out: Path, **settings: object) -> list[dict[str, str]]:
    cfg = EvaluateConfig(out=out, progress=False, **settings)  # type: ignore[arg-type]
    assert evaluate_main(cfg) == 0
    return read_csv_rows(out / "results.csv")


def test_ray_and_local_backends_give_the_same_results(tmp_path: Path, local_ray: None) -> None:
    classical = {"instances": ("ft06", "la01-la03"), "methods": "mwkr,spt,fdd-mwkr,lor"}
    blocking = {
        "problem": "isbjssp",
        "instances": ("ft06", "la01"),
        "methods": "lor,spt,random,lookahead-lor",
        "shutdown_rates": (0.0, 0.01),
        "seeds": 3,
    }
    for name, settings in (("classical", classical), ("blocking", blocking)):
        local = _evaluate(tmp_path / f"{name}-local", workers=2, **settings)
        on_ray = _evaluate(tmp_path / f"{name}-ray", backend="ray", **settings)

        def key(row: dict[str, str]) -> tuple[str, ...]:
            return (row["instance"], row.get("rate", ""), row.get("seed", ""), row["method"])

        assert len(on_ray) == len(local) == len({key(row) for row in on_ray})
        assert {key(row): row["makespan"] for row in on_ray} == {key(row): row["makespan"] for row in local}
        assert all(row["feasible"] == "True" for row in on_ray)
        assert len(list((tmp_path / f"{name}-ray" / "schedules").glob("*.json"))) == len(on_ray)


def test_a_worker_killed_mid_task_is_retried_and_every_row_arrives_once(tmp_path: Path, local_ray: None) -> None:
    executor = RayExecutor()
    items = [Item(None, value) for value in range(5)]
    results = list(executor.run(_die_once, items, (str(tmp_path),), [1] * len(items)))
    assert (tmp_path / "attempt-2").exists()  # the worker did die once
    assert sorted(results) == [(index, index * 10) for index in range(5)]


def test_each_instance_travels_once_and_tasks_ask_for_their_cpus(
    local_ray: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    executor = RayExecutor()
    ft06, la01 = benchmarks.load("ft06"), benchmarks.load("la01")
    items = [Item(ft06, 1), Item(la01, 2), Item(ft06, 3), Item(ft06, 4)]
    puts: list[object] = []
    real_put = ray.put
    monkeypatch.setattr(ray, "put", lambda value: puts.append(value) or real_put(value))
    results = dict(executor.run(_describe, items, (100,), [1, 2, 1, 5]))  # 5 CPUs: more than the cluster has
    assert results == {0: ("ft06", 101), 1: ("la01", 102), 2: ("ft06", 103), 3: ("ft06", 104)}
    assert [getattr(value, "name", value) for value in puts] == [100, "ft06", "la01"]
    options = SolveOptions(cpsat_workers=3)
    tasks = make_tasks([ft06], ["mwkr", "cpsat", "tabu"])
    assert [task_cpus(task, options) for task in tasks] == [1, 3, 1]


def test_run_tasks_streams_rows_on_every_executor(tmp_path: Path, local_ray: None) -> None:
    tasks = make_tasks([benchmarks.load("ft06"), benchmarks.load("la01")], ["mwkr", "spt"])
    for executor in (LocalExecutor(1), LocalExecutor(2), RayExecutor()):
        streamed: list[dict[str, object]] = []
        rows = run_tasks(tasks, SolveOptions(), progress=False, on_rows=streamed.extend, executor=executor)
        assert [(row["instance"], row["method"]) for row in rows] == [("ft06", "mwkr"), ("ft06", "spt"),
                                                                      ("la01", "mwkr"), ("la01", "spt")]  # fmt: skip
        assert sorted(map(str, streamed)) == sorted(map(str, rows))
        assert run_one_task(tasks[0], SolveOptions(), None)[0]["makespan"] == rows[0]["makespan"]


def test_without_ray_the_backend_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(BackendError, match=r"pip install '\.\[ray\]'"):
        make_executor("ray")
    cfg = EvaluateConfig(instances=("ft06",), methods="mwkr", backend="ray", out=tmp_path, progress=False)
    assert evaluate_main(cfg) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"evaluate.py: error: {RAY_INSTALL_HINT}"
    with pytest.raises(ValueError, match="unknown backend 'dask'"):
        make_executor("dask")


def test_the_imitation_teacher_gives_the_same_experts_on_ray(tmp_path: Path, local_ray: None) -> None:
    from agents.imitation import generate_experts

    settings = {"sizes": [(5, 4), (6, 4)], "count": 6, "iterations": 200, "seed": 3, "progress": False}
    local = generate_experts(tmp_path / "local.npz", **settings, executor=LocalExecutor(1))  # type: ignore[arg-type]
    on_ray = generate_experts(tmp_path / "ray.npz", **settings, executor=RayExecutor())  # type: ignore[arg-type]
    assert [expert.instance.name for expert in on_ray] == [f"train-{index}" for index in range(6)]
    for one, other in zip(local, on_ray, strict=True):
        assert one.instance == other.instance and (one.start_times == other.start_times).all()
