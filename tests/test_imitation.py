"""Imitation of tabu-search schedules: expert labels, the expert cache, a tiny training run."""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from agents.checkpoints import load_policy
from agents.imitation import Expert, ImitationConfig, expert_labels, generate_experts, load_experts, solve_expert
from agents.imitation import main as imitate
from agents.inference import greedy_schedule
from agents.supervised import SupervisedSettings
from jssp.dispatch import DispatchState
from jssp.generators import random_instance
from jssp.rules import dispatch


@pytest.mark.parametrize("seed", range(5))
def test_following_the_labels_rebuilds_an_active_teacher_schedule(seed: int) -> None:
    # Any schedule the active scheme can build is rebuilt exactly by following the labels.
    instance = random_instance(7, 5, seed=seed)
    teacher = dispatch(instance, "mwkr", scheme="active")
    labelled = expert_labels(Expert(instance, teacher.start_times), "active", max_jobs=8, max_machines=5)
    assert labelled.best_makespan == teacher.makespan == labelled.mean_makespan
    masks = labelled.observations["action_mask"]
    assert len(labelled.actions) == len(masks) > 0
    assert (masks.sum(axis=1) > 1).all() and masks[np.arange(len(masks)), labelled.actions].all()


def test_labels_along_a_given_rollout_are_the_teachers_choice_in_those_states() -> None:
    instance = random_instance(6, 4, seed=1)
    expert = solve_expert(instance, iterations=300, seed=0)
    assert expert.makespan <= dispatch(instance, "fdd-mwkr").makespan
    rng = np.random.default_rng(0)
    state, actions = DispatchState(instance, "active"), []
    while not state.done:  # a random legal rollout
        actions.append(int(rng.choice(np.flatnonzero(state.mask))))
        state.step(actions[-1])
    labelled = expert_labels(expert, "active", 6, 4, np.array(actions))
    assert labelled.best_makespan == state.makespan
    for observation_index, label in enumerate(labelled.actions):
        mask = labelled.observations["action_mask"][observation_index]
        candidates = labelled.observations["candidates"][observation_index]
        legal = np.flatnonzero(mask)
        assert label == legal[np.argmin(expert.start_times.reshape(-1)[candidates[legal]])]


def test_expert_cache_is_extended_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "experts.npz"
    first = generate_experts(path, [(4, 3), (5, 4)], 3, iterations=200, seed=2, progress=False)
    more = generate_experts(path, [(4, 3), (5, 4)], 5, iterations=200, seed=2, progress=False, workers=2)
    assert len(load_experts(path, [(4, 3), (5, 4)], 200, 2)) == 5
    sequential = generate_experts(tmp_path / "sequential.npz", [(4, 3), (5, 4)], 5, 200, seed=2, progress=False)
    for old, new in [*zip(first, more[:3], strict=True), *zip(sequential, more, strict=True)]:
        assert old.instance == new.instance and np.array_equal(old.start_times, new.start_times)
    for expert in more:
        expert.instance.check()
        assert expert.makespan >= expert.instance.trivial_lower_bound()
    with pytest.raises(ValueError, match="experts for"):
        generate_experts(path, [(4, 3), (5, 4)], 5, iterations=201, seed=2, progress=False)


def test_imitation_trains_logs_and_resumes(tmp_path: Path, run_settings: Any) -> None:
    cfg = ImitationConfig(
        run=run_settings(tmp_path, sizes=("4x3", "5x4"), eval_every=2),
        optimisation=SupervisedSettings(instances_per_update=2, validation_cpsat_seconds=0.2),
        instances=4,
        teacher_iterations=200,
        epochs=1,
        dagger=1.0,
    )
    imitate(cfg)
    after_first_epoch = torch.load(tmp_path / "last" / "policy.pt", weights_only=True)
    resumed = dataclasses.replace(cfg, epochs=2, run=dataclasses.replace(cfg.run, resume=True))
    imitate(resumed)  # the second epoch follows the policy (DAgger)  # the second epoch follows the policy (DAgger)
    with open(tmp_path / "validation.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [int(row["instances"]) for row in rows] == [0, 2, 4, 6, 8]
    assert all(math.isfinite(float(row["loss"])) for row in rows[1:])
    assert [float(row["dagger_share"]) for row in rows[1:]] == [0.0, 0.0, 1.0, 1.0]
    final = torch.load(tmp_path / "last" / "policy.pt", weights_only=True)
    assert any(not torch.equal(final[key], after_first_epoch[key]) for key in final)
    reloaded = load_policy(tmp_path / "best", device="cpu")
    assert reloaded.metadata["inference"]["scheme"] == "active"
    greedy_schedule(reloaded, random_instance(7, 3, seed=5), scheme="active").check()
