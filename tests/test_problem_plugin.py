"""A problem variant defined only in tests/ (:mod:`release_problem`) runs through every front door unchanged:
``jssp solve``, ``evaluate.py`` (with ``--resume`` and spawned solver processes) and the web API."""

from __future__ import annotations

import csv
import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from fastapi.testclient import TestClient

import evaluate
from jssp import problems
from jssp.cli import main as jssp_main
from jssp.web.app import ServeConfig, create_app

INSTANCE = "3 2\n0 3 1 2\n1 4 0 1\n0 2 1 2\nrelease {} {} {}\n"
RELEASES = {"a": (0, 5, 1), "b": (4, 0, 0), "c": (2, 2, 9)}


@pytest.fixture()
def release_problem() -> Iterator[ModuleType]:
    """The variant registered in this process for the test, and removed after it (other tests see two problems)."""
    module = importlib.import_module("release_problem")
    module.register_release_problem()
    yield module
    problems._PROBLEMS.pop(module.NAME)


def _files(folder: Path) -> list[Path]:
    paths = []
    for name, release in RELEASES.items():
        path = folder / f"{name}.txt"
        path.write_text(INSTANCE.format(*release))
        paths.append(path)
    return paths


def _first_starts(document: dict) -> list[int]:
    return [row[0] for row in document["start_times"]]


def test_jssp_solve_reads_checks_solves_and_writes_the_variant(
    release_problem: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _files(tmp_path)[0]
    out, chart = tmp_path / "a.json", tmp_path / "a.png"
    argv = ["solve", str(path), "--problem", "jssp-release", "--method", "release-est", "--release-offset", "2"]
    assert jssp_main([*argv, "--output", str(out), "--gantt", str(chart)]) == 0
    printed = capsys.readouterr().out
    assert "instance   a (3 jobs x 2 machines)" in printed and "method     release-est" in printed
    document = json.loads(out.read_text())
    assert document["format"] == "jssp-release-schedule/1" and document["release"] == [0, 5, 1]
    assert all(start >= release + 2 for start, release in zip(_first_starts(document), (0, 5, 1), strict=True))
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    assert jssp_main([*argv[:-1], "-1"]) == 2  # the option's own check, through the generated flag
    assert capsys.readouterr().err == "jssp: error: --release-offset must be at least 0, got -1\n"
    assert jssp_main(["solve", str(path), "--release-offset", "2"]) == 2
    assert "--release-offset applies to --problem jssp-release only" in capsys.readouterr().err
    assert jssp_main([*argv[:-2], "--csv", str(tmp_path / "a.csv")]) == 2  # an output the variant does not offer
    assert "--csv is not offered for --problem jssp-release" in capsys.readouterr().err


def test_evaluate_runs_and_resumes_the_variant_with_its_own_columns(
    release_problem: ModuleType, tmp_path: Path
) -> None:
    config = evaluate.config_class()  # its flags include the variant's option, generated
    paths = tuple(str(path) for path in _files(tmp_path))
    settings = {"problem": "jssp-release", "instances": paths, "release_offset": 1, "progress": False}
    assert evaluate.main(config(**settings, out=tmp_path / "run")) == 0
    results = tmp_path / "run" / "results.csv"
    complete = results.read_text()
    rows = list(csv.DictReader(complete.splitlines()))
    assert list(rows[0]) == list(release_problem.PROBLEM.result_columns)
    assert [(row["instance"], row["latest_release"]) for row in rows] == [("a", "6"), ("b", "5"), ("c", "10")]
    assert "# Release dates" in (tmp_path / "run" / "summary.md").read_text()

    # A killed run keeps its first row; resumed in two spawned solver processes (which import the variant's
    # module by name), it solves the other two and ends with the same rows.
    results.write_text("".join(complete.splitlines(keepends=True)[:2]))
    assert evaluate.main(config(**settings, out=tmp_path / "run", resume=True, workers=2)) == 0
    resumed = list(csv.DictReader(results.read_text().splitlines()))
    assert [row["makespan"] for row in resumed] == [row["makespan"] for row in rows]
    assert evaluate.main(config(**{**settings, "release_offset": 3}, out=tmp_path / "run", resume=True)) == 2


def test_web_api_offers_solves_and_draws_the_variant(release_problem: ModuleType, tmp_path: Path) -> None:
    config = ServeConfig(workers=1, worker_setup=release_problem.register_release_problem)
    content = INSTANCE.format(*RELEASES["c"]).encode()
    with TestClient(create_app(config)) as client:
        listing = client.get("/api/methods").json()["problems"]["jssp-release"]
        assert listing["methods"] == ["release-est"] and [option["name"] for option in listing["options"]] == [
            "release_offset"
        ]
        fields = {"problem": "jssp-release", "method": "release-est", "release_offset": "3"}
        response = client.post("/api/solve", files={"file": ("c.txt", content, "text/plain")}, data=fields)
        assert response.status_code == 200, response.text
        document = response.json()
        assert document["format"] == "jssp-release-schedule/1" and document["release"] == [2, 2, 9]
        assert min(np.array(_first_starts(document)) - np.array([2, 2, 9])) >= 3
        chart = client.post("/api/gantt.png", json=document)
        assert chart.status_code == 200 and chart.content[:8] == b"\x89PNG\r\n\x1a\n"
        # Every operation 4 earlier: still a job-shop schedule, but jobs a and b start before their release dates.
        shifted = [{**operation, "start": operation["start"] - 4} for operation in document["operations"]]
        early = client.post("/api/gantt.png", json={**document, "operations": shifted})
        assert (
            early.status_code == 422 and "before its release date" in early.json()["detail"]
        )  # the variant's validator
        bad = client.post(
            "/api/solve", files={"file": ("c.txt", content, "text/plain")}, data={**fields, "release_offset": "-1"}
        )
        assert bad.status_code == 422 and bad.json()["detail"] == "release_offset must be at least 0, got -1"


def test_a_minimal_variant_needs_only_a_name_and_a_method(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every hook but the name has a default (the job shop's validator, report, document, chart and evaluation)."""
    from jssp.problems import Problem, register_problem
    from jssp.rules import dispatch
    from jssp.solvers import register

    class Minimal(Problem):
        name = "minimal-for-test"
        description = "the job shop under another name"
        default_methods = ("first",)

    register_problem(Minimal())
    register("first", lambda instance, options: dispatch(instance, "fifo"), problem="minimal-for-test")
    try:
        ft06 = Path(__file__).resolve().parents[1] / "instances" / "ft06.txt"
        out, chart = tmp_path / "s.json", tmp_path / "s.png"
        argv = ["solve", str(ft06), "--problem", "minimal-for-test", "--method", "first"]
        assert jssp_main([*argv, "--output", str(out), "--gantt", str(chart)]) == 0
        printed = capsys.readouterr().out
        assert "= benchmark ft06" in printed and "best known 55" in printed
        document = json.loads(out.read_text())
        assert document["format"] == "jssp-schedule/1" and document["best_known"] == 55
        assert chart.read_bytes()[:4] == b"\x89PNG"
        config = evaluate.config_class()
        run = tmp_path / "run"
        assert (
            evaluate.main(config(problem="minimal-for-test", instances=("ft06", "la01"), out=run, progress=False)) == 0
        )
        rows = list(csv.DictReader((run / "results.csv").read_text().splitlines()))
        assert [(row["instance"], row["method"], row["best_known"]) for row in rows] == [
            ("ft06", "first", "55"),
            ("la01", "first", "666"),
        ]
        assert (run / "schedules" / "ft06__first.json").exists()
    finally:
        problems._PROBLEMS.pop("minimal-for-test")


def test_a_variant_named_in_jssp_problems_runs_in_a_fresh_process(tmp_path: Path) -> None:
    """``JSSP_PROBLEMS`` imports a variant's module in a process that has not (a script, a solver process)."""
    import os
    import subprocess
    import sys

    path = _files(tmp_path)[1]
    tests = str(Path(__file__).resolve().parent)
    env = {**os.environ, "JSSP_PROBLEMS": "release_problem", "PYTHONPATH": tests}
    command = [
        sys.executable,
        "-m",
        "jssp.cli",
        "solve",
        str(path),
        "--problem",
        "jssp-release",
        "--method",
        "release-est",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert completed.returncode == 0, completed.stderr
    assert "method     release-est" in completed.stdout
    without = subprocess.run(command, capture_output=True, text=True, env={**env, "JSSP_PROBLEMS": ""}, check=False)
    assert without.returncode == 2 and "--problem" in without.stderr  # argparse: not a registered problem
