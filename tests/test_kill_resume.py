"""Nothing lost on a kill: real training and evaluation processes killed with SIGKILL, then resumed.

Each test runs the real command line in a subprocess, kills it at several points (when a log
reaches a given number of rows, and at moments unrelated to any write), resumes it with
``--resume`` until it finishes, and compares the logs with an uninterrupted run of the same command.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agents.checkpoints import load_policy
from jssp.files import read_csv_rows, recover_folder, replace_folder, truncate_csv, write_atomically

REPOSITORY = Path(__file__).resolve().parent.parent


def _rows(path: Path) -> list[dict[str, str]]:
    return read_csv_rows(path)


def _run(command: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, timeout=timeout)


def _kill_when(command: list[str], log: Path, rows: int | None, seconds: float | None, timeout: float = 120) -> bool:
    """Start ``command`` and SIGKILL it once ``log`` has ``rows`` complete rows, or after ``seconds``.

    Returns whether it was killed (False: it finished first).
    """
    process = subprocess.Popen(command, cwd=REPOSITORY, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    began = time.monotonic()
    try:
        while process.poll() is None:
            elapsed = time.monotonic() - began
            if (rows is not None and len(_rows(log)) >= rows) or (seconds is not None and elapsed >= seconds):
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                return True
            if elapsed > timeout:
                process.kill()
                raise AssertionError(f"{command} did not reach the kill point in {timeout} s")
            time.sleep(0.005)
    finally:
        if process.stderr is not None:
            process.stderr.close()
    assert process.returncode == 0, f"{command} failed with status {process.returncode}"
    return False


COMMON = ["--validation-instances", "2", "--validation-cpsat-seconds", "0", "--device", "cpu", "--wandb", "disabled"]
"""Run options of both tiny training commands (two validation instances, no CP-SAT reference, CPU, no wandb)."""

IMITATION = [
    sys.executable,
    "train.py",
    "imitation",
    "--sizes",
    "5x4",
    "6x4",
    "--instances",
    "8",
    "--teacher-iterations",
    "300",
    "--epochs",
    "4",
    "--instances-per-update",
    "2",
    "--eval-every",
    "2",
    *COMMON,
    "--no-progress",
]


def test_killed_imitation_resumes_to_the_rows_and_weights_of_an_uninterrupted_run(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    assert _run([*IMITATION, "--run-dir", str(reference)]).returncode == 0
    expected = _rows(reference / "validation.csv")
    assert [int(row["instances"]) for row in expected] == list(range(0, 33, 2))

    killed = tmp_path / "killed"
    command = [*IMITATION, "--run-dir", str(killed)]
    kills = 0
    # Killed as the log grows (just after a row, before or during the checkpoint that follows),
    # then at moments tied to no write at all; each restart resumes from the last complete checkpoint.
    for rows, seconds in ((2, None), (5, None), (9, None), (None, 4.5), (None, 5.5), (14, None)):
        kills += _kill_when([*command, *(["--resume"] if kills else [])], killed / "validation.csv", rows, seconds)
        for folder in ("last", "best"):
            recover_folder(killed / folder)
            if (killed / folder).exists():
                load_policy(killed / folder)  # every checkpoint left behind loads
    assert kills >= 4
    assert _run([*command, "--resume"]).returncode == 0
    got = _rows(killed / "validation.csv")
    columns = ("instances", "val_makespan", "loss", "followed_gap")
    assert [[row[key] for key in columns] for row in got] == [[row[key] for key in columns] for row in expected]
    assert (killed / "last" / "policy.pt").read_bytes() == (reference / "last" / "policy.pt").read_bytes()


PPO = [
    sys.executable,
    "train.py",
    "ppo",
    "--sizes",
    "4x3",
    "5x4",
    "--total-timesteps",
    "2048",
    "--n-envs",
    "2",
    "--n-steps",
    "64",
    "--batch-size",
    "64",
    "--n-epochs",
    "1",
    "--eval-every",
    "256",
    *COMMON,
    "--no-progress",
]


def test_killed_ppo_resumes_from_its_last_complete_checkpoint_without_gaps(tmp_path: Path) -> None:
    command = [*PPO, "--run-dir", str(tmp_path)]
    kills = 0
    for rows, seconds in ((3, None), (None, 5.0), (6, None)):
        kills += _kill_when([*command, *(["--resume"] if kills else [])], tmp_path / "validation.csv", rows, seconds)
        recover_folder(tmp_path / "last")
        if (tmp_path / "last").exists():
            load_policy(tmp_path / "last")
    assert kills >= 2
    finished = _run([*command, "--resume"])
    assert finished.returncode == 0, finished.stderr
    steps = [int(row["timesteps"]) for row in _rows(tmp_path / "validation.csv")]
    assert steps == list(range(0, 2049, 256))
    logged = [int(row["time/total_timesteps"]) for row in _rows(tmp_path / "progress.csv")]
    assert logged == list(range(128, 2049, 128))  # one row per rollout, none twice, none missing
    load_policy(tmp_path / "best")


def test_a_second_run_into_a_used_folder_is_refused_and_a_changed_resume_too(tmp_path: Path) -> None:
    command = [*IMITATION, "--run-dir", str(tmp_path), "--epochs", "1"]
    assert _run(command).returncode == 0
    again = _run(command)
    assert again.returncode == 2 and "pass --resume" in again.stderr
    changed = _run([*command, "--resume", "--instances-per-update", "4"])
    assert changed.returncode == 2 and "--instances-per-update 2 there, 4 now" in changed.stderr


EVALUATE = [
    sys.executable,
    "evaluate.py",
    "--instances",
    "ft06",
    "la01-la05",
    "--methods",
    "mwkr,spt,fdd-mwkr,tabu",
    "--time-limit",
    "0.3",
    "--no-progress",
]


@pytest.mark.parametrize("backend", [["--workers", "1"], ["--workers", "2"], ["--backend", "ray"]], ids=" ".join)
def test_killed_evaluation_resumes_to_every_row_exactly_once(tmp_path: Path, backend: list[str]) -> None:
    if "ray" in backend:
        pytest.importorskip("ray", reason="Ray is an optional extra: pip install '.[ray]'")
    reference = tmp_path / "reference"
    assert _run([*EVALUATE, "--workers", "2", "--out", str(reference)]).returncode == 0
    expected = {(row["instance"], row["method"]): row["makespan"] for row in _rows(reference / "results.csv")}
    assert len(expected) == 24

    killed = tmp_path / "killed"
    command = [*EVALUATE, *backend, "--out", str(killed)]
    kills = 0
    for rows in (3, 9, 15):
        kills += _kill_when([*command, *(["--resume"] if kills else [])], killed / "results.csv", rows, None)
    assert kills == 3
    assert _run([*command, "--resume"]).returncode == 0
    got = [(row["instance"], row["method"], row["makespan"]) for row in _rows(killed / "results.csv")]
    assert len(got) == len({(instance, method) for instance, method, _ in got}) == 24  # no duplicates, no gaps
    deterministic = {key: value for key, value in expected.items() if key[1] != "tabu"}
    assert {(instance, method): makespan for instance, method, makespan in got if method != "tabu"} == deterministic
    assert len(list((killed / "schedules").glob("*.json"))) == 24


def test_resuming_an_evaluation_with_other_settings_is_refused(tmp_path: Path) -> None:
    assert _run([*EVALUATE, "--methods", "mwkr", "--out", str(tmp_path)]).returncode == 0
    refused = _run([*EVALUATE, "--methods", "spt", "--out", str(tmp_path), "--resume"])
    assert refused.returncode == 2 and "other settings" in refused.stderr and "methods" in refused.stderr


def test_folder_replacement_keeps_the_previous_version_after_a_failure_or_a_kill(tmp_path: Path) -> None:
    folder = tmp_path / "last"
    replace_folder(folder, lambda path: (path / "a.txt").write_text("one"))

    def fail(path: Path) -> None:
        (path / "a.txt").write_text("half")
        raise RuntimeError("killed while writing")

    with pytest.raises(RuntimeError):
        replace_folder(folder, fail)
    recover_folder(folder)
    assert (folder / "a.txt").read_text() == "one"
    # A kill between the two renames: the old version waits under .last.old.
    folder.rename(tmp_path / ".last.old")
    recover_folder(folder)
    assert (folder / "a.txt").read_text() == "one"


def test_a_log_row_cut_short_is_dropped_and_logs_truncate_to_a_checkpoint(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    write_atomically(log, "step,value\n1,0.5\n2,0.25\n3,0.1")  # the last row was cut by a kill
    assert [row["step"] for row in read_csv_rows(log)] == ["1", "2"]
    truncate_csv(log, 1)
    with open(log, newline="") as stream:
        assert list(csv.reader(stream)) == [["step", "value"], ["1", "0.5"]]


def _children(pid: int) -> set[int]:
    """The processes ``pid`` started that are still alive (Linux: /proc)."""
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return set()
    return {int(child) for child in listed}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the process tree from /proc")
def test_workers_of_a_killed_evaluation_exit_with_it(tmp_path: Path) -> None:
    # SIGKILL gives the parent no chance to stop its pool: each worker watches its parent and exits with it.
    command = [sys.executable, "evaluate.py", "--instances", "ta01-ta08", "--methods", "tabu", "--time-limit", "20",
               "--workers", "2", "--no-progress", "--out", str(tmp_path / "out")]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPOSITORY, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(_children(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(3.0)  # the workers are set up and searching
        workers = _children(process.pid)
        assert len(workers) >= 2, workers
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == []
