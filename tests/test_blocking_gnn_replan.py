"""``gnn-replan``: re-planning at every event with episodes of the learned dispatcher (agents.blocking.replan)."""

from __future__ import annotations

import pytest
import torch

from agents.blocking.policy import BlockingPolicy, new_blocking_policy, policy_schedule
from agents.blocking.replan import PolicyPlanner, policy_replan_schedule
from jssp import benchmarks
from jssp.blocking import Calendar, Interruptions
from jssp.blocking.simulator import BlockingState
from jssp.generators import random_general_instance
from jssp.rules import RULES


@pytest.fixture(scope="module")
def policy() -> BlockingPolicy:
    torch.manual_seed(0)
    return new_blocking_policy(16, 2, 10, 10, 10).eval()


def test_without_shutdowns_the_plan_is_the_best_episode_it_tried(policy: BlockingPolicy) -> None:
    """At rate 0 the one plan is followed exactly: no worse than the greedy episode and every rule, and exactly
    the makespan the planner reported."""
    instance = benchmarks.load("la01")
    interruptions = Interruptions()
    schedule = policy_replan_schedule(policy, instance, interruptions, event_budget=0.3, seed=1)
    greedy = policy_schedule(policy, instance, [interruptions.calendar(instance)]).makespan
    rules = [BlockingState(instance, interruptions.calendar(instance)) for _ in RULES]
    for state, rule in zip(rules, RULES, strict=True):
        state.run_rule(rule)
    assert schedule.info["plans"] == 1 and schedule.info["plans_dropped"] == 0
    assert schedule.makespan <= min(greedy, *(state.now for state in rules))
    assert schedule.info["questions_answered_by_rule"] == 0
    schedule.check(expected_down_intervals=[[]] * instance.num_machines)


def test_a_plan_sees_no_future(policy: BlockingPolicy) -> None:
    """The plan made at an event is the same on a calendar that differs only after now (no sampling time: the
    plan is deterministic)."""
    instance = random_general_instance(12, 6, seed=4, reentry=0.3)
    state = BlockingState(instance, Interruptions(rate=0.02, seed=2).calendar(instance), stop_at_events=True)
    planner = PolicyPlanner(policy)
    for _ in range(4):
        state.follow(planner(state, 9, 0.0)[0])
        state.advance()
        while not state.at_event:
            state.step(int(state.candidates()[0]))
    known = [[(int(start), int(end)) for start, end in rows] for rows in state.known_down_intervals()]
    plan, info = PolicyPlanner(policy)(state, 9, 0.0)
    assert info["episodes"] == 1 and PolicyPlanner(policy)(state.clone(Calendar.fixed(known)), 9, 0.0)[0] == plan


@pytest.mark.parametrize("rate", [0.005, 0.02])
def test_every_event_gets_a_plan_and_the_schedule_is_valid(policy: BlockingPolicy, rate: float) -> None:
    instance = random_general_instance(6, 4, seed=7, reentry=0.3)
    interruptions = Interruptions(rate=rate, seed=3)
    calendar = interruptions.calendar(instance)
    schedule = policy_replan_schedule(policy, instance, interruptions, calendar, event_budget=0.01)
    schedule.check(expected_down_intervals=calendar.down_intervals(schedule.makespan))
    assert schedule.info["plans"] > 1 and schedule.info["events_without_plan"] == 0
    assert sum(schedule.info["plans_chosen"].values()) == schedule.info["plans"]
