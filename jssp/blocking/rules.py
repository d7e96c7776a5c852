"""Dispatching rules for the blocking job shop with shutdowns, run through the simulator.

The rules are those of :mod:`jssp.rules` (``spt``, ``lpt``, ``mwkr``, ``lwkr``, ``mor``, ``lor``,
``mopnr``, ``fifo``, ``fdd-mwkr``, ``random``), scored on the same quantities: the duration of the
candidate operation, the job's operations and work not yet entered (the candidate's included), its
total work, and for ``fifo`` the time the job became blocked (0 while it waits to enter the shop).
They answer only the questions the simulator asks, when several jobs compete for the free
machines; the lowest score wins, ties go to the lowest job index. The deterministic rules run
inside the compiled kernel; ``random`` picks uniformly in Python with a seeded generator.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from jssp.blocking.calendar import Calendar, Interruptions
from jssp.blocking.schedule import BlockingSchedule
from jssp.blocking.simulator import BlockingState
from jssp.instance import Instance
from jssp.rules import RULE_NAMES


def interruptions_record(instance: Instance, interruptions: Interruptions) -> dict[str, Any]:
    """The ``interruptions`` object of the schedule JSON, with the downtime resolved for ``instance``."""
    downtime = interruptions.resolved_downtime(instance)
    return {
        "rate": interruptions.rate,
        "downtime": list(downtime) if isinstance(downtime, tuple) else downtime,
        "seed": interruptions.seed,
        "mode": interruptions.mode,
    }


def dispatch(
    instance: Instance,
    rule: str,
    interruptions: Interruptions | None = None,
    seed: int = 0,
    swaps: bool = True,
    calendar: Calendar | None = None,
    wip_limit: int | None = None,
) -> BlockingSchedule:
    """Simulate one episode in which ``rule`` answers every question.

    Args:
        instance: the instance to schedule.
        rule: one of :data:`jssp.rules.RULE_NAMES`.
        interruptions: shutdown settings; default: none (the deterministic blocking job shop).
        seed: seed of the ``random`` rule (the calendar's seed is ``interruptions.seed``).
        swaps: whether cycles of blocked jobs swap (without, they deadlock).
        calendar: a calendar to use instead of drawing one from ``interruptions`` (tests, replays); the
            schedule's ``interruptions`` record still names ``interruptions``, its mode applies.
        wip_limit: admission control (see :class:`~jssp.blocking.simulator.BlockingState`); None: none.
    """
    if rule not in RULE_NAMES:
        raise ValueError(f"unknown rule {rule!r}; choose one of {', '.join(RULE_NAMES)}")
    interruptions = interruptions or Interruptions()
    began = time.perf_counter()
    calendar = calendar if calendar is not None else interruptions.calendar(instance)
    state = BlockingState(instance, calendar, mode=interruptions.mode, swaps=swaps, wip_limit=wip_limit)
    if rule == "random":
        rng = np.random.default_rng(seed)
        while not state.done:
            candidates = state.candidates()
            state.step(int(candidates[rng.integers(len(candidates))]))
    else:
        state.run_rule(rule)
    schedule = state.schedule(rule, interruptions_record(instance, interruptions))
    schedule.seconds = time.perf_counter() - began
    return schedule
