"""CP-SAT for the blocking job shop with swaps at shutdown rate 0: known optima, warm starts, general routes."""

from __future__ import annotations

import numpy as np
import pytest

from jssp import benchmarks
from jssp.blocking import Interruptions, solve
from jssp.blocking.cpsat import solve_blocking_cpsat
from jssp.blocking.rules import dispatch
from jssp.generators import random_general_instance
from jssp.instance import Instance
from jssp.rules import RULES
from jssp.solvers import SolveOptions


def test_ft06_is_solved_to_its_blocking_optimum_63() -> None:
    schedule = solve(benchmarks.load("ft06"), "cpsat", options=SolveOptions(time_limit=30.0))
    assert (schedule.makespan, schedule.status, schedule.lower_bound) == (63, "OPTIMAL", 63)
    assert schedule.info["hint"]["makespan"] == 73  # the best rule, fdd-mwkr
    assert schedule.find_violations() == []


def test_swap_example_needs_the_swap() -> None:
    instance = Instance.from_routes([[(0, 3), (1, 2)], [(1, 3), (0, 2)]])
    schedule = solve_blocking_cpsat(instance, time_limit=5.0)
    assert (schedule.makespan, schedule.status) == (5, "OPTIMAL")


def test_warm_start_from_an_interrupted_simulator_schedule() -> None:
    instance = benchmarks.load("la01")
    hint = dispatch(instance, "mwkr", Interruptions(rate=0.01, seed=3))
    assert len(hint.segments) > instance.num_operations  # interrupted operations: several segments
    improved = solve_blocking_cpsat(instance, time_limit=1.0, num_workers=1, hint=hint)
    assert improved.makespan <= hint.makespan and improved.find_violations() == []
    # With no time to search, the hint itself comes back.
    fallback = solve_blocking_cpsat(instance, time_limit=0.0, hint=hint)
    assert (fallback.makespan, fallback.status) == (hint.makespan, "FEASIBLE")
    assert np.array_equal(fallback.leave, hint.leave) and fallback.find_violations() == []


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_general_routes_optimum_is_no_worse_than_every_rule(seed: int) -> None:
    # Re-entrant routes with zero durations (low=0): the simulator's schedules lie in the model's space.
    instance = random_general_instance(4, 3, seed, route_lengths=(1, 4), reentry=0.5, low=0, high=6)
    schedule = solve_blocking_cpsat(instance, time_limit=10.0, num_workers=1)
    assert schedule.status == "OPTIMAL" and schedule.find_violations() == []
    assert schedule.makespan <= min(dispatch(instance, rule).makespan for rule in RULES)


def test_cpsat_refuses_shutdowns_and_foreign_hints() -> None:
    instance = benchmarks.load("ft06")
    with pytest.raises(ValueError, match="only at shutdown rate 0"):
        solve(instance, "cpsat", Interruptions(rate=0.01))
    with pytest.raises(ValueError, match="hint schedules la01"):
        solve_blocking_cpsat(instance, hint=dispatch(benchmarks.load("la01"), "spt"))
