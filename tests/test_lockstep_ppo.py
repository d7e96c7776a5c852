"""PPO on lockstep rollouts (agents.lockstep_ppo): the dense path's gradients, the rollouts, the baseline, a run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.checkpoints import load_policy
from agents.harness import RunSettings
from agents.inference import greedy_schedule
from agents.lockstep import DenseWeights, unscheduled_graph
from agents.lockstep_ppo import LockstepPPOConfig, LockstepSettings, Rollouts, StepBatch, collect, main, update
from agents.policy import JobShopPolicy
from agents.ship import model_card
from jssp.dispatch import DispatchState
from jssp.env import JobShopEnv
from jssp.files import read_csv_rows
from jssp.generators import random_general_instance, random_instance


def _policy(env: JobShopEnv, seed: int = 1) -> JobShopPolicy:
    torch.manual_seed(seed)
    return JobShopPolicy(env.observation_space, env.action_space, lambda _: 0.0, width=16, num_layers=2)


def test_the_dense_path_has_the_gradient_of_the_padded_observation_path() -> None:
    instance = random_instance(5, 4, seed=3)
    env = JobShopEnv(instance, max_jobs=8, max_machines=6, scheme="active")
    policy = _policy(env)
    observation, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(6):  # a partial schedule with a choice left
        observation, *_ = env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))
    assert env.state is not None and env.state.num_legal > 1
    action = int(np.flatnonzero(env.action_masks())[-1])

    padded = policy.job_logits({key: torch.from_numpy(value[None]) for key, value in observation.items()})
    torch.log_softmax(padded, dim=1)[0, action].backward()
    expected = {
        name: parameter.grad.clone() for name, parameter in policy.named_parameters() if parameter.grad is not None
    }
    policy.zero_grad()

    scale = float(DispatchState(instance).lower_bound())
    graph = tuple(torch.from_numpy(array) for array in unscheduled_graph(instance, [env.state], scale))
    dense = DenseWeights.of(policy, detach=False).job_logits(instance.num_machines, *graph)
    torch.testing.assert_close(dense[0], padded[0, : instance.num_jobs].detach(), rtol=1e-4, atol=1e-5)
    torch.log_softmax(dense, dim=1)[0, action].backward()
    got = {name: parameter.grad for name, parameter in policy.named_parameters() if parameter.grad is not None}
    assert set(got) == set(expected)  # the same parameters learn (the critic in neither)
    assert not any(name.startswith(("value_net", "mlp_extractor.critic")) for name in got)
    for name, gradient in expected.items():
        torch.testing.assert_close(got[name], gradient, rtol=1e-3, atol=1e-5, msg=name)


@pytest.mark.parametrize("general", [False, True])
def test_collect_samples_legal_complete_rollouts_with_the_log_probabilities_of_its_choices(general: bool) -> None:
    rng = np.random.default_rng(4)
    if general:  # routes of different lengths: the rollouts of each instance stay in lockstep, not the instances
        instances = [random_general_instance(4, 3, rng, reentry=0.3) for _ in range(3)]
    else:
        instances = [random_instance(4, 3, seed=seed) for seed in range(2)] + [random_instance(5, 3, seed=9)]
    env = JobShopEnv(instances[0], max_jobs=5, max_machines=3, max_width=6)
    policy = _policy(env)
    weights = DenseWeights.of(policy, detach=True)
    rollouts = collect(weights, instances, 3, "non-delay", torch.Generator().manual_seed(0), torch.device("cpu"))
    assert rollouts.decisions == 3 * sum(instance.num_operations for instance in instances)
    assert rollouts.makespans.shape == (9,)
    for index, instance in enumerate(instances):  # a makespan is at least the instance's bound
        assert (rollouts.makespans[3 * index : 3 * index + 3] >= DispatchState(instance).lower_bound()).all()
    rows = 0
    for batch in rollouts.steps:
        mask = batch.graph[4]
        assert mask.sum(dim=1).min() >= 2  # only real choices are kept
        assert mask[torch.arange(len(batch.actions)), batch.actions].all()  # every action was legal then
        recomputed = torch.log_softmax(weights.job_logits(batch.num_machines, *batch.graph), dim=1)
        torch.testing.assert_close(recomputed.gather(1, batch.actions[:, None]).squeeze(1), batch.log_probs)
        rows += len(batch.actions)
    assert rows > 0


def test_a_low_temperature_samples_the_greedy_rollout_and_records_the_tempered_log_probabilities() -> None:
    instance = random_instance(6, 4, seed=7)
    env = JobShopEnv(instance, max_jobs=6, max_machines=4)
    policy = _policy(env, seed=3)
    weights = DenseWeights.of(policy, detach=True)
    greedy = greedy_schedule(policy, instance).makespan
    cold = collect(weights, [instance], 4, "non-delay", torch.Generator().manual_seed(0), policy.device, 1e-4)
    assert cold.makespans.tolist() == [greedy] * 4
    warm = collect(weights, [instance], 4, "non-delay", torch.Generator().manual_seed(0), policy.device, 0.5)
    for batch in warm.steps:
        logits = weights.job_logits(batch.num_machines, *batch.graph)
        tempered = torch.log_softmax(logits / 0.5, dim=1).gather(1, batch.actions[:, None]).squeeze(1)
        torch.testing.assert_close(tempered, batch.log_probs)
    # the update's first ratio is 1 at the same temperature: nothing is clipped in the first minibatch
    settings = LockstepSettings(rollouts_per_instance=4, epochs=1, minibatches=1, temperature=0.5)
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-3)
    values = update(policy, optimizer, warm, settings, ent_coef=0.0, rng=np.random.default_rng(0))
    assert values["clip_fraction"] == 0.0


def test_the_baseline_is_the_instance_mean_and_ties_give_no_advantage() -> None:
    rollouts = Rollouts([], np.array([10, 12, 14, 7, 7, 7]), 0, np.array([1.0, 1.0]))
    advantages = rollouts.advantages(3)
    np.testing.assert_allclose(advantages[:3], [np.sqrt(1.5), 0.0, -np.sqrt(1.5)], rtol=1e-6)
    np.testing.assert_array_equal(advantages[3:], [0.0, 0.0, 0.0])


def test_the_greedy_baseline_rollout_decodes_greedily_and_is_not_trained_on() -> None:
    instances = [random_instance(5, 4, seed=seed) for seed in (11, 12)]
    env = JobShopEnv(instances[0], max_jobs=5, max_machines=4)
    policy = _policy(env, seed=4)
    weights = DenseWeights.of(policy, detach=True)
    generator = torch.Generator().manual_seed(0)
    rollouts = collect(weights, instances, 3, "non-delay", generator, policy.device, greedy=True)
    assert rollouts.greedy_makespans is not None
    assert rollouts.greedy_makespans.tolist() == [greedy_schedule(policy, instance).makespan for instance in instances]
    assert rollouts.makespans.shape == (6,)
    assert rollouts.decisions == 4 * sum(instance.num_operations for instance in instances)
    rows = torch.cat([batch.rollouts for batch in rollouts.steps])
    assert rows.min() >= 0 and rows.max() < 6  # the sampled rollouts only
    for batch in rollouts.steps:
        assert len(set(batch.rollouts.tolist())) == len(batch.rollouts)  # one decision per rollout and step


def test_the_greedy_baseline_rewards_only_samples_shorter_than_greedy() -> None:
    rollouts = Rollouts([], np.array([10, 12, 14, 7, 7, 7]), 0, np.array([1.0, 1.0]), np.array([12, 7]))
    advantages = rollouts.advantages(3)
    spread = np.std([10, 12, 14, 12])
    np.testing.assert_allclose(advantages[:3], [2 / spread, 0.0, -2 / spread], rtol=1e-6)
    np.testing.assert_array_equal(advantages[3:], [0.0, 0.0, 0.0])


def test_the_kl_term_is_zero_at_the_anchor_and_uses_the_anchor_log_probabilities_kept_by_collect() -> None:
    instance = random_instance(5, 4, seed=6)
    env = JobShopEnv(instance, max_jobs=5, max_machines=4)
    policy = _policy(env, seed=5)
    weights = DenseWeights.of(policy, detach=True)
    settings = LockstepSettings(rollouts_per_instance=4, epochs=1, minibatches=1, kl_coef=1.0, temperature=0.5)
    optimizer = torch.optim.SGD(policy.parameters(), lr=0.0)  # the policy stays where it is

    def kl_of(anchor: DenseWeights) -> tuple[float, list[StepBatch]]:
        generator = torch.Generator().manual_seed(0)
        rollouts = collect(weights, [instance], 4, "non-delay", generator, policy.device, 0.5, anchor=anchor)
        return update(policy, optimizer, rollouts, settings, 0.0, np.random.default_rng(0))["kl"], rollouts.steps

    assert kl_of(weights)[0] == pytest.approx(0.0, abs=1e-6)
    other = DenseWeights.of(_policy(env, seed=6), detach=True)
    kl, steps = kl_of(other)
    assert kl > 1e-4
    for batch in steps:
        expected = torch.log_softmax(other.job_logits(batch.num_machines, *batch.graph) / 0.5, dim=1)
        assert batch.anchor_log_p is not None
        torch.testing.assert_close(batch.anchor_log_p, expected)


def test_an_update_moves_probability_towards_the_shorter_rollout() -> None:
    instance = random_instance(4, 3, seed=5)
    env = JobShopEnv(instance, max_jobs=4, max_machines=3)
    policy = _policy(env, seed=2)
    settings = LockstepSettings(rollouts_per_instance=8, epochs=4, minibatches=1, learning_rate=1e-2)
    rollouts = collect(
        DenseWeights.of(policy, detach=True),
        [instance],
        8,
        "non-delay",
        torch.Generator().manual_seed(3),
        policy.device,
    )
    assert len(set(rollouts.makespans.tolist())) > 1
    optimizer = torch.optim.Adam(policy.parameters(), lr=settings.learning_rate)

    def advantage_weighted_log_likelihood() -> float:
        weights = DenseWeights.of(policy, detach=True)
        advantages = torch.from_numpy(rollouts.advantages(8))
        total = 0.0
        for batch in rollouts.steps:
            log_p = torch.log_softmax(weights.job_logits(batch.num_machines, *batch.graph), dim=1)
            chosen = log_p.gather(1, batch.actions[:, None]).squeeze(1)
            total += float((chosen * advantages[batch.rollouts]).sum())
        return total

    before = advantage_weighted_log_likelihood()
    values = update(policy, optimizer, rollouts, settings, ent_coef=0.0, rng=np.random.default_rng(0))
    assert advantage_weighted_log_likelihood() > before
    assert {"policy_loss", "entropy", "clip_fraction", "kl"} <= set(values)


def _config(run_dir: Path, total: int, resume: bool = False, init: str = "", kl_coef: float = 0.0) -> LockstepPPOConfig:
    return LockstepPPOConfig(
        run=RunSettings(
            run_dir=run_dir,
            sizes=("4x3", "5x3"),
            validation_instances=2,
            eval_every=100,
            wandb="disabled",
            progress=False,
            resume=resume,
            device="cpu",
        ),
        # constant schedules: a shorter run extended by --resume then follows the same steps as the longer one
        lockstep=LockstepSettings(
            instances_per_update=2,
            rollouts_per_instance=3,
            validation_cpsat_seconds=0,
            kl_coef=kl_coef,
            decay_learning_rate=False,
            ent_coef_end=0.01,
        ),
        total_timesteps=total,
        init=init,
        width=8,
        num_layers=1,
    )


def test_a_run_validates_checkpoints_and_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path: Path) -> None:
    main(_config(tmp_path / "whole", 400))
    rows = read_csv_rows(tmp_path / "whole" / "validation.csv")
    assert int(rows[0]["timesteps"]) == 0 and int(rows[-1]["timesteps"]) >= 400
    # an update is 2 instances x 3 rollouts x at most 15 steps
    assert json.loads((tmp_path / "whole" / "last" / "lockstep.json").read_text())["updates"] >= 400 // 90
    load_policy(tmp_path / "whole" / "best")

    # A run that ends where the whole run validated, extended by --resume: as if killed after that checkpoint.
    main(_config(tmp_path / "parts", int(rows[1]["timesteps"])))
    main(_config(tmp_path / "parts", 400, resume=True))
    parts = read_csv_rows(tmp_path / "parts" / "validation.csv")
    columns = ("timesteps", "val_makespan", "policy_loss", "entropy", "train_gap_to_lb")
    assert [[row[key] for key in columns] for row in parts] == [[row[key] for key in columns] for row in rows]
    assert (tmp_path / "parts" / "last" / "policy.pt").read_bytes() == (
        tmp_path / "whole" / "last" / "policy.pt"
    ).read_bytes()


def test_fine_tuning_starts_from_the_checkpoint_and_records_its_parent(tmp_path: Path) -> None:
    main(_config(tmp_path / "base", 100))
    main(_config(tmp_path / "tuned", 100, init=str(tmp_path / "base" / "last"), kl_coef=0.1))
    first = read_csv_rows(tmp_path / "tuned" / "validation.csv")[0]
    base_last = read_csv_rows(tmp_path / "base" / "validation.csv")[-1]
    assert first["val_makespan"] == base_last["val_makespan"]  # the curve starts at the parent's policy
    metadata = json.loads((tmp_path / "tuned" / "last" / "checkpoint.json").read_text())
    assert metadata["training"]["algorithm"] == "ppo-lockstep"
    ancestors = metadata["training"]["parent"]["lineage"]  # the base run, with its settings
    assert [ancestor["algorithm"] for ancestor in ancestors] == ["ppo-lockstep"]
    assert ancestors[0]["config"]["run"]["run_dir"] == str(tmp_path / "base")
    card = model_card(tmp_path / "tuned" / "last", "tuned")
    assert "Lineage" in card and f"--run-dir {tmp_path / 'base'}" in card


@pytest.mark.parametrize(
    ("setting", "message"),
    [({"rollouts_per_instance": 1}, "--rollouts-per-instance"), ({"learning_rate": 0.0}, "--learning-rate")],
)
def test_settings_out_of_range_are_refused_before_a_run_starts(tmp_path: Path, setting: dict, message: str) -> None:
    config = _config(tmp_path, 100)
    bad = LockstepPPOConfig(run=config.run, lockstep=LockstepSettings(**setting), total_timesteps=100)
    with pytest.raises(ValueError, match=message):
        main(bad)
    assert not (tmp_path / "config.json").exists()
