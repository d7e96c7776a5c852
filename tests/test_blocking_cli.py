"""`jssp solve --problem isbjssp`: output, the schedule JSON and Gantt chart, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jssp import benchmarks
from jssp.blocking import Interruptions
from jssp.blocking.validation import find_document_violations
from jssp.cli import main
from jssp.problems import Problem

FT06 = str(Path(__file__).resolve().parents[1] / "instances" / "ft06.txt")


def test_rule_under_shutdowns_writes_a_valid_schedule_and_a_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output, gantt = tmp_path / "s.json", tmp_path / "g.png"
    argv = ["solve", FT06, "--problem", "isbjssp", "--shutdown-rate", "0.01", "--seed", "3", "--method", "mwkr"]
    assert main([*argv, "--output", str(output), "--gantt", str(gantt)]) == 0
    printed = capsys.readouterr().out
    assert "problem    isbjssp: blocking with swaps, shutdown rate 0.01, downtime 5, resume, seed 3" in printed
    assert "makespan   78\n" in printed and "best p=0   63 (without shutdowns, proven optimal)" in printed
    assert "gap        23.81 % to the best without shutdowns" in printed and "lower bd   63" in printed
    document = json.loads(output.read_text())
    assert document["format"] == "jssp-isbjssp-schedule/1" and document["makespan"] == 78
    assert document["interruptions"] == {"rate": 0.01, "downtime": 5, "seed": 3, "mode": "resume"}
    instance = benchmarks.load("ft06")
    calendar = Interruptions(rate=0.01, seed=3).calendar(instance)
    assert find_document_violations(instance, document, calendar.down_intervals(78)) == []
    assert gantt.read_bytes().startswith(b"\x89PNG")


def test_cpsat_without_shutdowns_and_restart_mode(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", FT06, "--problem", "isbjssp", "--method", "cpsat", "--time-limit", "20"]) == 0
    printed = capsys.readouterr().out
    assert "method     cpsat (OPTIMAL)" in printed and "makespan   63\n" in printed and "gap        0.00 %" in printed
    argv = ["solve", FT06, "--problem", "isbjssp", "--shutdown-rate", "0.05", "--downtime", "3"]
    assert main([*argv, "--interruption-mode", "restart", "--method", "random"]) == 0
    assert "downtime 3, restart, seed 0 (availability 87.0%)" in capsys.readouterr().out


def test_replanning_reports_its_plans_and_where_the_time_limit_stopped_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["solve", FT06, "--problem", "isbjssp", "--shutdown-rate", "0.05", "--seed", "1", "--method", "reschedule"]
    assert main([*argv, "--event-budget", "0.02"]) == 0
    line = next(row for row in capsys.readouterr().out.splitlines() if row.startswith("plans"))
    assert line.endswith("s each on average") and int(line.split()[1].rstrip(",")) > 1
    assert main([*argv, "--event-budget", "0.05", "--time-limit", "0.01"]) == 0
    assert "plans      1, " in (printed := capsys.readouterr().out) and "(--time-limit reached)" in printed


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--shutdown-rate", "0.1"], "--shutdown-rate applies to --problem isbjssp only"),
        (["--downtime", "4"], "--downtime applies to --problem isbjssp only"),
        (["--problem", "isbjssp", "--shutdown-rate", "1"], "--shutdown-rate must be a probability in [0, 1), got 1"),
        (["--problem", "isbjssp", "--downtime", "0"], "--downtime must be between 1 and 1,000,000,000, got 0"),
        (["--problem", "isbjssp", "--shutdown-rate", "0.01", "--method", "cpsat"], "--method cpsat solves"),
        (["--problem", "isbjssp", "--method", "tabu"], "unknown method 'tabu' for --problem isbjssp; available: spt"),
        (
            ["--problem", "isbjssp", "--csv", "{tmp}/s.csv"],
            "--csv is not offered for --problem isbjssp; it writes --output, --gantt",
        ),
    ],
)
def test_bad_blocking_option_is_named_before_anything_is_solved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], flags: list[str], expected: str
) -> None:

    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("reached the work although an option was out of range")

    monkeypatch.setattr(Problem, "read_instance", must_not_run)  # every problem reads through it
    flags = [flag.format(tmp=tmp_path) for flag in flags]
    assert main(["solve", FT06, *flags]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith(f"jssp: error: {expected}")
    assert captured.err.count("\n") == 1


def test_a_jammed_shop_ends_with_one_line_and_status_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Restarted from scratch after each shutdown, 1000 units of work need 1000 units of up time in a row.
    path = tmp_path / "long.txt"
    path.write_text("1 1\n0 1000\n")
    argv = ["solve", str(path), "--problem", "isbjssp", "--shutdown-rate", "0.05", "--interruption-mode", "restart"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        "jssp: error: long: an operation of duration 1000 restarts after every shutdown, and at shutdown rate 0.05 "
        "an up period that long comes once in about 10^22: the shop would jam; use --interruption-mode resume or a "
        "lower --shutdown-rate\n"
    )  # refused before the simulation starts


def test_a_blocking_rule_solve_imports_neither_ortools_nor_matplotlib_nor_torch() -> None:
    code = (
        "import sys; from jssp.cli import main; "
        f"assert main(['solve', {FT06!r}, '--problem', 'isbjssp', '--shutdown-rate', '0.01']) == 0; "
        "print(sorted({'ortools', 'pandas', 'matplotlib', 'torch'} & set(sys.modules)))"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip().splitlines()[-1] == "[]"
