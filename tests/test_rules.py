"""Dispatching rules and the schedule-generation schemes: feasibility on every benchmark, known gaps, masks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from jssp import benchmarks
from jssp.dispatch import SCHEMES, DispatchState, legal_mask_reference
from jssp.generators import random_general_instance, random_instance
from jssp.instance import Instance
from jssp.rules import RULE_NAMES, choose, dispatch, dispatch_stepwise
from jssp.validation import find_violations

# One or two instances of every family and size class, for the slower cross-products.
SUBSET = ("ft06", "ft20", "la01", "la36", "abz7", "orb07", "swv11", "yn1", "ta01", "ta51", "dmu41")


def infeasible_or_below_bound(instance: Instance, rule: str, scheme: str, seed: int = 0) -> str | None:
    """Why the rule's schedule is wrong, or None when it is feasible and respects the known lower bound."""
    schedule = dispatch(instance, rule, scheme=scheme, seed=seed)
    violations = find_violations(instance, schedule.start_times)
    if violations:
        return f"{instance.name}: {violations[0]}"
    lower_bound = benchmarks.catalogue()[instance.name].lower_bound
    if schedule.makespan < lower_bound:
        return f"{instance.name}: makespan {schedule.makespan} below the lower bound {lower_bound}"
    if schedule.method != rule:
        return f"{instance.name}: method {schedule.method!r}"
    return None


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_every_rule_is_feasible_on_every_benchmark(benchmark_instances, rule):
    failures = [infeasible_or_below_bound(instance, rule, "non-delay") for instance in benchmark_instances.values()]
    assert [failure for failure in failures if failure] == []


@pytest.mark.parametrize("scheme", [scheme for scheme in SCHEMES if scheme != "non-delay"])
@pytest.mark.parametrize("rule", RULE_NAMES)
def test_every_rule_is_feasible_under_the_other_schemes(benchmark_instances, rule, scheme):
    failures = [infeasible_or_below_bound(benchmark_instances[name], rule, scheme) for name in SUBSET]
    assert [failure for failure in failures if failure] == []


def test_the_default_scheme_is_non_delay(benchmark_instances):
    instance = benchmark_instances["ta01"]
    default = dispatch(instance, "mwkr")
    np.testing.assert_array_equal(default.start_times, dispatch(instance, "mwkr", scheme="non-delay").start_times)
    assert default.makespan != dispatch(instance, "mwkr", scheme="active").makespan


@pytest.mark.parametrize("scheme", SCHEMES)
def test_deterministic_rules_repeat_exactly(benchmark_instances, scheme):
    for name in ("la21", "orb07", "ta01"):
        instance = benchmark_instances[name]
        for rule in RULE_NAMES:
            if rule == "random":
                continue
            first = dispatch(instance, rule, scheme=scheme, seed=1)
            second = dispatch(instance, rule, scheme=scheme, seed=2)
            np.testing.assert_array_equal(first.start_times, second.start_times, err_msg=f"{rule} on {name}")


def test_random_rule_is_reproducible_under_a_seed(benchmark_instances):
    instance = benchmark_instances["ta01"]
    first = dispatch(instance, "random", seed=11)
    again = dispatch(instance, "random", seed=11)
    other = dispatch(instance, "random", seed=12)
    np.testing.assert_array_equal(first.start_times, again.start_times)
    assert not np.array_equal(first.start_times, other.start_times)


def test_ties_go_to_the_lowest_job_index():
    # Four identical jobs: every rule scores them equally at the start.
    instance = Instance(np.tile([0, 1], (4, 1)), np.tile([3, 5], (4, 1)))
    for rule in RULE_NAMES:
        if rule != "random":
            assert choose(DispatchState(instance, "append"), rule) == 0, rule


def test_unknown_rule_and_missing_generator_are_rejected(benchmark_instances):
    with pytest.raises(ValueError, match="unknown rule 'edd'"):
        dispatch(benchmark_instances["ft06"], "edd")
    with pytest.raises(ValueError, match="needs a numpy Generator"):
        choose(DispatchState(benchmark_instances["ft06"]), "random")
    with pytest.raises(ValueError, match="unknown scheme 'delay'"):
        DispatchState(benchmark_instances["ft06"], "delay")


# ---------------------------------------------------------------------------------------------
# Published greedy-rule gaps on Taillard 15x15 (SelfLabelingJobShop: MWKR 19.1 %, SPT 26.1 %)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "low", "high", "measured"), [("mwkr", 18, 21, 19.2), ("spt", 24, 28, 25.9)])
def test_mean_gap_on_taillard_15x15(benchmark_instances, rule, low, high, measured):
    names = benchmarks.select("ta:15x15")
    assert names == [f"ta{index:02d}" for index in range(1, 11)]
    gaps = [
        benchmarks.gap_percent(
            dispatch(benchmark_instances[name], rule).makespan, benchmarks.catalogue()[name].best_known
        )
        for name in names
    ]
    mean = float(np.mean(gaps))
    assert low <= mean <= high
    assert round(mean, 1) == measured


# ---------------------------------------------------------------------------------------------
# The compiled mask against its plain-numpy twin, and what each scheme allows
# ---------------------------------------------------------------------------------------------


def random_episode(instance: Instance, scheme: str, seed: int):
    """Yield the state before every step of an episode with uniformly random legal actions."""
    rng = np.random.default_rng(seed)
    state = DispatchState(instance, scheme)
    while not state.done:
        yield state
        state.step(int(rng.choice(np.flatnonzero(state.mask))))
    yield state


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("name", ["ft06", "la16", "orb07", "ta01"])
def test_compiled_mask_equals_the_reference(benchmark_instances, name, scheme):
    instance = benchmark_instances[name]
    steps = 0
    for seed in (0, 1):
        for state in random_episode(instance, scheme, seed):
            reference = legal_mask_reference(instance, state.job_next_op, state.job_ready, state.machine_ready, scheme)
            np.testing.assert_array_equal(state.mask, reference, err_msg=f"step {state.num_scheduled}")
            assert state.num_legal == reference.sum()
            steps += 1
        assert state.done and not state.mask.any()
        assert find_violations(instance, state.start_times, makespan=state.makespan) == []
    assert steps == 2 * (instance.num_operations + 1)


@pytest.mark.parametrize("name", ["ft06", "la16", "orb07", "ta01"])
def test_active_conflict_set_holds_the_earliest_completion(benchmark_instances, name):
    instance = benchmark_instances[name]
    jobs = np.arange(instance.num_jobs)
    for state in random_episode(instance, "active", seed=3):
        if state.done:
            break
        unfinished = state.job_next_op < instance.num_machines
        ops = np.minimum(state.job_next_op, instance.num_machines - 1)
        machines = instance.machines[jobs, ops]
        starts = np.maximum(state.job_ready, state.machine_ready[machines])
        ends = np.where(unfinished, starts + instance.durations[jobs, ops], np.iinfo(np.int64).max)
        earliest = int(np.argmin(ends))
        assert state.mask[earliest]
        # Giffler-Thompson: the jobs on the earliest job's machine that could start before it completes.
        expected = unfinished & (machines == machines[earliest]) & (starts < ends[earliest])
        expected[earliest] = True
        np.testing.assert_array_equal(state.mask, expected)


@pytest.mark.parametrize("name", ["ft06", "la16", "ta01"])
def test_append_scheme_allows_every_unfinished_job(benchmark_instances, name):
    instance = benchmark_instances[name]
    for state in random_episode(instance, "append", seed=4):
        np.testing.assert_array_equal(state.mask, state.job_next_op < instance.num_machines)


@pytest.mark.parametrize("name", ["ft06", "la16", "ta01"])
def test_non_delay_scheme_allows_exactly_the_earliest_starts(benchmark_instances, name):
    instance = benchmark_instances[name]
    jobs = np.arange(instance.num_jobs)
    for state in random_episode(instance, "non-delay", seed=5):
        if state.done:
            break
        unfinished = state.job_next_op < instance.num_machines
        ops = np.minimum(state.job_next_op, instance.num_machines - 1)
        starts = np.maximum(state.job_ready, state.machine_ready[instance.machines[jobs, ops]])
        earliest = starts[unfinished].min()
        np.testing.assert_array_equal(state.mask, unfinished & (starts == earliest))


def test_illegal_step_is_refused(benchmark_instances):
    state = DispatchState(benchmark_instances["ft06"], "active")
    illegal = np.flatnonzero(~state.mask)
    assert illegal.size > 0
    with pytest.raises(ValueError, match=f"job {illegal[0]} is not a legal action"):
        state.step(int(illegal[0]))
    with pytest.raises(ValueError, match="job 6 is not a legal action"):
        state.step(6)
    assert state.num_scheduled == 0 and (state.start_times == -1).all()


# ---------------------------------------------------------------------------------------------
# General routes and the compiled episodes
# ---------------------------------------------------------------------------------------------

GENERAL_SHAPES = {
    "long re-entrant routes": dict(num_jobs=4, num_machines=3, route_lengths=(6, 9), reentry=0.7),
    "many short routes": dict(num_jobs=20, num_machines=6, route_lengths=(1, 3), reentry=0.2),
    "single-operation jobs": dict(num_jobs=7, num_machines=5, route_lengths=(1, 1)),
    "one machine": dict(num_jobs=5, num_machines=1, route_lengths=(1, 4), reentry=1.0),
    "mixed": dict(num_jobs=9, num_machines=7, route_lengths=(1, 12), reentry=0.3),
}


def general_instances(low: int = 1, high: int = 99) -> list[Instance]:
    return [
        random_general_instance(seed=seed, low=low, high=high, name=f"{label} s{seed}", **shape)
        for label, shape in GENERAL_SHAPES.items()
        for seed in range(3)
    ]


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("rule", RULE_NAMES)
def test_every_rule_is_feasible_on_general_routes(rule, scheme):
    for instance in general_instances():
        schedule = dispatch(instance, rule, scheme=scheme, seed=3)
        assert find_violations(instance, schedule.start_times, schedule.makespan) == [], instance.name
        assert schedule.makespan >= instance.trivial_lower_bound()
        assert (schedule.start_times[~instance.valid] == -1).all()


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("rule", [rule for rule in RULE_NAMES if rule != "random"])
def test_compiled_episode_equals_the_step_by_step_reference(benchmark_instances, rule, scheme):
    # Zero durations and narrow ranges make many ties, where the tie-breaking has to agree exactly.
    instances = [benchmark_instances[name] for name in ("ft06", "la01", "swv11")]
    instances += general_instances() + general_instances(low=0, high=3)
    instances += [random_instance(12, 6, seed=seed, low=0, high=2) for seed in range(3)]
    for instance in instances:
        compiled = dispatch(instance, rule, scheme=scheme)
        stepwise = dispatch_stepwise(instance, rule, scheme=scheme)
        np.testing.assert_array_equal(compiled.start_times, stepwise.start_times, err_msg=instance.name)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_compiled_mask_equals_the_reference_on_general_routes(scheme):
    rng = np.random.default_rng(0)
    for instance in general_instances(low=0, high=5):
        state = DispatchState(instance, scheme)
        while not state.done:
            expected = legal_mask_reference(instance, state.job_next_op, state.job_ready, state.machine_ready, scheme)
            np.testing.assert_array_equal(state.mask, expected)
            state.step(int(rng.choice(np.flatnonzero(state.mask))))
        assert (state.job_next_op == instance.lengths).all()


# Run in a fresh process over a numba cache folder of the test's own: cold the first time, warm the second.
_TIMED_SOLVES_AFTER_THE_WARM_UP = """
import importlib
import json
import pkgutil
from numba.core import event
from numba.core.registry import CPUDispatcher
from jssp import benchmarks, dispatch, local_search, rules
from jssp.generators import random_general_instance
from jssp.solvers import SolveOptions, solve

with event.install_recorder("numba:compile") as warm_up_events:
    dispatch.warm_up()  # what jssp solve and evaluate.py's workers run before the first solve
    local_search.warm_up()  # what the tabu method runs before its clock starts
modules = [dispatch, rules, *(importlib.import_module(f"jssp.local_search.{info.name}")
                              for info in pkgutil.iter_modules(local_search.__path__))]
kernels = [value for module in modules for value in vars(module).values() if isinstance(value, CPUDispatcher)]
assert len(kernels) > 40, len(kernels)
loaded = [len(kernel.signatures) for kernel in kernels]
instances = [benchmarks.load("ft06"), random_general_instance(8, 5, seed=1, reentry=1.0)]
with event.install_recorder("numba:compile") as solve_events:
    for instance in instances:
        for scheme in ("non-delay", "active"):
            solve(instance, "tabu", SolveOptions(time_limit=0.3, scheme=scheme))
print(json.dumps({
    "warm_up_compilations": len(warm_up_events.buffer),
    "compilations_in_solves": len(solve_events.buffer),
    "loaded_in_solves": [kernel.__name__ for kernel, count in zip(kernels, loaded) if len(kernel.signatures) != count],
}))
"""


def test_no_kernel_is_compiled_or_loaded_inside_a_timed_solve_with_a_cold_or_a_warm_cache(tmp_path):
    # The warm-up's guarantee: once it has run, a time-limited solve compiles nothing and loads nothing
    # from numba's cache, whatever the cache held before. A kernel compiled inside the limit once cost
    # a fresh checkout's first 10 s tabu solve of ta01 most of its search (1433 instead of 1244).
    environment = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
    reports = []
    for _ in ("cold", "warm"):
        finished = subprocess.run(
            [sys.executable, "-c", _TIMED_SOLVES_AFTER_THE_WARM_UP],
            env=environment, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert finished.returncode == 0, finished.stderr[-2000:]
        reports.append(json.loads(finished.stdout.strip().splitlines()[-1]))
    cold, warm = reports
    assert cold["warm_up_compilations"] > 2 * warm["warm_up_compilations"]  # the two cache states did differ
    for report in reports:
        assert report["compilations_in_solves"] == 0 and report["loaded_in_solves"] == [], report
