"""Tabu search with path relinking (jssp.local_search.elite): the distance and the relinking walk against plain
Python, the pool, the bandit, and the search on one and two workers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from jssp import benchmarks
from jssp.generators import random_general_instance
from jssp.local_search import elite
from jssp.local_search.graph import _schedule_order
from jssp.local_search.tabu import _Run
from jssp.rules import dispatch
from jssp.solvers import OptionError, SolveOptions, solve
from jssp.validation import find_violations


def distance_reference(offsets: np.ndarray, order: np.ndarray, guide_order: np.ndarray) -> int:
    """Pairs on one machine in opposite orders, by listing every pair."""
    count = 0
    for machine in range(len(offsets) - 1):
        ours = list(order[offsets[machine] : offsets[machine + 1]])
        theirs = list(guide_order[offsets[machine] : offsets[machine + 1]])
        for first, second in itertools.combinations(ours, 2):
            count += theirs.index(first) > theirs.index(second)
    return count


def two_runs(seed: int) -> tuple[_Run, np.ndarray, np.ndarray]:
    instance = random_general_instance(12, 5, seed, route_lengths=(2, 9), reentry=0.3)
    origin = _schedule_order(dispatch(instance, "random", seed=seed))
    guide = _schedule_order(dispatch(instance, "random", seed=seed + 100))
    return _Run(instance, origin, None, 100, False, False), origin, guide


@pytest.mark.parametrize("seed", range(4))
def test_distance_matches_the_pairwise_count(seed: int) -> None:
    run, origin, guide = two_runs(seed)
    expected = distance_reference(run.graph.offsets, origin, guide)
    assert expected > 0
    assert elite._distance(run.graph.offsets, origin, elite._positions(guide)) == expected
    assert elite._distance(run.graph.offsets, guide, elite._positions(guide)) == 0


@pytest.mark.parametrize("seed", range(4))
def test_each_relinking_swap_moves_one_pair_closer_and_keeps_the_graph_acyclic(seed: int) -> None:
    run, origin, guide = two_runs(seed)
    positions = elite._positions(guide)
    before = elite._distance(run.graph.offsets, origin, positions)
    for steps in (1, before // 3, before):
        run.restart(origin)
        made = elite._relink(run.graph, run.solution, run.workspace, run.memory, positions, steps)
        assert 0 < made <= steps
        order = run.solution.order.copy()
        assert elite._distance(run.graph.offsets, order, positions) == before - made
        assert run.restart(order) > 0  # a makespan: no cycle
        assert find_violations(run.instance, run.result(0.0, "x", False).schedule.start_times) == []


def test_the_pool_keeps_the_best_and_never_a_copy() -> None:
    run, origin, guide = two_runs(0)
    pool = elite._Pool(2, run)
    assert pool.offer(origin, 50) and not pool.offer(origin, 50)
    assert pool.offer(guide, 60)
    assert not pool.offer(guide[::-1].copy(), 70)  # full, and worse than the worst
    assert pool.offer(guide[::-1].copy(), 40)
    assert sorted(pool.makespans) == [40, 50] and pool.best == 40


def test_the_bandit_tries_every_kind_then_favours_the_one_that_pays() -> None:
    bandit = elite._Bandit(np.random.default_rng(0))
    tried = []
    for _ in elite.ROUND_KINDS:
        tried.append(bandit.choose())
        bandit.update(tried[-1], 0.0, 100)
    assert sorted(tried) == sorted(elite.ROUND_KINDS)
    for _ in range(30):
        bandit.update("near", 1.0, 100)
        bandit.update("far", 0.0, 100)
    choices = [bandit.choose() for _ in range(200)]
    assert choices.count("near") > 120  # of 200; a uniform choice gives about 50


def test_elite_search_reaches_the_ft06_optimum() -> None:
    instance = benchmarks.load("ft06")
    result = elite.elite_search(instance, dispatch(instance, "spt"), time_limit=2.0, lower_bound=55)
    assert result.schedule.makespan == 55
    assert find_violations(instance, result.schedule.start_times) == []


@pytest.mark.parametrize("chooser", ["bandit", "fixed"])
def test_elite_search_is_deterministic_under_a_round_limit(chooser: str) -> None:
    instance = benchmarks.load("la16")
    start = dispatch(instance, "mwkr")
    settings = elite.EliteSettings(pool_size=3, patience=300, chooser=chooser)
    results = [
        elite.elite_search(instance, start, time_limit=60.0, seed=4, settings=settings, max_rounds=8) for _ in range(2)
    ]
    np.testing.assert_array_equal(results[0].schedule.start_times, results[1].schedule.start_times)
    assert sum(results[0].schedule.info["rounds"].values()) == 8
    assert results[0].schedule.makespan < start.makespan
    assert find_violations(instance, results[0].schedule.start_times) == []


def test_two_workers_return_the_best_of_both() -> None:
    instance = benchmarks.load("la21")
    start = dispatch(instance, "mwkr")
    settings = elite.EliteSettings(workers=2, patience=1000)
    result = elite.elite_search(instance, start, time_limit=1.5, seed=1, settings=settings)
    workers = result.schedule.info["workers"]
    assert len(workers) == 2 and result.schedule.makespan == min(workers) < start.makespan
    assert find_violations(instance, result.schedule.start_times) == []


@pytest.mark.parametrize("max_pool_operations", [0, 20_000])
def test_tabu_pr_on_general_routes_is_valid_and_never_worse_than_its_start(max_pool_operations: int) -> None:
    instance = random_general_instance(30, 6, 3, route_lengths=(1, 12), reentry=0.4)
    start = dispatch(instance, "mwkr")
    settings = elite.EliteSettings(patience=200, max_pool_operations=max_pool_operations)
    result = elite.elite_search(instance, start, time_limit=0.8, settings=settings)
    assert find_violations(instance, result.schedule.start_times) == []
    assert result.schedule.makespan <= start.makespan
    assert ("rounds" in result.schedule.info) == (max_pool_operations > 0)


def test_tabu_pr_method_takes_search_workers() -> None:
    instance = benchmarks.load("ft10")
    schedule = solve(instance, "tabu-pr", SolveOptions(time_limit=1.0, search_workers=1))
    assert "workers" not in schedule.info and schedule.makespan < dispatch(instance, "mwkr").makespan
    with pytest.raises(OptionError, match="--search-workers must be between 1"):
        SolveOptions(search_workers=0).check()


@pytest.mark.parametrize("max_pool_operations", [0, 20_000])
def test_workers_stop_when_one_reaches_the_lower_bound(max_pool_operations: int) -> None:
    instance = benchmarks.load("ta71")  # 100x20: the search reaches the busiest machine's load in about a second
    lower_bound = instance.trivial_lower_bound()
    settings = elite.EliteSettings(workers=2, max_pool_operations=max_pool_operations)
    result = elite.elite_search(instance, dispatch(instance, "mwkr"), 20.0, lower_bound=lower_bound, settings=settings)
    assert result.schedule.makespan == lower_bound
    assert result.schedule.seconds < 10.0  # not the whole time limit


def test_a_worker_whose_time_is_out_before_its_first_round_returns_its_start() -> None:
    instance = benchmarks.load("ft06")
    start = dispatch(instance, "mwkr")
    order = _schedule_order(start)
    result = elite._elite_worker(instance, order, 0.0, 0, 0, elite.EliteSettings(), None, 0)
    assert result.schedule.makespan == start.makespan
    assert find_violations(instance, result.schedule.start_times) == []
    assert result.schedule.info["pool"] == [start.makespan]
