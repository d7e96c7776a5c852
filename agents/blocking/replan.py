"""``gnn-replan``: event-driven re-planning with the learned dispatcher as the planner.

At time 0 and after every shutdown and repair (:func:`jssp.blocking.replan.follow_plans`, as ``reschedule``),
copies of the shop on the calendar known now are run to the end: by the plan followed so far and by every
deterministic rule (:func:`jssp.blocking.replan.warm_start`), by the learned dispatcher greedily, and by
episodes sampled from it, a batch at a time while the event's budget lasts. The copy that ends first (then: whose
jobs end first in sum, the slack a plan followed under shutdowns needs) becomes the plan each machine follows
until the next event. Sampling several episodes is planning, so it may run only on copies of the calendar known
now: like every online method, the planner sees no shutdown before it starts, and a repair in progress is assumed
to take the expected downtime (:func:`jssp.blocking.lookahead.known_calendar`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from agents.blocking.policy import policy_lookahead, run_episodes
from agents.policy import JobShopPolicy
from jssp.blocking.calendar import Calendar, Interruptions
from jssp.blocking.lookahead import known_calendar
from jssp.blocking.replan import Plan, branch, continuation_plan, follow_plans, plan_key, warm_start
from jssp.blocking.schedule import BlockingSchedule
from jssp.blocking.simulator import BlockingState
from jssp.instance import Instance

TEMPERATURE = 0.5
"""Sampling temperature of the planner's episodes: on the generated shops of ``docs/blocking.md`` 0.5 gave shorter
best episodes than 1 and 1.5 (five shops of 225-600 operations, one second at time 0)."""
BATCH = 4
"""Most episodes sampled in one lockstep batch (one forward pass per question for all of them). A batch is as large
as the seconds left allow, at the greedy episode's pace, so a plan overruns its budget by at most the greedy
episode."""


@dataclass
class PolicyPlanner:
    """A :data:`jssp.blocking.replan.Planner` from a learned dispatcher: the best of the rules' continuations, the
    greedy episode and sampled episodes (``batch`` at a time, until the seconds are spent) from the state."""

    policy: JobShopPolicy
    temperature: float = TEMPERATURE
    batch: int = BATCH
    seed: int = 0

    def __post_init__(self) -> None:
        self.lookahead = policy_lookahead(self.policy)
        self.rng = np.random.default_rng(self.seed)

    def __call__(self, state: BlockingState, downtime: int, seconds: float) -> tuple[Plan, dict[str, object]]:
        began = time.perf_counter()
        calendar = known_calendar(state, downtime)
        method, best = warm_start(state, calendar)
        greedy_began = time.perf_counter()
        greedy = run_episodes(self.policy, [branch(state, calendar)], [downtime], 0.0, self.rng, self.lookahead)
        per_episode = max(time.perf_counter() - greedy_began, 1e-6)  # a sampled episode costs about as much
        tried = [(method, best), ("greedy", greedy[0])]
        episodes = 1
        while (size := min(self.batch, int((seconds - (time.perf_counter() - began)) / per_episode))) > 0:
            copies = [branch(state, calendar) for _ in range(size)]
            sampled = run_episodes(self.policy, copies, [downtime] * size, self.temperature, self.rng, self.lookahead)
            tried.extend(("sampled", episode) for episode in sampled)
            episodes += size
        best_name, best = min(tried, key=lambda named: plan_key(named[1]))
        return continuation_plan(state, best), {"episodes": episodes, "chosen": best_name, "makespan": best.now}


def policy_replan_schedule(
    policy: JobShopPolicy,
    instance: Instance,
    interruptions: Interruptions,
    calendar: Calendar | None = None,
    event_budget: float = 1.0,
    time_limit: float | None = None,
    temperature: float = TEMPERATURE,
    seed: int = 0,
) -> BlockingSchedule:
    """``gnn-replan`` on ``calendar`` (default: drawn from ``interruptions``): a :class:`PolicyPlanner` plan at
    time 0 and after every event, each given ``event_budget`` seconds, none made past ``time_limit``."""
    planner = PolicyPlanner(policy, temperature, seed=seed)
    return follow_plans(instance, interruptions, planner, "gnn-replan", calendar, event_budget, True, time_limit)
