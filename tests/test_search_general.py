"""Search methods on general routes (partial, re-entrant, single-operation jobs): local-search kernels
against their Python twins, tabu search, CP-SAT against brute force, the hybrid stages, and time limits
on large generated instances."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest

from jssp import local_search
from jssp.cpsat import solve_cpsat
from jssp.generators import random_general_instance, random_instance
from jssp.instance import Instance
from jssp.local_search import (
    apply_move,
    critical_blocks,
    critical_path,
    estimate_moves,
    evaluate_sequences,
    evaluate_sequences_reference,
    incremental,
    longest_paths,
    machine_operations_reference,
    n5_moves,
    n5_moves_reference,
    tabu_search,
)
from jssp.local_search import graph as search_graph
from jssp.local_search import moves as search_moves
from jssp.local_search import tabu as search_tabu
from jssp.rules import dispatch
from jssp.schedule import Schedule, schedule_from_sequences
from jssp.solvers import START_RULES, SolveOptions, best_rule_start, improve_hybrid, solve
from jssp.validation import find_violations

# (num_jobs, num_machines, route_lengths, reentry): few long routes with heavy re-entry, many short
# routes, single-operation jobs, one machine, and a mix.
SHAPES = {
    "long-reentrant": (3, 4, (8, 14), 0.7),
    "many-short": (40, 6, (1, 3), 0.2),
    "single-operation": (12, 3, (1, 1), 0.0),
    "one-machine": (7, 1, (1, 4), 0.5),
    "mixed": (15, 8, (1, 16), 0.3),
}


def general_instance(shape: str, seed: int) -> Instance:
    num_jobs, num_machines, route_lengths, reentry = SHAPES[shape]
    return random_general_instance(num_jobs, num_machines, seed, route_lengths=route_lengths, reentry=reentry)


def back_to_back() -> Instance:
    """Job 0 visits machine 0 twice in a row: its two operations can sit side by side in a critical block."""
    return Instance.from_routes([[(0, 5), (0, 4), (1, 3)], [(1, 2), (0, 6)], [(0, 3), (1, 5), (0, 2)]], name="b2b")


def tails_reference(instance: Instance, sequences: list[np.ndarray]) -> np.ndarray:
    """Longest path from each operation's end to the end of the schedule, by repeated relaxation."""
    lists = machine_operations_reference(instance, sequences)
    durations = instance.durations
    tails = np.where(instance.valid, 0, -1).astype(np.int64)
    changed = True
    while changed:
        changed = False
        arcs = [
            ((job, op), (job, op + 1)) for job in range(instance.num_jobs) for op in range(instance.lengths[job] - 1)
        ]
        arcs += [pair for operations in lists for pair in zip(operations, operations[1:], strict=False)]
        for before, after in arcs:
            reach = tails[after] + durations[after]
            if tails[before] < reach:
                tails[before], changed = reach, True
    return tails


@pytest.mark.parametrize("shape", [*SHAPES, "back-to-back"])
@pytest.mark.parametrize("seed", [0, 1])
def test_random_n5_walks_match_the_python_twins(shape: str, seed: int) -> None:
    instance = back_to_back() if shape == "back-to-back" else general_instance(shape, seed)
    rng = np.random.default_rng(seed)
    sequences = dispatch(instance, "random", seed=seed).machine_sequences()
    steps = 0
    for _ in range(30):
        makespan, starts = evaluate_sequences(instance, sequences)
        reference_makespan, reference_starts = evaluate_sequences_reference(instance, sequences)
        assert makespan == reference_makespan > 0
        np.testing.assert_array_equal(starts, reference_starts)
        assert find_violations(instance, starts) == []
        np.testing.assert_array_equal(starts, schedule_from_sequences(instance, sequences).start_times)
        path_makespan, path_starts, tails = longest_paths(instance, sequences)
        assert path_makespan == makespan
        np.testing.assert_array_equal(path_starts, starts)
        np.testing.assert_array_equal(tails, tails_reference(instance, sequences))
        path = critical_path(instance, sequences, starts)
        ends = starts + instance.durations
        assert starts[path[0]] == 0 and ends[path[-1]] == makespan
        assert all(ends[a] == starts[b] for a, b in zip(path, path[1:], strict=False))
        assert sum(len(block) for block in critical_blocks(instance, path)) == len(path)
        moves = n5_moves_reference(instance, sequences, starts)
        assert n5_moves(instance, sequences, starts) == moves
        lists = machine_operations_reference(instance, sequences)
        assert all(lists[machine][first][0] != lists[machine][second][0] for machine, first, second in moves)
        exact = [evaluate_sequences(instance, apply_move(sequences, move))[0] for move in moves]
        assert all(value > 0 for value in exact)  # no N5 move closes a cycle
        assert (estimate_moves(instance, sequences, moves) <= np.array(exact, dtype=np.int64)).all()
        if not moves:
            break
        sequences = apply_move(sequences, moves[int(rng.integers(len(moves)))])
        steps += 1
    if shape in ("one-machine", "single-operation"):
        assert steps == 0  # the critical path is one block: N5 is empty
    elif shape in ("long-reentrant", "mixed"):
        assert steps > 0


def test_same_job_pair_in_a_block_is_never_swapped() -> None:
    # Critical path: job 2's two operations, then job 1's two, all on machine 0 (one block), then
    # job 1's last operation on machine 1. N5's only candidate is the last pair of the first block,
    # job 1 twice: swapping it would put job 1's second operation before its first. The other
    # critical swaps stand in: the middle pair, job 2 then job 1.
    instance = Instance.from_routes([[(1, 7), (1, 9)], [(0, 3), (0, 3), (1, 3)], [(0, 5), (0, 8)]])
    sequences = [np.array([2, 2, 1, 1]), np.array([0, 0, 1])]
    makespan, starts = evaluate_sequences(instance, sequences)
    assert makespan == evaluate_sequences_reference(instance, sequences)[0] == 22
    path = critical_path(instance, sequences, starts)
    assert critical_blocks(instance, path) == [[(2, 0), (2, 1), (1, 0), (1, 1)], [(1, 2)]]
    assert n5_moves(instance, sequences, starts) == n5_moves_reference(instance, sequences, starts) == [(0, 1, 2)]
    assert evaluate_sequences(instance, apply_move(sequences, (0, 1, 2)))[0] == 22  # acyclic, no worse


def test_sequences_that_do_not_match_the_routes_are_rejected() -> None:
    instance = back_to_back()
    with pytest.raises(ValueError, match="often"):
        evaluate_sequences(instance, [np.array([0, 0, 0, 2, 1]), np.array([1, 2, 0])])
    with pytest.raises(ValueError, match="one list per machine"):
        evaluate_sequences(instance, [np.array([0, 0, 1, 2])])
    with pytest.raises(ValueError, match="operation_index"):
        local_search.operation_index(instance)


@pytest.mark.parametrize("shape", [*SHAPES, "back-to-back"])
def test_tabu_returns_feasible_schedules_never_worse_than_the_start(shape: str) -> None:
    instance = back_to_back() if shape == "back-to-back" else general_instance(shape, 3)
    start = dispatch(instance, "spt")
    first, second = (tabu_search(instance, start, time_limit=math.inf, max_iterations=2000, seed=1) for _ in range(2))
    assert find_violations(instance, first.schedule.start_times) == []
    assert first.schedule.makespan <= start.makespan
    assert first.schedule.makespan >= instance.trivial_lower_bound()
    np.testing.assert_array_equal(first.schedule.start_times, second.schedule.start_times)
    padding = ~instance.valid
    assert (first.schedule.start_times[padding] == -1).all()


def test_tabu_improves_a_mixed_instance() -> None:
    instance = general_instance("mixed", 5)
    start = dispatch(instance, "fifo")
    result = tabu_search(instance, start, time_limit=math.inf, max_iterations=3000, seed=0)
    result.schedule.check()
    assert result.schedule.makespan < start.makespan
    assert result.improvements > 0


def test_tabu_keeps_the_best_as_a_copy_when_its_log_overflows(monkeypatch: pytest.MonkeyPatch) -> None:
    # The best solution is the current one with the logged swaps undone; a full log makes the
    # search keep a copy instead. Both records must give the same search.
    instance = general_instance("mixed", 7)
    start = dispatch(instance, "mwkr")

    def run() -> local_search.TabuResult:
        return tabu_search(instance, start, time_limit=math.inf, max_iterations=3000, seed=2, restart_after=700)

    logged = run()
    monkeypatch.setattr(search_tabu, "_MIN_LOG_CAPACITY", 4)  # read by the search in Python
    copied = run()
    np.testing.assert_array_equal(logged.schedule.start_times, copied.schedule.start_times)
    assert (logged.iterations, logged.improvements) == (copied.iterations, copied.improvements)


def test_exact_tabu_on_general_routes() -> None:
    instance = general_instance("long-reentrant", 4)
    start = dispatch(instance, "mwkr")
    result = tabu_search(instance, start, time_limit=math.inf, max_iterations=200, seed=0, exact=True)
    result.schedule.check()
    assert result.schedule.makespan <= start.makespan


def brute_force_optimum(instance: Instance) -> int:
    """Best semi-active schedule over every machine order (one of them is optimal)."""
    lists = machine_operations_reference(instance, dispatch(instance, "spt").machine_sequences())
    choices = [sorted(set(itertools.permutations([job for job, _ in operations]))) for operations in lists]
    best = math.inf
    for sequences in itertools.product(*choices):
        makespan = evaluate_sequences_reference(instance, [np.array(row, dtype=np.int64) for row in sequences])[0]
        if makespan >= 0:
            best = min(best, makespan)
    return int(best)


@pytest.mark.parametrize("seed", range(4))
def test_cpsat_is_optimal_on_tiny_general_instances(seed: int) -> None:
    instance = random_general_instance(3, 2, seed, route_lengths=(1, 4), reentry=0.5, high=9)
    schedule = solve_cpsat(instance, time_limit=10.0, num_workers=1)
    assert find_violations(instance, schedule.start_times) == []
    assert schedule.status == "OPTIMAL"
    assert schedule.makespan == brute_force_optimum(instance)
    assert (schedule.start_times[~instance.valid] == -1).all()


def test_cpsat_keeps_a_general_hint_and_handles_back_to_back_visits() -> None:
    instance = back_to_back()
    hint = dispatch(instance, "lpt")
    schedule = solve_cpsat(instance, time_limit=5.0, num_workers=1, hint=hint)
    schedule.check()
    assert schedule.makespan == brute_force_optimum(instance) <= hint.makespan
    fallback = solve_cpsat(instance, time_limit=0.0, num_workers=1, hint=hint)
    np.testing.assert_array_equal(fallback.start_times, hint.start_times)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_search_method_returns_a_validated_schedule(shape: str) -> None:
    instance = general_instance(shape, 11)
    options = SolveOptions(time_limit=1.0, cpsat_workers=1)
    makespans = {method: solve(instance, method, options).makespan for method in ("fdd-mwkr", "tabu", "cpsat")}
    assert makespans["tabu"] <= makespans["fdd-mwkr"]
    start = dispatch(instance, "mwkr")
    hybrid = improve_hybrid(instance, start, options, time.perf_counter())
    hybrid.check()
    stages = hybrid.info["stages"]
    assert stages["mwkr"] == start.makespan >= stages["tabu"] >= stages["cpsat"] == hybrid.makespan
    assert hybrid.makespan >= instance.trivial_lower_bound()


@pytest.mark.parametrize(
    "instance",
    [random_instance(200, 50, seed=0), random_general_instance(300, 40, seed=1, route_lengths=(10, 60))],
    ids=["200x50", "general-300x40"],
)
def test_large_instances_return_within_the_time_limit(instance: Instance) -> None:
    from ortools.sat.python import cp_model  # noqa: F401  (loaded once per process, not by this solve)

    local_search.warm_up()
    time_limit = 1.5
    margin = max(1.0, 0.05 * time_limit)
    options = SolveOptions(time_limit=time_limit)
    began = time.perf_counter()
    tabu = solve(instance, "tabu", options)
    assert time.perf_counter() - began < time_limit + margin
    assert tabu.makespan < dispatch(instance, "fdd-mwkr").makespan
    began = time.perf_counter()
    hybrid = improve_hybrid(instance, dispatch(instance, "mwkr"), options, began)
    assert time.perf_counter() - began < time_limit + margin
    hybrid.check()


def test_tabu_time_limit_covers_the_start_schedule() -> None:
    instance = random_instance(100, 20, seed=3)
    initial: Schedule = dispatch(instance, "mwkr")
    local_search.warm_up()
    began = time.perf_counter()
    result = tabu_search(instance, initial, time_limit=0.3)
    assert time.perf_counter() - began < 0.3 + 0.2
    assert result.iterations > 0 and result.schedule.makespan <= initial.makespan


@pytest.mark.parametrize("shape", ["mixed", "long-reentrant"])
def test_swaps_keep_heads_tails_and_the_topological_order_exact(shape: str) -> None:
    # The search repairs its topological order and sweeps heads and tails over the ranks a swap
    # can change; after every swap they must equal a recomputation from scratch.
    instance = general_instance(shape, 9)
    graph = search_graph._graph(instance)
    solution = search_graph._solution(
        search_graph._schedule_order(dispatch(instance, "random", seed=3)), instance.machines.size
    )
    workspace = incremental._workspace(instance.num_operations, instance.machines.size, exact=False)
    incremental._refresh(graph, solution, workspace)
    rng = np.random.default_rng(0)
    for step in range(60):
        count = search_moves._n5_kernel(graph, solution, workspace.path, workspace.moves)
        if count == 0:
            break
        first = int(workspace.moves[rng.integers(count)])
        made, low, high = incremental._swap(graph, solution, workspace, first, 10**9 + step)
        assert made
        makespan = incremental._sweep(graph, solution, low, high)
        topo, rank = solution.topo, solution.rank
        np.testing.assert_array_equal(rank[topo], np.arange(instance.num_operations))
        schedule = Schedule(instance, search_graph._start_times(instance, solution.heads))
        reference, starts, tails = longest_paths(instance, schedule.machine_sequences())
        assert makespan == reference
        np.testing.assert_array_equal(search_graph._start_times(instance, solution.heads), starts)
        np.testing.assert_array_equal(search_graph._start_times(instance, solution.tails), tails)
        # every arc goes forward in the order
        nodes = np.flatnonzero(instance.valid.ravel())
        job_arcs = nodes[np.isin(nodes + 1, nodes) & ((nodes + 1) % instance.width != 0)]
        assert (rank[job_arcs] < rank[job_arcs + 1]).all()
        order = solution.order
        inner = np.flatnonzero(np.diff(graph.machine[order]) == 0)
        assert (rank[order[inner]] < rank[order[inner + 1]]).all()
    assert step > 10


@pytest.mark.parametrize("shape", ["mixed", "many-short", "long-reentrant"])
def test_batch_steps_are_feasible_deterministic_and_never_worse(shape: str) -> None:
    instance = general_instance(shape, 21)
    start = dispatch(instance, "fifo")
    first, second = (
        tabu_search(instance, start, time_limit=math.inf, max_iterations=300, seed=0, batch_moves=True)
        for _ in range(2)
    )
    first.schedule.check()
    assert first.schedule.makespan <= start.makespan
    np.testing.assert_array_equal(first.schedule.start_times, second.schedule.start_times)
    assert first.iterations == 300 or first.schedule.makespan == instance.trivial_lower_bound()


def test_batch_steps_make_more_progress_per_iteration_on_a_large_instance() -> None:
    instance = random_instance(100, 30, seed=4)
    start = dispatch(instance, "spt")
    batches = tabu_search(instance, start, time_limit=math.inf, max_iterations=40, batch_moves=True)
    single = tabu_search(instance, start, time_limit=math.inf, max_iterations=40, batch_moves=False)
    batches.schedule.check()
    assert batches.improvements > 0
    assert batches.schedule.makespan < single.schedule.makespan < start.makespan


def test_the_start_is_the_best_rule_schedule_within_the_budget() -> None:
    instance = random_general_instance(60, 12, seed=8)
    makespans = [dispatch(instance, rule, scheme=scheme).makespan for rule, scheme in START_RULES]
    assert best_rule_start(instance, budget=60.0).makespan == min(makespans)
    first = best_rule_start(instance, budget=0.0)
    assert (first.method, first.makespan) == (START_RULES[0][0], makespans[0])
