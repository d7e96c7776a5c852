"""The blocking problem in the method registry, in evaluate.py, and its tables (jssp.blocking.report)."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evaluate import EvaluateConfig, main
from jssp import benchmarks
from jssp.blocking import Interruptions, blocking_bounds
from jssp.blocking import solve as blocking_solve
from jssp.blocking.evaluation import (
    RESULT_COLUMNS,
    make_blocking_tasks,
    read_blocking_results,
    result_key,
    run_blocking_task,
)
from jssp.blocking.report import Wins, best_method, method_stats, paired_wins, select, summary_tables
from jssp.blocking.schedule import BlockingSchedule
from jssp.blocking.validation import InfeasibleBlockingScheduleError, find_document_violations
from jssp.instance import Instance
from jssp.options import solve_options_from
from jssp.rules import RULE_NAMES
from jssp.schedule import Schedule
from jssp.solvers import OptionError, SolveOptions, get_solver, has_method, method_names, register, solve

# ---------------------------------------------------------------- the registry


def test_the_problem_is_an_option_and_classical_results_are_unchanged() -> None:
    ft06 = benchmarks.load("ft06")
    classical = solve(ft06, "mwkr")
    assert isinstance(classical, Schedule) and classical.makespan == solve(ft06, "mwkr", SolveOptions()).makespan
    options = SolveOptions.of("isbjssp", shutdown_rate=0.01, seed=3)
    blocked = solve(ft06, "mwkr", options)
    assert isinstance(blocked, BlockingSchedule) and blocked.method == "mwkr" and blocked.makespan == 78
    assert blocked.interruptions == {"rate": 0.01, "downtime": 5, "seed": 3, "mode": "resume"}
    # the same schedule as jssp.blocking.solve with the same shutdowns (seed = the calendar's seed)
    direct = blocking_solve(ft06, "mwkr", Interruptions(rate=0.01, seed=3), options)
    assert (direct.leave == blocked.leave).all() and (direct.enter == blocked.enter).all()
    assert solve(ft06, "cpsat", SolveOptions.of("isbjssp", time_limit=20.0)).makespan == 63


def test_methods_are_listed_per_problem() -> None:
    names = method_names("isbjssp")
    online = [*RULE_NAMES, "lookahead-lor", "reschedule", "right-shift"]
    assert names[:15] == [*online, "cpsat", "cpsat-clairvoyant"]
    assert set(names[15:]) <= {"gnn", "gnn-sample", "gnn-replan"}  # the learned ones, once the agents plugin has loaded
    assert "tabu" in method_names() and not has_method("tabu", "isbjssp") and has_method("fdd-mwkr", "isbjssp")
    with pytest.raises(KeyError, match="unknown method 'tabu' for --problem isbjssp; available: spt, lpt"):
        get_solver("tabu", "isbjssp")
    with pytest.raises(ValueError, match="unknown problem 'fjsp'"):
        method_names("fjsp")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"problem": "fjsp"}, "--problem must be one of jssp, isbjssp, got 'fjsp'"),
        ({"shutdown_rate": 0.01}, "--shutdown-rate applies to --problem isbjssp only"),
        ({"downtime": 4}, "--downtime applies to --problem isbjssp only"),
        ({"interruption_mode": "restart"}, "--interruption-mode applies to --problem isbjssp only"),
        ({"problem": "isbjssp", "shutdown_rate": 1.0}, "--shutdown-rate must be a probability in [0, 1), got 1"),
        ({"problem": "isbjssp", "downtime": 0}, "--downtime must be between 1 and 1,000,000,000, got 0"),
        ({"problem": "isbjssp", "interruption_mode": "x"}, "--interruption-mode must be one of resume, restart"),
    ],
)
def test_problem_options_are_checked(changes: dict[str, object], message: str) -> None:
    with pytest.raises(OptionError) as raised:
        solve_options_from(changes)
    assert str(raised.value).startswith(message)


def test_cpsat_is_refused_under_shutdowns() -> None:
    with pytest.raises(ValueError, match="cpsat solves problem isbjssp only at shutdown rate 0 \\(no shutdowns\\)"):
        solve(benchmarks.load("ft06"), "cpsat", SolveOptions.of("isbjssp", shutdown_rate=0.01))


def test_a_plugin_method_is_validated_against_the_calendar_of_its_options() -> None:
    """A registered method that ignores the shutdowns is caught: its schedule does not fit the calendar."""

    def ignores_shutdowns(instance: Instance, options: SolveOptions) -> BlockingSchedule:
        return blocking_solve(instance, "mwkr")  # drawn without shutdowns

    register("blind-for-test", ignores_shutdowns, problem="isbjssp")
    ft06 = benchmarks.load("ft06")
    assert solve(ft06, "blind-for-test", SolveOptions.of("isbjssp")).makespan == 75
    with pytest.raises(InfeasibleBlockingScheduleError):
        solve(ft06, "blind-for-test", SolveOptions.of("isbjssp", shutdown_rate=0.01, seed=3))
    assert not has_method("blind-for-test")  # registered for isbjssp only


def test_the_classical_path_does_not_load_the_blocking_package() -> None:
    import subprocess

    code = "import sys; from jssp import benchmarks; from jssp.solvers import solve"
    code += "; solve(benchmarks.load('ft06'), 'mwkr'); print('jssp.blocking' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_reference_values_cover_the_grid() -> None:
    names = benchmarks.select("la") + benchmarks.select("ft") + benchmarks.select("orb") + benchmarks.select("abz")
    assert len(names) == 58 and all(name in blocking_bounds() for name in names)


# ---------------------------------------------------------------- evaluate.py --problem isbjssp


def _grid(out: Path, **changes: Any) -> EvaluateConfig:
    settings: dict[str, Any] = {
        "problem": "isbjssp",
        "instances": ("ft06", "la01"),
        "shutdown_rates": (0.0, 0.01),
        "seeds": 2,
        "seed": 5,
        "methods": "mwkr,random,cpsat",
        "time_limit": 20.0,
        "cpsat_workers": 1,
        "out": out,
        "progress": False,
    }
    return EvaluateConfig(**{**settings, **changes})


def test_every_method_meets_the_same_calendar_and_every_schedule_fits_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_grid(tmp_path, instances=("ft06",))) == 0
    err = capsys.readouterr().err
    assert "cpsat: 2 solves left out, at rates 0.01: it solves problem isbjssp only at shutdown rate 0" in err
    with open(tmp_path / "results.csv", newline="") as stream:
        reader = csv.DictReader(stream)
        assert tuple(reader.fieldnames or ()) == RESULT_COLUMNS
        rows = list(reader)
    keys = [(row["rate"], row["seed"], row["method"]) for row in rows]
    expected = [
        (rate, seed, method) for rate in ("0.0", "0.01") for seed in ("5", "6") for method in ("mwkr", "random")
    ]
    expected += [("0.0", seed, "cpsat") for seed in ("5", "6")]
    assert sorted(keys) == sorted(expected) and all(row["feasible"] == "True" for row in rows)
    by_key = {(row["rate"], row["seed"], row["method"]): row for row in rows}
    assert by_key[("0.0", "5", "cpsat")]["makespan"] == "63" and by_key[("0.0", "5", "cpsat")]["gap_pct"] == "0.0"
    assert by_key[("0.0", "5", "mwkr")]["makespan"] == by_key[("0.0", "6", "mwkr")]["makespan"] == "75"
    assert by_key[("0.01", "5", "mwkr")]["downtime"] == "5" and by_key[("0.01", "5", "mwkr")]["best_p0"] == "63"
    ft06 = benchmarks.load("ft06")
    for seed in (5, 6):
        calendar = Interruptions(rate=0.01, seed=seed).calendar(ft06)
        for method in ("mwkr", "random"):
            row = by_key[("0.01", str(seed), method)]
            document = json.loads((tmp_path / "schedules" / f"ft06__{method}__p0.01__s{seed}.json").read_text())
            assert document["makespan"] == int(row["makespan"]) and document["interruptions"]["seed"] == seed
            expected_intervals = calendar.down_intervals(document["makespan"])
            assert find_document_violations(ft06, document, expected_intervals) == []
            assert int(row["shutdowns"]) == sum(len(machine) for machine in expected_intervals) > 0
    # the random rule's seed is the calendar's: the same solve again gives the same schedule
    random_again = solve(ft06, "random", SolveOptions.of("isbjssp", shutdown_rate=0.01, seed=6))
    assert random_again.makespan == int(by_key[("0.01", "6", "random")]["makespan"])


def test_resume_skips_finished_solves_and_refuses_other_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _grid(tmp_path, methods="mwkr,fifo", save_schedules=False)
    assert main(cfg) == 0
    complete = (tmp_path / "results.csv").read_text()
    lines = complete.splitlines(keepends=True)
    (tmp_path / "results.csv").write_text("".join(lines[:-5]) + lines[-5][:9])  # a kill cut a row short
    capsys.readouterr()
    assert main(dataclasses.replace(cfg, resume=True, workers=2)) == 0
    assert "16 solves (11 already in results.csv)" in capsys.readouterr().err
    resumed = read_blocking_results(tmp_path / "results.csv")
    first = {result_key(row): row["makespan"] for row in read_blocking_results_text(tmp_path, complete)}
    assert {result_key(row): row["makespan"] for row in resumed} == first and len(resumed) == 16
    for changes, flag in [({"seeds": 3}, "--seeds 2 there, 3 now"), ({"downtime": 9}, "--downtime None there, 9 now")]:
        assert main(dataclasses.replace(cfg, resume=True, **changes)) == 2
        assert flag in capsys.readouterr().err


def read_blocking_results_text(folder: Path, text: str) -> list[dict[str, Any]]:
    path = folder / "copy.csv"
    path.write_text(text)
    return read_blocking_results(path)


CLASSICAL = {"problem": "jssp", "shutdown_rates": (0.0,), "seeds": 1}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({**CLASSICAL, "seeds": 3}, "--seeds applies to --problem isbjssp only"),
        ({**CLASSICAL, "shutdown_rates": (0.01,)}, "--shutdown-rates applies to --problem isbjssp only"),
        ({**CLASSICAL, "downtime": 5}, "--downtime applies to --problem isbjssp only"),
        ({"shutdown_rates": (0.0, 1.5)}, "--shutdown-rate must be a probability in [0, 1), got 1.5"),
        ({"seeds": 0}, "--seeds must be at least 1, got 0"),
        ({"methods": "mwkr,tabu"}, "unknown method 'tabu' for --problem isbjssp; available: spt"),
    ],
)
def test_bad_settings_are_named_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], changes: dict[str, Any], message: str
) -> None:
    out = tmp_path / "run"
    assert main(_grid(out, **changes)) == 2
    assert capsys.readouterr().err.splitlines()[-1].startswith(f"evaluate.py: error: {message}")
    assert not out.exists()


def test_a_failed_solve_is_a_row_and_the_exit_status_is_1(tmp_path: Path) -> None:
    def blind(instance: Instance, options: SolveOptions) -> BlockingSchedule:
        return blocking_solve(instance, "mwkr")  # ignores the shutdowns: infeasible on their calendar

    register("blind-for-evaluate", blind, problem="isbjssp")
    task = make_blocking_tasks([benchmarks.load("ft06")], ["blind-for-evaluate", "mwkr"], [0.01], [3])[0][0]
    rows = run_blocking_task(task, SolveOptions(), None)
    assert [row["feasible"] for row in rows] == [False, True]
    assert "InfeasibleBlockingScheduleError" in rows[0]["error"] and rows[1]["makespan"] == 78
    cfg = _grid(tmp_path, instances=("ft06",), methods="blind-for-evaluate,mwkr", shutdown_rates=(0.01,), seeds=1)
    assert main(cfg) == 1
    assert [row["feasible"] for row in read_blocking_results(tmp_path / "results.csv")] == [False, True]


# ---------------------------------------------------------------- tables


def _row(instance: str, family: str, rate: float, seed: int, method: str, makespan: int | None) -> dict[str, Any]:
    best = {"a": 100, "b": 200}[instance]
    return {
        "instance": instance, "family": family, "rate": rate, "seed": seed, "method": method, "downtime": 10,
        "makespan": makespan, "best_p0": best, "feasible": makespan is not None,
    }  # fmt: skip


ROWS = [
    *(_row("a", "la", 0.01, seed, "spt", makespan) for seed, makespan in enumerate((110, 120, 130))),
    *(_row("a", "la", 0.01, seed, "mwkr", makespan) for seed, makespan in enumerate((100, 120, 140))),
    *(_row("a", "la", 0.01, seed, "learned", makespan) for seed, makespan in enumerate((105, 119, None))),
    *(_row("b", "ft", 0.01, seed, "spt", makespan) for seed, makespan in enumerate((220, 240, 260))),
    *(_row("b", "ft", 0.01, seed, "mwkr", makespan) for seed, makespan in enumerate((230, 230, 230))),
    *(_row("b", "ft", 0.01, seed, "learned", makespan) for seed, makespan in enumerate((200, 240, 300))),
    _row("a", "la", 0.0, 0, "spt", 100),
]


def test_stats_wins_and_best_rule_by_hand() -> None:
    selected = select(ROWS, 0.01)
    spt = method_stats(selected, "spt")
    assert spt.runs == 6 and spt.failures == 0 and spt.mean == pytest.approx(180.0)
    assert spt.std == pytest.approx(math.sqrt(sum((v - 180) ** 2 for v in (110, 120, 130, 220, 240, 260)) / 5))
    assert spt.gap_pct == pytest.approx((10 + 20 + 30 + 10 + 20 + 30) / 6)
    learned = method_stats(selected, "learned")
    assert (learned.runs, learned.failures) == (5, 1) and learned.mean == pytest.approx(964 / 5)
    assert paired_wins(selected, "learned", "spt") == Wins(wins=3, ties=1, pairs=5)  # (a, 2) failed: no pair
    assert paired_wins(selected, "mwkr", "spt") == Wins(wins=3, ties=1, pairs=6)
    assert paired_wins(select(ROWS, 0.01, "ft"), "mwkr", "spt") == Wins(wins=2, ties=0, pairs=3)
    assert method_stats(selected, "mwkr").mean == pytest.approx(175.0)
    assert best_method(selected, ["spt", "mwkr"]) == "mwkr"
    assert best_method(selected, ["spt", "learned"]) == "spt"  # learned failed once: not eligible
    assert best_method(select(ROWS, 0.01, "la"), ["spt", "mwkr"]) == "spt"  # 120 = 120: the first one


def test_summary_tables_have_a_row_per_method_and_a_column_per_rule() -> None:
    summary = summary_tables(ROWS, baselines=("spt", "mwkr"), notes=["settings line"])
    assert "settings line" in summary and "## Shutdown rate 0.01 (availability 90.9 %)" in summary
    assert "| rate | availability | spt | mwkr | learned | best rule | its gap % | learned vs best rule |" in summary
    assert "| 0 | 100.0 % | **100.0** | – | – | spt | 0.00 | – |" in summary
    assert "| 0.01 | 90.9 % | 180.0 | **175.0** | 192.8 | mwkr | 17.50 | 40 / 0 |" in summary
    assert "| learned | 5 (1 failed) | 192.8 ± 82.0 | 18.80 | 60 / 20 | 40 / 0 |" in summary
    assert "**ft** (1 instance)" in summary and "**la** (1 instance)" in summary
    assert "| mwkr | 3 | **230.0 ± 0.0** | 15.00 | 67 / 0 | – |" in summary  # ft: mwkr best by mean


# ---------------------------------------------------------------- the clairvoyant reference


def test_clairvoyant_cpsat_never_runs_across_a_shutdown_and_beats_the_online_rules() -> None:
    ft06 = benchmarks.load("ft06")
    options = SolveOptions.of("isbjssp", shutdown_rate=0.01, seed=3, time_limit=20.0, cpsat_workers=1)
    schedule = solve(ft06, "cpsat-clairvoyant", options)  # validated against the calendar by solve
    assert schedule.status == "OPTIMAL" and schedule.makespan == schedule.lower_bound == 65
    assert schedule.info["hint"] == {"method": "mwkr", "makespan": 78}  # the best rule in restart mode
    assert 63 <= schedule.makespan < min(solve(ft06, rule, options).makespan for rule in RULE_NAMES) == 78
    assert len(schedule.segments) == ft06.num_operations  # one uninterrupted segment each
    calendar = Interruptions(rate=0.01, seed=3).calendar(ft06)
    intervals = calendar.down_intervals(schedule.makespan)
    for job, op, start, end in schedule.segments.tolist():
        rows = intervals[ft06.machines[job, op]]
        assert not ((rows[:, 0] < end) & (rows[:, 1] > start)).any()
    assert schedule.find_violations(intervals) == [] and sum(len(rows) for rows in intervals) == 7
    without = solve(ft06, "cpsat-clairvoyant", SolveOptions.of("isbjssp", time_limit=20.0, cpsat_workers=1))
    assert without.makespan == 63 and without.status == "OPTIMAL"


def test_down_intervals_of_two_machines_are_merged() -> None:
    from jssp.blocking.clairvoyant import _union

    first = np.array([[2, 5], [10, 12]])
    second = np.array([[4, 7], [12, 13], [20, 21]])
    assert _union([first, second]).tolist() == [[2, 7], [10, 13], [20, 21]]
    assert _union([first]).tolist() == first.tolist() and len(_union([np.zeros((0, 2), dtype=np.int64)])) == 0
