"""PPO for the dispatcher of the blocking job shop with shutdowns (``train.py ppo-isbjssp``).

The policy (:class:`agents.blocking.policy.BlockingPolicy`) answers the questions of the blocking
simulator in :class:`jssp.blocking.env.BlockingEnv` over random instances whose size and shutdown
rate are drawn per episode, so one policy serves every rate. Same harness as ``train.py ppo``
(MaskablePPO, :class:`agents.harness.Monitor`, kill-safe checkpoints and ``--resume``); validation
runs the greedy policy on fixed generated instances and calendars beside the rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, ClassVar

import numpy as np
import tyro
from stable_baselines3.common.vec_env import DummyVecEnv

from agents.blocking.policy import BlockingPolicy, load_blocking_policy, policy_schedule
from agents.checkpoints import architecture_of, checkpoint_identity, read_metadata
from agents.harness import RunContext, RunSettings, start_run
from agents.policy import JobShopPolicy
from agents.ppo import PPOHyperparameters, build_model, run_ppo
from jssp.blocking.calendar import Interruptions
from jssp.blocking.env import BlockingEnv
from jssp.blocking.lookahead import lookahead_schedule
from jssp.blocking.rules import dispatch
from jssp.files import write_atomically
from jssp.generators import random_instance
from jssp.instance import Instance
from jssp.rules import RULES

DEFAULT_SIZES = ("10x5", "15x5", "20x5", "10x10", "15x10", "20x10", "15x15")


@dataclass(frozen=True)
class BlockingPPOConfig:
    """Train the GNN dispatcher of the blocking job shop with shutdowns (isbjssp) with MaskablePPO."""

    EXTENDABLE: ClassVar[tuple[str, ...]] = ("total_timesteps",)
    """Fields a resumed run may raise (to train longer)."""

    run: Annotated[RunSettings, tyro.conf.OmitArgPrefixes] = RunSettings(
        run_dir=Path("runs/ppo-isbjssp"), sizes=DEFAULT_SIZES, validation_instances=30, eval_every=20_000
    )
    ppo: Annotated[PPOHyperparameters, tyro.conf.OmitArgPrefixes] = field(default_factory=PPOHyperparameters)
    total_timesteps: int = 1_000_000
    """Environment steps (one question of the simulator each), counted from the start of the run."""
    width: int = 32
    """Embedding width."""
    num_layers: int = 3
    """Message-passing rounds."""
    rate_range: tuple[float, float] = (0.0, 0.012)
    """Shutdown rates of the training episodes, drawn uniformly from this interval..."""
    zero_rate_share: float = 0.2
    """...except in this share of the episodes, which have no shutdowns."""
    downtime: int | None = None
    """Length of a shutdown (default: each instance's mean processing time)."""
    interruption_mode: str = "resume"
    """What a shutdown does to the operation in process: resume or restart."""
    validation_rates: tuple[float, ...] = (0.0, 0.005, 0.01)
    """Shutdown rates of the validation calendars (each validation instance meets one calendar per rate)."""
    lookahead: str = "lor"
    """Rule of the lookahead features: its continuation after each candidate on the calendar known so far
    (jssp.blocking.lookahead); "" for none."""
    init: str = ""
    """Fine-tune this checkpoint (shipped name or folder): its weights, architecture and lookahead are kept."""
    hold: bool = False
    """Give the dispatcher the hold action: answer a question with no job, so that free machines wait for the next
    completion, shutdown or repair (kept from --init when its checkpoint has it)."""


@dataclass
class BlockingValidationSet:
    """Fixed generated instances and calendars, with the makespans of ``lor``, of the best rule and of
    ``lookahead-lor`` on each."""

    instances: list[Instance]
    interruptions: list[Interruptions]
    lor: list[list[int]]
    best_rule: list[list[int]]
    lookahead_lor: list[list[int]]
    lookahead: str | None = None
    """The policy's lookahead rule (see :func:`agents.blocking.policy.rollouts`)."""

    @classmethod
    def build(
        cls,
        sizes: list[tuple[int, int]],
        count: int,
        seed: int,
        rates: tuple[float, ...],
        downtime: int | None,
        mode: str,
        cache: Path,
        lookahead: str | None = None,
    ) -> BlockingValidationSet:
        specs = [(*sizes[index % len(sizes)], seed + index) for index in range(count)]
        instances = [random_instance(jobs, machines, seed=s) for jobs, machines, s in specs]
        interruptions = [Interruptions(rate=rate, downtime=downtime, seed=seed, mode=mode) for rate in rates]
        if cache.exists():
            data = json.loads(cache.read_text())
            if data["specs"] == [list(spec) for spec in specs] and data["rates"] == list(rates):
                return cls(instances, interruptions, data["lor"], data["best_rule"], data["lookahead_lor"], lookahead)
        lor, best_rule, lookahead_lor = [], [], []
        for instance in instances:
            makespans = [
                {rule: dispatch(instance, rule, settings).makespan for rule in RULES} for settings in interruptions
            ]
            lor.append([row["lor"] for row in makespans])
            best_rule.append([min(row.values()) for row in makespans])
            lookahead_lor.append([lookahead_schedule(instance, settings).makespan for settings in interruptions])
        document = {"specs": specs, "rates": list(rates), "lor": lor, "best_rule": best_rule}
        document["lookahead_lor"] = lookahead_lor
        write_atomically(cache, json.dumps(document) + "\n")
        return cls(instances, interruptions, lor, best_rule, lookahead_lor, lookahead)

    def evaluate(self, policy: JobShopPolicy, scheme: str) -> dict[str, float]:
        """Mean greedy makespan, mean gaps (%) to ``lor`` and to the best rule, and the share of wins over ``lor``."""
        del scheme  # the blocking simulator has one scheme (non-delay)
        was_training = policy.training
        makespans = np.array(
            [
                [
                    policy_schedule(
                        policy, instance, [settings.calendar(instance)], settings.mode, lookahead=self.lookahead
                    ).makespan
                    for settings in self.interruptions
                ]
                for instance in self.instances
            ]
        )
        policy.train(was_training)
        lor, best, pilot = np.array(self.lor), np.array(self.best_rule), np.array(self.lookahead_lor)
        return {
            "val_makespan": float(makespans.mean()),
            "val_gap_to_lor": float(np.mean(100 * (makespans - lor) / lor)),
            "val_gap_to_best_rule": float(np.mean(100 * (makespans - best) / best)),
            "val_gap_to_lookahead_lor": float(np.mean(100 * (makespans - pilot) / pilot)),
            "val_wins_vs_lor": float(np.mean(makespans < lor)),
        }

    def describe(self, metrics: dict[str, float]) -> str:
        return f"val {metrics['val_makespan']:.1f} ({metrics['val_gap_to_lor']:+.1f}% vs lor)"


def main(cfg: BlockingPPOConfig) -> RunContext:
    # ------------------------------------------------------------------ preamble
    parent = checkpoint_identity(cfg.init) if cfg.init else None  # checked before the run folder is made
    width, num_layers, lookahead, hold = cfg.width, cfg.num_layers, cfg.lookahead, cfg.hold
    if parent is not None:
        base = read_metadata(cfg.init)
        if base["architecture"].get("policy") != "isbjssp-dispatcher":
            raise ValueError(f"--init {cfg.init} is not a dispatcher of the blocking job shop (isbjssp)")
        width, num_layers = base["architecture"]["width"], base["architecture"]["num_layers"]
        lookahead = base["inference"].get("lookahead") or ""
        hold = hold or bool(base["architecture"].get("hold", False))
    run = start_run(cfg, "ppo-isbjssp")
    if cfg.total_timesteps <= 0:
        raise ValueError("--total-timesteps must be positive")
    if cfg.lookahead and cfg.lookahead not in RULES:
        raise ValueError(
            f"--lookahead must be a deterministic rule ({', '.join(RULES)}) or empty, got {cfg.lookahead!r}"
        )
    low, high = cfg.rate_range
    if not 0.0 <= low <= high:
        raise ValueError(f"--rate-range needs 0 <= low <= high, got {low:g} {high:g}")

    # ------------------------------------------------------------------ environments and validation set
    sampler = run.sampler()

    def factory() -> BlockingEnv:
        return BlockingEnv(
            sampler,
            rate_range=cfg.rate_range,
            zero_rate_share=cfg.zero_rate_share,
            downtime=cfg.downtime,
            mode=cfg.interruption_mode,
            max_jobs=run.max_jobs,
            max_machines=run.max_machines,
            max_width=run.max_width,
            lookahead=lookahead or None,
            hold=hold,
        )

    vec_env = DummyVecEnv([factory] * cfg.ppo.n_envs)
    vec_env.seed(run.settings.seed)
    validation = BlockingValidationSet.build(
        run.validation_sizes,
        run.settings.validation_instances,
        run.settings.validation_seed,
        cfg.validation_rates,
        cfg.downtime,
        cfg.interruption_mode,
        run.settings.run_dir / "validation_reference.json",
        lookahead or None,
    )

    # ------------------------------------------------------------------ model (new or resumed) and learning
    model = build_model(run, BlockingPolicy, vec_env, cfg.ppo, width=width, num_layers=num_layers)
    policy = model.policy
    assert isinstance(policy, BlockingPolicy)
    if parent is not None and run.state is None:  # a resumed run has its own weights in last/model.zip
        policy.load_state_dict(load_blocking_policy(cfg.init, run.device).state_dict())
    architecture = architecture_of(policy, run.max_jobs, run.max_machines, run.max_width)
    if hold:
        architecture["hold"] = True
    inference = {"problem": "isbjssp", "scheme": "non-delay", "sample_temperature": 1.0, "lookahead": lookahead}
    run_ppo(run, model, validation, cfg.total_timesteps, architecture, inference, parent)
    return run
