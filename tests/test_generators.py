"""Random instance generators: determinism, ranges, routes, and Taillard's 80 benchmarks rebuilt from seeds."""

from __future__ import annotations

import numpy as np
import pytest

from jssp import benchmarks
from jssp.generators import (
    TAILLARD_SEEDS,
    InstanceSampler,
    parse_size,
    random_instance,
    taillard_benchmark,
    taillard_instance,
    taillard_unif,
)
from jssp.instance import MAX_DURATION

# ---------------------------------------------------------------------------------------------
# random_instance
# ---------------------------------------------------------------------------------------------


def test_random_instance_same_seed_same_instance() -> None:
    first = random_instance(10, 5, seed=7)
    second = random_instance(10, 5, seed=7)
    assert first == second
    assert first.name == "random_10x5_s7"


def test_random_instance_different_seeds_differ() -> None:
    instances = [random_instance(10, 5, seed=seed) for seed in range(5)]
    fingerprints = {instance.fingerprint() for instance in instances}
    assert len(fingerprints) == 5


def test_random_instance_from_generator_advances_it() -> None:
    rng = np.random.default_rng(3)
    first = random_instance(6, 4, seed=rng)
    second = random_instance(6, 4, seed=rng)
    assert first != second
    replay = np.random.default_rng(3)
    assert random_instance(6, 4, seed=replay) == first
    assert random_instance(6, 4, seed=replay) == second
    assert first.name == "random_6x4"


@pytest.mark.parametrize(("num_jobs", "num_machines"), [(1, 1), (1, 7), (7, 1), (15, 15), (100, 20)])
def test_random_instance_shape_ranges_and_routes(num_jobs: int, num_machines: int) -> None:
    instance = random_instance(num_jobs, num_machines, seed=0, low=5, high=12, name="x")
    assert instance.name == "x"
    assert instance.machines.shape == (num_jobs, num_machines)
    assert instance.durations.shape == (num_jobs, num_machines)
    assert instance.machines.dtype == np.int64 and instance.durations.dtype == np.int64
    assert instance.durations.min() >= 5 and instance.durations.max() <= 12
    for route in instance.machines:
        assert sorted(route.tolist()) == list(range(num_machines))


def test_random_instance_bounds_are_inclusive() -> None:
    instance = random_instance(50, 20, seed=1, low=1, high=3)
    assert set(np.unique(instance.durations).tolist()) == {1, 2, 3}
    constant = random_instance(4, 4, seed=1, low=0, high=0)
    assert not constant.durations.any()


def test_random_instance_routes_are_not_biased() -> None:
    # 4,000 jobs over 5 machines: each machine opens about 800 routes (sd ~ 25).
    instance = random_instance(4000, 5, seed=11)
    first_machine_counts = np.bincount(instance.machines[:, 0], minlength=5)
    assert first_machine_counts.min() > 700 and first_machine_counts.max() < 900
    duration_mean = instance.durations.mean()
    assert 49 < duration_mean < 51


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_jobs": 0, "num_machines": 3}, "num_jobs must be at least 1"),
        ({"num_jobs": 3, "num_machines": -2}, "num_machines must be at least 1"),
        ({"num_jobs": 2.5, "num_machines": 3}, "num_jobs must be an integer"),
        ({"num_jobs": True, "num_machines": 3}, "num_jobs must be an integer"),
        ({"num_jobs": 3, "num_machines": 3, "low": -1}, "0 <= low <= high"),
        ({"num_jobs": 3, "num_machines": 3, "low": 10, "high": 9}, "0 <= low <= high"),
        ({"num_jobs": 3, "num_machines": 3, "high": MAX_DURATION + 1}, "largest supported duration"),
    ],
)
def test_random_instance_rejects_invalid_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        random_instance(seed=0, **kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# parse_size and InstanceSampler
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "size"), [("15x15", (15, 15)), ("100x20", (100, 20)), (" 6 X 6 ", (6, 6))])
def test_parse_size(text: str, size: tuple[int, int]) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "15", "15x", "x15", "15x15x2", "0x5", "5x0", "-3x4", "ax4", "15*15"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="size"):
        parse_size(text)


def test_sampler_draws_only_and_all_listed_sizes() -> None:
    sampler = InstanceSampler(sizes=[(6, 6), (10, 5), (15, 15)], low=2, high=9)
    assert sampler.sizes == ((6, 6), (10, 5), (15, 15))
    rng = np.random.default_rng(0)
    drawn = [sampler.sample(rng) for _ in range(60)]
    assert {(instance.num_jobs, instance.num_machines) for instance in drawn} == {(6, 6), (10, 5), (15, 15)}
    assert all(instance.durations.min() >= 2 and instance.durations.max() <= 9 for instance in drawn)


def test_sampler_is_deterministic_under_a_seed() -> None:
    sampler = InstanceSampler(sizes=((5, 5), (8, 4)))
    first = [sampler.sample(np.random.default_rng(42)) for _ in range(3)]
    rng_a, rng_b = np.random.default_rng(42), np.random.default_rng(42)
    stream_a = [sampler.sample(rng_a) for _ in range(5)]
    stream_b = [sampler.sample(rng_b) for _ in range(5)]
    assert first[0] == first[1] == first[2]
    assert stream_a == stream_b
    assert len({instance.fingerprint() for instance in stream_a}) == 5


def test_sampler_is_frozen_and_hashable() -> None:
    sampler = InstanceSampler(sizes=[(5, 5)])
    assert hash(sampler) == hash(InstanceSampler(sizes=((5, 5),)))
    with pytest.raises(AttributeError):
        sampler.low = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sizes": []}, "at least one size"),
        ({"sizes": [(5, 5, 5)]}, "pair"),
        ({"sizes": [5]}, "pairs"),
        ({"sizes": [(0, 5)]}, "num_jobs must be at least 1"),
        ({"sizes": [(5, 5)], "low": 3, "high": 2}, "0 <= low <= high"),
    ],
)
def test_sampler_rejects_invalid_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        InstanceSampler(**kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Taillard's generator
# ---------------------------------------------------------------------------------------------


def test_taillard_unif_is_the_minimal_standard_generator() -> None:
    # Park & Miller (1988): from seed 1, the 10,000th value is 1043618065.
    seed = 1
    for _ in range(10_000):
        seed, _value = taillard_unif(seed, 1, 99)
    assert seed == 1043618065
    # ta01's first duration is 94 (Taillard's file, Times row 1).
    assert taillard_unif(840612802, 1, 99)[1] == 94


def test_taillard_unif_stays_in_range() -> None:
    seed, values = 12345, []
    for _ in range(2000):
        seed, value = taillard_unif(seed, 3, 7)
        values.append(value)
    assert set(values) == {3, 4, 5, 6, 7}


def test_taillard_seeds_table() -> None:
    assert list(TAILLARD_SEEDS) == [f"ta{number:02d}" for number in range(1, 81)]
    assert TAILLARD_SEEDS["ta01"] == (840612802, 398197754)
    assert TAILLARD_SEEDS["ta51"] == (17271, 718939)
    assert TAILLARD_SEEDS["ta80"] == (682761130, 262763021)
    assert len(set(TAILLARD_SEEDS.values())) == 80


@pytest.mark.parametrize("name", list(TAILLARD_SEEDS))
def test_taillard_benchmark_reproduces_the_published_instance(name: str) -> None:
    generated = taillard_benchmark(name)
    published = benchmarks.load(name)
    assert generated.name == name
    assert generated.shape == published.shape == benchmarks.catalogue()[name].shape
    assert generated == published


def test_taillard_instance_is_sensitive_to_each_seed() -> None:
    time_seed, machine_seed = TAILLARD_SEEDS["ta01"]
    reference = taillard_instance(15, 15, time_seed, machine_seed)
    other_times = taillard_instance(15, 15, time_seed + 1, machine_seed)
    other_routes = taillard_instance(15, 15, time_seed, machine_seed + 1)
    assert np.array_equal(other_times.machines, reference.machines)
    assert not np.array_equal(other_times.durations, reference.durations)
    assert np.array_equal(other_routes.durations, reference.durations)
    assert not np.array_equal(other_routes.machines, reference.machines)
    assert reference.name == f"taillard_15x15_{time_seed}_{machine_seed}"


@pytest.mark.parametrize("seeds", [(0, 1), (1, 0), (2**31 - 1, 1), (1, -5), (1.5, 1)])
def test_taillard_instance_rejects_invalid_seeds(seeds: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="seed must be an integer in 1.."):
        taillard_instance(3, 3, *seeds)


@pytest.mark.parametrize("name", ["ta00", "ta81", "dmu01", "TA01", "ta1"])
def test_taillard_benchmark_rejects_unknown_names(name: str) -> None:
    with pytest.raises(KeyError, match="unknown Taillard"):
        taillard_benchmark(name)
