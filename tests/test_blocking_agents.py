"""The learned dispatcher of the blocking job shop with shutdowns: environment, policy, training, methods."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import train
from agents.blocking.policy import (
    BlockingPolicy,
    load_blocking_policy,
    new_blocking_policy,
    policy_holds,
    policy_schedule,
    rollouts,
)
from agents.checkpoints import load_policy
from jssp import benchmarks
from jssp.blocking import Calendar, Interruptions, blocking_bounds
from jssp.blocking.env import _F, BlockingEnv, observe
from jssp.blocking.lookahead import known_calendar, lookahead_schedule
from jssp.blocking.simulator import BlockingState
from jssp.generators import InstanceSampler, random_general_instance, random_instance
from jssp.solvers import SolveOptions, ensure_methods, solve


@pytest.fixture(scope="module")
def policy() -> BlockingPolicy:
    torch.manual_seed(0)
    return new_blocking_policy(16, 2, 10, 10, 10).eval()


def test_observation_matches_the_state() -> None:
    instance = random_instance(8, 5, seed=3)
    env = BlockingEnv(instance, rates=(0.01,))
    observation, info = env.reset(seed=1)
    assert env.observation_space.contains(observation)
    state = env.state
    assert state is not None and info["rate"] == 0.01
    steps = 0
    while True:
        features = observation["node_features"].reshape(8, 5, -1)
        jobs = state.candidates()
        assert np.array_equal(np.flatnonzero(env.action_masks()), jobs)
        assert np.array_equal(np.flatnonzero(observation["candidates"] >= 0), jobs)
        assert np.array_equal(observation["candidates"][jobs], jobs * 5 + state.job_state[0, jobs])
        # Operations that have left their machine are gone; the candidates' next operations are legal nodes.
        left = state.leave >= 0
        assert np.array_equal(features[..., _F["gone"]] == 1, left)
        assert features[jobs, state.job_state[0, jobs], _F["legal"]].all()
        assert features[..., _F["legal"]].sum() == len(jobs)
        down = state.machine_down
        remaining = features[..., _F["gone"]] == 0
        assert np.array_equal(features[..., _F["machine_down"]][remaining] == 1, down[instance.machines][remaining])
        observation, reward, terminated, truncated, info = env.step(int(jobs[-1]))
        steps += 1
        assert reward <= 0 and not truncated
        if terminated:
            break
    assert info["makespan"] == state.now and steps == state.num_decisions


def test_return_is_minus_the_makespan_from_the_first_question() -> None:
    env = BlockingEnv(InstanceSampler([(6, 4), (9, 5)]), rate_range=(0.0, 0.02), zero_rate_share=0.5)
    rng = np.random.default_rng(0)
    for episode in range(5):
        env.reset(seed=episode)
        assert env.state is not None
        first_question, scale = env.state.now, env.state.instance.trivial_lower_bound()
        total, terminated = 0.0, False
        while not terminated:
            _, reward, terminated, _, info = env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))
            total += reward
        assert total == pytest.approx(-(info["makespan"] - first_question) / scale)


def test_reset_is_determined_by_the_seed() -> None:
    env = BlockingEnv(InstanceSampler([(6, 4), (9, 5)]), rate_range=(0.0, 0.02))
    first, _ = env.reset(seed=7)
    again, _ = env.reset(seed=7)
    for key in first:
        assert np.array_equal(first[key], again[key])
    with pytest.raises(ValueError, match="not a candidate"):
        env.step(int(np.flatnonzero(~env.action_masks()[: env.state.instance.num_jobs])[0]))  # type: ignore[union-attr]


def test_general_routes_observe_and_dispatch(policy: BlockingPolicy) -> None:
    instance = random_general_instance(7, 5, seed=2, reentry=0.4)
    interruptions = Interruptions(rate=0.01, seed=4)
    schedule = policy_schedule(policy, instance, [interruptions.calendar(instance)])
    schedule.check(expected_down_intervals=interruptions.calendar(instance).down_intervals(schedule.makespan))


def test_lockstep_rollouts_equal_single_episodes(policy: BlockingPolicy) -> None:
    instance = benchmarks.load("la01")
    settings = [Interruptions(rate=rate, seed=seed) for rate, seed in [(0.0, 0), (0.005, 1), (0.01, 2)]]
    together = rollouts(policy, instance, [item.calendar(instance) for item in settings])
    for item, state in zip(settings, together, strict=True):
        (alone,) = rollouts(policy, instance, [item.calendar(instance)])
        assert np.array_equal(alone.enter, state.enter) and alone.now == state.now


def _changed_after(calendar: Calendar, cut: int, horizon: int) -> Calendar:
    """``calendar`` as known at ``cut`` (a repair under way there is cut short), then other shutdowns."""
    intervals = calendar.down_intervals(horizon)
    return Calendar.fixed(
        [
            [(start, min(end, cut + 1)) for start, end in machine if start <= cut]
            + [(cut + 7 + 3 * m, cut + 40 + 3 * m)]
            for m, machine in enumerate(intervals)
        ]
    )


@pytest.mark.parametrize("lookahead", [None, "lor"])
def test_the_policy_sees_no_future(policy: BlockingPolicy, lookahead: str | None) -> None:
    """Changing the calendar after time t changes no decision of the learned policy made up to t."""
    instance = benchmarks.load("la06")
    base = Interruptions(rate=0.01, seed=5).calendar(instance)
    reference = policy_schedule(policy, instance, [base], lookahead=lookahead)
    cut = reference.makespan // 2
    changed = _changed_after(base, cut, 10 * reference.makespan)
    changed.downtime = base.downtime  # the lookahead's expected repair time is a setting, not the future
    other = policy_schedule(policy, instance, [changed], lookahead=lookahead)
    early = reference.enter <= cut
    assert early.any() and not early.all()
    assert np.array_equal(early, other.enter <= cut)
    assert np.array_equal(reference.enter[early], other.enter[early])
    assert other.makespan != reference.makespan  # the later shutdowns did change the rest


def test_gnn_methods_through_the_registry(tmp_path: Path, policy: BlockingPolicy) -> None:
    checkpoint = _save(policy, tmp_path / "policy")
    ensure_methods(["gnn"], problem="isbjssp")
    instance = benchmarks.load("ft06")
    for rate in (0.0, 0.01):
        options = SolveOptions.of("isbjssp", shutdown_rate=rate, seed=3, checkpoint=str(checkpoint))
        schedule = solve(instance, "gnn", options)  # validated against the calendar
        assert schedule.method == "gnn" and schedule.makespan >= 63
    sampled = solve(instance, "gnn-sample", SolveOptions.of("isbjssp", samples=8, checkpoint=str(checkpoint)))
    assert sampled.info["episodes"] == 8 and sampled.makespan >= blocking_bounds()["ft06"].best_known == 63
    with pytest.raises(ValueError, match="gnn-sample solves problem isbjssp only at shutdown rate 0"):
        solve(instance, "gnn-sample", SolveOptions.of("isbjssp", shutdown_rate=0.01, checkpoint=str(checkpoint)))
    options = SolveOptions.of("isbjssp", shutdown_rate=0.02, seed=3, checkpoint=str(checkpoint), event_budget=0.02)
    replanned = solve(instance, "gnn-replan", options)  # validated against the calendar
    assert replanned.method == "gnn-replan" and replanned.makespan >= 63 and replanned.info["plans"] >= 2


def test_a_classical_checkpoint_is_refused() -> None:
    with pytest.raises(ValueError, match="holds a dispatcher policy, not a isbjssp-dispatcher"):
        load_blocking_policy("gnn-default")


def test_tiny_ppo_run_writes_and_reloads_a_checkpoint(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    arguments = [
        "ppo-isbjssp", "--total-timesteps", "256", "--n-envs", "2", "--n-steps", "64", "--batch-size", "64",
        "--n-epochs", "1", "--width", "16", "--num-layers", "1", "--sizes", "6x4", "8x5",
        "--validation-instances", "2", "--eval-every", "128", "--validation-rates", "0", "0.01",
        "--run-dir", str(run_dir), "--wandb", "disabled", "--no-progress",
    ]  # fmt: skip
    assert train.main(arguments) == 0
    rows = (run_dir / "validation.csv").read_text().splitlines()
    assert rows[0].startswith("timesteps,") and [row.split(",")[0] for row in rows[1:]] == ["0", "128", "256"]
    metadata = json.loads((run_dir / "best" / "checkpoint.json").read_text())
    assert metadata["architecture"]["policy"] == "isbjssp-dispatcher"
    assert metadata["inference"]["problem"] == "isbjssp"
    loaded = load_blocking_policy(run_dir / "last")
    instance = random_instance(8, 5, seed=1)
    calendar = Interruptions(rate=0.01, seed=2).calendar
    first = policy_schedule(loaded, instance, [calendar(instance)])
    second = policy_schedule(load_blocking_policy(run_dir / "last"), instance, [calendar(instance)])
    assert np.array_equal(first.enter, second.enter)
    with pytest.raises(ValueError, match="not a dispatcher"):
        load_policy(run_dir / "last")
    # A resumed run trains on to a longer budget, appending to its log.
    assert train.main([*arguments[:1], *arguments[1:], "--resume"]) == 0
    assert train.main(["ppo-isbjssp", "--total-timesteps", "384", *arguments[3:], "--resume"]) == 0
    assert [row.split(",")[0] for row in (run_dir / "validation.csv").read_text().splitlines()[1:]][-1] == "384"


def test_ppo_fine_tunes_a_checkpoint_and_records_its_parent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--init starts from the checkpoint's weights (with a learning rate of almost 0 they are what the run saves),
    keeps its architecture and lookahead, and names it as the parent; a classical checkpoint is refused."""
    torch.manual_seed(0)
    start = _save(new_blocking_policy(16, 1, 8, 5, 8), tmp_path / "start")
    run_dir = tmp_path / "run"
    arguments = [
        "ppo-isbjssp", "--init", str(start), "--total-timesteps", "128", "--n-envs", "2", "--n-steps", "64",
        "--batch-size", "64", "--n-epochs", "1", "--learning-rate", "1e-12", "--width", "64", "--sizes", "6x4",
        "--validation-instances", "2", "--eval-every", "128", "--validation-rates", "0", "--run-dir", str(run_dir),
        "--wandb", "disabled", "--no-progress",
    ]  # fmt: skip
    assert train.main(arguments) == 0
    metadata = json.loads((run_dir / "last" / "checkpoint.json").read_text())
    assert metadata["architecture"]["width"] == 16 and metadata["architecture"]["num_layers"] == 1
    assert metadata["inference"]["lookahead"] == ""
    assert metadata["training"]["parent"]["folder"] == str(start)
    trained, initial = load_blocking_policy(run_dir / "last").state_dict(), load_blocking_policy(start).state_dict()
    assert trained.keys() == initial.keys()
    assert all(torch.allclose(trained[key], initial[key], atol=1e-6) for key in initial)
    refused = ["ppo-isbjssp", "--init", "gnn-default", "--run-dir", str(tmp_path / "refused"), "--wandb", "disabled"]
    assert train.main(refused) == 2
    assert "--init gnn-default is not a dispatcher of the blocking job shop" in capsys.readouterr().err
    assert not (tmp_path / "refused").exists()


def _save(policy: BlockingPolicy, folder: Path) -> Path:
    from agents.checkpoints import architecture_of, save_checkpoint

    metadata = {
        "architecture": architecture_of(policy, 10, 10),
        "inference": {"problem": "isbjssp", "scheme": "non-delay", "sample_temperature": 1.0},
        "training": {"algorithm": "test"},
    }
    save_checkpoint(policy, folder, metadata)
    return folder


def test_blocking_state_candidates_are_what_observe_offers() -> None:
    instance = random_instance(10, 10, seed=0)
    state = BlockingState(instance, Interruptions(rate=0.005, seed=1).calendar(instance))
    observation = observe(state, 12, 10, 10)
    assert observation["node_features"].shape == (120, len(_F))
    assert observation["action_mask"][:10].astype(bool).tolist() == state.mask.tolist()
    assert not observation["action_mask"][10:].any()
    assert (observation["node_features"][100:, _F["gone"]] == 1).all()


def test_a_clone_continues_like_the_original() -> None:
    instance = benchmarks.load("la16")
    calendar = Interruptions(rate=0.005, seed=2).calendar(instance)
    state = BlockingState(instance, calendar)
    for _ in range(3):
        state.step(int(state.candidates()[-1]))
    copy = state.clone()
    state.run_rule("spt")
    copy.run_rule("spt")
    assert np.array_equal(state.enter, copy.enter) and state.now == copy.now
    # A clone on the same calendar given explicitly continues the same way too.
    again = BlockingState(instance, Interruptions(rate=0.005, seed=2).calendar(instance))
    for _ in range(3):
        again.step(int(again.candidates()[-1]))
    other = again.clone(Interruptions(rate=0.005, seed=2).calendar(instance))
    other.run_rule("spt")
    assert np.array_equal(other.enter, state.enter)


def test_lookahead_lor_is_online_and_valid() -> None:
    instance = benchmarks.load("la06")
    settings = Interruptions(rate=0.01, seed=5)
    reference = lookahead_schedule(instance, settings)
    reference.check(expected_down_intervals=settings.calendar(instance).down_intervals(reference.makespan))
    cut = reference.makespan // 2
    changed = _changed_after(settings.calendar(instance), cut, 10 * reference.makespan)
    other = lookahead_schedule(instance, settings, calendar=changed)
    early = reference.enter <= cut
    assert early.any() and np.array_equal(early, other.enter <= cut)
    assert np.array_equal(reference.enter[early], other.enter[early])
    # Through the registry, at rate 0: never below the proven optimum, and at least as good as lor here.
    ft06 = benchmarks.load("ft06")
    options = SolveOptions.of("isbjssp")
    pilot = solve(ft06, "lookahead-lor", options)
    assert 63 <= pilot.makespan <= solve(ft06, "lor", options).makespan


def test_known_calendar_keeps_only_the_past() -> None:
    instance = benchmarks.load("la16")
    calendar = Interruptions(rate=0.02, seed=1).calendar(instance)
    state = BlockingState(instance, calendar)
    while not state.done and not state.machine_down.any():
        state.step(int(state.candidates()[0]))
    assert not state.done
    known = known_calendar(state, downtime=11).down_intervals(10**9)
    truth = calendar.down_intervals(state.now)
    for machine, (seen, real) in enumerate(zip(known, truth, strict=True)):
        assert len(seen) == len(real) and all(start <= state.now for start, _ in seen)
        for (start, end), (real_start, real_end) in zip(seen, real, strict=True):
            assert start == real_start
            assert end == (real_end if real_end <= state.now else max(start + 11, state.now + 1))
        assert state.machine_down[machine] == any(start <= state.now < end for start, end in seen)


def test_evaluate_runs_the_learned_dispatcher_and_the_tables_merge(
    tmp_path: Path, policy: BlockingPolicy, capsys: pytest.CaptureFixture[str]
) -> None:
    from evaluate import EvaluateConfig
    from evaluate import main as evaluate_main
    from jssp.blocking.evaluation import read_blocking_results
    from jssp.blocking.report import main as report_main

    checkpoint = _save(policy, tmp_path / "policy")
    common = {"problem": "isbjssp", "instances": ("ft06", "la01"), "shutdown_rates": (0.0, 0.01), "seeds": 2}
    rules = EvaluateConfig(**common, methods="lor,spt", out=tmp_path / "rules", progress=False)  # type: ignore[arg-type]
    learned = EvaluateConfig(
        **common,  # type: ignore[arg-type]
        methods="gnn,gnn-sample,lookahead-lor",
        checkpoint=str(checkpoint),
        samples=4,
        out=tmp_path / "learned",
        progress=False,
    )
    assert evaluate_main(rules) == 0 and evaluate_main(learned) == 0
    rows = read_blocking_results(tmp_path / "learned" / "results.csv")
    assert all(row["feasible"] for row in rows)
    assert {(row["method"], row["rate"]) for row in rows} == {
        ("gnn", 0.0), ("gnn", 0.01), ("lookahead-lor", 0.0), ("lookahead-lor", 0.01), ("gnn-sample", 0.0)
    }  # fmt: skip
    config = json.loads((tmp_path / "learned" / "config.json").read_text())
    assert list(config["checkpoints"]) == [str(checkpoint)]
    out = tmp_path / "merged.md"
    files = [str(tmp_path / "rules" / "results.csv"), str(tmp_path / "learned" / "results.csv")]
    assert report_main([*files, "--out", str(out)]) == 0
    text = out.read_text()
    assert "| rate | availability | lor | spt | gnn | gnn-sample | lookahead-lor | best rule |" in text
    # ft06 and la01 have proven optima: 2 instances x (2 rules x 2 seeds + gnn x 2 + lookahead x 2 + gnn-sample x 2)
    assert "Rate 0: 20 schedules of the 2 instances with a proven optimum; 0 below it," in text
    assert report_main([files[0], files[0]]) == 2
    assert "both hold" in capsys.readouterr().err


def test_a_jammed_episode_is_truncated(monkeypatch: pytest.MonkeyPatch) -> None:
    from jssp.blocking.simulator import NOW, JammedError

    env = BlockingEnv(random_instance(8, 5, seed=3), rates=(0.01,))
    observation, _ = env.reset(seed=1)
    assert env.state is not None

    state = env.state
    before = state.now

    def jam(job: int) -> None:
        state._counters[NOW] += 5000  # the time the kernel ran on before it gave up
        raise JammedError("jammed")

    monkeypatch.setattr(state, "step", jam)
    again, reward, terminated, truncated, info = env.step(int(np.flatnonzero(env.action_masks())[0]))
    scale = max(state.instance.trivial_lower_bound(), 1)
    assert (terminated, truncated, info["jammed"]) == (False, True, True) and state.now == before + 5000
    assert reward == pytest.approx(-5000 / scale)  # jamming the shop does not end an episode for free
    assert all(np.array_equal(again[key], observation[key]) for key in observation)


def test_the_shipped_dispatcher_reproduces_its_evaluation() -> None:
    """gnn-isbjssp on la01 gives the makespans of results/isbjssp-gnn (seed 0), beating lor without shutdowns."""
    ensure_methods(["gnn"], problem="isbjssp")
    la01 = benchmarks.load("la01")
    without = solve(la01, "gnn", SolveOptions.of("isbjssp"))
    assert without.makespan == 1100 < solve(la01, "lor", SolveOptions.of("isbjssp")).makespan == 1176
    under = solve(la01, "gnn", SolveOptions.of("isbjssp", shutdown_rate=0.01, seed=0))  # validated
    assert under.makespan == 2529


def test_the_learned_methods_refuse_admission_control() -> None:
    from jssp.solvers import OptionError

    ensure_methods(["gnn"], problem="isbjssp")
    for method in ("gnn", "gnn-sample", "gnn-replan"):
        with pytest.raises(OptionError, match="does not implement admission control"):
            solve(benchmarks.load("ft06"), method, SolveOptions.of("isbjssp", wip_limit=2))


def test_the_hold_action_in_the_environment_and_the_policy(tmp_path: Path) -> None:
    """With ``hold`` the last action slot holds (legal while time can move on); a hold policy's episodes validate;
    a PPO run with --hold saves a checkpoint that reloads with the hold action."""
    instance = random_general_instance(8, 4, seed=5)
    env = BlockingEnv([instance], rates=[0.02], hold=True, lookahead="lor")
    observation, _ = env.reset(seed=0)
    assert env.action_space.n == 9 and observation["action_mask"].shape == (9,)
    assert observation["candidates"][8] == -1 and env.action_masks()[8] == env.state.can_hold
    rng = np.random.default_rng(1)
    holds, done = 0, False
    while not done:
        legal = np.flatnonzero(env.action_masks())
        action = 8 if legal[-1] == 8 and rng.random() < 0.5 else int(rng.choice(legal[legal < 8]))
        holds += action == 8
        observation, reward, done, truncated, _ = env.step(action)
        assert reward <= 0 and not truncated
    assert holds > 0
    torch.manual_seed(0)
    policy = new_blocking_policy(16, 1, 8, 4, 8, hold=True)
    assert policy_holds(policy) and not policy_holds(new_blocking_policy(16, 1, 8, 4, 8))
    calendars = [Interruptions(rate=0.02, seed=seed).calendar(instance) for seed in range(3)]
    for state, calendar in zip(rollouts(policy, instance, calendars, temperature=2.0), calendars, strict=True):
        state.schedule("gnn").check(expected_down_intervals=calendar.down_intervals(state.now))
    run_dir = tmp_path / "run"
    arguments = [
        "ppo-isbjssp", "--hold", "--total-timesteps", "128", "--n-envs", "2", "--n-steps", "64", "--batch-size", "64",
        "--n-epochs", "1", "--width", "16", "--num-layers", "1", "--sizes", "6x4", "--validation-instances", "2",
        "--eval-every", "128", "--validation-rates", "0.02", "--run-dir", str(run_dir), "--wandb", "disabled",
        "--no-progress",
    ]  # fmt: skip
    assert train.main(arguments) == 0
    assert json.loads((run_dir / "last" / "checkpoint.json").read_text())["architecture"]["hold"] is True
    assert policy_holds(load_blocking_policy(run_dir / "last"))
