"""Learned methods on general routes (partial, re-entrant, any length), the incremental greedy decoder
of very large instances, training streams with general routes, and the classical results they keep."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from agents import inference
from agents.checkpoints import load_policy
from agents.imitation import Expert, expert_labels, load_experts, save_experts
from agents.incremental import IncrementalDecoder, supports
from agents.inference import GRAPH_REFRESH, greedy_schedule, sampled_schedule
from agents.lockstep import LockstepDecoder
from agents.policy import JobShopPolicy
from jssp import benchmarks
from jssp.dispatch import DispatchState
from jssp.env import JobShopEnv
from jssp.generators import random_general_instance, random_instance
from jssp.instance import Instance
from jssp.rules import dispatch
from jssp.solvers import SolveOptions, ensure_methods, solve
from jssp.validation import find_violations

GENERAL_SHAPES = {
    # name: (num_jobs, num_machines, route_lengths, reentry)
    "long-reentrant": (5, 3, (8, 14), 0.6),
    "single-operation-jobs": (8, 4, (1, 1), 0.0),
    "one-machine": (6, 1, (1, 5), 0.2),
    "more-machines-than-operations": (6, 12, (1, 3), 0.2),
    "mixed": (10, 6, None, 0.3),
}
CHECKPOINTS = ("gnn-default", "gnn-ppo")  # active and non-delay scheme


def general_instance(shape: str, seed: int = 0) -> Instance:
    num_jobs, num_machines, route_lengths, reentry = GENERAL_SHAPES[shape]
    instance = random_general_instance(num_jobs, num_machines, seed, route_lengths=route_lengths, reentry=reentry)
    assert not instance.is_classical
    return instance


@pytest.fixture(scope="module", autouse=True)
def learned_methods() -> None:
    ensure_methods(["gnn", "gnn-sample", "ls-10"])


# ---------------------------------------------------------------------------------------------
# gnn, gnn-sample and ls-<steps> on general routes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
@pytest.mark.parametrize("shape", GENERAL_SHAPES)
def test_greedy_sampled_and_improved_schedules_are_feasible_on_general_routes(shape: str, checkpoint: str) -> None:
    instance = general_instance(shape, seed=1)
    options = SolveOptions(device="cpu", checkpoint=checkpoint, samples=6)
    greedy = solve(instance, "gnn", options)  # solve() runs the independent validator on every schedule
    sampled = solve(instance, "gnn-sample", options)
    improved = solve(instance, "ls-10", options)
    for schedule in (greedy, sampled, improved):
        assert find_violations(instance, schedule.start_times, makespan=schedule.makespan) == []
        assert schedule.makespan >= instance.trivial_lower_bound()
        assert (schedule.start_times[~instance.valid] == -1).all()
    assert sampled.makespan <= greedy.makespan  # the first rollout decodes greedily
    assert improved.info["start"] == greedy.makespan >= improved.makespan


@pytest.mark.parametrize("shape", GENERAL_SHAPES)
def test_padded_policy_path_only_picks_legal_jobs_and_agrees_with_the_compiled_decoders(shape: str) -> None:
    policy = load_policy("gnn-default")
    instance = general_instance(shape, seed=2)
    env = JobShopEnv(instance, max_jobs=12, max_machines=12, max_width=16, scheme="active", illegal_action="raise")
    shapes = {key: space.shape for key, space in env.observation_space.spaces.items()}
    exact = LockstepDecoder(policy, instance)
    in_torch = LockstepDecoder(policy, instance, compiled=False)
    incremental = IncrementalDecoder(policy, instance, refresh=0.5)
    observation, _ = env.reset(seed=0)
    terminated = False
    with torch.inference_mode():
        while not terminated:
            assert {key: value.shape for key, value in observation.items()} == shapes
            padded = policy.job_logits({key: torch.from_numpy(value[None]) for key, value in observation.items()})[0]
            job = int(torch.argmax(padded))
            assert env.action_masks()[job]
            state = env.state
            logits, graph = exact.compiled_logits([state])
            torch.testing.assert_close(torch.from_numpy(logits[0]), padded[: instance.num_jobs], rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(in_torch.logits([state])[0], padded[: instance.num_jobs], rtol=1e-4, atol=1e-5)
            if state.num_legal > 1:
                np.testing.assert_allclose(incremental.candidate_logits(state, graph[0]), logits[0], atol=1e-4)
            observation, _, terminated, _, info = env.step(job)
    assert find_violations(instance, env.state.start_times, makespan=info["makespan"]) == []


# ---------------------------------------------------------------------------------------------
# The incremental decoder of very large instances
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["active", "non-delay"])
@pytest.mark.parametrize(
    "instance",
    [random_instance(12, 7, seed=2), general_instance("long-reentrant", 3), general_instance("mixed", 4)],
    ids=lambda instance: instance.name,
)
def test_incremental_logits_with_an_exact_graph_embedding_are_the_exact_logits(instance: Instance, scheme: str) -> None:
    policy = load_policy("gnn-default")
    decoder = IncrementalDecoder(policy, instance, refresh=0.5)
    state = DispatchState(instance, scheme)
    rng = np.random.default_rng(0)
    compared = 0
    while not state.done:  # a random rollout: several dispatches between two calls, forced steps included
        if state.num_legal > 1 and rng.random() < 0.7:
            logits, graph = decoder.exact.compiled_logits([state])
            incremental = decoder.candidate_logits(state, graph[0])
            np.testing.assert_array_equal(np.isfinite(incremental), state.mask)
            np.testing.assert_allclose(incremental, logits[0], atol=1e-4)
            compared += 1
        state.step(int(rng.choice(np.flatnonzero(state.mask))))
    assert compared >= 10


def test_incremental_decoding_with_refresh_zero_is_the_exact_greedy_schedule() -> None:
    policy = load_policy("gnn-default")
    for instance in (benchmarks.load("la01"), benchmarks.load("orb03"), general_instance("mixed", 5)):
        exact = greedy_schedule(policy, instance, "active")
        incremental = greedy_schedule(policy, instance, "active", refresh=0.0)
        np.testing.assert_array_equal(incremental.start_times, exact.start_times)
        assert incremental.info["graph_refresh"] == 0.0 and "graph_refresh" not in exact.info
        held = greedy_schedule(policy, instance, "active", refresh=0.05)
        assert find_violations(instance, held.start_times, makespan=held.makespan) == []


def test_large_instances_take_the_incremental_route_and_small_ones_stay_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = load_policy("gnn-default")
    assert supports(policy) and supports(load_policy("gnn-ppo"))
    instance = random_instance(8, 6, seed=4)
    assert "graph_refresh" not in greedy_schedule(policy, instance, "active").info
    monkeypatch.setattr(inference, "LARGE_INSTANCE_OPERATIONS", instance.num_operations)
    assert greedy_schedule(policy, instance, "active").info["graph_refresh"] == GRAPH_REFRESH
    three_layers = JobShopPolicy(
        *_spaces(JobShopEnv(instance)), lambda _: 0.0, width=8, num_layers=3
    )  # the incremental decoder needs two layers: others stay exact
    assert not supports(three_layers)
    assert "graph_refresh" not in greedy_schedule(three_layers, instance, "active").info
    with pytest.raises(ValueError, match="two-layer"):
        IncrementalDecoder(three_layers, instance)


def _spaces(env: JobShopEnv) -> tuple[Any, Any]:
    return env.observation_space, env.action_space


def test_greedy_decoding_of_a_100x100_instance_stays_close_to_the_exact_decoder() -> None:
    instance = benchmarks.load("tai_100_100_1")  # shipped in instances/large
    schedule = greedy_schedule(load_policy("gnn-default"), instance, "active")
    assert schedule.info["graph_refresh"] == GRAPH_REFRESH
    assert find_violations(instance, schedule.start_times, makespan=schedule.makespan) == []
    # 89,669 is the exact decoder's makespan (every step exact, 13 s); best known 76,926.
    assert 76_926 <= schedule.makespan <= 1.02 * 89_669


# ---------------------------------------------------------------------------------------------
# Classical results do not move
# ---------------------------------------------------------------------------------------------


def test_shipped_policies_keep_their_classical_makespans() -> None:
    # Recorded before general routes reached the learned methods (commit 977bfd0).
    options = SolveOptions(device="cpu", samples=16)
    expected = {
        ("ft06", "gnn"): 55,
        ("la01", "gnn"): 695,
        ("ta01", "gnn"): 1471,
        ("la01", "gnn-sample"): 666,
        ("la01", "ls-50"): 666,
    }
    ensure_methods(["ls-50"])
    got = {(name, method): solve(benchmarks.load(name), method, options).makespan for name, method in expected}
    assert got == expected


# ---------------------------------------------------------------------------------------------
# Training with general routes
# ---------------------------------------------------------------------------------------------


def test_a_ppo_run_can_train_on_general_routes(tmp_path: Path, run_settings: Any) -> None:
    from agents.harness import start_run
    from agents.ppo import PPOConfig, PPOHyperparameters, main

    cfg = PPOConfig(
        run=run_settings(tmp_path, sizes=("4x3", "5x4"), seed=1, eval_every=64, general_fraction=0.5, reentry=0.4),
        ppo=PPOHyperparameters(n_envs=2, n_steps=32, batch_size=32, n_epochs=1),
        total_timesteps=128,
        validation_cpsat_seconds=0.0,
    )
    run = main(cfg)
    sampler = run.sampler()
    assert (sampler.general, sampler.reentry, run.max_width) == (0.5, 0.4, 8)
    policy = load_policy(tmp_path / "last", device="cpu")
    assert policy.metadata["architecture"]["max_width"] == 8
    assert policy.metadata["training"]["config"]["run"]["general_fraction"] == 0.5
    schedule = greedy_schedule(policy, general_instance("long-reentrant", 6), "non-delay")
    assert find_violations(schedule.instance, schedule.start_times) == []
    # The settings are part of the run: resuming with another share of general routes is refused.
    with pytest.raises(ValueError, match="general-fraction"):
        start_run(dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, resume=True, general_fraction=0.2)), "ppo")


def test_resuming_a_run_saved_before_general_routes_existed_is_accepted(tmp_path: Path, run_settings: Any) -> None:
    from agents.harness import RunError, start_run
    from agents.imitation import ImitationConfig

    cfg = ImitationConfig(run=run_settings(tmp_path, sizes=("4x3",)))
    start_run(cfg, "imitation")
    saved = json.loads((tmp_path / "config.json").read_text())
    del saved["run"]["general_fraction"], saved["run"]["reentry"]  # as written before the fields existed
    (tmp_path / "config.json").write_text(json.dumps(saved))
    resumed = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, resume=True))
    assert start_run(resumed, "imitation").sampler().general == 0.0
    (tmp_path / "config.json").write_text(json.dumps(saved))
    with pytest.raises(RunError, match="--general-fraction 0.0 there, 0.3 now"):
        start_run(
            dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, resume=True, general_fraction=0.3)), "imitation"
        )


def test_experts_of_general_routes_round_trip_and_old_files_still_load(tmp_path: Path) -> None:
    # Machine 5 is never used: only the stored num_machines keeps the instance equal.
    instance = random_general_instance(5, 6, 7, route_lengths=(1, 3), reentry=0.5).renamed("train-0")
    instance = Instance(instance.machines % 5, instance.durations, name="train-0", num_machines=6)
    teacher = dispatch(instance, "mwkr", scheme="active")
    path = tmp_path / "experts.npz"
    save_experts(path, [Expert(instance, teacher.start_times)], [(5, 6)], 10, 0, general=1.0, reentry=0.5)
    (loaded,) = load_experts(path, [(5, 6)], 10, 0, general=1.0, reentry=0.5)
    assert loaded.instance == instance and loaded.instance.num_machines == 6
    np.testing.assert_array_equal(loaded.start_times, teacher.start_times)
    with pytest.raises(ValueError, match="general/reentry"):
        load_experts(path, [(5, 6)], 10, 0)  # a classical stream is not this file
    # Following the labels rebuilds an active teacher schedule on general routes too.
    labelled = expert_labels(loaded, "active", max_jobs=5, max_machines=6, max_width=3)
    assert labelled.best_makespan == teacher.makespan

    classical = random_instance(4, 3, seed=1)
    old = {"sizes": np.array([(4, 3)]), "iterations": np.array(10), "seed": np.array(0)}
    old |= {"machines_0": classical.machines, "durations_0": classical.durations, "starts_0": np.zeros((4, 3))}
    np.savez(tmp_path / "old.npz", **old)  # written before general routes: no general, reentry, num_machines
    (expert,) = load_experts(tmp_path / "old.npz", [(4, 3)], 10, 0)
    assert expert.instance == classical


def test_sampled_rollouts_stay_in_lockstep_on_routes_of_different_lengths() -> None:
    policy = load_policy("gnn-default")
    instance = general_instance("mixed", 8)
    schedule = sampled_schedule(policy, instance, num_samples=12, temperature=2.0, seed=3, scheme="active")
    assert find_violations(instance, schedule.start_times, makespan=schedule.makespan) == []
    assert schedule.makespan <= greedy_schedule(policy, instance, "active").makespan
