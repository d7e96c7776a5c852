"""`jssp solve`: output, files written, and one-line errors with exit status 2."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from jssp import cli
from jssp.cli import main
from jssp.generators import random_general_instance
from jssp.instance import Instance
from jssp.parsing import format_jsplib, format_orlib, format_standard, format_taillard, read_instance
from jssp.rules import dispatch
from jssp.schedule import Schedule
from jssp.solvers import SolveOptions

INSTANCES = Path(__file__).resolve().parents[1] / "instances"


def test_solve_known_benchmark_reports_gap_and_writes_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output, gantt, table = tmp_path / "s.json", tmp_path / "g.png", tmp_path / "s.csv"
    status = main(
        ["solve", str(INSTANCES / "ft06.txt"), "--method", "cpsat", "--time-limit", "5", "--output", str(output)]
        + ["--gantt", str(gantt), "--csv", str(table)]
    )
    printed = capsys.readouterr().out
    assert status == 0
    assert "makespan   55" in printed and "gap        0.00 %" in printed and "lower bd   55" in printed
    document = json.loads(output.read_text())
    assert document["format"] == "jssp-schedule/1"
    assert document["makespan"] == 55 and document["best_known"] == 55 and document["lower_bound"] == 55
    assert len(document["operations"]) == 36 and len(document["start_times"]) == 6
    assert gantt.read_bytes().startswith(b"\x89PNG")
    assert len(table.read_text().strip().splitlines()) == 37


def test_uploaded_copy_in_another_layout_is_recognised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "my_shop.txt"
    copy.write_text(format_taillard(read_instance(INSTANCES / "ta01.txt")).replace("\n", "\r\n"))
    assert main(["solve", str(copy), "--method", "mwkr"]) == 0
    printed = capsys.readouterr().out
    assert "= benchmark ta01" in printed and "best known 1231" in printed


def test_unknown_instance_prints_no_gap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tiny.txt"
    path.write_text("2 2\n0 3 1 2\n1 4 0 1\n")
    assert main(["solve", str(path), "--method", "spt"]) == 0
    printed = capsys.readouterr().out
    assert "gap" not in printed and "lower bd   6" in printed  # machine 1 load 2 + 4


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "file is empty"),
        (b"2 2\n0 3 1 2\n", ":2: truncated"),
        (b"2 2\n0 3 1 2\n0 1 5 1\n", ":3: job 1 operation 1: machine 5 outside 0..1"),
        (b"2 2\n0 3 1 -2\n1 1 0 1\n", ":2: job 0 operation 1: negative duration -2"),
        (b"2 2\n0 3 1 2.5\n1 1 0 1\n", "is not an integer"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not a text file"),
        (b"900000 900000\n", "larger than supported"),
        (b"2 2\n0 3 1 2\n1 " + b"9" * 5000 + b" 0 1\n", ":3: job 1: token 2: integer 99999999999999999999... (5000 "),
        (b"2 2\n0 3 1 2\n1 4 0 -1\n", ":3: job 1 operation 1: negative duration -1"),
    ],
)
def test_malformed_file_gives_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, expected: str
) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    assert main(["solve", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"jssp: error: {path}") and expected in lines[0]


# ---------------------------------------------------------------- general routes and other layouts


def test_general_route_file_solves_with_a_rule_and_writes_json_and_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    instance = random_general_instance(9, 4, seed=7, name="mixed")
    path, output, table = tmp_path / "mixed.txt", tmp_path / "s.json", tmp_path / "s.csv"
    header, *jobs = format_standard(instance).splitlines()
    path.write_text(header + "\n" + "".join(f"{line} -1 -1\n" for line in jobs))  # Da Col & Teppan's line ends
    assert main(["solve", str(path), "--method", "mwkr", "--output", str(output), "--csv", str(table)]) == 0
    printed = capsys.readouterr().out
    expected = dispatch(instance, "mwkr").makespan
    assert f"instance   mixed (9 jobs x 4 machines, {instance.num_operations} operations)" in printed
    assert f"makespan   {expected}" in printed
    document = json.loads(output.read_text())
    assert document["makespan"] == expected and document["instance"]["num_machines"] == 4
    assert [len(row) for row in document["start_times"]] == instance.lengths.tolist()
    Schedule.from_dict(document, instance).check()
    assert len(table.read_text().strip().splitlines()) == instance.num_operations + 1


def test_instance_of_a_collection_is_chosen_with_instance(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "jobshop.txt"
    path.write_text(
        format_orlib(read_instance(INSTANCES / "ft06.txt")) + format_orlib(read_instance(INSTANCES / "la01.txt"))
    )
    assert main(["solve", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == (
        f"jssp: error: {path}:17: file holds 2 instances (ft06, la01); select one by name with --instance NAME\n"
    )
    assert main(["solve", str(path), "--instance", "la01", "--method", "mwkr"]) == 0
    printed = capsys.readouterr().out
    assert "instance   la01 (10 jobs x 5 machines) = benchmark la01" in printed and "best known 666" in printed
    assert main(["solve", str(path), "--instance", "la02"]) == 2
    assert "no instance named 'la02'; the file holds 2: ft06, la01" in capsys.readouterr().err


@pytest.mark.parametrize("layout", ["gzip", "jsplib"])
def test_gzip_and_jsplib_files_are_read(tmp_path: Path, capsys: pytest.CaptureFixture[str], layout: str) -> None:
    ft06 = read_instance(INSTANCES / "ft06.txt")
    if layout == "gzip":
        path = tmp_path / "shop.txt.gz"
        path.write_bytes(gzip.compress(format_standard(ft06).encode()))
    else:
        path = tmp_path / "shop.json"
        path.write_text(format_jsplib(ft06.renamed("shop")))
    assert main(["solve", str(path), "--method", "spt"]) == 0
    printed = capsys.readouterr().out
    assert "instance   shop (6 jobs x 6 machines) = benchmark ft06" in printed and "best known 55" in printed


def test_unknown_method_and_missing_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", str(INSTANCES / "ft06.txt"), "--method", "nope"]) == 2
    assert "unknown method 'nope'" in capsys.readouterr().err
    assert main(["solve", str(tmp_path / "missing.txt")]) == 2
    assert "cannot read file" in capsys.readouterr().err


def test_serve_binds_localhost_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn
    from fastapi import FastAPI

    calls: list[tuple[object, str, int]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port: calls.append((app, host, port)))
    assert main(["serve"]) == 0
    assert main(["serve", "--port", "8123", "--workers", "1", "--max-time-limit", "2"]) == 0
    assert [(host, port) for _, host, port in calls] == [("127.0.0.1", 8000), ("127.0.0.1", 8123)]
    assert isinstance(calls[1][0], FastAPI) and calls[1][0].state.config.max_time_limit == 2.0


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["serve", "--workers", "0"], "--workers must be at least 1, got 0"),
        (["serve", "--workers", "-3"], "--workers must be at least 1, got -3"),
        (["serve", "--port", "70000"], "--port must be between 1 and 65535, got 70000"),
        (["serve", "--max-time-limit", "inf"], "--max-time-limit must be a finite number of seconds above 0, got inf"),
        (["serve", "--cpsat-workers", "0"], "--cpsat-workers must be at least 1, got 0"),
    ],
)
def test_serve_rejects_bad_settings_before_binding(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", _must_not_run)
    assert main(argv) == 2
    assert capsys.readouterr().err == f"jssp: error: {expected}\n"


# ---------------------------------------------------------------- options


def _must_not_run(*args: object, **kwargs: object) -> None:
    raise AssertionError("reached the work although an option was out of range")


def test_every_method_option_reaches_the_solver(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[SolveOptions] = []

    def spy(instance: Instance, method: str, options: SolveOptions) -> Schedule:
        seen.append(options)
        return dispatch(instance, "mwkr")

    monkeypatch.setattr(cli, "solve", spy)
    argv = ["solve", str(INSTANCES / "ft06.txt"), "--time-limit", "3.5", "--seed", "7", "--cpsat-workers", "3"]
    argv += ["--scheme", "active", "--device", "cpu", "--checkpoint", "gnn-ppo", "--improvement-checkpoint", "ls-x"]
    argv += ["--samples", "5", "--temperature", "0.5"]
    assert main(argv) == 0
    assert seen == [
        SolveOptions(
            time_limit=3.5,
            seed=7,
            cpsat_workers=3,
            scheme="active",
            device="cpu",
            checkpoint="gnn-ppo",
            improvement_checkpoint="ls-x",
            samples=5,
            temperature=0.5,
        )
    ]
    assert main(["solve", str(INSTANCES / "ft06.txt")]) == 0
    assert seen[1] == SolveOptions()  # the flags' defaults are SolveOptions' defaults


def test_scheme_reaches_the_rules(capsys: pytest.CaptureFixture[str]) -> None:
    instance = read_instance(INSTANCES / "ta01.txt")
    for scheme in ("active", "non-delay"):
        assert main(["solve", str(INSTANCES / "ta01.txt"), "--method", "spt", "--scheme", scheme]) == 0
        makespan = dispatch(instance, "spt", scheme=scheme).makespan
        assert f"makespan   {makespan}\n" in capsys.readouterr().out
    assert dispatch(instance, "spt", scheme="active").makespan != dispatch(instance, "spt").makespan


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--method", "tabu", "--time-limit", "inf"], "--time-limit must be a finite number of seconds above 0, got"),
        (["--time-limit", "nan"], "--time-limit must be a finite number of seconds above 0, got nan"),
        (["--time-limit", "0"], "--time-limit must be a finite number of seconds above 0, got 0"),
        (["--seed", "-1"], "--seed must be between 0 and 2147483647, got -1"),
        (["--seed", "2147483648"], "--seed must be between 0 and 2147483647, got 2147483648"),
        (["--cpsat-workers", "0"], "--cpsat-workers must be at least 1, got 0"),
        (["--samples", "0"], "--samples must be at least 1, got 0"),
        (["--temperature", "-1"], "--temperature must be a finite number above 0, got -1"),
        (["--device", "gpu"], "--device must be auto, cpu, cuda, cuda:<index> or mps, got 'gpu'"),
        (["--workers", "-3"], "--workers (parallel solver processes) does not apply to jssp solve; CP-SAT threads"),
        (["--output", "{missing}/s.json"], "--output folder {missing} does not exist"),
        (["--csv", "{missing}/s.csv"], "--csv folder {missing} does not exist"),
        (["--gantt", "{missing}/g.png"], "--gantt folder {missing} does not exist"),
        (["--gantt", "{tmp}"], "--gantt {tmp} is a folder; give a file name"),
    ],
)
def test_bad_option_is_named_before_anything_is_solved(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    expected: str,
) -> None:
    monkeypatch.setattr(cli, "solve", _must_not_run)
    monkeypatch.setattr(cli, "read_instance", _must_not_run)
    places = {"missing": tmp_path / "missing", "tmp": tmp_path}
    flags = [flag.format(**places) for flag in flags]
    assert main(["solve", str(INSTANCES / "ft06.txt"), *flags]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"jssp: error: {expected.format(**places)}")
    assert captured.err.count("\n") == 1


def test_a_rule_solve_imports_neither_ortools_nor_matplotlib_nor_torch() -> None:
    code = (
        "import sys; from jssp.cli import main; "
        f"assert main(['solve', {str(INSTANCES / 'ta71.txt')!r}, '--method', 'mwkr']) == 0; "
        "print(sorted({'ortools', 'pandas', 'matplotlib', 'torch'} & set(sys.modules)))"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "= benchmark ta71" in completed.stdout
    assert completed.stdout.strip().splitlines()[-1] == "[]"
