"""The improvement mode: environment contract and bookkeeping, move policy checkpoints, ``ls-<steps>``."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env as gymnasium_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from agents.checkpoints import architecture_of, load_improvement_policy, save_checkpoint
from agents.improvement.inference import improve
from agents.improvement.policy import ImprovementPolicy
from agents.improvement.training import ImprovementConfig, main
from agents.policy import JobShopPolicy
from agents.ppo import PPOHyperparameters
from jssp import benchmarks
from jssp.env import JobShopEnv
from jssp.generators import InstanceSampler, random_general_instance, random_instance
from jssp.improvement_env import IMPROVEMENT_FEATURES, ImprovementEnv, machine_order, max_moves_for
from jssp.instance import Instance
from jssp.local_search import critical_path, evaluate_sequences, n5_moves
from jssp.rules import dispatch
from jssp.validation import find_violations

SLACK = IMPROVEMENT_FEATURES.index("slack")
CRITICAL = IMPROVEMENT_FEATURES.index("critical")
START = IMPROVEMENT_FEATURES.index("start")


def test_env_passes_the_sb3_and_gymnasium_checkers() -> None:
    instances = [benchmarks.load("ft06"), benchmarks.load("la01")]
    sb3_check_env(ImprovementEnv(instances, max_jobs=10, max_machines=6), warn=True)
    gymnasium_check_env(ImprovementEnv(instances, max_jobs=10, max_machines=6))
    sb3_check_env(ImprovementEnv(InstanceSampler([(6, 4), (5, 5)]), max_jobs=6, max_machines=5), warn=True)


@pytest.mark.parametrize("name", ["ft06", "la01", "orb07"])
def test_random_masked_moves_keep_the_bookkeeping_exact_and_schedules_feasible(name: str) -> None:
    instance = benchmarks.load(name)
    env = ImprovementEnv(instance, episode_steps=60, tabu_tenure=3)
    observation, info = env.reset(seed=0)
    scale = instance.trivial_lower_bound()
    rng = np.random.default_rng(1)
    total_reward = 0.0
    num_nodes = instance.num_operations
    for _ in range(60):
        makespan, starts = evaluate_sequences(instance, env.sequences)
        assert makespan == env.makespan == info["makespan"]
        np.testing.assert_array_equal(starts, env.starts)
        assert find_violations(instance, env.starts) == []
        assert find_violations(instance, env.best_starts, env.best_makespan) == []
        # start + duration + tail is the longest path through an operation; its maximum is the makespan.
        through = env.starts + instance.durations + env.tails
        assert through.max() == makespan
        slack = observation["node_features"][:num_nodes, SLACK].reshape(instance.num_jobs, -1)
        np.testing.assert_allclose(slack * scale, makespan - through, atol=1e-3)
        critical = observation["node_features"][:num_nodes, CRITICAL].reshape(instance.num_jobs, -1)
        assert all(critical[job, op] == 1 for job, op in critical_path(instance, env.sequences, env.starts))
        assert env.moves == n5_moves(instance, env.sequences, env.starts)
        legal = np.flatnonzero(env.action_masks())
        np.testing.assert_array_equal(np.flatnonzero(observation["action_mask"]), legal)
        for index, (machine, first, second) in enumerate(env.moves):
            before, after = observation["move_nodes"][index]
            assert (before, after) == tuple(
                int(env.sequences[machine, position]) * instance.num_machines
                + int(np.flatnonzero(instance.machines[env.sequences[machine, position]] == machine)[0])
                for position in (first, second)
            )
        assert (observation["move_nodes"][len(env.moves) :] == -1).all()
        observation, reward, terminated, truncated, info = env.step(int(rng.choice(legal)))
        assert reward >= 0
        total_reward += reward
        if terminated or truncated:
            break
    assert math.isclose(total_reward, (env.initial_makespan - env.best_makespan) / scale, abs_tol=1e-9)
    assert env.best_makespan == min(env.initial_makespan, env.best_makespan)


def test_observation_shares_the_construction_layout() -> None:
    instance = benchmarks.load("ft06")
    env = ImprovementEnv(instance, max_jobs=8, max_machines=7)
    observation, _ = env.reset(seed=0)
    construction = JobShopEnv(instance, max_jobs=8, max_machines=7).observation_space
    for key in ("precedence_edges", "machine_edges", "op_machine", "num_nodes"):
        assert env.observation_space[key].shape == construction[key].shape, key
    assert env.max_moves == max_moves_for(8, 7) == 7 * 7
    machine_edges = observation["machine_edges"]
    assert (machine_edges[:, : 6 * 5] >= 0).all() and (machine_edges[:, 6 * 5 :] == -1).all()
    start_times = observation["node_features"][:36, START].reshape(6, 6) * instance.trivial_lower_bound()
    np.testing.assert_allclose(start_times, env.starts, atol=1e-3)


def test_reset_is_deterministic_under_a_seed_and_accepts_a_start() -> None:
    env = ImprovementEnv(InstanceSampler([(6, 5)]), max_jobs=6, max_machines=5)
    first, _ = env.reset(seed=4)
    second, _ = env.reset(seed=4)
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    instance = benchmarks.load("ft06")
    start = dispatch(instance, "spt")
    _, info = ImprovementEnv(instance).reset(options={"instance": instance, "schedule": start})
    assert info["makespan"] == start.makespan == 88


def test_optimal_start_ends_the_episode_on_action_zero() -> None:
    # One job: the job's chain is the whole critical path, a single block of length 1: no N5 move.
    instance = random_instance(1, 4, seed=0)
    env = ImprovementEnv(instance)
    env.reset(seed=0)
    assert env.moves == [] and env.action_masks().tolist() == [True]
    _, reward, terminated, _, _ = env.step(0)
    assert terminated and reward == 0.0


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory, run_settings: Any) -> Path:
    torch.manual_seed(0)
    return main(_tiny_config(run_settings(tmp_path_factory.mktemp("ls-run"), **TINY_RUN), 256)).settings.run_dir


TINY_RUN = {"sizes": ("5x4", "6x4"), "seed": 2, "eval_every": 128}


def _tiny_config(run: Any, total_timesteps: int) -> ImprovementConfig:
    return ImprovementConfig(
        run=run,
        ppo=PPOHyperparameters(n_envs=2, n_steps=64, batch_size=64, n_epochs=2, gamma=0.99),
        total_timesteps=total_timesteps,
        episode_steps=16,
        width=16,
        num_layers=1,
        validation_steps=10,
    )


def test_tiny_training_run_logs_and_reloads_with_the_same_move_logits(trained_run: Path) -> None:
    from sb3_contrib import MaskablePPO

    with open(trained_run / "validation.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [int(row["timesteps"]) for row in rows] == [0, 128, 256]
    for row in rows:
        for key in ("val_makespan", "val_tabu_makespan", "val_gap_to_tabu"):
            assert math.isfinite(float(row[key])), key
        assert float(row["val_makespan"]) <= float(row["val_start_makespan"])
    assert math.isfinite(float(rows[-1]["loss"]))  # the first update runs after the first validation
    model = MaskablePPO.load(trained_run / "last" / "model.zip", device="cpu")
    reloaded = load_improvement_policy(trained_run / "last", device="cpu")
    assert reloaded.metadata["inference"]["tabu_tenure"] == 8
    env = ImprovementEnv(random_instance(6, 4, seed=3), max_jobs=6, max_machines=4)
    observation, _ = env.reset(seed=0)
    for _ in range(10):
        tensors = {key: torch.from_numpy(value[None]) for key, value in observation.items()}
        with torch.no_grad():
            expected = model.policy.move_logits(tensors)
            got = reloaded.move_logits(tensors)
        torch.testing.assert_close(got, expected)
        legal = torch.from_numpy(env.action_masks())
        assert torch.isfinite(got[0, legal]).all() and torch.isneginf(got[0, ~legal]).all()
        sb3_action, _ = model.predict(observation, deterministic=True, action_masks=env.action_masks())
        assert int(sb3_action) == int(torch.argmax(got[0]))
        observation, _, terminated, _, _ = env.step(int(sb3_action))
        if terminated:
            break


@pytest.mark.parametrize("name", ["la01", "orb07"])
def test_compiled_move_decoder_gives_the_logits_of_move_logits(trained_run: Path, name: str) -> None:
    from agents.lockstep import CompleteGraphDecoder

    torch.manual_seed(0)
    instance = benchmarks.load(name)
    env = ImprovementEnv(instance, max_jobs=16, max_machines=16, tabu_tenure=4)
    # A freshly initialised three-layer policy (random weights spread the logits) and the trained one.
    fresh = ImprovementPolicy(env.observation_space, env.action_space, lambda _: 0.0, width=16, num_layers=3)
    for policy in (fresh.eval(), load_improvement_policy(trained_run / "best", device="cpu")):
        decoder = CompleteGraphDecoder(policy, instance)
        observation, _ = env.reset(seed=0, options={"instance": instance, "schedule": dispatch(instance, "spt")})
        rng = np.random.default_rng(0)
        for _ in range(25):
            with torch.inference_mode():
                expected = policy.move_logits(
                    {key: torch.from_numpy(value[None]) for key, value in observation.items()}
                )
            torch.testing.assert_close(torch.from_numpy(decoder.logits(observation)), expected[0], rtol=1e-4, atol=1e-5)
            observation, _, terminated, _, _ = env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))
            if terminated:
                break


@pytest.mark.parametrize("name", ["ft06", "la01", "ta01"])
def test_improve_never_worsens_the_start_on_any_size(trained_run: Path, name: str) -> None:
    policy = load_improvement_policy(trained_run / "best", device="cpu")
    instance = benchmarks.load(name)
    start = dispatch(instance, "mwkr")
    improved = improve(policy, instance, start, steps=30)
    improved.check()
    assert improved.makespan <= start.makespan
    assert improved.info["start"] == start.makespan and 0 < improved.info["steps"] <= 30
    sampled = improve(policy, instance, start, steps=30, temperature=1.0, seed=1)
    again = improve(policy, instance, start, steps=30, temperature=1.0, seed=1)
    np.testing.assert_array_equal(sampled.start_times, again.start_times)


@pytest.mark.parametrize("name", ["ft06", "la01"])
def test_ls_method_returns_a_feasible_schedule_no_worse_than_its_gnn_start(
    trained_run: Path, tmp_path: Path, name: str
) -> None:
    from jssp.solvers import SolveOptions, ensure_methods, method_names, solve

    # An untrained construction policy is enough for a start schedule.
    construction = JobShopEnv(random_instance(4, 3, seed=0), scheme="non-delay")
    gnn = JobShopPolicy(construction.observation_space, construction.action_space, lambda _: 0.0, width=8, num_layers=1)
    metadata = {"architecture": architecture_of(gnn, 4, 3), "inference": {"scheme": "non-delay"}, "training": {}}
    save_checkpoint(gnn, tmp_path / "gnn", metadata)
    ensure_methods(["ls-20"])
    assert "ls-<steps>" in method_names()
    options = SolveOptions(checkpoint=str(tmp_path / "gnn"), improvement_checkpoint=str(trained_run / "best"))
    instance = benchmarks.load(name)
    start = solve(instance, "gnn", options)
    improved = solve(instance, "ls-20", options)  # solve() runs the independent validator
    assert improved.method == "ls-20"
    assert improved.info["start"] == start.makespan >= improved.makespan


def test_resume_continues_from_the_saved_step_count(trained_run: Path, run_settings: Any) -> None:
    main(_tiny_config(run_settings(trained_run, **TINY_RUN, resume=True), 384))
    with open(trained_run / "validation.csv", newline="") as stream:
        steps = [int(row["timesteps"]) for row in csv.DictReader(stream)]
    assert steps == [0, 128, 256, 384]


def test_shipping_writes_an_improvement_model_card(
    trained_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agents import ship

    monkeypatch.setattr(ship, "CHECKPOINTS_DIR", tmp_path)
    destination = ship.ship(trained_run, "ls-tiny")
    card = (destination / "MODEL_CARD.md").read_text()
    assert "improvement policy" in card and "| 256 |" in card and "val_gap_to_tabu" in card
    assert load_improvement_policy(destination).metadata["inference"]["episode_steps"] == 16


def test_shipped_move_policy_improves_ft06_toward_its_optimum() -> None:
    policy = load_improvement_policy("ls-default")
    instance = benchmarks.load("ft06")
    start = dispatch(instance, "mwkr")
    improved = improve(policy, instance, start, steps=100)
    improved.check()
    assert start.makespan == 61 and improved.makespan == 55  # the optimum


# ---------------------------------------------------------------------------------------------
# General routes: partial and re-entrant jobs
# ---------------------------------------------------------------------------------------------

GENERAL = {
    "long-reentrant": (4, 3, (7, 10), 0.6),
    "single-operation-jobs": (6, 4, (1, 1), 0.0),
    "one-machine": (5, 1, (1, 4), 0.2),
    "more-machines-than-operations": (5, 9, (1, 3), 0.2),
    "mixed": (9, 5, None, 0.3),
}


def general_instance(shape: str, seed: int = 3) -> Instance:
    num_jobs, num_machines, route_lengths, reentry = GENERAL[shape]
    return random_general_instance(num_jobs, num_machines, seed, route_lengths=route_lengths, reentry=reentry)


@pytest.mark.parametrize("shape", GENERAL)
def test_random_moves_on_general_routes_keep_the_bookkeeping_exact(shape: str) -> None:
    instance = general_instance(shape)
    env = ImprovementEnv(instance, episode_steps=40, tabu_tenure=3, illegal_action="raise")
    observation, info = env.reset(seed=0)
    valid = instance.valid
    slots = instance.num_jobs * instance.width
    scale = instance.trivial_lower_bound()
    rng = np.random.default_rng(2)
    assert env.observation_space.contains(observation)
    for _ in range(40):
        makespan, starts = evaluate_sequences(instance, env.sequences)
        assert makespan == env.makespan == info["makespan"]
        np.testing.assert_array_equal(starts, env.starts)
        assert find_violations(instance, env.starts) == []
        assert find_violations(instance, env.best_starts, env.best_makespan) == []
        through = np.where(valid, env.starts + instance.durations + env.tails, -1)
        assert through.max() == makespan
        features = observation["node_features"][:slots].reshape(instance.num_jobs, instance.width, -1)
        np.testing.assert_allclose(features[valid][:, SLACK] * scale, (makespan - through)[valid], atol=1e-3)
        assert not features[~valid].any()  # route padding carries nothing
        assert all(features[job, op, CRITICAL] == 1 for job, op in critical_path(instance, env.sequences, env.starts))
        assert env.moves == n5_moves(instance, env.sequences, env.starts)
        # Machine arcs join consecutive operations of one machine: num_operations - busy machines of them.
        arcs = observation["machine_edges"][:, observation["machine_edges"][0] >= 0]
        busy = len(np.unique(instance.machines[valid]))
        assert arcs.shape[1] == instance.num_operations - busy
        machine_of = instance.machines.reshape(-1)
        np.testing.assert_array_equal(machine_of[arcs[0]], machine_of[arcs[1]])
        assert (env.starts.reshape(-1)[arcs[0]] < env.starts.reshape(-1)[arcs[1]] + 1).all()
        for index, (machine, _, _) in enumerate(env.moves):
            before, after = observation["move_nodes"][index]
            assert (
                machine_of[before] == machine_of[after] == machine
                and before // instance.width != after // instance.width
            )
            assert env.starts.reshape(-1)[before] <= env.starts.reshape(-1)[after]
        legal = np.flatnonzero(env.action_masks())
        observation, reward, terminated, truncated, info = env.step(int(rng.choice(legal)))
        assert reward >= 0 and env.observation_space.contains(observation)
        if terminated or truncated:
            break
    assert env.best_schedule().makespan == env.best_makespan <= env.initial_makespan


@pytest.mark.parametrize("shape", ["long-reentrant", "mixed"])
def test_compiled_move_decoder_reads_general_routes_as_move_logits(shape: str) -> None:
    from agents.lockstep import CompleteGraphDecoder

    policy = load_improvement_policy("ls-default")
    instance = general_instance(shape, seed=5)
    env = ImprovementEnv(instance, max_jobs=12, max_machines=6, max_width=12, tabu_tenure=4)
    decoder = CompleteGraphDecoder(policy, instance)
    observation, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(15):
        with torch.inference_mode():
            expected = policy.move_logits({key: torch.from_numpy(value[None]) for key, value in observation.items()})
        torch.testing.assert_close(torch.from_numpy(decoder.logits(observation)), expected[0], rtol=1e-4, atol=1e-5)
        observation, _, terminated, _, _ = env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))
        if terminated:
            break


def test_machine_order_maps_each_visit_to_its_operation() -> None:
    # Job 0 visits machine 0 twice (ops 0 and 2); machine 0 runs job 0, job 1, job 0.
    instance = Instance.from_routes([[(0, 2), (1, 3), (0, 1)], [(0, 4)]], num_machines=3)
    order = machine_order(instance, [[0, 1, 0], [0], []])
    assert order.tolist() == [0, 3, 2, 1]  # nodes job * 3 + op: (0, 0), (1, 0), (0, 2); then (0, 1)
    with pytest.raises(ValueError, match="per machine"):
        machine_order(instance, [[0, 1, 1], [0], []])
