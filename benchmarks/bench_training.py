"""PPO training speed against rl4co's Learning-to-Dispatch PPO, and what each learns in the same wall time.

    .venv/bin/python benchmarks/bench_training.py --out results/bench-training/throughput.json
    .venv/bin/python benchmarks/bench_training.py --compare-minutes 30 --out results/bench-training/learning-10x10.json

Throughput (the default): for each size, decisions per second of wall time of ``train.py TRAINER`` run from a fresh
process for ``--timesteps`` environment steps (start-up, environment steps, updates and its two validations of two
instances included; CP-SAT reference off) with the peak resident memory of that process; then rl4co's
Learning-to-Dispatch PPO (``peer_rl4co.py train``, its gnn-ppo settings) trained for ``--peer-seconds``, reported the
same way (whole process) and per second of its training loop alone; then each side's environment alone with
uniformly random legal actions. One decision is one dispatched operation of one instance.

Learning (``--compare-minutes M``): ``train.py ppo-lockstep --max-minutes M`` and rl4co's PPO trained for M minutes
each on ``--compare-size``, one after the other, then both schedule the same ``--compare-instances`` generated
instances greedily (ours from the run's last checkpoint, as rl4co's is its last state); mean makespans, and the
MWKR rule on the same instances for scale.

rl4co runs in its own venv, ``benchmarks/.venv-rl4co``, created here on first use (``RL4CO_PACKAGES``: rl4co 0.7.0
installed without its dependencies, which are listed by hand, beside the CPU build of torch 2.13.0).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import tyro
from report import machine_record, write_report

from agents.checkpoints import load_policy, read_metadata
from agents.inference import greedy_schedule
from agents.lockstep import unscheduled_graph
from jssp.dispatch import DispatchState
from jssp.env import JobShopEnv
from jssp.generators import parse_size, random_instance
from jssp.rules import dispatch

BENCHMARKS_DIR = Path(__file__).resolve().parent
REPOSITORY = BENCHMARKS_DIR.parent
PEER_SCRIPT = BENCHMARKS_DIR / "peer_rl4co.py"
RL4CO_TORCH = "torch==2.13.0"
"""First, alone: the CPU build (on local disk here); an unpinned torch pulled in by a dependency is a CUDA build."""
RL4CO_PACKAGES = (
    "tensordict==0.14.3",
    "torchrl==0.14.1",
    "lightning==2.6.6",
    "torch-geometric==2.8.1",
    "hydra-core==1.3.8",
    "hydra-colorlog",
    "omegaconf",
    "rich",
    "einops",
    "scipy",
    "matplotlib",
    "robust-downloader",
    "pyrootutils",
)
"""rl4co 0.7.0's dependencies but wandb (its imports for the JSSP environment and the L2D model; torch-geometric for the
GCN encoder of gnn-ppo), at the versions pip chose beside torch 2.13.0 on 2026-12-06."""


@dataclass(frozen=True)
class BenchTrainingConfig:
    """What to measure and where to write it."""

    sizes: tuple[str, ...] = ("10x10", "15x15")
    """Training instance sizes (uniform random, durations 1-99), one measurement each."""
    trainers: tuple[str, ...] = ("ppo", "ppo-lockstep")
    """Our ``train.py`` subcommands to time."""
    timesteps: int = 40_960
    """Environment steps of each of our training runs."""
    torch_threads: int = 2
    """Torch threads of our runs and of rl4co's."""
    device: str = "cpu"
    """Device of our runs (rl4co runs on the CPU)."""
    env_seconds: float = 10.0
    """Seconds of each environment-alone measurement."""
    peer: bool = True
    """Also measure rl4co (creates benchmarks/.venv-rl4co on first use)."""
    peer_seconds: float = 120.0
    """Training seconds of each rl4co throughput run."""
    peer_batches: tuple[int, ...] = (128, 32)
    """rl4co's batch per size, in the order of --sizes (batch 128 does not fit 15x15 in 24 GB)."""
    compare_minutes: float = 0.0
    """Above 0: the learning comparison (this many minutes of training each) instead of throughput."""
    compare_parallel: bool = False
    """Train both at the same time (give each one core: --torch-threads 1) instead of one after the other."""
    compare_size: str = "10x10"
    """Size of the learning comparison (training and evaluation instances)."""
    compare_instances: int = 100
    """Generated evaluation instances of the learning comparison."""
    compare_seed: int = 50_000
    """Seed of the first evaluation instance (the next ones count up); unlike the training and validation seeds."""
    peer_venv: Path = BENCHMARKS_DIR / ".venv-rl4co"
    """Virtual environment holding rl4co."""
    out: Path = Path("results/bench-training/throughput.json")
    """JSON result file; the markdown table goes beside it with the suffix .md."""


# ---------------------------------------------------------------------------------------------- processes


class MeasuredProcess:
    """A command started from the repository; :meth:`finish` returns its wall seconds, peak memory and stdout."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.stdout = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115  (closed by finish)
        self.began = time.perf_counter()
        self.process = subprocess.Popen(command, cwd=REPOSITORY, stdout=self.stdout)

    def finish(self) -> dict[str, Any]:
        _, status, usage = os.wait4(self.process.pid, 0)  # this child's own resource use
        wall = time.perf_counter() - self.began
        self.process.returncode = os.waitstatus_to_exitcode(status)
        self.stdout.seek(0)
        output = self.stdout.read()
        self.stdout.close()
        if self.process.returncode != 0:
            raise RuntimeError(f"{' '.join(self.command)} failed with status {self.process.returncode}")
        return {"wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024, "stdout": output}


def measured_run(command: list[str]) -> dict[str, Any]:
    """Run ``command`` from the repository; its wall seconds, peak resident memory (MB) and stdout."""
    return MeasuredProcess(command).finish()


def ensure_peer_venv(venv: Path) -> Path:
    """The rl4co venv's python, creating the venv and installing rl4co and its dependencies if needed."""
    python = venv / "bin" / "python"
    check = [str(python), "-c", "from rl4co.models.zoo import L2DPPOModel"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"creating {venv} with rl4co 0.7.0 ...", file=sys.stderr, flush=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(["python3", "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([*pip, RL4CO_TORCH], check=True)
    subprocess.run([*pip, "--no-deps", "rl4co==0.7.0"], check=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as constraints:
        constraints.write(RL4CO_TORCH + "\n")
        constraints.flush()
        subprocess.run([*pip, "-c", constraints.name, *RL4CO_PACKAGES], check=True)
    subprocess.run(check, check=True)
    return python


def peer_command(python: Path, arguments: list[str], threads: int) -> list[str]:
    return [str(python), str(PEER_SCRIPT), *arguments, "--threads", str(threads)]


def peer_result(run: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(run["stdout"].strip().splitlines()[-1])
    result["process_measured_wall_s"] = run["wall_s"]
    return result


def run_peer(python: Path, arguments: list[str], threads: int) -> dict[str, Any]:
    return peer_result(measured_run(peer_command(python, arguments, threads)))


# ---------------------------------------------------------------------------------------------- ours


def train_command(trainer: str, size: str, run_dir: Path, cfg: BenchTrainingConfig, *extra: str) -> list[str]:
    return [
        sys.executable,
        "train.py",
        trainer,
        "--sizes",
        size,
        "--run-dir",
        str(run_dir),
        "--validation-instances",
        "2",
        "--validation-cpsat-seconds",
        "0",
        "--wandb",
        "disabled",
        "--no-progress",
        "--torch-threads",
        str(cfg.torch_threads),
        "--device",
        cfg.device,
        *extra,
    ]


def time_our_training(trainer: str, size: str, cfg: BenchTrainingConfig) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        run_dir = Path(folder) / "run"
        extra = ("--total-timesteps", str(cfg.timesteps), "--eval-every", str(10 * cfg.timesteps))
        run = measured_run(train_command(trainer, size, run_dir, cfg, *extra))
        rows = (run_dir / "validation.csv").read_text().splitlines()
        decisions = int(rows[-1].split(",")[0])
    return {
        "decisions": decisions,
        "process_wall_s": run["wall_s"],
        "decisions_per_process_s": decisions / run["wall_s"],
        "peak_rss_mb": run["peak_rss_mb"],
    }


def time_our_environment(size: tuple[int, int], seconds: float, batch: int = 128) -> dict[str, Any]:
    """Random legal decisions per second: the schedule state alone, with the dense graph the lockstep trainer builds,
    and JobShopEnv's padded observation (what stable-baselines3's trainer reads)."""
    rng = np.random.default_rng(0)
    instances = [random_instance(*size, seed=index) for index in range(batch)]
    scales = [float(DispatchState(instance).lower_bound()) for instance in instances]

    def lockstep_episodes(with_graph: bool) -> int:
        states = [DispatchState(instance, "non-delay") for instance in instances]
        for _ in range(instances[0].num_operations):
            if with_graph:
                for instance, state, scale in zip(instances, states, scales, strict=True):
                    unscheduled_graph(instance, [state], scale)
            for state in states:
                state.step(int(rng.choice(np.flatnonzero(state.mask))))
        return batch * instances[0].num_operations

    env = JobShopEnv(instances[0], scheme="non-delay")

    def env_episode() -> int:
        env.reset(seed=int(rng.integers(1 << 30)))
        for _ in range(instances[0].num_operations):
            env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))
        return instances[0].num_operations

    measurements = {}
    for name, episode in (
        ("dispatch_state", lambda: lockstep_episodes(False)),
        ("dispatch_state_dense_graph", lambda: lockstep_episodes(True)),
        ("jobshop_env_observation", env_episode),
    ):
        episode()  # warm-up (numba)
        decisions, began = 0, time.perf_counter()
        while decisions == 0 or time.perf_counter() - began < seconds:
            decisions += episode()
        measurements[name] = decisions / (time.perf_counter() - began)
    return measurements


# ---------------------------------------------------------------------------------------------- modes


def throughput(cfg: BenchTrainingConfig, peer_python: Path | None) -> tuple[dict[str, Any], str]:
    result: dict[str, Any] = {"sizes": {}}
    lines = [
        f"Decisions per second of PPO training wall time, {cfg.torch_threads} torch threads, device {cfg.device} "
        f"({machine_record()['processor'] or 'cpu'}, {os.cpu_count()} cores); ours: {cfg.timesteps:,} steps from a "
        f"fresh process; rl4co 0.7.0 L2D PPO: {cfg.peer_seconds:g} s of training.",
        "",
        "| size | trainer | decisions/s (whole process) | decisions/s (training loop) | peak memory (MB) "
        "| vs `ppo` | vs rl4co |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for index, size in enumerate(cfg.sizes):
        entry: dict[str, Any] = {"ours": {}, "peer": None}
        for trainer in cfg.trainers:
            print(f"timing train.py {trainer} on {size} ...", file=sys.stderr, flush=True)
            entry["ours"][trainer] = time_our_training(trainer, size, cfg)
        entry["ours_environment"] = time_our_environment(parse_size(size), cfg.env_seconds)
        if peer_python is not None:
            batch = cfg.peer_batches[min(index, len(cfg.peer_batches) - 1)]
            print(f"timing rl4co on {size}, batch {batch} ...", file=sys.stderr, flush=True)
            arguments = ["--size", size, "--batch", str(batch)]
            entry["peer"] = run_peer(
                peer_python, ["train", *arguments, "--seconds", str(cfg.peer_seconds)], cfg.torch_threads
            )
            entry["peer_environment"] = run_peer(
                peer_python,
                ["env", "--size", size, "--batch", "128", "--seconds", str(cfg.env_seconds)],
                cfg.torch_threads,
            )
        result["sizes"][size] = entry
        peer_rate = entry["peer"]["decisions_per_process_s"] if entry["peer"] else None
        base_rate = entry["ours"].get("ppo", {}).get("decisions_per_process_s")
        for trainer, measured in entry["ours"].items():
            rate = measured["decisions_per_process_s"]
            lines.append(
                f"| {size} | `train.py {trainer}` | {rate:,.0f} | - | {measured['peak_rss_mb']:,.0f} "
                f"| {rate / base_rate if base_rate else float('nan'):.2f}x "
                f"| {f'{rate / peer_rate:.1f}x' if peer_rate else '-'} |"
            )
        if entry["peer"]:
            peer = entry["peer"]
            lines.append(
                f"| {size} | rl4co L2D PPO, batch {peer['batch']} | {peer['decisions_per_process_s']:,.0f} "
                f"| {peer['decisions_per_training_s']:,.0f} | {peer['peak_rss_mb']:,.0f} | - | 1.0x |"
            )
    lines += ["", "Environment alone, random legal actions, decisions per second:", ""]
    lines += [
        "| size | ours: DispatchState | ours: + dense graph | ours: JobShopEnv observation | rl4co JSSPEnv, batch 128 |"
    ]
    lines += ["|---|---:|---:|---:|---:|"]
    for size, entry in result["sizes"].items():
        env = entry["ours_environment"]
        peer_env = entry.get("peer_environment")
        peer_rate_text = f"{peer_env['decisions_per_s']:,.0f}" if peer_env else "-"
        lines.append(
            f"| {size} | {env['dispatch_state']:,.0f} | {env['dispatch_state_dense_graph']:,.0f} "
            f"| {env['jobshop_env_observation']:,.0f} | {peer_rate_text} |"
        )
    return result, "\n".join(lines) + "\n"


def learning(cfg: BenchTrainingConfig, peer_python: Path | None) -> tuple[dict[str, Any], str]:
    size = parse_size(cfg.compare_size)
    instances = [random_instance(*size, seed=cfg.compare_seed + index) for index in range(cfg.compare_instances)]
    rule = float(np.mean([dispatch(instance, "mwkr").makespan for instance in instances]))
    result: dict[str, Any] = {"mwkr_mean": rule}
    with tempfile.TemporaryDirectory() as folder:
        run_dir = Path(folder) / "run"
        data = Path(folder) / "instances.npz"
        np.savez(
            data,
            machines=np.stack([i.machines for i in instances]),
            durations=np.stack([i.durations for i in instances]),
        )
        extra = ("--max-minutes", str(cfg.compare_minutes), "--total-timesteps", str(10**12), "--eval-every", "200000")
        ours_command = train_command("ppo-lockstep", cfg.compare_size, run_dir, cfg, *extra)
        arguments = ["train", "--size", cfg.compare_size, "--batch", str(cfg.peer_batches[0])]
        arguments += ["--seconds", str(60 * cfg.compare_minutes), "--evaluate", str(data)]
        commands = {"ours": ours_command}
        if peer_python is not None:
            commands["peer"] = peer_command(peer_python, arguments, cfg.torch_threads)
        runs = {}
        if cfg.compare_parallel:
            print(f"training both at once for {cfg.compare_minutes:g} min ...", file=sys.stderr, flush=True)
            started = {name: MeasuredProcess(command) for name, command in commands.items()}
            runs = {name: process.finish() for name, process in started.items()}
        else:
            for name, command in commands.items():
                print(f"training {name} for {cfg.compare_minutes:g} min ...", file=sys.stderr, flush=True)
                runs[name] = measured_run(command)
        policy = load_policy(run_dir / "last", cfg.device)
        scheme = read_metadata(run_dir / "last")["inference"]["scheme"]
        makespans = [greedy_schedule(policy, instance, scheme).makespan for instance in instances]
        decisions = int((run_dir / "validation.csv").read_text().splitlines()[-1].split(",")[0])
        result["ours"] = {
            "decisions": decisions,
            "process_wall_s": runs["ours"]["wall_s"],
            "peak_rss_mb": runs["ours"]["peak_rss_mb"],
            "greedy_makespans": makespans,
            "validation_curve": (run_dir / "validation.csv").read_text(),
        }
        if "peer" in runs:
            result["peer"] = peer_result(runs["peer"])
    ours_mean = float(np.mean(result["ours"]["greedy_makespans"]))
    lines = [
        f"Greedy mean makespan on {cfg.compare_instances} generated {cfg.compare_size} instances (seeds "
        f"{cfg.compare_seed}-{cfg.compare_seed + cfg.compare_instances - 1}) after {cfg.compare_minutes:g} min of "
        f"training each, {cfg.torch_threads} torch threads each, "
        + ("both at once (one core each)." if cfg.compare_parallel else "one after the other on the same machine."),
        "",
        "| method | decisions trained | mean makespan | vs MWKR |",
        "|---|---:|---:|---:|",
        f"| `train.py ppo-lockstep` | {result['ours']['decisions']:,} | {ours_mean:.1f} | {_versus(ours_mean, rule)} |",
    ]
    if "peer" in result:
        peer_mean = float(np.mean(result["peer"]["greedy_makespans"]))
        lines.append(
            f"| rl4co 0.7.0 L2D PPO | {result['peer']['decisions']:,} | {peer_mean:.1f} | {_versus(peer_mean, rule)} |"
        )
    lines.append(f"| MWKR rule (no training) | - | {rule:.1f} | 0.0 % |")
    return result, "\n".join(lines) + "\n"


def _versus(mean: float, reference: float) -> str:
    return f"{100 * (mean / reference - 1):+.1f} %"


def main(cfg: BenchTrainingConfig) -> int:
    torch.set_num_threads(cfg.torch_threads)
    peer_python = ensure_peer_venv(cfg.peer_venv) if cfg.peer else None
    result, table = learning(cfg, peer_python) if cfg.compare_minutes > 0 else throughput(cfg, peer_python)
    result = {
        "config": json.loads(json.dumps(dataclasses.asdict(cfg), default=str)),
        "machine": machine_record(),
        **result,
    }
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    write_report(cfg.out, result, table)
    return 0


if __name__ == "__main__":
    sys.exit(main(tyro.cli(BenchTrainingConfig)))
