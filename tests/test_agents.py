"""The learned dispatcher: tiny training run, checkpoint round trip, legal actions on unseen shapes."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from agents.checkpoints import CHECKPOINTS_DIR, load_policy
from agents.inference import greedy_schedule, sampled_schedule
from agents.lockstep import LockstepDecoder
from agents.policy import JobShopPolicy
from agents.ppo import PPOConfig, PPOHyperparameters, main
from jssp import benchmarks
from jssp.env import JobShopEnv
from jssp.files import read_csv_rows
from jssp.generators import random_instance


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory, run_settings: Any) -> Path:
    torch.manual_seed(0)
    cfg = PPOConfig(
        run=run_settings(tmp_path_factory.mktemp("run"), sizes=("4x3", "5x4"), seed=3, eval_every=256),
        ppo=PPOHyperparameters(n_envs=2, n_steps=64, batch_size=64, n_epochs=2),
        total_timesteps=512,
        validation_cpsat_seconds=0.2,
    )
    return main(cfg).settings.run_dir


def test_training_logs_finite_values_and_writes_checkpoints(trained_run: Path) -> None:
    with open(trained_run / "validation.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [int(row["timesteps"]) for row in rows] == [0, 256, 512]
    for row in rows[1:]:
        for key in ("val_makespan", "val_gap_to_best_rule", "val_gap_to_cpsat", "loss", "value_loss"):
            assert math.isfinite(float(row[key])), key
    with open(trained_run / "progress.csv", newline="") as stream:
        losses = [float(row["train/loss"]) for row in csv.DictReader(stream) if row["train/loss"]]
    assert losses and all(math.isfinite(value) for value in losses)
    for folder in ("best", "last"):
        assert (trained_run / folder / "policy.pt").exists() and (trained_run / folder / "checkpoint.json").exists()
    assert (trained_run / "last" / "model.zip").exists()


def test_reloaded_checkpoint_takes_the_same_actions(trained_run: Path) -> None:
    from sb3_contrib import MaskablePPO

    model = MaskablePPO.load(trained_run / "last" / "model.zip", device="cpu")
    reloaded = load_policy(trained_run / "last", device="cpu")
    instance = random_instance(5, 4, seed=11)
    env = JobShopEnv(instance, max_jobs=5, max_machines=4, scheme="non-delay")
    observation, _ = env.reset(seed=0)
    done = False
    while not done:
        tensors = {key: torch.from_numpy(value[None]) for key, value in observation.items()}
        with torch.no_grad():
            expected = model.policy.job_logits(tensors)
            got = reloaded.job_logits(tensors)
        torch.testing.assert_close(got, expected)
        sb3_action, _ = model.predict(observation, deterministic=True, action_masks=env.action_masks())
        assert int(sb3_action) == int(torch.argmax(got[0]))
        observation, _, done, _, _ = env.step(int(sb3_action))


def test_resume_continues_from_the_saved_step_count(trained_run: Path) -> None:
    from train import parse

    progress_rows = len(read_csv_rows(trained_run / "progress.csv"))
    cfg = parse(
        ["ppo", "--run-dir", str(trained_run), "--sizes", "4x3", "5x4", "--seed", "3", "--eval-every", "256"]
        + ["--n-envs", "2", "--n-steps", "64", "--batch-size", "64", "--n-epochs", "2", "--device", "cpu"]
        + ["--validation-instances", "2", "--validation-cpsat-seconds", "0.2", "--wandb", "disabled"]
        + ["--total-timesteps", "768", "--resume", "--no-progress"]
    )
    main(cfg)
    with open(trained_run / "validation.csv", newline="") as stream:
        steps = [int(row["timesteps"]) for row in csv.DictReader(stream)]
    assert steps == [0, 256, 512, 768]
    with open(trained_run / "progress.csv", newline="") as stream:
        logged = [int(row["time/total_timesteps"]) for row in csv.DictReader(stream)]
    assert len(logged) > progress_rows and logged == sorted(set(logged))  # appended, no step logged twice


@pytest.mark.parametrize("shape", [(1, 1), (3, 12), (60, 10), (7, 2)])
def test_policy_never_picks_an_illegal_job_on_unseen_shapes(trained_run: Path, shape: tuple[int, int]) -> None:
    policy = load_policy(trained_run / "best", device="cpu")
    instance = random_instance(*shape, seed=sum(shape))
    # The decoding environments raise on an illegal action, so a feasible schedule proves legality.
    greedy = greedy_schedule(policy, instance)
    greedy.check()
    sampled = sampled_schedule(policy, instance, num_samples=4, seed=1)
    sampled.check()
    assert sampled.makespan <= greedy.makespan  # the greedy rollout is one of the samples


SHIPPED_DISPATCHERS = sorted(
    path.name
    for path in CHECKPOINTS_DIR.glob("gnn-*")
    if (path / "policy.pt").exists()
    and json.loads((path / "checkpoint.json").read_text())["architecture"]["policy"] == "dispatcher"
)
"""The shipped classical dispatchers (the blocking one, gnn-isbjssp, is tested in test_blocking_agents.py)."""


@pytest.mark.parametrize("name", SHIPPED_DISPATCHERS)
@pytest.mark.parametrize("shape", [(1, 1), (3, 12), (60, 10)])
def test_shipped_dispatchers_never_pick_an_illegal_job(name: str, shape: tuple[int, int]) -> None:
    policy = load_policy(name, device="cpu")
    instance = random_instance(*shape, seed=7)
    greedy = greedy_schedule(policy, instance, policy.metadata["inference"]["scheme"])  # raises on an illegal job
    greedy.check()
    sampled = sampled_schedule(policy, instance, num_samples=3, seed=2, scheme=policy.metadata["inference"]["scheme"])
    sampled.check()
    assert sampled.makespan <= greedy.makespan


def test_tuned_sampling_temperature_is_stored_and_used_by_default(trained_run: Path, tmp_path: Path) -> None:
    import shutil

    from agents.tune_sampling import TuneConfig
    from agents.tune_sampling import main as tune
    from jssp.solvers import SolveOptions, ensure_methods, solve

    folder = tmp_path / "checkpoint"
    shutil.copytree(trained_run / "best", folder)
    table = tmp_path / "temperatures.csv"
    chosen = tune(
        TuneConfig(str(folder), temperatures=(0.3, 2.0), samples=4, sizes=("5x4",), instances=2, out=table, write=True)
    )
    assert chosen in (0.3, 2.0) and load_policy(folder).metadata["inference"]["sample_temperature"] == chosen
    with open(table, newline="") as stream:
        assert [float(row["temperature"]) for row in csv.DictReader(stream)] == [0.3, 2.0]
    instance = random_instance(8, 4, seed=11)
    ensure_methods(["gnn-sample"])
    by_default = solve(instance, "gnn-sample", SolveOptions(checkpoint=str(folder), samples=6, seed=3))
    explicit = sampled_schedule(load_policy(folder), instance, 6, temperature=chosen, seed=3)
    assert np.array_equal(by_default.start_times, explicit.start_times)


def test_masked_logits_are_minus_infinity_exactly_on_illegal_jobs() -> None:
    env = JobShopEnv(benchmarks.load("ft06"), max_jobs=9, max_machines=6, scheme="active")
    policy = JobShopPolicy(env.observation_space, env.action_space, lambda _: 0.0, width=16, num_layers=1)
    observation, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        logits = policy.job_logits({key: torch.from_numpy(value[None]) for key, value in observation.items()})[0]
        legal = env.action_masks()
        assert torch.isfinite(logits[torch.from_numpy(legal)]).all()
        assert torch.isneginf(logits[torch.from_numpy(~legal)]).all()
        observation, *_ = env.step(int(rng.choice(np.flatnonzero(legal))))


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize(("shape", "scheme"), [((6, 4), "non-delay"), ((3, 12), "active"), ((9, 9), "append")])
def test_lockstep_decoder_gives_the_logits_of_the_padded_observation_path(
    shape: tuple[int, int], scheme: str, compiled: bool
) -> None:
    torch.manual_seed(1)
    instance = random_instance(*shape, seed=7)
    envs = [JobShopEnv(instance, max_jobs=12, max_machines=12, scheme=scheme) for _ in range(3)]
    policy = JobShopPolicy(envs[0].observation_space, envs[0].action_space, lambda _: 0.0, width=16, num_layers=2)
    decoder = LockstepDecoder(policy, instance, compiled=compiled)
    observations = [env.reset(seed=0)[0] for env in envs]
    rng = np.random.default_rng(0)
    compared = 0
    with torch.inference_mode():
        for _ in range(instance.num_operations):
            states = [env.state for env in envs]
            lockstep = decoder.logits(states)  # three different partial schedules in one batch
            for env, observation, logits in zip(envs, observations, lockstep, strict=True):
                padded = policy.job_logits({key: torch.from_numpy(value[None]) for key, value in observation.items()})
                torch.testing.assert_close(logits, padded[0, : instance.num_jobs], rtol=1e-4, atol=1e-5)
                compared += int(env.state.num_legal > 1)
            observations = [env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))[0] for env in envs]
    assert compared >= 5  # steps with a real choice were compared


def test_sampling_is_reproducible_under_a_seed(trained_run: Path) -> None:
    policy = load_policy(trained_run / "best", device="cpu")
    instance = random_instance(6, 5, seed=2)
    first = sampled_schedule(policy, instance, num_samples=8, seed=5, include_greedy=False)
    second = sampled_schedule(policy, instance, num_samples=8, seed=5, include_greedy=False)
    np.testing.assert_array_equal(first.start_times, second.start_times)


def test_hybrid_stays_within_its_time_limit_and_never_worsens_the_start(trained_run: Path) -> None:
    import time

    from jssp.local_search import warm_up
    from jssp.solvers import SolveOptions, ensure_methods, solve

    ensure_methods(["hybrid"])
    warm_up()  # a fresh checkout compiles the tabu kernels once (seconds); evaluate.py's workers do this too
    options = SolveOptions(time_limit=2.0, checkpoint=str(trained_run / "best"), cpsat_workers=1)
    instance = benchmarks.load("la16")
    began = time.perf_counter()
    schedule = solve(instance, "hybrid", options)
    elapsed = time.perf_counter() - began
    assert elapsed < options.time_limit + 1.0
    stages = schedule.info["stages"]
    assert stages["gnn"] >= stages["tabu"] >= stages["cpsat"] == schedule.makespan >= 945


def test_self_labelling_fine_tunes_logs_and_resumes(trained_run: Path, tmp_path: Path, run_settings: Any) -> None:
    from agents.self_labelling import SelfLabellingConfig, label_instance
    from agents.self_labelling import main as fine_tune
    from agents.supervised import SupervisedSettings

    policy = load_policy(trained_run / "best", device="cpu")
    instance = random_instance(5, 4, seed=3)
    labelled = label_instance(policy, instance, num_samples=6, seed=0, scheme="non-delay", max_jobs=6, max_machines=5)
    assert labelled.best_makespan <= labelled.mean_makespan
    assert len(labelled.actions) == len(labelled.observations["action_mask"]) > 0
    # Every label is a legal choice at a real decision.
    masks = labelled.observations["action_mask"]
    assert (masks.sum(axis=1) > 1).all() and masks[np.arange(len(masks)), labelled.actions].all()

    cfg = SelfLabellingConfig(
        run=run_settings(tmp_path, sizes=("4x3", "5x4"), eval_every=2),
        optimisation=SupervisedSettings(
            instances_per_update=2, learning_rate=1e-4, decay_learning_rate=False, validation_cpsat_seconds=0.2
        ),
        init=str(trained_run / "best"),
        instances=4,
        samples=4,
    )
    fine_tune(cfg)
    before = torch.load(tmp_path / "last" / "policy.pt", weights_only=True)
    original = torch.load(trained_run / "best" / "policy.pt", weights_only=True)
    assert any(not torch.equal(before[key], original[key]) for key in original)  # the weights moved
    fine_tune(dataclasses.replace(cfg, instances=6, run=dataclasses.replace(cfg.run, resume=True)))
    with open(tmp_path / "validation.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [int(row["instances"]) for row in rows] == [0, 2, 4, 6]
    assert all(math.isfinite(float(row["loss"])) for row in rows[1:])
    reloaded = load_policy(tmp_path / "best", device="cpu")
    greedy_schedule(reloaded, random_instance(7, 3, seed=5)).check()


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
        (["--n-envs", "0"], "--n-envs must be at least 1, got 0"),
        (["--gamma", "1.5"], "--gamma must be between 0 and 1, got 1.5"),
        (["--learning-rate", "nan"], "--learning-rate must be a finite number above 0, got nan"),
        (["--clip-range", "0"], "--clip-range must be a finite number above 0, got 0"),
    ],
)
def test_bad_ppo_settings_are_refused_before_the_run_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], expected: str
) -> None:
    import train

    for algorithm in ("ppo", "ppo-isbjssp"):
        run_dir = tmp_path / algorithm
        assert train.main([algorithm, *flags, "--run-dir", str(run_dir), "--total-timesteps", "64"]) == 2
        assert capsys.readouterr().err == f"train.py: error: {expected}\n"
        assert not run_dir.exists()


def test_device_cuda_without_cuda_is_refused_before_the_run_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    import train

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert train.main(["imitation", "--device", "cuda", "--run-dir", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err == (
        "train.py: error: --device cuda: CUDA is not available here (this torch is a CPU build); "
        "use --device cpu or auto\n"
    )
    assert not (tmp_path / "run").exists()
