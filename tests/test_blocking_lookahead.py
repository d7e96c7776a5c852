"""The simulator's bounded runs (a decision budget, the rule's ranking, the makespan bound) and the lookahead that
uses them on large shops."""

from __future__ import annotations

import numpy as np
import pytest

from jssp import benchmarks
from jssp.blocking import Interruptions
from jssp.blocking.lookahead import (
    BOUNDED,
    EXACT,
    EXACT_OPERATIONS,
    Limits,
    limits_for,
    lookahead_makespans,
    lookahead_schedule,
)
from jssp.blocking.simulator import BlockingState
from jssp.generators import random_general_instance
from jssp.solvers import SolveOptions, solve


def _at_a_question(instance_name: str = "la16", rate: float = 0.0, steps: int = 5) -> BlockingState:
    instance = benchmarks.load(instance_name)
    state = BlockingState(instance, Interruptions(rate=rate, seed=1).calendar(instance))
    for _ in range(steps):
        state.step(int(state.candidates()[-1]))
    assert not state.done and len(state.candidates()) > 1
    return state


@pytest.mark.parametrize("rule", ["spt", "lor", "mwkr", "mopnr", "fifo", "fdd-mwkr"])
def test_the_rule_ranks_first_the_job_it_would_choose(rule: str) -> None:
    state = _at_a_question("la16", rate=0.01)
    ranked = state.ranked_candidates(rule)
    assert sorted(ranked.tolist()) == state.candidates().tolist()
    by_rule, by_hand = state.clone(), state.clone()
    by_rule.run_rule(rule, max_decisions=1)  # the kernel's own choice, then the next question
    by_hand.step(int(ranked[0]))
    assert np.array_equal(by_rule.enter, by_hand.enter) and by_rule.now == by_hand.now


def test_a_decision_budget_stops_at_a_question_and_the_rest_continues_the_same() -> None:
    state = _at_a_question("ta01", steps=3)
    whole, part = state.clone(), state.clone()
    whole.run_rule("lor")
    before = part.num_decisions
    part.run_rule("lor", max_decisions=4)
    assert not part.done and part.num_decisions == before + 4 and len(part.candidates()) > 1
    part.run_rule("lor", max_decisions=0)  # nothing to do
    assert part.num_decisions == before + 4
    part.run_rule("lor")
    assert part.done and np.array_equal(part.enter, whole.enter) and part.now == whole.now
    with pytest.raises(ValueError, match="max_decisions must be at least 0"):
        state.run_rule("lor", max_decisions=-1)


def test_the_makespan_bound_never_exceeds_a_continuation() -> None:
    instance = random_general_instance(30, 6, seed=4)
    state = BlockingState(instance, Interruptions().calendar(instance))
    checked = 0
    while not state.done:
        bound = state.makespan_bound()
        for rule in ("lor", "spt"):
            trial = state.clone()
            trial.run_rule(rule)
            assert state.now <= bound <= trial.now
        checked += 1
        state.step(int(state.candidates()[0]))
    assert checked > 10 and state.makespan_bound() == state.now


def test_the_exact_lookahead_is_kept_below_the_size_limit_and_bounded_above() -> None:
    assert limits_for(benchmarks.load("ta61")) == EXACT  # 50x20 = 1000 operations
    assert benchmarks.load("ta61").num_operations == EXACT_OPERATIONS
    assert limits_for(benchmarks.load("ta71")) == BOUNDED
    state = _at_a_question("la31", steps=2)  # 30 jobs: many candidates
    candidates = state.candidates()
    exact = lookahead_makespans(state, "lor", 50, EXACT)
    assert (exact[candidates] > 0).all() and (np.delete(exact, candidates) == -1).all()
    bounded = lookahead_makespans(state, "lor", 50, Limits(candidates=2, decisions=None))
    tried = state.ranked_candidates("lor")[:2]
    assert np.array_equal(bounded[tried], exact[tried])  # run to the end, the same continuations
    untried = np.setdiff1d(candidates, tried)
    assert (bounded[untried] == bounded[tried].max()).all()


@pytest.mark.parametrize("rate", [0.0, 0.002])
def test_a_large_general_shop_gets_a_valid_schedule_from_the_bounded_lookahead(rate: float) -> None:
    instance = random_general_instance(120, 12, seed=7, reentry=0.3)
    assert instance.num_operations > EXACT_OPERATIONS
    options = SolveOptions.of("isbjssp", shutdown_rate=rate, seed=2)
    pilot = solve(instance, "lookahead-lor", options)  # validated against the calendar by solve
    rule = solve(instance, "lor", options)
    assert pilot.makespan < rule.makespan  # on this shop the bounded lookahead still beats its rule
    same = lookahead_schedule(instance, Interruptions(rate=rate, seed=2), limits=BOUNDED)
    assert same.makespan == pilot.makespan


@pytest.mark.parametrize("rate", [0.0, 0.01])
def test_every_online_method_schedules_unusual_shapes(rate: float) -> None:
    """One job; a machine twice in a row; a shop above the exact-lookahead size with re-entrant routes."""
    from jssp.instance import Instance

    shapes = [
        Instance.from_routes([[(0, 5), (1, 3)]], name="one-job"),
        Instance.from_routes([[(0, 3), (0, 2), (1, 4)], [(1, 2), (1, 2), (0, 1)], [(0, 4)]], name="twice-in-a-row"),
        random_general_instance(150, 8, seed=11, reentry=0.6),
    ]
    for instance in shapes:
        for method in ("lor", "spt", "fifo", "random", "lookahead-lor"):
            options = SolveOptions.of("isbjssp", shutdown_rate=rate, seed=3)
            schedule = solve(instance, method, options)  # validated against the calendar
            assert schedule.makespan >= instance.trivial_lower_bound()


@pytest.mark.parametrize("method", ["lor", "random", "lookahead-lor"])
def test_admission_control_keeps_at_most_the_limit_of_jobs_in_the_shop(method: str) -> None:
    instance = random_general_instance(40, 10, seed=5)
    options = SolveOptions.of("isbjssp", shutdown_rate=0.005, downtime=100, seed=1, wip_limit=4)
    schedule = solve(instance, method, options)  # validated against the calendar
    lengths = instance.lengths
    jobs = np.arange(instance.num_jobs)
    first, last = schedule.enter[:, 0], schedule.leave[jobs, lengths - 1]
    for time in np.unique(first):
        assert ((first <= time) & (last > time)).sum() <= 4
    free = solve(instance, method, SolveOptions.of("isbjssp", shutdown_rate=0.005, downtime=100, seed=1))
    assert max(((first <= t) & (last > t)).sum() for t in np.unique(first)) == 4
    assert free.makespan != schedule.makespan


def test_admission_control_is_an_option_the_planners_refuse(capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    from jssp.cli import main
    from jssp.solvers import OptionError

    ft06 = Path(__file__).resolve().parents[1] / "instances" / "ft06.txt"
    assert main(["solve", str(ft06), "--problem", "isbjssp", "--wip-limit", "0"]) == 2
    assert capsys.readouterr().err == "jssp: error: --wip-limit must be between 1 and 1,000,000,000, got 0\n"
    assert main(["solve", str(ft06), "--wip-limit", "3"]) == 2
    assert "--wip-limit applies to --problem isbjssp only" in capsys.readouterr().err
    for method in ("cpsat", "cpsat-clairvoyant"):
        with pytest.raises(OptionError, match="does not implement admission control"):
            solve(benchmarks.load("ft06"), method, SolveOptions.of("isbjssp", wip_limit=3))
    assert main(["solve", str(ft06), "--problem", "isbjssp", "--wip-limit", "3", "--method", "mwkr"]) == 0


def test_a_restart_run_that_would_jam_is_refused_before_it_starts() -> None:
    from jssp.blocking import JammedError
    from jssp.instance import Instance

    # At rate 0.01 an up period of 600 units comes once in about 400 (kept), one of 1000 once in 22,932 (refused;
    # the simulator gives up after 10,000 shutdowns and repairs, 5,000 tries).
    kept = Instance.from_routes([[(0, 600)]], name="kept")
    refused = Instance.from_routes([[(0, 1000)], [(0, 2)]], name="refused")
    restart = SolveOptions.of("isbjssp", shutdown_rate=0.01, interruption_mode="restart", seed=1)
    assert solve(kept, "lor", restart).makespan >= 600
    with pytest.raises(JammedError, match="refused: an operation of duration 1000 .* once in about 22,932:"):
        solve(refused, "lor", restart)
    resume = SolveOptions.of("isbjssp", shutdown_rate=0.01, seed=1)
    assert solve(refused, "lor", resume).makespan >= 1002  # resuming, the same shop always finishes


def test_twins_not_started_are_tried_once_and_share_the_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    """A shop of three products, 12 jobs each: the lookahead tries one job per product waiting outside."""
    from jssp.instance import Instance

    products = [[(0, 4), (1, 3), (2, 5)], [(1, 2), (2, 6), (0, 2)], [(2, 3), (0, 3)]]
    instance = Instance.from_routes([products[job % 3] for job in range(36)], name="products")
    assert instance.twins.tolist() == [job % 3 for job in range(36)]
    state = BlockingState(instance, Interruptions(rate=0.01, seed=1).calendar(instance))
    clones = 0
    clone = BlockingState.clone

    def counting_clone(self: BlockingState, *args: object, **kwargs: object) -> BlockingState:
        nonlocal clones
        clones += 1
        return clone(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(BlockingState, "clone", counting_clone)
    candidates = state.candidates()
    makespans = lookahead_makespans(state, "lor", 3)
    assert len(candidates) > 3 and clones <= 3  # every candidate is a job not started, of one of 3 products
    for job in candidates.tolist():
        first_twin = min(other for other in candidates.tolist() if other % 3 == job % 3)
        assert makespans[job] == makespans[first_twin] > 0
    schedule = lookahead_schedule(instance, Interruptions(rate=0.01, seed=1))
    schedule.check(expected_down_intervals=Interruptions(rate=0.01, seed=1).calendar(instance).down_intervals(
        schedule.makespan))  # fmt: skip
