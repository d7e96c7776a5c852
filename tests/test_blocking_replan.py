"""Plans in the blocking simulator (follow, stop at events; kernel against twin) and the re-planning methods built on
them (reschedule, right-shift)."""

from __future__ import annotations

import numpy as np
import pytest
from test_blocking import twin_cases

from jssp import benchmarks
from jssp.blocking import Interruptions
from jssp.blocking.calendar import Calendar
from jssp.blocking.reference import simulate_reference
from jssp.blocking.replan import plan_remaining, replan_schedule, residual_of
from jssp.blocking.rules import dispatch
from jssp.blocking.schedule import BlockingSchedule
from jssp.blocking.simulator import BlockingState
from jssp.generators import random_general_instance
from jssp.instance import Instance
from jssp.solvers import OptionError, SolveOptions, solve


def machine_orders(schedule: BlockingSchedule) -> list[list[int]]:
    """Per machine, the jobs in the order they entered it in ``schedule``."""
    instance = schedule.instance
    jobs, ops = np.nonzero(instance.valid)
    order = np.lexsort((jobs, schedule.leave[jobs, ops], schedule.enter[jobs, ops], instance.machines[jobs, ops]))
    plan: list[list[int]] = [[] for _ in range(instance.num_machines)]
    for index in order.tolist():
        plan[int(instance.machines[jobs[index], ops[index]])].append(int(jobs[index]))
    return plan


@pytest.mark.parametrize(("instance", "interruptions"), twin_cases())
def test_kernel_equals_twin_under_a_plan(instance: Instance, interruptions: Interruptions) -> None:
    """Each machine's order of the ``spt`` schedule without shutdowns, followed under shutdowns (``lor`` answers
    whatever the plan leaves open)."""
    plan = machine_orders(dispatch(instance, "spt"))
    calendar = interruptions.calendar(instance)
    state = BlockingState(instance, calendar, mode=interruptions.mode, stop_at_events=True)
    state.follow(plan)
    while not state.done:
        if state.at_event:
            state.advance()
        else:
            state.run_rule("lor")
    twin = simulate_reference(instance, interruptions.calendar(instance), "lor", mode=interruptions.mode, plan=plan)
    assert np.array_equal(state.enter, twin.enter)
    assert np.array_equal(state.leave, twin.leave)
    schedule = state.schedule()
    assert np.array_equal(schedule.segments, twin.segments)
    assert schedule.find_violations(calendar.down_intervals(schedule.makespan)) == []
    for machine, jobs in enumerate(plan):  # every machine kept its order
        assert machine_orders(schedule)[machine] == jobs


@pytest.mark.parametrize("name", ["ft06", "la01", "la16", "orb01"])
def test_following_a_rules_own_order_without_shutdowns_gives_its_schedule(name: str) -> None:
    instance = benchmarks.load(name)
    for rule in ("spt", "lor", "mwkr"):
        schedule = dispatch(instance, rule)
        state = BlockingState(instance, Calendar.fixed([[] for _ in range(instance.num_machines)]),
                              stop_at_events=True)  # fmt: skip
        state.follow(machine_orders(schedule))
        state.advance()
        assert state.done and state.num_decisions == 0  # a complete plan asks nothing
        assert np.array_equal(state.enter, schedule.enter) and np.array_equal(state.leave, schedule.leave)


def test_a_state_that_stops_at_events_stops_at_time_0_and_at_every_shutdown_and_repair() -> None:
    instance = benchmarks.load("ft06")
    calendar = Calendar.fixed([[(4, 9)], [], [(20, 22), (30, 31)], [], [], []])
    state = BlockingState(instance, calendar, stop_at_events=True)
    assert state.at_event and state.now == 0 and state.num_moves == 0
    with pytest.raises(ValueError, match="not a candidate"):
        state.step(0)
    stops = []
    while not state.done:
        if state.at_event:
            stops.append(state.now)
            state.advance()
        else:
            state.step(int(state.candidates()[0]))
    assert stops == [0, 4, 9, 20, 22, 30, 31]
    with pytest.raises(ValueError, match="not stopped at an event"):
        state.advance()


def test_a_plan_that_leads_nowhere_is_dropped_and_the_questions_asked() -> None:
    instance = Instance.from_routes([[(0, 3), (1, 2)], [(1, 3), (0, 2)]], name="crossed")
    state = BlockingState(instance, Calendar.fixed([[], []]), stop_at_events=True)
    state.follow([[1, 0], [0, 1]])  # each machine waits first for the job that needs the other one first
    state.advance()
    while not state.done:
        state.step(int(state.candidates()[0]))
    assert state.plans_dropped == 1
    schedule = state.schedule()
    assert schedule.find_violations([np.zeros((0, 2), dtype=np.int64)] * 2) == []


def test_a_plan_needs_one_list_per_machine_and_no_more_visits_than_there_are() -> None:
    instance = benchmarks.load("ft06")
    state = BlockingState(instance, Calendar.fixed([[] for _ in range(6)]), stop_at_events=True)
    with pytest.raises(ValueError, match="one list per machine"):
        state.follow([[0]])
    with pytest.raises(ValueError, match="more than visit it"):
        state.follow([list(range(7))] + [[]] * 5)


def test_the_residual_holds_every_operation_left_with_the_processing_left() -> None:
    instance = benchmarks.load("la16")
    state = BlockingState(instance, Interruptions(rate=0.01, seed=2).calendar(instance))
    for _ in range(12):
        state.step(int(state.candidates()[0]))
    residual = residual_of(state)
    from jssp.blocking.simulator import HELD_MACHINE, NEXT_OP, REMAINING

    on_machines = int((state.job_state[HELD_MACHINE] >= 0).sum())
    not_entered = int((instance.lengths - state.job_state[NEXT_OP]).sum())
    assert residual.instance.num_operations == not_entered + on_machines
    assert residual.entered.sum() == on_machines and residual.now == state.now
    for index, job in enumerate(residual.jobs.tolist()):
        if residual.entered[index]:
            assert residual.instance.durations[index, 0] == state.job_state[REMAINING, job]
            assert residual.instance.machines[index, 0] == state.job_state[HELD_MACHINE, job]


@pytest.mark.parametrize("seed", [0, 1])
def test_plans_of_the_warm_start_alone_are_lor(seed: int) -> None:
    """With no time to search, each plan is ``lor`` continued on the calendar known now; the downtime is fixed, so
    that calendar is the true one up to the next event and following the plans gives ``lor``'s schedule."""
    instance = benchmarks.load("la16")
    interruptions = Interruptions(rate=0.005, seed=seed)
    schedule = replan_schedule(instance, interruptions, event_budget=1e-12, warm_starts=("lor",))
    lor = dispatch(instance, "lor", interruptions, calendar=interruptions.calendar(instance))
    assert schedule.info["plans"] > 20 and schedule.info["plans_dropped"] == 0
    assert np.array_equal(schedule.enter, lor.enter) and np.array_equal(schedule.leave, lor.leave)


def test_a_plan_never_reads_the_calendar_past_now() -> None:
    instance = benchmarks.load("la01")
    interruptions = Interruptions(rate=0.01, seed=4)
    state = BlockingState(instance, interruptions.calendar(instance), stop_at_events=True)
    for _ in range(6):
        state.follow(plan_remaining(state, 57, 0.2, num_workers=1)[0])
        state.advance()
        while not state.at_event:
            state.step(int(state.candidates()[0]))
    # the same plan from the same state on a calendar that differs only after now
    known = [[(int(start), int(end)) for start, end in rows] for rows in state.known_down_intervals()]
    twin = state.clone(Calendar.fixed(known))
    first = plan_remaining(state, 57, 1e-12)[0]
    assert plan_remaining(twin, 57, 1e-12)[0] == first


@pytest.mark.parametrize("method", ["reschedule", "right-shift"])
@pytest.mark.parametrize("rate", [0.0, 0.01])
def test_the_replanning_methods_schedule_every_shape(method: str, rate: float) -> None:
    shapes = [
        Instance.from_routes([[(0, 5), (1, 3)]], name="one-job"),
        Instance.from_routes([[(0, 3), (0, 2), (1, 4)], [(1, 2), (1, 0), (0, 1)], [(0, 4)]], name="twice-in-a-row"),
        random_general_instance(40, 6, seed=5, reentry=0.6),
    ]
    for instance in shapes:
        options = SolveOptions.of("isbjssp", shutdown_rate=rate, seed=3, event_budget=0.05, time_limit=2.0)
        schedule = solve(instance, method, options)  # validated against the calendar
        assert schedule.makespan >= instance.trivial_lower_bound() and schedule.info["plans"] >= 1


def test_reschedule_without_shutdowns_is_no_worse_than_its_warm_start() -> None:
    instance = benchmarks.load("ft06")
    schedule = solve(instance, "reschedule", SolveOptions.of("isbjssp", event_budget=1.0, cpsat_workers=1))
    assert schedule.info["plans"] == 1  # no event after time 0
    assert schedule.makespan <= dispatch(instance, "lor").makespan


def test_reschedule_stops_planning_when_the_time_limit_is_spent() -> None:
    instance = benchmarks.load("la01")
    options = SolveOptions.of("isbjssp", shutdown_rate=0.01, event_budget=0.05, time_limit=0.3, cpsat_workers=1)
    schedule = solve(instance, "reschedule", options)
    assert schedule.info["events_without_plan"] > 0 and schedule.info["plans"] >= 1


@pytest.mark.parametrize("budget", [0.0, -1.0, float("nan"), float("inf"), 601.0])
def test_an_event_budget_out_of_range_is_named(budget: float) -> None:
    with pytest.raises(OptionError, match="--event-budget must be a number of seconds above 0 and at most 600"):
        SolveOptions(event_budget=budget).check()


def test_a_shop_too_large_to_replan_is_refused_in_one_line() -> None:
    instance = random_general_instance(400, 20, seed=1)
    with pytest.raises(ValueError, match=r"operations; re-planning takes at most 5000"):
        solve(instance, "reschedule", SolveOptions.of("isbjssp"))
