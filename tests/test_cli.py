"""`jssp solve`: output, files written, and one-line errors with exit status 2."""

from __future__ import annotations

import gzip
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from jssp import cli
from jssp.cli import main
from jssp.generators import random_general_instance
from jssp.instance import Instance
from jssp.parsing import format_jsplib, format_orlib, format_standard, format_taillard, read_instance
from jssp.problems import Problem
from jssp.rules import dispatch
from jssp.schedule import Schedule
from jssp.solvers import SolveOptions

INSTANCES = Path(__file__).resolve().parents[1] / "instances"


def torch_cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


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


def test_the_default_method_is_tabu_search_with_path_relinking(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", str(INSTANCES / "la16.txt"), "--time-limit", "1", "--search-workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "method     tabu-pr" in printed
    makespan = int(printed.split("makespan")[1].split()[0])
    assert makespan < dispatch(read_instance(INSTANCES / "la16.txt"), "fdd-mwkr").makespan
    with pytest.raises(SystemExit):
        main(["solve", "--help"])
    assert "default tabu-pr" in " ".join(capsys.readouterr().out.split())


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
        (["serve", "--cpsat-workers", "0"], "--cpsat-workers must be between 1 and 1024, got 0"),
        (["serve", "--cpsat-workers", "100000"], "--cpsat-workers must be between 1 and 1024, got 100000"),
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
        (["--event-budget", "0"], "--event-budget must be a number of seconds above 0 and at most 600, got 0"),
        (["--event-budget", "-2"], "--event-budget must be a number of seconds above 0 and at most 600, got -2"),
        (["--event-budget", "1e6"], "--event-budget must be a number of seconds above 0 and at most 600, got 1e+06"),
        (["--seed", "-1"], "--seed must be between 0 and 2147483647, got -1"),
        (["--seed", "2147483648"], "--seed must be between 0 and 2147483647, got 2147483648"),
        (["--cpsat-workers", "0"], "--cpsat-workers must be between 1 and 1024, got 0"),
        (["--cpsat-workers", "100000"], "--cpsat-workers must be between 1 and 1024, got 100000"),
        (["--samples", "0"], "--samples must be between 1 and 1024, got 0"),
        (["--samples", "100000000"], "--samples must be between 1 and 1024, got 100000000"),
        (["--temperature", "-1"], "--temperature must be between 0.01 and 100, got -1"),
        (["--temperature", "1e-300"], "--temperature must be between 0.01 and 100, got 1e-300"),
        (["--temperature", "1e300"], "--temperature must be between 0.01 and 100, got 1e+300"),
        (["--temperature", "nan"], "--temperature must be between 0.01 and 100, got nan"),
        (
            ["--problem", "isbjssp", "--shutdown-rate", "0.01", "--downtime", "1000000000000000000"],
            "--downtime must be between 1 and 1,000,000,000, got 1,000,000,000,000,000,000",
        ),
        (
            ["--problem", "isbjssp", "--shutdown-rate", "0.01", "--downtime", "100000000000000000000"],
            "--downtime must be between 1 and 1,000,000,000, got 100,000,000,000,000,000,000",
        ),
        (["--device", "gpu"], "--device must be auto, cpu, cuda, cuda:<index> or mps, got 'gpu'"),
        (["--workers", "-3"], "--workers (parallel solver processes) does not apply to jssp solve; CP-SAT threads"),
        (["--output", "{missing}/s.json"], "--output folder {missing} does not exist"),
        (["--csv", "{missing}/s.csv"], "--csv folder {missing} does not exist"),
        (["--gantt", "{missing}/g.png"], "--gantt folder {missing} does not exist"),
        (["--gantt", "{tmp}"], "--gantt {tmp} is a folder; give a file name"),
        (["--output", "{tmp}/s.json", "--csv", "{tmp}/s.json"], "--csv {tmp}/s.json is the file of --output"),
        (["--csv", "{tmp}/s.csv", "--gantt", "{tmp}/../{tmp.name}/s.csv"], "--gantt {tmp}/../{tmp.name}/s.csv is"),
        (["--output", "/proc/s.json"], "--output cannot write in folder /proc"),
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
    monkeypatch.setattr(Problem, "read_instance", _must_not_run)  # every problem reads through it
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


def _ft06_copy(folder: Path) -> Path:
    copy = folder / "ft06.txt"
    copy.write_bytes((INSTANCES / "ft06.txt").read_bytes())
    return copy


@pytest.mark.parametrize("option", ["--output", "--csv", "--gantt"])
@pytest.mark.parametrize("how", ["same path", "symbolic link", "hard link", "relative path"])
def test_an_output_that_is_the_instance_file_is_refused_and_the_file_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], option: str, how: str
) -> None:
    instance = _ft06_copy(tmp_path)
    content = instance.read_bytes()
    target = {"same path": instance, "relative path": Path("sub/../ft06.txt"), "symbolic link": tmp_path / "link.txt",
              "hard link": tmp_path / "hard.txt"}[how]  # fmt: skip
    (tmp_path / "sub").mkdir()
    if how == "symbolic link":
        target.symlink_to(instance)
    elif how == "hard link":
        target.hardlink_to(instance)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "solve", _must_not_run)
    assert main(["solve", str(instance), option, str(target)]) == 2
    err = capsys.readouterr().err
    assert err == f"jssp: error: {option} {target} is the instance file; give each output a file of its own\n"
    assert instance.read_bytes() == content


def test_outputs_into_a_fifo_and_a_character_device_are_written_into_not_replaced(tmp_path: Path) -> None:
    instance = _ft06_copy(tmp_path)
    fifo = tmp_path / "schedule.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    assert main(["solve", str(instance), "--output", str(fifo), "--method", "mwkr"]) == 0
    reader.join(timeout=30)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert json.loads(received[0])["makespan"] == 61
    device = tmp_path / "null"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # what /dev/null is
    except PermissionError:
        pytest.skip("this user may not make a device node")
    assert main(["solve", str(instance), "--csv", str(device), "--gantt", str(device), "--method", "mwkr"]) == 0
    assert stat.S_ISCHR(os.stat(device).st_mode)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["ft06.txt", "null", "schedule.fifo"]


def test_an_output_through_a_symbolic_link_replaces_its_target_and_keeps_the_link(tmp_path: Path) -> None:
    instance = _ft06_copy(tmp_path)
    (tmp_path / "old.json").write_text("old")
    (tmp_path / "link.json").symlink_to(tmp_path / "old.json")
    assert main(["solve", str(instance), "--output", str(tmp_path / "link.json"), "--method", "mwkr"]) == 0
    assert (tmp_path / "link.json").is_symlink() and json.loads((tmp_path / "old.json").read_text())["makespan"] == 61


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_unwritable_output_folder_is_named_before_the_solve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    monkeypatch.setattr(cli, "solve", _must_not_run)
    assert main(["solve", str(INSTANCES / "ft06.txt"), "--output", str(locked / "s.json")]) == 2
    assert capsys.readouterr().err == f"jssp: error: --output cannot write in folder {locked} (Permission denied)\n"


def test_a_device_as_the_instance_file_is_read_bounded_and_refused_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["solve", "/dev/zero"]) == 2
    assert capsys.readouterr().err == "jssp: error: /dev/zero: input is more than the 134217728 bytes allowed\n"


def test_an_instance_read_from_a_fifo_is_solved(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "instance.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes((INSTANCES / "ft06.txt").read_bytes()))
    writer.start()
    assert main(["solve", str(fifo), "--method", "mwkr"]) == 0
    writer.join(timeout=30)
    assert "makespan   61" in capsys.readouterr().out


@pytest.mark.skipif(torch_cuda_available(), reason="this machine has CUDA")
def test_device_cuda_without_cuda_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", str(INSTANCES / "ft06.txt"), "--method", "gnn", "--device", "cuda"]) == 2
    assert capsys.readouterr().err == (
        "jssp: error: --device cuda: CUDA is not available here (this torch is a CPU build); use --device cpu or auto\n"
    )


_INTERRUPTED_TABU = """
import sys
from jssp.cli import main
from jssp.dispatch import warm_up
from jssp.local_search import warm_up as warm_up_search
warm_up(); warm_up_search()  # compiling (on a cold cache) is not what this test interrupts
print("searching", flush=True)
sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_stops_tabu_with_its_best_schedule_like_cpsat(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", _INTERRUPTED_TABU, "solve", str(INSTANCES / "ta41.txt"), "--method", "tabu",
         "--time-limit", "120", "--output", str(tmp_path / "tabu.json")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a CI runner may have it ignored
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stdout.readline() == "searching\n"
    time.sleep(2.0)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "method     tabu (interrupted)" in out
    seconds = float(out.split("time")[-1].split()[0])
    assert 1.0 < seconds < 30.0
    document = json.loads((tmp_path / "tabu.json").read_text())
    schedule = Schedule.from_dict(document, read_instance(INSTANCES / "ta41.txt"))
    schedule.check()
    assert schedule.makespan == int(out.split("makespan")[1].split()[0]) < 2400
