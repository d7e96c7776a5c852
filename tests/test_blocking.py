"""The blocking job shop with shutdowns: simulator semantics, kernel against twin, non-anticipation, calendars,
the policy API, and the reduction to the deterministic blocking problem at shutdown rate 0."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from jssp import benchmarks
from jssp.blocking import (
    BlockingState,
    Calendar,
    DeadlockError,
    Interruptions,
    JammedError,
    availability,
    blocking_bounds,
    default_downtime,
    solve,
)
from jssp.blocking.calendar import INFINITE_TIME
from jssp.blocking.reference import simulate_reference
from jssp.blocking.rules import dispatch
from jssp.blocking.simulator import REMAINING, SEGMENT_START, simulate
from jssp.generators import random_general_instance, random_instance
from jssp.instance import Instance
from jssp.rules import RULE_NAMES, RULES

SWAP_EXAMPLE = Instance.from_routes([[(0, 3), (1, 2)], [(1, 3), (0, 2)]], name="swap-2x2")
NO_SHUTDOWNS = Calendar.fixed([[], []])


def operation_times(schedule, job: int, op: int) -> tuple[int, int, list[list[int]]]:
    rows = schedule.segments[(schedule.segments[:, 0] == job) & (schedule.segments[:, 1] == op)]
    return int(schedule.enter[job, op]), int(schedule.leave[job, op]), rows[:, 2:].tolist()


# ---------------------------------------------------------------------------------------------- semantics


def test_swap_example_makespan_5_with_swaps() -> None:
    schedule = dispatch(SWAP_EXAMPLE, "spt")
    assert schedule.makespan == 5
    assert operation_times(schedule, 0, 0) == (0, 3, [[0, 3]])
    assert operation_times(schedule, 0, 1) == (3, 5, [[3, 5]])
    assert operation_times(schedule, 1, 1) == (3, 5, [[3, 5]])
    assert schedule.find_violations() == []


def test_swap_example_deadlocks_without_swaps() -> None:
    # Non-delay starts both jobs at 0; without swaps their cycle at 3 can never resolve.
    with pytest.raises(DeadlockError, match="at time 3 jobs \\[0, 1\\]"):
        dispatch(SWAP_EXAMPLE, "spt", swaps=False)


def test_swap_waits_for_a_machine_that_is_down() -> None:
    # Machine 1 goes down at 3, as job 1 ends there: the cycle swaps when it is back at 6.
    schedule = dispatch(SWAP_EXAMPLE, "spt", calendar=Calendar.fixed([[], [(3, 6)]]))
    assert operation_times(schedule, 0, 1) == (6, 8, [[6, 8]])
    assert operation_times(schedule, 1, 0) == (0, 6, [[0, 3]])
    assert schedule.makespan == 8


def test_a_swap_that_never_finds_its_machines_up_together_is_jammed() -> None:
    # Machines 0 and 1 take turns being down from 3 to 123: the swap due at 3 waits until 123.
    turns = [[(start, start + 2) for start in range(3, 123, 4)], [(start, start + 2) for start in range(5, 123, 4)]]
    state = BlockingState(SWAP_EXAMPLE, Calendar.fixed(turns), patience=100)
    state.run_rule("spt")
    assert state.now == 125 and state.schedule().find_violations(turns) == []
    with pytest.raises(JammedError, match="no job moved or finished during the last 5 shutdowns and repairs"):
        BlockingState(SWAP_EXAMPLE, Calendar.fixed(turns), patience=5).run_rule("spt")


def test_interrupted_operation_resumes_or_restarts() -> None:
    instance = Instance.from_routes([[(0, 5)]])
    calendar = Calendar.fixed([[(2, 4)]])
    resumed = dispatch(instance, "spt", calendar=calendar)
    assert operation_times(resumed, 0, 0) == (0, 7, [[0, 2], [4, 7]])
    restarted = dispatch(instance, "spt", Interruptions(mode="restart"), calendar=calendar)
    assert operation_times(restarted, 0, 0) == (0, 9, [[4, 9]])
    assert resumed.find_violations() == [] and restarted.find_violations() == []


def test_operation_ending_as_its_machine_stops_completes_but_its_job_cannot_leave() -> None:
    instance = Instance.from_routes([[(0, 2), (1, 1)]])
    held = dispatch(instance, "spt", calendar=Calendar.fixed([[(2, 5)], []]))
    assert operation_times(held, 0, 0) == (0, 5, [[0, 2]])  # blocked on the down machine until 5
    assert held.makespan == 6
    entering = dispatch(instance, "spt", calendar=Calendar.fixed([[], [(1, 4)]]))
    assert operation_times(entering, 0, 1) == (4, 5, [[4, 5]])  # nothing enters a down machine
    last = dispatch(Instance.from_routes([[(0, 2)]]), "spt", calendar=Calendar.fixed([[(2, 4)]]))
    assert last.makespan == 2  # a last operation releases its machine as it ends


def test_consecutive_operations_on_one_machine_continue_in_place() -> None:
    # Job 1 (duration 1) goes first under spt; job 0 then holds machine 0 for both of its visits.
    instance = Instance.from_routes([[(0, 2), (0, 3)], [(0, 1)]], num_machines=1)
    schedule = dispatch(instance, "spt", swaps=False)
    assert operation_times(schedule, 1, 0) == (0, 1, [[0, 1]])
    assert operation_times(schedule, 0, 0) == (1, 3, [[1, 3]])
    assert operation_times(schedule, 0, 1) == (3, 6, [[3, 6]])


def test_single_candidates_are_not_asked_and_questions_list_every_free_machine() -> None:
    instance = Instance.from_routes([[(0, 2)], [(0, 3)], [(1, 4)], [(1, 1)], [(2, 5)]])
    state = BlockingState(instance, Calendar.fixed([[], [], []]))
    assert state.now == 0
    assert state.machine_state[0, 2] == 4  # machine 2 had one candidate: filled without asking
    assert state.candidates().tolist() == [0, 1, 2, 3]
    assert state.candidate_machines().tolist() == [0, 0, 1, 1]
    state.step(1)
    assert state.candidates().tolist() == [2, 3]  # machine 0 is taken; job 0 waits
    state.step(3)
    # No other question: at 1 machine 1 has one candidate (job 2), at 3 machine 0 has one (job 0).
    assert state.done and state.now == 5 and state.num_decisions == 2
    assert state.enter[:, 0].tolist() == [3, 0, 1, 0, 0]
    with pytest.raises(ValueError, match="not a candidate"):
        state.step(0)


def test_rule_takes_over_from_a_policy_mid_episode() -> None:
    instance = random_instance(6, 4, seed=5, high=20)
    calendar = Interruptions(rate=0.05, seed=1).calendar(instance)
    state = BlockingState(instance, calendar)
    state.step(int(state.candidates()[-1]))
    state.run_rule("mwkr")
    assert state.done and state.schedule("mixed").find_violations(calendar.down_intervals(state.now)) == []


def test_time_between_questions_adds_up_to_the_makespan() -> None:
    instance = random_instance(8, 5, seed=2, high=30)
    state = BlockingState(instance, Interruptions(rate=0.02, seed=4).calendar(instance))
    elapsed, before = 0, 0
    while not state.done:
        state.step(int(state.candidates()[0]))
        elapsed, before = elapsed + state.now - before, state.now
    assert elapsed == state.now == state.schedule().makespan
    assert state.num_decisions > 0 and state.num_moves == instance.num_operations


# ---------------------------------------------------------------------------------------------- kernel = twin


def twin_cases() -> list[tuple[Instance, Interruptions]]:
    cases = []
    for seed in range(12):
        rng = np.random.default_rng(seed)
        num_jobs, num_machines = int(rng.integers(2, 9)), int(rng.integers(1, 6))
        if seed % 3 == 0:
            instance = random_instance(num_jobs, max(num_machines, 2), seed, high=9)
        else:  # partial and re-entrant routes, zero durations on odd seeds
            instance = random_general_instance(
                num_jobs, num_machines, seed, reentry=0.5, low=int(seed % 2 == 0), high=9
            )
        rate = (0.0, 0.05, 0.2)[seed % 3]
        downtime = (1, 6) if seed % 4 == 0 else None
        cases.append(
            (instance, Interruptions(rate=rate, downtime=downtime, seed=seed, mode=("resume", "restart")[seed % 2]))
        )
    return cases


def recording_random_policy(
    rng: np.random.Generator, log: list[tuple[int, list[int], int]]
) -> Callable[[BlockingState], int]:
    """A seeded uniform choice among the candidates that logs (time, candidates, choice)."""

    def policy(state: BlockingState) -> int:
        candidates = state.candidates()
        choice = int(candidates[rng.integers(len(candidates))])
        log.append((state.now, candidates.tolist(), choice))
        return choice

    return policy


@pytest.mark.parametrize(("instance", "interruptions"), twin_cases())
def test_kernel_equals_twin(instance: Instance, interruptions: Interruptions) -> None:
    for rule in [*RULES, "policy"]:
        if rule == "policy":  # a Python policy: a seeded random choice among the candidates
            kernel_choices: list[tuple[int, list[int], int]] = []
            twin_rng = np.random.default_rng(7)
            policy = recording_random_policy(np.random.default_rng(7), kernel_choices)
            schedule = simulate(instance, interruptions.calendar(instance), policy, mode=interruptions.mode)
            twin = simulate_reference(instance, interruptions.calendar(instance),
                                      lambda view, candidates: candidates[twin_rng.integers(len(candidates))],  # noqa: B023
                                      mode=interruptions.mode)  # fmt: skip
            assert kernel_choices == twin.decisions
        else:
            schedule = simulate(instance, interruptions.calendar(instance), rule, mode=interruptions.mode)
            twin = simulate_reference(instance, interruptions.calendar(instance), rule, mode=interruptions.mode)
            assert schedule.info["decisions"] == len(twin.decisions)
        assert np.array_equal(schedule.enter, twin.enter), rule
        assert np.array_equal(schedule.leave, twin.leave), rule
        assert np.array_equal(schedule.segments, twin.segments), rule
        calendar = interruptions.calendar(instance)
        assert schedule.find_violations(calendar.down_intervals(schedule.makespan)) == [], rule


# ---------------------------------------------------------------------------------------------- non-anticipation


def recorded_decisions(instance: Instance, calendar: Calendar) -> tuple[list[tuple[int, list[int], int]], int]:
    """(time, candidates, choice) of every question, with a policy that depends on what it sees only."""
    decisions = []

    def policy(state: BlockingState) -> int:
        candidates = state.candidates()
        seen = int(state.now + 7 * state.machine_down.sum() + 3 * state.job_state[0].sum())
        choice = int(candidates[seen % len(candidates)])
        decisions.append((state.now, candidates.tolist(), choice))
        return choice

    schedule = simulate(instance, calendar, policy)
    return decisions, schedule.makespan


def test_no_decision_sees_the_calendar_after_its_time() -> None:
    instance = random_instance(20, 5, seed=11, high=30)
    original = Interruptions(rate=0.03, seed=2).calendar(instance)
    decisions, makespan = recorded_decisions(instance, original)
    cut = makespan // 2
    other = Interruptions(rate=0.08, seed=99).calendar(instance)
    changed = []
    for machine in range(instance.num_machines):
        rows = original.intervals(machine)
        past = rows[rows[:, 0] <= cut].copy()
        if len(past) and past[-1, 1] > cut:
            past[-1, 1] += 17  # the repair of a machine down at the cut takes longer: nobody can know yet
        future = other.down_intervals(4 * makespan)[machine]
        future = future[future[:, 0] > max(cut, past[-1, 1] if len(past) else 0) + 1]
        changed.append([tuple(row) for row in np.concatenate([past, future]).tolist()])
    changed_decisions, changed_makespan = recorded_decisions(instance, Calendar.fixed(changed))
    before = [decision for decision in decisions if decision[0] <= cut]
    assert len(before) >= 10
    assert [decision for decision in changed_decisions if decision[0] <= cut] == before
    assert changed_decisions != decisions and changed_makespan != makespan  # the change did matter later


# ---------------------------------------------------------------------------------------------- calendars


def test_calendar_is_determined_by_instance_rate_downtime_and_seed() -> None:
    instance = benchmarks.load("la01")
    first = Interruptions(rate=0.01, seed=3).calendar(instance)
    first.extend(100)
    first.extend(50_000)
    second = Interruptions(rate=0.01, seed=3).calendar(instance)
    second.extend(50_000)
    for machine in range(instance.num_machines):
        assert np.array_equal(first.intervals(machine), second.intervals(machine))
    assert first.intervals(0)[:3].tolist() == [[103, 160], [196, 253], [350, 407]]
    other_seed = Interruptions(rate=0.01, seed=4).calendar(instance).down_intervals(50_000)
    other_instance = Interruptions(rate=0.01, seed=3).calendar(benchmarks.load("la02")).down_intervals(50_000)
    assert not np.array_equal(other_seed[0], first.down_intervals(50_000)[0])
    assert not np.array_equal(other_instance[0], first.down_intervals(50_000)[0])


def test_calendar_does_not_depend_on_the_method() -> None:
    instance = benchmarks.load("la01")
    interruptions = Interruptions(rate=0.01, seed=5)
    schedules = [solve(instance, rule, interruptions) for rule in ("spt", "mwkr", "random")]
    longest = max(schedules, key=lambda schedule: schedule.makespan)
    assert len({schedule.makespan for schedule in schedules}) > 1
    for schedule in schedules:
        for machine, rows in enumerate(schedule.down_intervals):
            reference = longest.down_intervals[machine]
            assert np.array_equal(rows, reference[reference[:, 0] <= schedule.makespan])


@pytest.mark.parametrize("rate", [1e-20, 1e-300, 5e-324])
def test_a_tiny_rate_draws_a_valid_calendar_that_ends_at_infinite_time(rate: float) -> None:
    # An up period of 1 / rate units does not fit in 64 bits: it is cut at INFINITE_TIME, nothing overflows.
    instance = benchmarks.load("ft06")
    calendar = Interruptions(rate=rate, seed=2).calendar(instance)
    calendar.extend(10**6)
    calendar.extend(2**63 + 5)  # past INFINITE_TIME: drawn up to it, no further
    assert calendar.horizon == INFINITE_TIME
    for machine in range(instance.num_machines):
        rows = calendar.intervals(machine)
        assert (rows[:, 0] < rows[:, 1]).all() and (rows[1:, 0] > rows[:-1, 1]).all() and (rows < INFINITE_TIME).all()
    schedule = solve(instance, "mwkr", Interruptions(rate=rate, seed=2))
    assert schedule.makespan == solve(instance, "mwkr", Interruptions(rate=0.0, seed=2)).makespan


def test_the_longest_downtime_gives_a_valid_schedule_in_64_bits() -> None:
    instance = benchmarks.load("ft06")
    interruptions = Interruptions(rate=0.001, downtime=10**9, seed=0)
    schedule = solve(instance, "mwkr", interruptions)  # validated against its calendar
    assert schedule.makespan == 9_000_008_582  # nine shutdowns of 10^9 on the way


def test_availability_and_default_downtime() -> None:
    instance = benchmarks.load("ft06")
    assert default_downtime(instance) == 5  # mean duration 4.69
    assert availability(0.01, 50) == pytest.approx(1 / 1.5)
    assert availability(0.01, (40, 60)) == pytest.approx(1 / 1.5)
    calendar = Interruptions(rate=0.01, downtime=(5, 15), seed=0).calendar(instance)
    span = 1_000_000
    down = sum(int((np.minimum(rows[:, 1], span) - rows[:, 0]).sum()) for rows in calendar.down_intervals(span))
    measured = 1 - down / (span * instance.num_machines)
    assert measured == pytest.approx(availability(0.01, (5, 15)), abs=0.005)
    assert all(bool((rows[:, 0] >= 1).all()) for rows in calendar.down_intervals(span))  # up at time 0


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"rate": 1.0}, "shutdown rate must be a probability in \\[0, 1\\)"),
        ({"rate": -0.1}, "shutdown rate"),
        ({"downtime": 0}, "downtime must be between 1 and 1,000,000,000"),
        ({"downtime": 10**18}, "downtime must be between 1 and 1,000,000,000"),
        ({"downtime": (5, 10**20)}, "downtime must be between 1 and 1,000,000,000"),
        ({"downtime": (5, 3)}, "downtime must be between 1 and 1,000,000,000 \\(and low <= high"),
        ({"mode": "pause"}, "interruption mode must be one of resume, restart"),
        ({"seed": -1}, "seed must be between 0"),
    ],
)
def test_bad_interruption_settings_are_named(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Interruptions(**settings).check()  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- rate 0


PROVEN = ("ft06", "la01", "la02", "la03", "la04", "la05", "la16", "orb01")


@pytest.mark.parametrize("name", PROVEN)
def test_no_rule_beats_a_proven_blocking_optimum(name: str) -> None:
    bound = blocking_bounds()[name]
    assert bound.proven_optimal
    instance = benchmarks.load(name)
    makespans = [solve(instance, rule).makespan for rule in RULE_NAMES]
    makespans += [dispatch(instance, "random", seed=seed).makespan for seed in range(5)]
    assert min(makespans) >= bound.best_known
    # Shutdowns only delay: every realised schedule stays above the shutdown-free optimum.
    assert solve(instance, "mwkr", Interruptions(rate=0.01, seed=1)).makespan >= bound.best_known


def test_blocking_bounds_file_is_complete() -> None:
    bounds = blocking_bounds()
    assert len(bounds) == 242 and sum(bound.proven_optimal for bound in bounds.values()) == 29
    assert (bounds["ft06"].best_known, bounds["ft10"].best_known, bounds["la01"].best_known) == (63, 1068, 793)
    assert set(bounds) == set(benchmarks.select("all"))
    catalogue = benchmarks.catalogue()
    # Blocking only adds constraints: no reference value lies below the job shop's proven lower bound.
    assert [name for name, bound in bounds.items() if bound.best_known < catalogue[name].lower_bound] == []
    assert (bounds["dmu01"].best_known, bounds["dmu80"].best_known, bounds["ta01"].best_known) == (
        blocking_value("demirkol_rcmax_20_15_4"),
        blocking_value("demirkol_cscmax_50_20_9"),
        blocking_value("taillard_ta01"),
    )


def blocking_value(name: str) -> int:
    text = (benchmarks.instances_dir() / "blocking_bounds.csv").read_text()
    return int(next(line for line in text.splitlines() if line.startswith(name + ",")).split(",")[1])


def test_rule_makespans_at_rate_0_are_pinned() -> None:
    # Regression values of the deterministic blocking problem (no shutdowns) on ft06, optimum 63.
    instance = benchmarks.load("ft06")
    assert {rule: solve(instance, rule).makespan for rule in RULES} == {
        "spt": 79, "lpt": 81, "mwkr": 75, "lwkr": 82, "mor": 75, "lor": 77, "mopnr": 75, "fifo": 75, "fdd-mwkr": 73,
    }  # fmt: skip


def test_hold_leaves_every_free_machine_free_until_time_moves_on() -> None:
    """A held question: no job enters a machine until the next completion (the questions are then asked again);
    a shop where nothing processes and no machine is down cannot hold (waiting would never end)."""
    idle = Instance.from_routes([[(0, 4), (1, 2)], [(0, 3), (1, 1)]], name="two-on-m0")
    state = BlockingState(idle, Interruptions().calendar(idle))
    assert state.candidates().tolist() == [0, 1] and state.now == 0 and not state.can_hold
    with pytest.raises(ValueError, match="cannot hold"):
        state.hold()
    instance = benchmarks.load("la01")
    state = BlockingState(instance, Interruptions().calendar(instance))
    moves, now = state.num_moves, state.now
    assert state.can_hold and moves > 0  # single-candidate machines filled at time 0, now processing
    processing = state.job_state[SEGMENT_START] >= 0
    next_end = int((state.job_state[SEGMENT_START] + state.job_state[REMAINING])[processing].min())
    state.hold()
    assert state.now == next_end > now and state.num_decisions == 0
    entered = state.enter[state.enter >= 0]
    assert ((entered == 0) | (entered >= next_end)).all() and (entered == 0).sum() == moves
    rng = np.random.default_rng(0)
    holds = 0
    while not state.done:
        if state.can_hold and rng.random() < 0.3:
            state.hold()
            holds += 1
        else:
            state.step(int(rng.choice(state.candidates())))
    assert holds > 0 and state.holds == holds + 1
    state.schedule("held").check(expected_down_intervals=[[]] * instance.num_machines)
    interruptions = Interruptions(rate=0.02, seed=4)
    shop = random_general_instance(8, 4, seed=3)
    state = BlockingState(shop, interruptions.calendar(shop))
    while not state.done:
        if state.can_hold and rng.random() < 0.5:
            state.hold()
        else:
            state.step(int(state.candidates()[-1]))
    calendar = interruptions.calendar(shop)
    state.schedule("held").check(expected_down_intervals=calendar.down_intervals(state.now))
