"""The blocking problem in the method registry, in evaluate.py, and its tables (jssp.blocking.report)."""

from __future__ import annotations

import sys

import pytest

from jssp import benchmarks
from jssp.blocking import Interruptions, blocking_bounds
from jssp.blocking import solve as blocking_solve
from jssp.blocking.schedule import BlockingSchedule
from jssp.blocking.validation import InfeasibleBlockingScheduleError
from jssp.instance import Instance
from jssp.rules import RULE_NAMES
from jssp.schedule import Schedule
from jssp.solvers import OptionError, SolveOptions, get_solver, has_method, method_names, register, solve

# ---------------------------------------------------------------- the registry


def test_the_problem_is_an_option_and_classical_results_are_unchanged() -> None:
    ft06 = benchmarks.load("ft06")
    classical = solve(ft06, "mwkr")
    assert isinstance(classical, Schedule) and classical.makespan == solve(ft06, "mwkr", SolveOptions()).makespan
    options = SolveOptions(problem="isbjssp", shutdown_rate=0.01, seed=3)
    blocked = solve(ft06, "mwkr", options)
    assert isinstance(blocked, BlockingSchedule) and blocked.method == "mwkr" and blocked.makespan == 78
    assert blocked.interruptions == {"rate": 0.01, "downtime": 5, "seed": 3, "mode": "resume"}
    # the same schedule as jssp.blocking.solve with the same shutdowns (seed = the calendar's seed)
    direct = blocking_solve(ft06, "mwkr", Interruptions(rate=0.01, seed=3), options)
    assert (direct.leave == blocked.leave).all() and (direct.enter == blocked.enter).all()
    assert solve(ft06, "cpsat", SolveOptions(problem="isbjssp", time_limit=20.0)).makespan == 63


def test_methods_are_listed_per_problem() -> None:
    assert method_names("isbjssp") == [*RULE_NAMES, "cpsat"]
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
        ({"problem": "isbjssp", "downtime": 0}, "--downtime must be at least 1, got 0"),
        ({"problem": "isbjssp", "interruption_mode": "x"}, "--interruption-mode must be one of resume, restart"),
    ],
)
def test_problem_options_are_checked(changes: dict[str, object], message: str) -> None:
    with pytest.raises(OptionError) as raised:
        SolveOptions(**changes).check()  # type: ignore[arg-type]
    assert str(raised.value).startswith(message)


def test_cpsat_is_refused_under_shutdowns() -> None:
    with pytest.raises(ValueError, match="only without shutdowns"):
        solve(benchmarks.load("ft06"), "cpsat", SolveOptions(problem="isbjssp", shutdown_rate=0.01))


def test_a_plugin_method_is_validated_against_the_calendar_of_its_options() -> None:
    """A registered method that ignores the shutdowns is caught: its schedule does not fit the calendar."""

    def ignores_shutdowns(instance: Instance, options: SolveOptions) -> BlockingSchedule:
        return blocking_solve(instance, "mwkr")  # drawn without shutdowns

    register("blind-for-test", ignores_shutdowns, problem="isbjssp")
    ft06 = benchmarks.load("ft06")
    assert solve(ft06, "blind-for-test", SolveOptions(problem="isbjssp")).makespan == 75
    with pytest.raises(InfeasibleBlockingScheduleError):
        solve(ft06, "blind-for-test", SolveOptions(problem="isbjssp", shutdown_rate=0.01, seed=3))
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
