"""The blocking validator: a valid schedule passes, every rule rejects its hand-made violation, JSON round-trips."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jssp import benchmarks
from jssp.blocking import BlockingSchedule, Calendar, InfeasibleBlockingScheduleError, Interruptions, solve
from jssp.blocking.rules import dispatch
from jssp.blocking.validation import find_document_violations, find_violations
from jssp.instance import Instance

# Two jobs swap on two machines; machine 1 is down over [3, 6), so the swap waits until 6:
# job 0: M0 enter 0, processes [0, 3], leaves 6; M1 enter 6, [6, 8], leaves 8.
# job 1: M1 enter 0, processes [0, 3], leaves 6; M0 enter 6, [6, 8], leaves 8.
SWAP = Instance.from_routes([[(0, 3), (1, 2)], [(1, 3), (0, 2)]], name="swap")
DOWN = [[], [(3, 6)]]


def valid_document() -> dict[str, Any]:
    schedule = dispatch(SWAP, "spt", calendar=Calendar.fixed(DOWN))
    document = schedule.to_dict()
    assert document["makespan"] == 8 and find_document_violations(SWAP, document, DOWN) == []
    return document


def record(document: dict[str, Any], job: int, op: int) -> dict[str, Any]:
    return next(item for item in document["operations"] if (item["job"], item["op"]) == (job, op))


def set_fields(job: int, op: int, **fields: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        record(document, job, op).update(fields)

    return change


def set_key(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        document[key] = value

    return change


def set_restart(document: dict[str, Any]) -> None:
    document["interruptions"]["mode"] = "restart"
    record(document, 0, 1)["segments"] = [[6, 7], [7, 8]]


def both(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        for single in changes:
            single(document)

    return change


VIOLATIONS = {
    "enter after leave": (set_fields(0, 1, enter=9), "must satisfy 0 <= enter <= leave"),
    "negative enter": (both(set_fields(0, 0, enter=-1)), "must satisfy 0 <= enter <= leave"),
    "segment outside its operation": (set_fields(0, 1, segments=[[7, 9]]), "lies outside [enter 6, leave 8]"),
    "segments short of the duration": (set_fields(0, 1, segments=[[6, 7]]), "segments add up to 1, its duration is 2"),
    "overlapping segments": (set_fields(0, 0, segments=[[0, 2], [1, 2]]), "overlap"),
    "empty segment": (set_fields(0, 0, segments=[[0, 3], [3, 3]]), "is empty or reversed"),
    "processing while down": (set_fields(1, 0, segments=[[0, 2], [3, 4]]), "runs while machine 1 is down"),
    "gap between operations": (set_fields(0, 1, enter=7, segments=[[7, 8]]), "operation 1 enters at 7"),
    "last operation kept after processing": (both(set_fields(0, 1, leave=9), set_key("makespan", 9)),
                                             "leaves its last operation at 9, its processing ends at 8"),
    "enters a down machine": (both(set_fields(0, 0, leave=4), set_fields(0, 1, enter=4, segments=[[6, 8]])),
                              "enters machine 1 at 4 while it is down"),
    "leaves a down machine": (both(set_fields(1, 0, leave=5), set_fields(1, 1, enter=5, leave=7, segments=[[5, 7]])),
                              "leaves machine 1 at 5 while it is down"),
    "two jobs on one machine": (both(set_fields(1, 1, enter=5, segments=[[6, 8]]), set_fields(1, 0, leave=5)),
                                "machine 0: job 1 operation 1 [5, 8) overlaps job 0 operation 0 [0, 6)"),
    "wrong makespan": (set_key("makespan", 7), "claimed makespan 7 differs from the latest leave 8"),
    "restart records one segment": (set_restart, "2 segments; restart mode records one"),
    "unsorted calendar": (set_key("down_intervals", [[], [[3, 6], [1, 2]]]), "not sorted, disjoint and non-empty"),
    "calendar not the one run": (set_key("down_intervals", [[], [[3, 5]]]), "down intervals differ from the calendar"),
    "wrong machine": (set_fields(0, 0, machine=1), "is on machine 1, not 0"),
    "missing operation": (lambda document: document["operations"].pop(), "is missing"),
    "operation twice": (lambda document: document["operations"].append(document["operations"][0]), "listed twice"),
    "wrong format": (set_key("format", "jssp-schedule/1"), "not a jssp-isbjssp-schedule/1 document"),
}  # fmt: skip


@pytest.mark.parametrize("name", VIOLATIONS)
def test_validator_rejects_each_rule(name: str) -> None:
    change, message = VIOLATIONS[name]
    document = copy.deepcopy(valid_document())
    change(document)
    violations = find_document_violations(SWAP, document, DOWN)
    assert violations, name
    assert any(message in violation for violation in violations), violations


def test_zero_length_occupation_must_not_fall_inside_another() -> None:
    instance = Instance.from_routes([[(0, 4)], [(0, 0), (1, 1)]], name="zero")
    enter = np.array([[0, -1], [2, 2]])
    leave = np.array([[4, -1], [2, 3]])
    segments = np.array([[0, 0, 0, 4], [1, 1, 2, 3]])
    no_down = [np.zeros((0, 2))] * 2
    assert "overlaps" in " ".join(find_violations(instance, enter, leave, segments, no_down))
    enter[1] = [4, 4]
    leave[1] = [4, 5]
    segments[1] = [1, 1, 4, 5]
    assert find_violations(instance, enter, leave, segments, no_down) == []  # at the boundary: a touch


def test_schedule_check_raises_a_typed_error() -> None:
    schedule = dispatch(SWAP, "spt")
    schedule.leave[0, 1] = 4
    with pytest.raises(
        InfeasibleBlockingScheduleError,
        match=r"swap: job 0 operation 1: segment \[3, 5\] lies outside \[enter 3, leave 4\]",
    ):
        schedule.check()


def test_json_round_trip_and_document_check(tmp_path: Path) -> None:
    instance = benchmarks.load("la01")
    interruptions = Interruptions(rate=0.01, seed=2, mode="resume")
    schedule = solve(instance, "mwkr", interruptions)
    schedule.info.update(plans=np.int64(3), plan_seconds=np.array([0.5, 0.25]))  # numpy values, as methods leave
    path = tmp_path / "schedule.json"
    schedule.write_json(path)
    document = json.loads(path.read_text())
    assert list(document) == [
        "format", "instance", "method", "makespan", "interruptions", "down_intervals", "operations", "seconds", "info",
    ]  # fmt: skip
    assert document["info"]["plans"] == 3 and document["info"]["plan_seconds"] == [0.5, 0.25]
    assert document["interruptions"] == {"rate": 0.01, "downtime": 57, "seed": 2, "mode": "resume"}
    assert document["instance"] == {"name": "la01", "num_jobs": 10, "num_machines": 5}
    assert len(document["operations"]) == 50 and len(document["down_intervals"]) == 5
    assert sum(len(item["segments"]) for item in document["operations"]) > 50  # some were interrupted
    calendar = interruptions.calendar(instance)
    assert find_document_violations(instance, document, calendar.down_intervals(schedule.makespan)) == []
    again = BlockingSchedule.from_dict(document, instance)
    assert np.array_equal(again.enter, schedule.enter) and np.array_equal(again.leave, schedule.leave)
    assert np.array_equal(again.segments, schedule.segments) and again.makespan == schedule.makespan
    assert again.to_dict() == schedule.to_dict() and again.info == document["info"]
