"""evaluate.py end to end on a tiny budget, in-process."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from evaluate import EvaluateConfig, main
from jssp.evaluation import RESULT_COLUMNS, make_tasks, read_results_csv, resolve_instances, run_tasks, summary_tables
from jssp.executors import LocalExecutor
from jssp.options import solve_options_from
from jssp.schedule import Schedule
from jssp.solvers import SolveOptions


def test_evaluate_writes_results_schedules_and_summary(tmp_path: Path) -> None:
    cfg = EvaluateConfig(
        instances=("ft06", "la01-la02"), methods="mwkr,SPT, random,cpsat", time_limit=2.0, out=tmp_path, progress=False
    )
    assert main(cfg) == 0
    with open(tmp_path / "results.csv", newline="") as stream:
        reader = csv.DictReader(stream)
        assert tuple(reader.fieldnames or ()) == RESULT_COLUMNS
        rows = list(reader)
    assert len(rows) == 3 * 4
    assert all(row["feasible"] == "True" for row in rows)
    by_key = {(row["instance"], row["method"]): row for row in rows}
    assert by_key[("ft06", "cpsat")]["makespan"] == "55" and float(by_key[("ft06", "cpsat")]["gap_pct"]) == 0.0
    ft06_mwkr = by_key[("ft06", "mwkr")]
    assert abs(float(ft06_mwkr["gap_pct"]) - 100 * (int(ft06_mwkr["makespan"]) - 55) / 55) < 1e-3
    assert (tmp_path / "schedules" / "la02__random.json").exists()
    saved = json.loads((tmp_path / "schedules" / "ft06__cpsat.json").read_text())
    assert saved["makespan"] == 55 and saved["best_known"] == 55
    summary = (tmp_path / "summary.md").read_text()
    assert "| ft 6x6 | 1 |" in summary and "| la 10x5 | 2 |" in summary
    assert json.loads((tmp_path / "config.json").read_text())["methods"] == "mwkr,SPT, random,cpsat"


def test_same_seed_same_results_in_parallel_and_serial(tmp_path: Path) -> None:
    tasks = make_tasks(resolve_instances(["la01-la03"]), ["random", "fdd-mwkr"])
    options = SolveOptions(seed=7)
    serial = run_tasks(tasks, options, workers=1, progress=False)
    parallel = run_tasks(tasks, options, workers=2, progress=False)
    assert [row["makespan"] for row in serial] == [row["makespan"] for row in parallel]
    other = run_tasks(tasks, SolveOptions(seed=8), workers=1, progress=False)
    assert [row["makespan"] for row in serial] != [row["makespan"] for row in other]


def test_files_are_resolved_and_recognised(tmp_path: Path) -> None:
    copy = tmp_path / "upload.txt"
    copy.write_text((Path(__file__).resolve().parents[1] / "instances" / "la03.txt").read_text())
    rows = run_tasks(make_tasks(resolve_instances([str(copy)]), ["mwkr"]), SolveOptions(), progress=False)
    assert rows[0]["instance"] == "upload" and rows[0]["family"] == "la" and rows[0]["best_known"] == 597


def test_a_folder_means_every_file_in_it(tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parents[1] / "instances"
    folder = tmp_path / "shop"
    folder.mkdir()
    for name in ("la03", "ft06", "la01"):
        (folder / f"{name}.txt").write_text((shipped / f"{name}.txt").read_text())
    (folder / ".notes").write_text("not an instance")
    assert [instance.name for instance in resolve_instances([str(folder), str(folder / "la01.txt")])] == [
        "ft06", "la01", "la03"
    ]  # fmt: skip
    (tmp_path / "empty").mkdir()
    with pytest.raises(KeyError, match="holds no files"):
        resolve_instances([str(tmp_path / "empty")])


def test_failed_solver_is_a_row_not_a_crash(tmp_path: Path) -> None:
    from jssp import solvers

    def broken(instance, options):  # type: ignore[no-untyped-def]
        starts = Schedule(instance, instance.durations * 0).start_times  # everything at time 0: infeasible
        return Schedule(instance, starts)

    solvers.register("broken-for-test", broken)
    rows = run_tasks(make_tasks(resolve_instances(["ft06"]), ["broken-for-test"]), SolveOptions(), progress=False)
    assert rows[0]["feasible"] is False and "InfeasibleScheduleError" in rows[0]["error"]


def test_summary_table_means(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    path.write_text(
        ",".join(RESULT_COLUMNS)
        + "\nta01,ta,15,15,mwkr,1300,1231,10.0,0.1,True\nta02,ta,15,15,mwkr,1300,1244,20.0,0.3,True\n"
    )
    summary = summary_tables(read_results_csv(path))
    assert "| ta 15x15 | 2 | 15.0 |" in summary and "| ta 15x15 | 2 | 0.200 |" in summary


def test_options_are_built_and_checked_like_those_of_jssp_solve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = EvaluateConfig(time_limit=1.5, seed=4, cpsat_workers=3, scheme="active", samples=5, temperature=0.5)
    expected = SolveOptions(time_limit=1.5, seed=4, cpsat_workers=3, scheme="active", samples=5, temperature=0.5)
    assert solve_options_from(cfg) == expected
    bad: list[tuple[dict[str, Any], str]] = [
        ({"time_limit": float("inf")}, "--time-limit must be a finite number of seconds above 0, got inf"),
        ({"time_limit": float("nan")}, "--time-limit must be a finite number of seconds above 0, got nan"),
        ({"seed": -1}, "--seed must be between 0 and 2147483647, got -1"),
        ({"workers": -3}, "--workers must be at least 1, got -3"),
        ({"cpsat_workers": 0}, "--cpsat-workers must be between 1 and 1024, got 0"),
        ({"cpsat_workers": 100000}, "--cpsat-workers must be between 1 and 1024, got 100000"),
        ({"samples": 10**6}, "--samples must be between 1 and 1024, got 1000000"),
        ({"temperature": 1e-300}, "--temperature must be between 0.01 and 100, got 1e-300"),
    ]
    for index, (changes, message) in enumerate(bad):
        out = tmp_path / f"run{index}"
        assert main(EvaluateConfig(instances=("ft06",), methods="tabu", out=out, progress=False, **changes)) == 2
        assert capsys.readouterr().err.splitlines()[-1] == f"evaluate.py: error: {message}"
        assert not out.exists()  # nothing was solved or written


def test_a_folder_saved_before_the_problem_settings_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = EvaluateConfig(instances=("ft06",), methods="mwkr,spt", out=tmp_path, progress=False)
    assert main(cfg) == 0
    saved = json.loads((tmp_path / "config.json").read_text())
    for name in ("problem", "shutdown_rates", "seeds", "interruption_mode"):  # as an older evaluate.py wrote it
        del saved[name]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    capsys.readouterr()
    assert main(dataclasses.replace(cfg, resume=True)) == 0
    assert "(2 already in results.csv)" in capsys.readouterr().err
    assert main(dataclasses.replace(cfg, resume=True, methods="mwkr")) == 2
    assert "--methods 'mwkr,spt' there, 'mwkr' now" in capsys.readouterr().err


def test_default_methods_depend_on_the_problem(tmp_path: Path) -> None:
    cfg = EvaluateConfig(instances=("ft06",), methods=None, out=tmp_path, progress=False, problem="isbjssp")
    assert main(cfg) == 0
    with open(tmp_path / "results.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["method"] for row in rows] == ["spt", "lpt", "mwkr", "lwkr", "mor", "lor", "mopnr", "fifo",
                                               "fdd-mwkr", "random"]  # fmt: skip
    assert json.loads((tmp_path / "config.json").read_text())["methods"] == ",".join(row["method"] for row in rows)


# ---------------------------------------------------------------- bad inputs: one line, exit 2, nothing lost


def _run(cfg: EvaluateConfig, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(cfg)
    return status, capsys.readouterr().err


@pytest.mark.parametrize(
    ("instances", "expected"),
    [
        (("ft06", "ta999"), "evaluate.py: error: unknown instance selector 'ta999': use a name (ta01), a family"),
        (("ft06", "{tmp}/bad.txt"), "evaluate.py: error: {tmp}/bad.txt:2: job 0 has 3 numbers"),
        (("{tmp}/missing.txt",), "evaluate.py: error: instance file '{tmp}/missing.txt' does not exist"),
        (("/dev/zero",), "evaluate.py: error: /dev/zero: input is more than the 134217728 bytes allowed"),
    ],
)
def test_a_bad_instance_selector_or_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], instances: tuple[str, ...], expected: str
) -> None:
    (tmp_path / "bad.txt").write_text("2 2\n0 1 1\n")
    selectors = tuple(selector.format(tmp=tmp_path) for selector in instances)
    cfg = EvaluateConfig(instances=selectors, methods="mwkr", out=tmp_path / "out", progress=False)
    status, err = _run(cfg, capsys)
    assert status == 2 and err.startswith(expected.format(tmp=tmp_path)) and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()


def test_out_that_is_a_file_or_cannot_be_written_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("mine")
    for out, expected in [
        (tmp_path / "a-file", f"--out {tmp_path / 'a-file'} is a file; give a folder"),
        (tmp_path / "a-file" / "sub", f"--out {tmp_path / 'a-file' / 'sub'}: cannot write there (Not a directory)"),
        (Path("/proc/jssp-evaluation"), "--out /proc/jssp-evaluation: cannot write there"),
    ]:
        status, err = _run(EvaluateConfig(instances=("ft06",), methods="mwkr", out=out, progress=False), capsys)
        assert status == 2 and err.startswith(f"evaluate.py: error: {expected}") and err.count("\n") == 1, err
    assert (tmp_path / "a-file").read_text() == "mine"


def test_a_folder_that_holds_no_evaluation_is_refused_and_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "notes.txt").write_text("mine")
    (tmp_path / "results.csv").write_text("my,own\n1,2\n")
    for resume in (False, True):
        cfg = EvaluateConfig(instances=("ft06",), methods="mwkr", out=tmp_path, progress=False, resume=resume)
        status, err = _run(cfg, capsys)
        assert status == 2 and err == (
            f"evaluate.py: error: --out {tmp_path} is not empty and holds no evaluation (no config.json written by "
            "evaluate.py): choose a new or empty folder\n"
        )
    assert (tmp_path / "results.csv").read_text() == "my,own\n1,2\n"
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["notes.txt", "results.csv", "schedules"]


def test_replacing_an_evaluation_removes_only_the_files_an_evaluation_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = EvaluateConfig(instances=("ft06", "la01"), methods="mwkr,spt", out=tmp_path, progress=False)
    assert main(cfg) == 0
    (tmp_path / "schedules" / "notes.txt").write_text("mine")
    (tmp_path / "my-plot.png").write_bytes(b"png")
    status, err = _run(dataclasses.replace(cfg, instances=("ft06",), methods="lwkr"), capsys)
    assert status == 0 and f"replacing the earlier evaluation in {tmp_path}" in err
    assert sorted(path.name for path in (tmp_path / "schedules").iterdir()) == ["ft06__lwkr.json", "notes.txt"]
    assert (tmp_path / "my-plot.png").read_bytes() == b"png"
    assert [row["method"] for row in read_results_csv(tmp_path / "results.csv")] == ["lwkr"]


def test_two_files_with_the_same_name_are_both_solved_under_their_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    instances = Path(__file__).resolve().parents[1] / "instances"
    for folder, source in (("a", "ft06"), ("b", "la01")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.txt").write_bytes((instances / f"{source}.txt").read_bytes())
    monkeypatch.chdir(tmp_path)
    cfg = EvaluateConfig(instances=("a/x.txt", "b/x.txt", "./a/x.txt", "ft06"), methods="mwkr", out=Path("out"))
    status, err = _run(dataclasses.replace(cfg, progress=False), capsys)
    assert status == 0 and "b/x.txt: several instances are named x; this one is b/x" in err
    rows = read_results_csv(tmp_path / "out" / "results.csv")
    assert sorted((row["instance"], row["num_jobs"]) for row in rows) == [("a/x", 6), ("b/x", 10), ("ft06", 6)]
    assert sorted(path.name for path in (tmp_path / "out" / "schedules").iterdir()) == [
        "a_x__mwkr.json", "b_x__mwkr.json", "ft06__mwkr.json"
    ]  # fmt: skip


def test_a_method_named_twice_is_solved_once(tmp_path: Path) -> None:
    cfg = EvaluateConfig(instances=("ft06",), methods="mwkr,MWKR, mwkr,spt", out=tmp_path, progress=False)
    assert main(cfg) == 0
    assert [row["method"] for row in read_results_csv(tmp_path / "results.csv")] == ["mwkr", "spt"]


def test_device_cuda_without_cuda_is_one_line_before_any_solve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    cfg = EvaluateConfig(instances=("ft06",), methods="mwkr,gnn", device="cuda", out=tmp_path / "out", progress=False)
    status, err = _run(cfg, capsys)
    assert status == 2 and err == (
        "evaluate.py: error: --device cuda: CUDA is not available here (this torch is a CPU build); "
        "use --device cpu or auto\n"
    )
    assert not (tmp_path / "out").exists()


_CALLS: list[str] = []


def _count_initializer() -> None:
    _CALLS.append("initialized")


def test_one_local_worker_is_this_process_and_is_set_up_once_before_its_first_task() -> None:
    # Without it, the first timed solve of a --workers 1 evaluation paid for loading the kernels.
    executor = LocalExecutor(1, _count_initializer)
    seen = []
    for index, value in executor.run(lambda item: seen.append(len(_CALLS)) or item * 2, [1, 2, 3], (), [1, 1, 1]):
        assert value == 2 * (index + 1)
    list(executor.run(lambda item: item, [4], (), [1]))
    assert _CALLS == ["initialized"] and seen == [1, 1, 1]


def test_solver_processes_import_torch_only_when_a_learned_method_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import evaluate

    chosen = []

    def capture(backend: str, workers: int, initializer: Any, address: str) -> LocalExecutor:
        chosen.append(initializer.plugins)
        return LocalExecutor(1)

    monkeypatch.setattr(evaluate, "make_executor", capture)
    assert main(EvaluateConfig(instances=("ft06",), methods="mwkr,tabu", time_limit=0.2, out=tmp_path / "a")) == 0
    assert main(EvaluateConfig(instances=("ft06",), methods="mwkr,gnn", out=tmp_path / "b", progress=False)) == 0
    assert chosen == [False, True]  # the plugins (torch) load in the workers of the second run only


def test_a_solve_cut_short_by_ctrl_c_leaves_no_row_so_that_resume_solves_it_again(tmp_path: Path) -> None:
    from jssp import solvers
    from jssp.rules import dispatch

    def interrupted(instance: Any, options: SolveOptions) -> Schedule:
        schedule = dispatch(instance, "spt")
        schedule.info["interrupted"] = True  # what tabu search returns after Ctrl-C
        return schedule

    solvers.register("interrupted-for-test", interrupted)
    try:
        cfg = EvaluateConfig(instances=("ft06", "la01"), methods="mwkr,interrupted-for-test", out=tmp_path)
        with pytest.raises(KeyboardInterrupt):
            main(dataclasses.replace(cfg, progress=False))
        assert [(row["instance"], row["method"]) for row in read_results_csv(tmp_path / "results.csv")] == [
            ("ft06", "mwkr")
        ]
    finally:
        solvers._REGISTRY.pop(("jssp", "interrupted-for-test"))
