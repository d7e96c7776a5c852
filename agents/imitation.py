"""Imitation of tabu-search schedules: expert labels for the dispatcher.

PPO and self-labelling both stall near the quality of the dispatcher's own samples. A teacher
that is much better is cheap here: the compiled tabu search brings a random 15x15 instance
within a few per cent of optimal in well under a second. Under the ``active`` (Giffler-Thompson)
scheme every decision picks which operation of a conflict set goes first on one machine, and the
teacher's schedule answers that directly: the expert choice is the legal job whose next operation
starts earliest in the teacher's schedule. Replaying those choices rebuilds the teacher's schedule
almost exactly (0.1-2.2 % longer on average in a probe on generated 15x15-30x20 instances, against
9-14 % longer for the same projection under the ``non-delay`` scheme, which is why imitation runs
in ``active``).

The same rule labels any state, not only the teacher's own trajectory, so the dispatcher can also
be trained on the states its own rollouts visit (DAgger, Ross et al. 2011), which counters the
drift of a purely cloned policy.

Experts are generated once and kept in an ``.npz`` file that later runs extend or reuse.
``train.py imitation`` runs :func:`main`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, ClassVar, Literal

import numpy as np
import numpy.typing as npt
import tyro
from tqdm import tqdm

from agents.harness import RunContext, RunSettings, start_run
from agents.inference import sample_rollouts
from agents.policy import JobShopPolicy
from agents.supervised import LabelledInstance, SupervisedSettings, starting_policy, train_supervised
from jssp.dispatch import warm_up
from jssp.env import JobShopEnv
from jssp.executors import Executor, LocalExecutor, make_executor
from jssp.generators import InstanceSampler
from jssp.instance import Instance
from jssp.local_search import tabu_search
from jssp.rules import dispatch


@dataclass
class Expert:
    """A training instance and the teacher's schedule of it (start time of every operation)."""

    instance: Instance
    start_times: npt.NDArray[np.int64]

    @property
    def makespan(self) -> int:
        return int((self.start_times + self.instance.durations).max())


def solve_expert(instance: Instance, iterations: int, seed: int) -> Expert:
    """Tabu search for ``iterations`` iterations from the fdd-mwkr schedule (deterministic)."""
    start = dispatch(instance, "fdd-mwkr")
    result = tabu_search(instance, start, time_limit=float("inf"), max_iterations=iterations, seed=seed)
    return Expert(instance, result.schedule.start_times.copy())


@dataclass(frozen=True)
class ExpertTask:
    """One teacher solve: the instance and the seed of its search."""

    instance: Instance
    seed: int


def _solve_expert_task(task: ExpertTask, iterations: int) -> Expert:
    return solve_expert(task.instance, iterations, task.seed)


def generate_experts(
    path: Path,
    sizes: list[tuple[int, int]],
    count: int,
    iterations: int,
    seed: int,
    progress: bool = True,
    workers: int = 1,
    general: float = 0.0,
    reentry: float = 0.2,
    executor: Executor | None = None,
) -> list[Expert]:
    """The first ``count`` experts of the instance stream ``(sizes, general, reentry, seed)``
    (:class:`jssp.generators.InstanceSampler`), cached in ``path``.

    An existing file is reused and extended (it must come from the same stream and iterations),
    so an interrupted generation resumes where it stopped. The solves run on ``executor``
    (:mod:`jssp.executors`; default ``workers`` local processes), one CPU each; the result does
    not depend on where (each search is seeded by the instance's index). The file is rewritten
    after every chunk of 50 instances.
    """
    sampler = InstanceSampler(sizes, general=general, reentry=reentry)
    rng = np.random.default_rng(seed)
    experts = load_experts(path, sizes, iterations, seed, general, reentry) if path.exists() else []
    for _ in experts:  # replay the stream past the cached instances
        sampler.sample(rng)
    bar = tqdm(total=count, initial=min(len(experts), count), unit="instance", disable=not progress, desc="experts")
    if executor is None:
        executor = LocalExecutor(workers, initializer=warm_up)
    # A chunk per round trip keeps the file's rewrites rare; on a cluster, more solves are in flight at once.
    chunk_size = 50 if isinstance(executor, LocalExecutor) else 200
    try:
        while len(experts) < count:
            first = len(experts)
            chunk = [
                ExpertTask(sampler.sample(rng).renamed(f"train-{index}"), seed + index)
                for index in range(first, min(first + chunk_size, count))
            ]
            solved: list[Expert | None] = [None] * len(chunk)
            for index, expert in executor.run(_solve_expert_task, chunk, (iterations,), [1] * len(chunk)):
                solved[index] = expert
                bar.update(1)
            experts.extend(expert for expert in solved if expert is not None)
            save_experts(path, experts, sizes, iterations, seed, general, reentry)
    finally:
        executor.close()
    bar.close()
    return experts[:count]


def save_experts(
    path: Path,
    experts: list[Expert],
    sizes: list[tuple[int, int]],
    iterations: int,
    seed: int,
    general: float = 0.0,
    reentry: float = 0.2,
) -> None:
    """Write the experts and the stream they come from (atomically: a kill leaves the previous file)."""
    arrays: dict[str, npt.NDArray[np.generic]] = {
        "sizes": np.array(sizes, dtype=np.int64),
        "iterations": np.array(iterations),
        "seed": np.array(seed),
        "general": np.array(general),
        "reentry": np.array(reentry),
    }
    for index, expert in enumerate(experts):
        # Padded (num_jobs, width) arrays; num_machines too, as a general instance may leave a machine unused.
        arrays[f"machines_{index}"] = expert.instance.machines
        arrays[f"durations_{index}"] = expert.instance.durations
        arrays[f"num_machines_{index}"] = np.array(expert.instance.num_machines)
        arrays[f"starts_{index}"] = expert.start_times
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial.npz")
    with open(partial, "wb") as stream:
        np.savez_compressed(stream, **arrays)  # type: ignore[arg-type]
        stream.flush()
        os.fsync(stream.fileno())
    partial.replace(path)


def load_experts(
    path: Path,
    sizes: list[tuple[int, int]],
    iterations: int,
    seed: int,
    general: float = 0.0,
    reentry: float = 0.2,
) -> list[Expert]:
    """Read an expert file, refusing one made for another stream or teacher budget (files written
    before general routes existed hold classical instances: general 0, reentry 0.2)."""
    with np.load(path) as data:
        made_for = (
            [tuple(int(v) for v in size) for size in data["sizes"]],
            int(data["iterations"]),
            int(data["seed"]),
            float(data["general"]) if "general" in data.files else 0.0,
            float(data["reentry"]) if "reentry" in data.files else 0.2,
        )
        asked = (list(sizes), iterations, seed, general, reentry)
        if made_for != asked:
            raise ValueError(
                f"{path} holds experts for sizes/iterations/seed/general/reentry {made_for}, not {asked}; "
                "give another --experts file"
            )
        count = sum(1 for key in data.files if key.startswith("starts_"))
        return [
            Expert(
                Instance(
                    data[f"machines_{i}"],
                    data[f"durations_{i}"],
                    name=f"train-{i}",
                    num_machines=int(data[f"num_machines_{i}"]) if f"num_machines_{i}" in data.files else -1,
                ),
                data[f"starts_{i}"],
            )
            for i in range(count)
        ]


def expert_labels(
    expert: Expert,
    scheme: str,
    max_jobs: int,
    max_machines: int,
    actions: npt.NDArray[np.int64] | None = None,
    max_width: int | None = None,
) -> LabelledInstance:
    """Label every decision with more than one legal job by the teacher's choice.

    The label is the legal job whose next operation starts first in the teacher's schedule.
    Without ``actions`` the episode follows the labels (behaviour cloning); with ``actions``
    (one job per step, e.g. a rollout of the policy) it follows them instead, and the labels
    say what the teacher would have done in the states the policy reaches (DAgger).

    ``best_makespan`` is the makespan of the followed episode, ``mean_makespan`` the teacher's.
    """
    env = JobShopEnv(expert.instance, max_jobs=max_jobs, max_machines=max_machines, scheme=scheme, max_width=max_width)
    observation, _ = env.reset()
    flat_starts = expert.start_times.reshape(-1)
    kept: list[dict[str, npt.NDArray[np.generic]]] = []
    chosen: list[int] = []
    for step in range(expert.instance.num_operations):
        legal = np.flatnonzero(observation["action_mask"])
        if len(legal) > 1:
            nodes = observation["candidates"][legal]
            label = int(legal[np.argmin(flat_starts[nodes])])
            kept.append(observation)
            chosen.append(label)
        else:
            label = int(legal[0])
        job = label if actions is None else int(actions[step])
        observation, *_ = env.step(job)
    assert env.state is not None
    makespan = env.state.makespan
    stacked = {key: np.stack([obs[key] for obs in kept]) for key in kept[0]} if kept else {}
    return LabelledInstance(stacked, np.array(chosen, dtype=np.int64), makespan, float(expert.makespan))


@dataclass(frozen=True)
class ImitationConfig:
    """Train the GNN dispatcher by imitating tabu-search schedules (behaviour cloning, optionally DAgger)."""

    EXTENDABLE: ClassVar[tuple[str, ...]] = ("epochs",)
    """Fields a resumed run may raise (to train longer)."""

    run: Annotated[RunSettings, tyro.conf.OmitArgPrefixes] = RunSettings(
        run_dir=Path("runs/imitation"), sizes=("10x10", "15x15", "20x15", "20x20"), eval_every=200
    )
    optimisation: Annotated[SupervisedSettings, tyro.conf.OmitArgPrefixes] = field(default_factory=SupervisedSettings)
    instances: int = 2000
    """Training instances, each solved once by the teacher."""
    teacher_iterations: int = 30_000
    """Tabu-search iterations per training instance (from the fdd-mwkr schedule)."""
    experts: Path | None = None
    """Cache of the teacher's schedules (default RUN_DIR/experts.npz); reused and extended."""
    teacher_workers: int = 1
    """Processes solving the teacher's schedules in parallel with the local backend (same result for any number)."""
    backend: Literal["local", "ray"] = "local"
    """Where the teacher's solves run: local processes (--teacher-workers) or Ray tasks (docs/cluster.md)."""
    ray_address: str = ""
    """--backend ray: the cluster to join (auto, or HOST:PORT of its head); empty starts a Ray on this machine."""
    epochs: int = 4
    """Passes over the training instances."""
    dagger: float = 0.0
    """Share of instances that follow the policy's own sampled rollout, from the second epoch on (DAgger)."""
    dagger_temperature: float = 1.0
    """Softmax temperature of those rollouts (lower stays closer to the greedy trajectory)."""
    init: str = ""
    """Start from this checkpoint (name or folder; its architecture and scheme are kept); empty: a fresh network."""
    scheme: str = "active"
    """Scheme of a fresh network (see this module's docstring for why active)."""
    width: int = 32
    """Embedding width of a fresh network."""
    num_layers: int = 2
    """Message-passing rounds of a fresh network."""


def main(cfg: ImitationConfig) -> RunContext:
    # ------------------------------------------------------------------ preamble and starting point
    if not 0.0 <= cfg.dagger <= 1.0:
        raise ValueError("--dagger is a share between 0 and 1")
    if cfg.instances <= 0 or cfg.epochs <= 0 or cfg.teacher_iterations < 0 or cfg.teacher_workers <= 0:
        raise ValueError("--instances, --epochs and --teacher-workers must be positive")
    run = start_run(cfg, "imitation")
    policy, scheme, parent = starting_policy(run, cfg.init, cfg.scheme, cfg.width, cfg.num_layers)

    # ------------------------------------------------------------------ teacher
    seed = run.settings.seed
    experts = generate_experts(
        cfg.experts or run.settings.run_dir / "experts.npz",
        run.sizes,
        cfg.instances,
        cfg.teacher_iterations,
        seed,
        run.settings.progress,
        cfg.teacher_workers,
        run.settings.general_fraction,
        run.settings.reentry,
        executor=make_executor(cfg.backend, cfg.teacher_workers, warm_up, cfg.ray_address),
    )

    # ------------------------------------------------------------------ label, step, validate
    def label(current: JobShopPolicy, done: int) -> tuple[LabelledInstance, dict[str, float]]:
        epoch, position = divmod(done, len(experts))
        # The epoch's order and each instance's coin depend only on (seed, epoch, position): resumable.
        order = np.random.default_rng([seed, epoch]).permutation(len(experts))
        expert = experts[int(order[position])]
        coin = np.random.default_rng([seed, epoch, position]).random()
        actions = None
        if epoch > 0 and coin < cfg.dagger:
            _, rollout = sample_rollouts(
                current,
                expert.instance,
                1,
                cfg.dagger_temperature,
                seed=seed + done,
                scheme=scheme,
                include_greedy=False,
            )
            actions = rollout[0]
        labelled = expert_labels(expert, scheme, run.max_jobs, run.max_machines, actions, run.max_width)
        followed_gap = 100 * (labelled.best_makespan - expert.makespan) / expert.makespan
        return labelled, {"followed_gap": followed_gap, "dagger_share": float(actions is not None)}

    planned = cfg.epochs * len(experts)
    train_supervised(run, cfg.optimisation, policy, scheme, parent, planned, label, ("followed_gap", "dagger_share"))
    return run
