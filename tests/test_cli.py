"""`jssp solve`: output, files written, and one-line errors with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jssp.cli import main
from jssp.parsing import format_taillard, read_instance

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


def test_serve_rejects_bad_settings_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--workers", "0"]) == 2
    assert capsys.readouterr().err.strip() == "jssp: error: workers must be at least 1, got 0"
