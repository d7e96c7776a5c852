"""The gymnasium construction environment: API checkers, seeding, rewards, padded observations, masks."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gymnasium_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from jssp.dispatch import SCHEMES, legal_mask_reference
from jssp.env import NODE_FEATURES, NUM_NODE_FEATURES, JobShopEnv
from jssp.generators import InstanceSampler, random_general_instance
from jssp.instance import Instance
from jssp.rules import choose, dispatch
from jssp.schedule import Schedule
from jssp.validation import find_violations

LEGAL = NODE_FEATURES.index("legal")
SCHEDULED = NODE_FEATURES.index("scheduled")
DURATION = NODE_FEATURES.index("duration")
START = NODE_FEATURES.index("start")


@pytest.fixture(scope="module")
def ft06(benchmark_instances) -> Instance:
    return benchmark_instances["ft06"]


@pytest.fixture(scope="module")
def la01(benchmark_instances) -> Instance:
    return benchmark_instances["la01"]


def check_observation(env: JobShopEnv, observation: dict[str, np.ndarray]) -> None:
    """Every array has its space's shape and dtype, lies in the space, and is padded as documented."""
    state = env.state
    assert state is not None
    instance = state.instance
    num_jobs, width = instance.num_jobs, instance.width
    num_slots = num_jobs * width  # node ids job * width + op; route padding is a slot but no node
    valid = instance.valid.ravel()
    space = env.observation_space
    assert set(observation) == set(space.spaces)
    for key, array in observation.items():
        assert array.shape == space[key].shape, key
        assert array.dtype == space[key].dtype, key
    assert space.contains(observation)
    assert observation["num_nodes"].tolist() == [num_slots]

    features = observation["node_features"]
    assert features.shape == (env.max_nodes, NUM_NODE_FEATURES)
    assert not features[num_slots:].any()
    np.testing.assert_array_equal(features[:num_slots, SCHEDULED], (state.start_times >= 0).ravel() | ~valid)
    assert not features[:num_slots][~valid, SCHEDULED + 1 :].any()  # padding: "scheduled" and nothing else

    # Job arcs j*W+k -> j*W+k+1 inside each route, then -1 padding.
    precedence = observation["precedence_edges"]
    nodes = np.arange(num_slots).reshape(num_jobs, width)
    has_successor = instance.valid[:, 1:]
    real = int(has_successor.sum())
    assert real == instance.num_operations - num_jobs
    np.testing.assert_array_equal(precedence[0, :real], nodes[:, :-1][has_successor])
    np.testing.assert_array_equal(precedence[1, :real], nodes[:, 1:][has_successor])
    assert (precedence[:, real:] == -1).all()

    # Machine arcs of the partial schedule: one per operation that follows another on its machine.
    machine_edges = observation["machine_edges"]
    busy_machines = len(np.unique(instance.machines[state.start_times >= 0]))
    arcs = state.num_scheduled - busy_machines
    assert ((machine_edges[:, :arcs] >= 0) & (machine_edges[:, :arcs] < num_slots)).all()
    assert valid[machine_edges[:, :arcs]].all()
    assert (machine_edges[:, arcs:] == -1).all()
    sources, targets = machine_edges[:, :arcs]
    np.testing.assert_array_equal(
        instance.machines.ravel()[sources], instance.machines.ravel()[targets]
    )  # both ends of a machine arc are on the same machine

    op_machine = observation["op_machine"]
    np.testing.assert_array_equal(op_machine[:num_slots], instance.machines.ravel())
    assert (op_machine[:num_slots][~valid] == -1).all()
    assert (op_machine[num_slots:] == -1).all()

    candidates = observation["candidates"]
    unfinished = state.job_next_op < instance.lengths
    expected_candidates = np.where(unfinished, np.arange(num_jobs) * width + state.job_next_op, -1)
    np.testing.assert_array_equal(candidates[:num_jobs], expected_candidates)
    assert valid[candidates[:num_jobs][unfinished]].all()
    assert (candidates[num_jobs:] == -1).all()

    masks = env.action_masks()
    assert masks.dtype == np.bool_ and masks.shape == (env.max_jobs,)
    reference = legal_mask_reference(instance, state.job_next_op, state.job_ready, state.machine_ready, env.scheme)
    np.testing.assert_array_equal(masks[:num_jobs], reference)
    assert not masks[num_jobs:].any()
    assert unfinished[reference].all()
    np.testing.assert_array_equal(observation["action_mask"], masks.astype(np.int8))
    legal_nodes = np.zeros(num_slots, dtype=bool)
    legal_nodes[candidates[:num_jobs][reference]] = True
    np.testing.assert_array_equal(features[:num_slots, LEGAL] == 1, legal_nodes)


def run_episode(env: JobShopEnv, instance: Instance, seed: int, check_every_step: bool = False):
    """Random legal actions until done; returns (lower bound at reset, rewards, last observation, last info)."""
    rng = np.random.default_rng(seed)
    observation, info = env.reset(seed=seed, options={"instance": instance})
    check_observation(env, observation)
    rewards = []
    terminated = False
    while not terminated:
        action = int(rng.choice(np.flatnonzero(env.action_masks())))
        observation, reward, terminated, truncated, step_info = env.step(action)
        assert not truncated
        assert "illegal_action" not in step_info
        rewards.append(reward)
        if check_every_step or terminated:
            check_observation(env, observation)
    return info["lower_bound"], rewards, observation, step_info


# ---------------------------------------------------------------------------------------------
# API checkers
# ---------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("scheme", SCHEMES)
def test_stable_baselines3_env_checker_passes(ft06, la01, scheme):
    sb3_check_env(JobShopEnv([ft06, la01], max_jobs=12, max_machines=6, scheme=scheme), warn=True)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("scheme", SCHEMES)
def test_gymnasium_env_checker_passes(ft06, la01, scheme):
    gymnasium_check_env(JobShopEnv([ft06, la01], max_jobs=12, max_machines=6, scheme=scheme))


def test_spaces_have_the_documented_shapes(ft06, la01):
    env = JobShopEnv([ft06, la01], max_jobs=12, max_machines=6)
    shapes = {key: space.shape for key, space in env.observation_space.spaces.items()}
    assert shapes == {
        "node_features": (72, NUM_NODE_FEATURES),
        "precedence_edges": (2, 60),
        "machine_edges": (2, 72),
        "candidates": (12,),
        "action_mask": (12,),
        "op_machine": (72,),
        "num_nodes": (1,),
    }
    assert env.action_space.n == 12


# ---------------------------------------------------------------------------------------------
# Seeding and instance choice
# ---------------------------------------------------------------------------------------------


def instance_sequence(env: JobShopEnv, seed: int, resets: int = 12) -> tuple[list[str], list[dict[str, np.ndarray]]]:
    names, observations = [], []
    observation, info = env.reset(seed=seed)
    for _ in range(resets):
        names.append(info["instance"])
        observations.append(observation)
        observation, info = env.reset()
    return names, observations


def test_same_seed_gives_the_same_instances_and_observations(benchmark_instances):
    pool = [benchmark_instances[name] for name in ("ft06", "la01", "la06", "orb01")]
    names, observations = instance_sequence(JobShopEnv(pool), seed=3)
    again_names, again_observations = instance_sequence(JobShopEnv(pool), seed=3)
    other_names, _ = instance_sequence(JobShopEnv(pool), seed=4)
    assert names == again_names
    assert len(set(names)) >= 3
    assert names != other_names
    for observation, again in zip(observations, again_observations, strict=True):
        for key in observation:
            np.testing.assert_array_equal(observation[key], again[key], err_msg=key)


def test_reset_seed_restarts_the_sequence(benchmark_instances):
    env = JobShopEnv([benchmark_instances[name] for name in ("ft06", "la01", "la06", "orb01")])
    assert instance_sequence(env, seed=9)[0] == instance_sequence(env, seed=9)[0]


class RandomSizeSource:
    """A minimal instance source: sizes and durations drawn from the generator it is given."""

    sizes = ((3, 2), (4, 3))

    def sample(self, rng: np.random.Generator) -> Instance:
        num_jobs, num_machines = self.sizes[int(rng.integers(len(self.sizes)))]
        machines = np.array([rng.permutation(num_machines) for _ in range(num_jobs)])
        return Instance(machines, rng.integers(1, 10, (num_jobs, num_machines)), name="drawn")


def test_instance_source_draws_from_the_env_generator():
    env = JobShopEnv(RandomSizeSource())
    assert (env.max_jobs, env.max_machines) == (4, 3)
    env.reset(seed=21)
    first = env.state.instance
    env.reset(seed=21)
    assert env.state.instance == first


def test_source_without_sizes_needs_padding():
    class Unsized:
        def sample(self, rng: np.random.Generator) -> Instance:
            return Instance(np.array([[0]]), np.array([[1]]))

    with pytest.raises(ValueError, match="max_jobs and max_machines are needed"):
        JobShopEnv(Unsized())
    env = JobShopEnv(Unsized(), max_jobs=2, max_machines=2)
    observation, _ = env.reset(seed=0)
    assert observation["num_nodes"].tolist() == [1]


def test_reset_option_instance_overrides_the_pool(ft06, la01):
    env = JobShopEnv([ft06], max_jobs=12, max_machines=6)
    observation, info = env.reset(seed=0, options={"instance": la01})
    assert env.state.instance is la01
    assert info == {"instance": "la01", "lower_bound": la01.trivial_lower_bound()}
    assert observation["num_nodes"].tolist() == [50]
    observation, info = env.reset()
    assert info["instance"] == "ft06"


def test_instance_larger_than_the_padding_is_rejected(ft06, la01):
    env = JobShopEnv([ft06])
    with pytest.raises(ValueError, match=r"instance la01 \(10x5\) exceeds the padding 6x6"):
        env.reset(options={"instance": la01})
    with pytest.raises(ValueError, match=r"exceeds the padding 6x5"):
        JobShopEnv([ft06], max_machines=5).reset(seed=0)


def test_bad_constructor_arguments_are_rejected(ft06):
    with pytest.raises(ValueError, match="unknown scheme"):
        JobShopEnv(ft06, scheme="greedy")
    with pytest.raises(ValueError, match="illegal_action"):
        JobShopEnv(ft06, illegal_action="ignore")
    with pytest.raises(ValueError, match="no instances given"):
        JobShopEnv([])
    with pytest.raises(RuntimeError, match="call reset"):
        JobShopEnv(ft06).step(0)


# ---------------------------------------------------------------------------------------------
# Rewards, final schedule, observations along an episode
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("name", ["ft06", "la01", "orb07"])
def test_episode_return_is_the_normalised_makespan_reduction(benchmark_instances, name, scheme):
    instance = benchmark_instances[name]
    env = JobShopEnv([instance], max_jobs=12, max_machines=10, scheme=scheme)
    lower_bound, rewards, _, info = run_episode(env, instance, seed=7, check_every_step=(name == "ft06"))
    assert lower_bound == instance.trivial_lower_bound()
    assert len(rewards) == instance.num_operations
    makespan = info["makespan"]
    assert makespan == env.state.makespan == Schedule(instance, env.state.start_times).makespan
    assert abs(sum(rewards) - (lower_bound - makespan) / lower_bound) < 1e-9
    assert all(reward <= 1e-12 for reward in rewards)  # the bound never decreases
    assert find_violations(instance, env.state.start_times, makespan=makespan) == []


def test_final_observation_holds_the_whole_schedule(ft06):
    env = JobShopEnv([ft06], max_jobs=12, max_machines=6)
    lower_bound, _, observation, _ = run_episode(env, ft06, seed=1)
    features = observation["node_features"]
    assert (features[:36, SCHEDULED] == 1).all()
    np.testing.assert_allclose(features[:36, DURATION] * lower_bound, ft06.durations.ravel(), rtol=1e-6)
    np.testing.assert_allclose(features[:36, START] * lower_bound, env.state.start_times.ravel(), rtol=1e-6)
    assert ((observation["machine_edges"] >= 0).all(axis=0)).sum() == 36 - 6
    assert (observation["candidates"] == -1).all()
    assert not observation["action_mask"].any() and not env.action_masks().any()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_rule_driven_episode_reproduces_dispatch(benchmark_instances, scheme):
    instance = benchmark_instances["la16"]
    env = JobShopEnv([instance], scheme=scheme)
    env.reset(seed=0)
    terminated = False
    while not terminated:
        _, _, terminated, _, info = env.step(choose(env.state, "mwkr"))
    reference = dispatch(instance, "mwkr", scheme=scheme)
    np.testing.assert_array_equal(env.state.start_times, reference.start_times)
    assert info["makespan"] == reference.makespan


# ---------------------------------------------------------------------------------------------
# Illegal actions
# ---------------------------------------------------------------------------------------------


def test_illegal_action_raises_when_asked(ft06):
    env = JobShopEnv([ft06], max_jobs=8, scheme="active", illegal_action="raise")
    env.reset(seed=0)
    masked = np.flatnonzero(~env.action_masks())
    assert masked[0] < 6 and masked[-1] == 7  # a real job and a padding slot are both masked
    for action in (int(masked[0]), 7, -1):
        with pytest.raises(ValueError, match=f"job {action} is not a legal action"):
            env.step(action)
    assert env.state.num_scheduled == 0
    legal = int(np.flatnonzero(env.action_masks())[0])
    env.step(legal)
    assert env.state.num_scheduled == 1


@pytest.mark.parametrize("action", ["real", "padding"])
def test_penalized_illegal_action_leaves_the_state_unchanged(ft06, action):
    env = JobShopEnv([ft06], max_jobs=8, scheme="non-delay")
    env.reset(seed=0)
    for job in np.flatnonzero(env.action_masks())[:3]:  # a few legal steps first
        env.step(int(job))
    before = env._observation()
    arrays = {
        key: getattr(env.state, key).copy() for key in ("job_next_op", "job_ready", "machine_ready", "start_times")
    }
    masked = np.flatnonzero(~env.action_masks())
    illegal = int(masked[0] if action == "real" else masked[-1])
    assert (illegal < 6) == (action == "real")
    observation, reward, terminated, truncated, info = env.step(illegal)
    assert (reward, terminated, truncated, info) == (-1.0, False, False, {"illegal_action": True})
    for key in before:
        np.testing.assert_array_equal(observation[key], before[key], err_msg=key)
    for key, array in arrays.items():
        np.testing.assert_array_equal(getattr(env.state, key), array, err_msg=key)
    assert env.state.num_scheduled == 3


# ---------------------------------------------------------------------------------------------
# Instances of different sizes in one environment
# ---------------------------------------------------------------------------------------------


def test_mixed_sizes_are_padded_to_the_largest(ft06, la01):
    env = JobShopEnv([ft06, la01])
    assert (env.max_jobs, env.max_machines, env.max_nodes) == (10, 6, 60)
    assert env.observation_space["precedence_edges"].shape == (2, 50)
    for instance, real_edges in ((ft06, 30), (la01, 40)):
        observation, _ = env.reset(seed=0, options={"instance": instance})
        assert (observation["precedence_edges"][0] >= 0).sum() == real_edges
        assert observation["num_nodes"].tolist() == [instance.num_operations]
        assert not env.action_masks()[instance.num_jobs :].any()
        _, _, observation, info = run_episode(env, instance, seed=2, check_every_step=True)
        assert ((observation["machine_edges"] >= 0).all(axis=0)).sum() == (
            instance.num_operations - instance.num_machines
        )
        assert find_violations(instance, env.state.start_times, makespan=info["makespan"]) == []


# ---------------------------------------------------------------------------------------------
# General routes: partial, re-entrant, of any length
# ---------------------------------------------------------------------------------------------

GENERAL_SHAPES = {
    # name: (num_jobs, num_machines, route_lengths, reentry)
    "long-reentrant": (4, 3, (7, 10), 0.6),
    "single-operation-jobs": (6, 4, (1, 1), 0.0),
    "one-machine": (5, 1, (1, 4), 0.2),
    "more-machines-than-operations": (5, 9, (1, 3), 0.2),
    "mixed": (7, 5, None, 0.3),
}


def general_instance(shape: str, seed: int = 0) -> Instance:
    num_jobs, num_machines, route_lengths, reentry = GENERAL_SHAPES[shape]
    return random_general_instance(num_jobs, num_machines, seed, route_lengths=route_lengths, reentry=reentry)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("shape", GENERAL_SHAPES)
def test_general_routes_episode_offers_only_legal_jobs_and_ends_feasible(shape, scheme):
    instance = general_instance(shape, seed=3)
    assert not instance.is_classical
    env = JobShopEnv(instance, scheme=scheme)
    assert (env.max_jobs, env.max_machines, env.max_width) == (
        instance.num_jobs,
        instance.num_machines,
        max(instance.width, instance.num_machines),
    )
    lower_bound, rewards, _, info = run_episode(env, instance, seed=5, check_every_step=True)
    assert len(rewards) == instance.num_operations
    assert abs(sum(rewards) - (lower_bound - info["makespan"]) / lower_bound) < 1e-9
    assert find_violations(instance, env.state.start_times, makespan=info["makespan"]) == []


def test_general_route_features_count_operations_against_the_width():
    # Job 0: three operations, two on machine 1 (re-entrant); job 1: one operation; width 3.
    instance = Instance.from_routes([[(1, 4), (0, 2), (1, 3)], [(0, 5)]], num_machines=3)
    env = JobShopEnv(instance, scheme="append")
    observation, _ = env.reset(seed=0)
    features = observation["node_features"].reshape(2, 3, NUM_NODE_FEATURES)
    remaining_ops = NODE_FEATURES.index("job_remaining_ops")
    np.testing.assert_allclose(features[0, :, remaining_ops], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(features[1, 0, remaining_ops], 1 / 3)
    np.testing.assert_array_equal(features[1, 1:, SCHEDULED], [1.0, 1.0])  # padding counts as finished
    assert not features[1, 1:, SCHEDULED + 1 :].any()
    scale = instance.trivial_lower_bound()  # 9: job 0's route and machine 1's load
    np.testing.assert_allclose(features[0, :, START] * scale, [0, 4, 6])
    np.testing.assert_array_equal(observation["candidates"][:2], [0, 3])
    np.testing.assert_array_equal(observation["precedence_edges"][:, :2], [[0, 1], [1, 2]])
    assert (observation["precedence_edges"][:, 2:] == -1).all()
    observation, *_ = env.step(1)  # job 1 finishes: no candidate any more
    np.testing.assert_array_equal(observation["candidates"][:2], [0, -1])
    assert env.action_masks().tolist() == [True, False]


def test_general_sampler_pads_routes_to_twice_the_machines_and_keeps_shapes():
    sampler = InstanceSampler([(4, 3), (6, 5)], general=0.7, reentry=0.4)
    env = JobShopEnv(sampler, scheme="active")
    assert (env.max_jobs, env.max_machines, env.max_width, env.max_nodes) == (6, 5, 10, 60)
    assert env.observation_space["precedence_edges"].shape == (2, 54)
    classical = JobShopEnv(InstanceSampler([(4, 3), (6, 5)]))
    assert (classical.max_width, classical.max_nodes) == (5, 30)  # unchanged when no route is general
    shapes = {key: space.shape for key, space in env.observation_space.spaces.items()}
    widths = set()
    env.reset(seed=11)
    for episode in range(12):
        instance = env.state.instance
        widths.add(instance.width)
        _, _, observation, info = run_episode(env, instance, seed=episode, check_every_step=episode < 3)
        assert {key: array.shape for key, array in observation.items()} == shapes
        assert find_violations(instance, env.state.start_times, makespan=info["makespan"]) == []
        env.reset()
    assert len(widths) >= 3


@pytest.mark.filterwarnings("ignore")
def test_env_checkers_pass_on_general_routes():
    instances = [general_instance(shape, seed=1) for shape in ("long-reentrant", "single-operation-jobs")]
    sb3_check_env(JobShopEnv(instances, max_machines=4, scheme="active"), warn=True)
    gymnasium_check_env(JobShopEnv(instances, max_machines=4, scheme="non-delay"))
