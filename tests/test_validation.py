"""The independent validator on hand-made schedules, and the Schedule JSON/CSV forms."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from jssp import benchmarks
from jssp.instance import Instance, InstanceError
from jssp.schedule import Schedule, schedule_from_sequences
from jssp.validation import InfeasibleScheduleError, check_schedule, find_violations

# Two jobs, two machines: job 0 = (m0, 3) then (m1, 2); job 1 = (m1, 4) then (m0, 1).
TINY = Instance(np.array([[0, 1], [1, 0]]), np.array([[3, 2], [4, 1]]), name="tiny")
# Job 0 op 0 on m0 [0, 3), job 1 op 0 on m1 [0, 4), job 0 op 1 on m1 [4, 6), job 1 op 1 on m0 [4, 5).
TINY_STARTS = np.array([[0, 4], [0, 4]])

# Machine orders of an optimal ft06 schedule (makespan 55), one row per machine.
FT06_OPTIMAL_SEQUENCES = [
    [0, 3, 2, 5, 1, 4],
    [1, 3, 5, 0, 4, 2],
    [2, 0, 1, 4, 3, 5],
    [2, 5, 3, 0, 1, 4],
    [1, 4, 3, 5, 2, 0],
    [2, 5, 1, 4, 0, 3],
]


def job_order_sequences(instance: Instance) -> np.ndarray:
    """Job 0 first on every machine, then job 1, ...: always acyclic."""
    return np.tile(np.arange(instance.num_jobs), (instance.num_machines, 1))


# ---------------------------------------------------------------------------------------------
# Feasible schedules pass
# ---------------------------------------------------------------------------------------------


def test_hand_made_tiny_schedule_is_feasible():
    assert find_violations(TINY, TINY_STARTS) == []
    assert find_violations(TINY, TINY_STARTS, makespan=6) == []
    check_schedule(TINY, TINY_STARTS, makespan=6)


def test_optimal_ft06_machine_orders_give_a_feasible_schedule_of_makespan_55():
    instance = benchmarks.load("ft06")
    schedule = schedule_from_sequences(instance, FT06_OPTIMAL_SEQUENCES, method="hand")
    assert schedule.makespan == 55
    assert schedule.method == "hand"
    assert find_violations(instance, schedule.start_times, makespan=55) == []
    schedule.check()
    np.testing.assert_array_equal(schedule.machine_sequences(), FT06_OPTIMAL_SEQUENCES)


def test_job_order_schedule_of_ft06_runs_the_jobs_back_to_back():
    instance = benchmarks.load("ft06")
    schedule = schedule_from_sequences(instance, job_order_sequences(instance))
    schedule.check()
    assert schedule.makespan >= 55
    # Job 0 is first everywhere, so it runs without waiting.
    np.testing.assert_array_equal(schedule.start_times[0], np.concatenate([[0], np.cumsum(instance.durations[0])[:-1]]))


def test_integral_floats_are_accepted():
    assert find_violations(TINY, TINY_STARTS.astype(np.float64)) == []
    assert find_violations(TINY, TINY_STARTS.tolist()) == []


# ---------------------------------------------------------------------------------------------
# Infeasible schedules are rejected with messages naming job, operation and machine
# ---------------------------------------------------------------------------------------------


def with_start(job: int, op: int, start: float) -> np.ndarray:
    starts = TINY_STARTS.astype(np.float64 if isinstance(start, float) else np.int64)
    starts[job, op] = start
    return starts


@pytest.mark.parametrize(
    ("starts", "makespan", "expected"),
    [
        pytest.param(
            with_start(1, 1, 3),
            None,
            ["job 1 operation 1 starts at 3 before operation 0 ends at 4"],
            id="precedence",
        ),
        pytest.param(
            with_start(0, 1, 3),
            None,
            ["machine 1: job 1 operation 0 [0, 4) overlaps job 0 operation 1 [3, 5)"],
            id="machine-overlap",
        ),
        pytest.param(
            with_start(1, 1, 2),
            None,
            [
                "job 1 operation 1 starts at 2 before operation 0 ends at 4",
                "machine 0: job 0 operation 0 [0, 3) overlaps job 1 operation 1 [2, 3)",
            ],
            id="precedence-and-overlap",
        ),
        pytest.param(
            TINY_STARTS - 1,
            None,
            ["job 0 operation 0 starts at negative time -1", "job 1 operation 0 starts at negative time -1"],
            id="negative-start",
        ),
        pytest.param(
            np.zeros((3, 2), dtype=np.int64), None, ["start_times has shape (3, 2), expected (2, 2)"], id="shape"
        ),
        pytest.param(TINY_STARTS.ravel(), None, ["start_times has shape (4,), expected (2, 2)"], id="flat"),
        pytest.param(with_start(0, 1, 4.5), None, ["start_times must be integers"], id="fraction"),
        pytest.param(with_start(0, 1, float("nan")), None, ["start_times must be finite integers"], id="nan"),
        pytest.param(with_start(0, 1, float("inf")), None, ["start_times must be finite integers"], id="inf"),
        pytest.param(TINY_STARTS.astype(str), None, ["start_times must be finite integers"], id="strings"),
        pytest.param(TINY_STARTS, 7, ["claimed makespan 7 differs from the latest completion 6"], id="makespan"),
    ],
)
def test_infeasible_schedules_are_reported(starts, makespan, expected):
    assert find_violations(TINY, starts, makespan=makespan) == expected
    with pytest.raises(InfeasibleScheduleError) as caught:
        check_schedule(TINY, starts, makespan=makespan)
    message = str(caught.value)
    assert message.startswith(f"tiny: {expected[0]}")
    if len(expected) > 1:
        assert f"(+{len(expected) - 1} more: {expected[1]}" in message


def test_every_overlapping_pair_on_a_crowded_machine_is_found():
    # All six ft06 jobs start at 0 on their first machine: machines 1 and 2 each get three at once.
    instance = benchmarks.load("ft06")
    starts = 1000 * np.arange(6)[None, :] + 100 * np.arange(6)[:, None]  # far apart: no conflict
    starts[:, 0] = 0
    violations = find_violations(instance, starts, max_reported=100)
    overlaps = [v for v in violations if v.startswith("machine")]
    assert sorted(v.split(":")[0] for v in overlaps) == ["machine 1", "machine 1", "machine 2", "machine 2"]
    assert len(find_violations(instance, starts, max_reported=3)) == 3


def test_violation_on_a_large_benchmark_is_localised():
    instance = benchmarks.load("ta71")
    schedule = schedule_from_sequences(instance, job_order_sequences(instance))
    starts = schedule.start_times.copy()
    assert find_violations(instance, starts) == []
    end = int(starts[57, 12] + instance.durations[57, 12])
    starts[57, 13] = end - 1
    violations = find_violations(instance, starts)
    assert violations[0] == f"job 57 operation 13 starts at {end - 1} before operation 12 ends at {end}"


# ---------------------------------------------------------------------------------------------
# Zero-duration operations occupy no machine time
# ---------------------------------------------------------------------------------------------


def test_zero_duration_operation_inside_another_operation_is_not_a_conflict():
    instance = Instance(np.array([[0, 1], [0, 1]]), np.array([[5, 3], [0, 4]]), name="zero")
    # Job 1 op 0 (m0, duration 0) at time 2, strictly inside job 0 op 0 [0, 5) on m0.
    starts = np.array([[0, 6], [2, 2]])
    assert find_violations(instance, starts) == []
    # The same placement with a positive duration would be an overlap.
    positive = Instance(instance.machines, np.array([[5, 3], [1, 4]]), name="positive")
    assert find_violations(positive, np.array([[0, 7], [2, 3]])) == [
        "machine 0: job 0 operation 0 [0, 5) overlaps job 1 operation 0 [2, 3)"
    ]
    # Zero-duration operations still respect job precedence.
    late = Instance(np.array([[0, 1]]), np.array([[4, 0]]))
    assert find_violations(late, np.array([[0, 3]])) == ["job 0 operation 1 starts at 3 before operation 0 ends at 4"]


def test_orb07_zero_duration_operation_never_conflicts():
    instance = benchmarks.load("orb07")
    assert np.argwhere(instance.durations == 0).tolist() == [[9, 9]]
    machine = int(instance.machines[9, 9])
    # Job 9 first on every machine: its zero-duration last operation ends the job, everything else comes later.
    order = np.array([[9, *range(9)]] * instance.num_machines)
    schedule = schedule_from_sequences(instance, order)
    starts = schedule.start_times.copy()
    assert find_violations(instance, starts) == []
    # Move the zero-duration operation into the middle of every other operation on its machine.
    for job in range(9):
        op = int(np.flatnonzero(instance.machines[job] == machine)[0])
        begin, duration = starts[job, op], instance.durations[job, op]
        assert duration >= 2 and begin >= starts[9, 9]
        moved = starts.copy()
        moved[9, 9] = begin + duration // 2
        assert find_violations(instance, moved) == [], (job, op)


# ---------------------------------------------------------------------------------------------
# Schedule JSON and CSV forms, schedule_from_sequences
# ---------------------------------------------------------------------------------------------


def optimal_ft06() -> Schedule:
    schedule = schedule_from_sequences(benchmarks.load("ft06"), FT06_OPTIMAL_SEQUENCES, method="hand")
    schedule.seconds = 0.1234567
    schedule.lower_bound = 55
    schedule.status = "OPTIMAL"
    return schedule


def test_schedule_json_round_trip(tmp_path):
    schedule = optimal_ft06()
    data = schedule.to_dict(best_known=55)
    assert data["format"] == "jssp-schedule/1"
    assert data["instance"] == {"name": "ft06", "num_jobs": 6, "num_machines": 6}
    assert data["makespan"] == 55
    assert data["best_known"] == 55
    assert data["lower_bound"] == 55
    assert data["seconds"] == 0.123457
    assert len(data["operations"]) == 36
    assert [op["start"] for op in data["operations"]] == sorted(op["start"] for op in data["operations"])

    path = tmp_path / "ft06.json"
    schedule.write_json(path, best_known=55)
    back = Schedule.from_dict(json.loads(path.read_text()), schedule.instance)
    np.testing.assert_array_equal(back.start_times, schedule.start_times)
    assert back.start_times.dtype == np.int64
    assert (back.makespan, back.method, back.status, back.lower_bound) == (55, "hand", "OPTIMAL", 55)
    assert back.seconds == 0.123457
    back.check()


def test_schedule_from_dict_rejects_other_documents():
    schedule = optimal_ft06()
    with pytest.raises(ValueError, match="not a jssp-schedule/1 document"):
        Schedule.from_dict({**schedule.to_dict(), "format": "other"}, schedule.instance)
    with pytest.raises(ValueError, match="start_times must hold one list per job with its 50 operations"):
        Schedule.from_dict(schedule.to_dict(), benchmarks.load("la01"))


def test_schedule_csv_has_one_row_per_operation(tmp_path):
    schedule = optimal_ft06()
    path = tmp_path / "ft06.csv"
    schedule.write_csv(path)
    lines = path.read_text().splitlines()
    assert len(lines) == schedule.instance.num_operations + 1
    assert lines[0] == "job,op,machine,start,duration,end"
    rows = list(csv.DictReader(lines))
    assert len(rows) == 36
    for row in rows:
        job, op = int(row["job"]), int(row["op"])
        assert int(row["machine"]) == schedule.instance.machines[job, op]
        assert int(row["start"]) == schedule.start_times[job, op]
        assert int(row["end"]) == int(row["start"]) + int(row["duration"])
    assert max(int(row["end"]) for row in rows) == 55


def test_schedule_from_sequences_gives_the_semi_active_schedule():
    schedule = schedule_from_sequences(TINY, [[0, 1], [1, 0]])
    np.testing.assert_array_equal(schedule.start_times, TINY_STARTS)
    assert schedule.makespan == 6


def test_schedule_from_sequences_rejects_cyclic_orders():
    # m0 wants job 1 first (needs job 1 on m1 first), m1 wants job 0 first (needs job 0 on m0 first).
    with pytest.raises(ValueError, match="cyclic"):
        schedule_from_sequences(TINY, [[1, 0], [0, 1]])
    instance = benchmarks.load("ft06")
    # Job 0 visits machine 2 before machine 1, job 1 the other way round: 0 before 1 on machine 1
    # and 1 before 0 on machine 2 close a cycle.
    assert instance.machines[0].tolist().index(2) < instance.machines[0].tolist().index(1)
    assert instance.machines[1].tolist().index(1) < instance.machines[1].tolist().index(2)
    sequences = np.array(FT06_OPTIMAL_SEQUENCES)
    sequences[1] = [0, 1, 3, 5, 4, 2]
    sequences[2] = [2, 1, 0, 4, 3, 5]
    with pytest.raises(ValueError, match="cyclic"):
        schedule_from_sequences(instance, sequences)


def test_schedule_from_sequences_rejects_a_wrong_shape():
    with pytest.raises(ValueError, match=r"sequences has shape \(2, 3\), expected one list per machine"):
        schedule_from_sequences(TINY, [[0, 1, 0], [1, 0, 1]])


# ---------------------------------------------------------------------------------------------
# General routes: partial and re-entrant jobs
# ---------------------------------------------------------------------------------------------

# Job 0 visits machine 0 twice; job 1 has one operation; machine 2 is never used.
REENTRANT = Instance.from_routes([[(0, 3), (1, 2), (0, 4)], [(1, 5)]], name="re-entrant", num_machines=3)


def test_general_instance_shapes_and_lengths():
    assert REENTRANT.machines.tolist() == [[0, 1, 0], [1, -1, -1]]
    assert REENTRANT.lengths.tolist() == [3, 1]
    assert (REENTRANT.num_operations, REENTRANT.num_machines, REENTRANT.width) == (4, 3, 3)
    assert not REENTRANT.is_classical and benchmarks.load("ft06").is_classical
    assert REENTRANT.machine_loads().tolist() == [7, 7, 0]
    assert REENTRANT.trivial_lower_bound() == 9
    assert REENTRANT.route(0) == [(0, 3), (1, 2), (0, 4)]
    two_machines = Instance.from_routes([[(0, 3), (1, 2), (0, 4)], [(1, 5)]])
    assert two_machines.num_machines == 2
    assert two_machines.fingerprint() != REENTRANT.fingerprint()  # an unused machine is part of the instance


@pytest.mark.parametrize(
    ("machines", "durations", "message"),
    [
        ([[0, -1, 1]], [[1, 0, 1]], "job 0 has a gap in its route at operation 1"),
        ([[0, 1], [-1, -1]], [[1, 1], [0, 0]], "job 1 has no operations"),
        ([[0, -1]], [[1, 5]], "job 0 has a duration at operation 1 but no machine"),
        ([[0, -2]], [[1, 1]], "job 0 operation 1 uses machine -2, outside 0..0"),
    ],
)
def test_malformed_general_instances_are_rejected(machines, durations, message):
    with pytest.raises(InstanceError, match=message):
        Instance(np.array(machines), np.array(durations))


def test_validator_on_a_reentrant_schedule():
    starts = np.array([[0, 3, 5], [5, -1, -1]])
    assert find_violations(REENTRANT, starts, makespan=10) == []
    schedule = Schedule(REENTRANT, starts)
    assert schedule.makespan == 10 and schedule.end_times.tolist() == [[3, 5, 9], [10, -1, -1]]
    assert [row.tolist() for row in schedule.machine_sequences()] == [[0, 0], [0, 1], []]
    assert schedule_from_sequences(REENTRANT, schedule.machine_sequences()).start_times.tolist() == [
        [0, 3, 5],
        [5, -1, -1],
    ]
    # A job's third operation may not start before its second ends, even on another machine.
    assert find_violations(REENTRANT, np.array([[0, 3, 4], [5, -1, -1]])) == [
        "job 0 operation 2 starts at 4 before operation 1 ends at 5"
    ]
    # Job 1 on machine 1 overlaps job 0's second operation.
    assert find_violations(REENTRANT, np.array([[0, 3, 5], [4, -1, -1]])) == [
        "machine 1: job 0 operation 1 [3, 5) overlaps job 1 operation 0 [4, 9)"
    ]
    # Whatever stands in the padding is ignored.
    assert find_violations(REENTRANT, np.array([[0, 3, 5], [5, 77, -9]]), makespan=10) == []


def test_general_schedule_json_round_trip():
    schedule = Schedule(REENTRANT, np.array([[0, 3, 5], [5, -1, -1]]), method="hand")
    document = json.loads(json.dumps(schedule.to_dict()))
    assert document["start_times"] == [[0, 3, 5], [5]]
    assert len(document["operations"]) == 4
    again = Schedule.from_dict(document, REENTRANT)
    np.testing.assert_array_equal(again.start_times, schedule.start_times)
    with pytest.raises(ValueError, match="one list per job with its 4 operations"):
        Schedule.from_dict({**document, "start_times": [[0, 3, 5], [5, 6]]}, REENTRANT)


def test_an_unpickled_instance_stays_read_only():
    # A worker process receives instances by pickle; writeable arrays there would also be a new numba type,
    # so every kernel warmed up for read-only arrays would compile again inside the first timed solve.
    import pickle

    REENTRANT.lengths  # noqa: B018 - fill the cache, which travels too
    copy = pickle.loads(pickle.dumps(REENTRANT))
    assert copy == REENTRANT and copy.num_machines == 3
    for array in (copy.machines, copy.durations, copy.lengths):
        assert not array.flags.writeable
