"""The gymnasium construction environment: API checkers, seeding, rewards, padded observations, masks."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gymnasium_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from jssp.dispatch import SCHEMES, legal_mask_reference
from jssp.env import NODE_FEATURES, NUM_NODE_FEATURES, JobShopEnv
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
    num_jobs, num_machines, num_nodes = instance.num_jobs, instance.num_machines, instance.num_operations
    space = env.observation_space
    assert set(observation) == set(space.spaces)
    for key, array in observation.items():
        assert array.shape == space[key].shape, key
        assert array.dtype == space[key].dtype, key
    assert space.contains(observation)
    assert observation["num_nodes"].tolist() == [num_nodes]

    features = observation["node_features"]
    assert features.shape == (env.max_nodes, NUM_NODE_FEATURES)
    assert not features[num_nodes:].any()
    np.testing.assert_array_equal(features[:num_nodes, SCHEDULED], (state.start_times >= 0).ravel())

    # Job arcs j*M+k -> j*M+k+1, then -1 padding.
    precedence = observation["precedence_edges"]
    real = num_jobs * (num_machines - 1)
    nodes = np.arange(num_nodes).reshape(num_jobs, num_machines)
    np.testing.assert_array_equal(precedence[0, :real], nodes[:, :-1].ravel())
    np.testing.assert_array_equal(precedence[1, :real], nodes[:, 1:].ravel())
    assert (precedence[:, real:] == -1).all()

    # Machine arcs of the partial schedule: one per operation that follows another on its machine.
    machine_edges = observation["machine_edges"]
    busy_machines = len(np.unique(instance.machines[state.start_times >= 0]))
    arcs = state.num_scheduled - busy_machines
    assert ((machine_edges[:, :arcs] >= 0) & (machine_edges[:, :arcs] < num_nodes)).all()
    assert (machine_edges[:, arcs:] == -1).all()
    sources, targets = machine_edges[:, :arcs]
    np.testing.assert_array_equal(
        instance.machines.ravel()[sources], instance.machines.ravel()[targets]
    )  # both ends of a machine arc are on the same machine

    op_machine = observation["op_machine"]
    np.testing.assert_array_equal(op_machine[:num_nodes], instance.machines.ravel())
    assert (op_machine[num_nodes:] == -1).all()

    candidates = observation["candidates"]
    unfinished = state.job_next_op < num_machines
    expected_candidates = np.where(unfinished, np.arange(num_jobs) * num_machines + state.job_next_op, -1)
    np.testing.assert_array_equal(candidates[:num_jobs], expected_candidates)
    assert (candidates[num_jobs:] == -1).all()

    masks = env.action_masks()
    assert masks.dtype == np.bool_ and masks.shape == (env.max_jobs,)
    reference = legal_mask_reference(instance, state.job_next_op, state.job_ready, state.machine_ready, env.scheme)
    np.testing.assert_array_equal(masks[:num_jobs], reference)
    assert not masks[num_jobs:].any()
    np.testing.assert_array_equal(observation["action_mask"], masks.astype(np.int8))
    legal_nodes = np.zeros(num_nodes, dtype=bool)
    legal_nodes[candidates[:num_jobs][reference]] = True
    np.testing.assert_array_equal(features[:num_nodes, LEGAL] == 1, legal_nodes)


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
