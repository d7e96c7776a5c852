import time

import numpy as np
import pytest

from jssp import benchmarks
from jssp.cpsat import CpSatError, solve_cpsat
from jssp.generators import random_instance
from jssp.instance import Instance
from jssp.schedule import Schedule, schedule_from_sequences


def job_order_schedule(instance: Instance) -> Schedule:
    """Jobs one after another (job 0 first on every machine): always feasible, usually poor."""
    sequences = np.tile(np.arange(instance.num_jobs), (instance.num_machines, 1))
    return schedule_from_sequences(instance, sequences, method="job-order")


def test_ft06_is_solved_to_its_optimum():
    schedule = solve_cpsat(benchmarks.load("ft06"), time_limit=5.0)
    schedule.check()
    assert schedule.makespan == 55
    assert schedule.status == "OPTIMAL"
    assert schedule.lower_bound == 55
    assert schedule.method == "cpsat"
    assert 0.0 < schedule.seconds < 5.0


def test_la01_is_solved_to_its_optimum():
    schedule = solve_cpsat(benchmarks.load("la01"), time_limit=5.0)
    schedule.check()
    assert schedule.makespan == 666
    assert schedule.status == "OPTIMAL"


def test_single_worker_is_deterministic_under_a_seed():
    instance = benchmarks.load("ft06")
    first = solve_cpsat(instance, time_limit=5.0, num_workers=1, seed=3)
    second = solve_cpsat(instance, time_limit=5.0, num_workers=1, seed=3)
    np.testing.assert_array_equal(first.start_times, second.start_times)


def test_result_is_never_worse_than_a_feasible_hint():
    instance = benchmarks.load("la01")
    hint = job_order_schedule(instance)
    hint.check()
    schedule = solve_cpsat(instance, time_limit=0.01, num_workers=1, hint=hint)
    schedule.check()
    assert schedule.makespan <= hint.makespan
    assert schedule.method == "cpsat"
    assert schedule.lower_bound is not None and schedule.lower_bound <= schedule.makespan


def test_optimal_hint_is_kept_at_a_tiny_time_limit():
    instance = benchmarks.load("ft06")
    optimum = solve_cpsat(instance, time_limit=5.0)
    schedule = solve_cpsat(instance, time_limit=0.01, num_workers=1, hint=optimum)
    schedule.check()
    assert schedule.makespan == 55


def test_feasible_hint_is_returned_when_the_search_finds_nothing():
    instance = benchmarks.load("la01")
    hint = job_order_schedule(instance)
    schedule = solve_cpsat(instance, time_limit=0.0, num_workers=1, hint=hint)
    np.testing.assert_array_equal(schedule.start_times, hint.start_times)
    assert schedule.status == "FEASIBLE"
    assert schedule.method == "cpsat"
    assert schedule.lower_bound == instance.trivial_lower_bound()


def test_no_solution_within_the_limit_raises():
    with pytest.raises(CpSatError, match="UNKNOWN"):
        solve_cpsat(benchmarks.load("la01"), time_limit=0.0, num_workers=1)


def test_a_model_too_large_for_the_time_limit_falls_back_on_the_hint_or_raises():
    instance = random_instance(400, 20, seed=0)
    hint = job_order_schedule(instance)
    began = time.perf_counter()
    schedule = solve_cpsat(instance, time_limit=0.001, num_workers=1, hint=hint)
    assert time.perf_counter() - began < 0.5
    np.testing.assert_array_equal(schedule.start_times, hint.start_times)
    assert schedule.status == "FEASIBLE" and schedule.lower_bound == instance.trivial_lower_bound()
    with pytest.raises(CpSatError, match="building the CP-SAT model of 8000 operations"):
        solve_cpsat(instance, time_limit=0.001, num_workers=1)


def test_hint_for_another_instance_is_rejected():
    hint = job_order_schedule(benchmarks.load("la01"))
    with pytest.raises(ValueError, match="hint"):
        solve_cpsat(benchmarks.load("ft06"), hint=hint)


def test_zero_duration_operation_gives_a_feasible_schedule():
    instance = benchmarks.load("orb07")
    assert (instance.durations == 0).any()
    schedule = solve_cpsat(instance, time_limit=1.0)
    schedule.check()
    assert schedule.status in ("OPTIMAL", "FEASIBLE")
    assert instance.trivial_lower_bound() <= schedule.lower_bound <= schedule.makespan


def test_zero_duration_operation_may_sit_inside_a_busy_machine():
    # Job 1's zero-length operation on machine 0 comes at time 1, while job 0 holds machine 0
    # over [0, 4). Makespan 6 needs the validator's convention (it uses no machine time); a
    # no-overlap constraint over it would push it to time 4 and the makespan to 7.
    instance = Instance(np.array([[0, 1, 2], [1, 0, 2]]), np.array([[4, 1, 1], [1, 0, 4]]))
    schedule = solve_cpsat(instance, time_limit=5.0)
    schedule.check()
    assert schedule.makespan == 6
    assert schedule.status == "OPTIMAL"


def test_single_operation():
    schedule = solve_cpsat(Instance(np.array([[0]]), np.array([[5]])))
    schedule.check()
    assert schedule.makespan == 5
    assert schedule.status == "OPTIMAL"
    np.testing.assert_array_equal(schedule.start_times, [[0]])


def test_upper_bound_below_the_optimum_raises():
    with pytest.raises(CpSatError, match="INFEASIBLE"):
        solve_cpsat(benchmarks.load("ft06"), time_limit=5.0, upper_bound=54)


def test_upper_bound_below_the_trivial_bound_raises():
    with pytest.raises(CpSatError, match="trivial lower bound"):
        solve_cpsat(benchmarks.load("ft06"), upper_bound=10)


def test_upper_bound_at_the_optimum_is_reached():
    schedule = solve_cpsat(benchmarks.load("ft06"), time_limit=5.0, upper_bound=55)
    schedule.check()
    assert schedule.makespan == 55
